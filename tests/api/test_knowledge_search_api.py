"""POST /api/knowledge/search over HTTP with authentication on, on SQLite and PostgreSQL: project
isolation in every mode, filters, invalid bodies, reranking reported unavailable, and /readyz
naming the embedding model.

One app per backend serves the whole module (bootstrapping, signing in and embedding are the slow
parts); the tests only read from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from cortex.api.app import create_app
from cortex.bootstrap import bootstrap
from cortex.domain.roles import ProjectRole, Role
from tests.api.helpers import PROBLEM_JSON, ok, problem
from tests.auth.support import AUTH_SECRET, AuthApp, User, bearer
from tests.integration.search_support import ingest, settings_on

MODES = ("dense", "keyword", "hybrid")
AUTH_ENV = {
    "CORTEX_SKIP_AUTH": "false",
    "CORTEX_AUTH_SECRET": AUTH_SECRET,
    "CORTEX_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
}
SEARCH = "/api/knowledge/search"

ATLAS_DOCUMENTS = {
    "atlas-volcanoes.md": """# Volcano field notes

## Kilauea

Kilauea on Hawaii erupts basaltic lava that flows in long rivers to the sea. The lava lake in
Halemaumau crater rose and drained several times between 2008 and 2018.

## Safety

Keep upwind of the vog and never walk on a fresh lava crust; it can be thin over molten rock.
""",
    "atlas_lava_model.py": '''"""A toy model of how fast lava flows down a slope."""


def lava_flow_rate(viscosity: float, slope: float, thickness: float) -> float:
    """Jeffreys' equation: faster on steep slopes and for thick, runny flows."""
    density, gravity = 2700.0, 9.81
    return density * gravity * thickness**2 * slope / (3 * viscosity)
''',
}
BOREALIS_DOCUMENTS = {
    "borealis-kilauea.md": """# Borealis survey: the Kilauea lava lake

## Lava lake levels

The Kilauea lava lake in Halemaumau crater is the subject of survey BOREALIS-7731. The lava lake
drained in 2018 and a new lava lake formed in 2020 after water had pooled in the crater.
""",
    "borealis_lava.py": '''"""Borealis lava lake level logger."""


def lava_lake_level(readings: list[float]) -> float:
    """The Kilauea lava lake level: the median of the laser rangefinder readings."""
    ordered = sorted(readings)
    return ordered[len(ordered) // 2]
''',
}
QUERIES = ("Kilauea lava lake", "lava_lake_level", "BOREALIS-7731 survey", "molten rock flows")


@dataclass
class World:
    app: AuthApp
    atlas: str
    borealis: str
    documents: dict[str, str]  # file name -> document id
    alice: User  # viewer in Atlas
    bob: User  # viewer in Borealis
    loner: User  # a viewer in no project
    auditor: User  # reads everything

    @property
    def client(self) -> TestClient[Any]:
        return self.app.client

    def ids(self, names: dict[str, str]) -> set[str]:
        return {self.documents[name] for name in names}


TAGS = {"atlas-volcanoes.md": ("field-notes",), "atlas_lava_model.py": ("model", "physics")}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder: Path = tmp_path_factory.mktemp("knowledge")
    with settings_on(request.param, request, folder, **AUTH_ENV) as settings:
        assert settings.auth.skip_auth is False
        cortex = bootstrap(settings, migrate_read_store=True)
        try:
            cortex.start_projections()
            with TestClient(create_app(cortex=cortex)) as client:
                app = AuthApp(cortex=cortex, client=client)
                admin = app.bootstrap_admin()
                atlas = app.create_project(admin, "Atlas")
                borealis = app.create_project(admin, "Borealis")
                documents = {
                    name: str(ingest(app.cortex, UUID(project), name, text, TAGS.get(name, ())))
                    for project, texts in ((atlas, ATLAS_DOCUMENTS), (borealis, BOREALIS_DOCUMENTS))
                    for name, text in texts.items()
                }
                alice = app.create_user("alice", [Role.VIEWER])
                bob = app.create_user("bob", [Role.VIEWER])
                loner = app.create_user("loner", [Role.VIEWER])
                auditor = app.create_user("auditor", [Role.AUDITOR])
                app.add_member(admin, atlas, alice, ProjectRole.VIEWER)
                app.add_member(admin, borealis, bob, ProjectRole.VIEWER)
                app.settle()
                yield World(app, atlas, borealis, documents, alice, bob, loner, auditor)
        finally:
            cortex.close()


def search(world: World, user: User | dict[str, str], **body: Any) -> Any:
    headers = user if isinstance(user, dict) else user.headers
    return world.client.post(SEARCH, json=body, headers=headers)


def hits(world: World, user: User | dict[str, str], **body: Any) -> list[dict[str, Any]]:
    result = ok(search(world, user, **body))
    assert result["mode"] == body.get("mode", "hybrid")
    found: list[dict[str, Any]] = result["hits"]
    return found


def test_the_other_projects_documents_would_match(world: World) -> None:
    """The control: Borealis's chunks answer these queries for someone who may read them."""
    for mode in MODES:
        for query in QUERIES[:3]:
            for reader in (world.auditor, world.bob):
                found = {hit["document_id"] for hit in hits(world, reader, query=query, mode=mode)}
                assert found & world.ids(BOREALIS_DOCUMENTS), (mode, query, reader.username)


def test_a_member_never_sees_another_projects_chunks(world: World) -> None:
    atlas, borealis = world.ids(ATLAS_DOCUMENTS), world.ids(BOREALIS_DOCUMENTS)
    for mode in MODES:
        for query in QUERIES:
            for scope in ({}, {"project_id": world.atlas}):
                found = hits(world, world.alice, query=query, mode=mode, limit=50, **scope)
                assert {hit["document_id"] for hit in found} <= atlas, (mode, query, scope)
            for scope in ({}, {"project_id": world.borealis}):
                found = hits(world, world.bob, query=query, mode=mode, limit=50, **scope)
                assert {hit["document_id"] for hit in found} <= borealis, (mode, query, scope)
            # A filter cannot widen the search to a document of another project.
            only = {"document_id": world.documents["borealis-kilauea.md"]}
            assert hits(world, world.alice, query=query, mode=mode, filters=only) == []
        assert hits(world, world.alice, query="Kilauea lava", mode=mode)  # not just empty


def test_another_projects_id_is_not_found(world: World) -> None:
    for mode in MODES:
        for project_id in (world.borealis, str(uuid4())):
            body = problem(
                search(world, world.alice, query="lava", mode=mode, project_id=project_id), 404
            )
            assert "not found" in body["detail"]
    problem(search(world, world.bob, query="lava", project_id=world.atlas), 404)


def test_a_user_in_no_project_finds_nothing(world: World) -> None:
    for mode in MODES:
        assert hits(world, world.loner, query="Kilauea lava lake", mode=mode) == []


def test_an_api_key_scoped_to_one_project_finds_only_its_chunks(world: World) -> None:
    assert world.app.admin is not None
    _, key = world.app.direct_api_key(
        world.app.admin.id, role=Role.ADMIN, project_ids=(world.atlas,)
    )
    for mode in MODES:
        found = hits(world, bearer(key), query="Kilauea lava lake", mode=mode)
        assert found
        assert {hit["document_id"] for hit in found} <= world.ids(ATLAS_DOCUMENTS)


def test_searching_needs_a_signed_in_caller(world: World) -> None:
    problem(world.client.post(SEARCH, json={"query": "lava"}), 401)


def test_filters_narrow_to_a_document_and_a_type(world: World) -> None:
    guide = world.documents["atlas-volcanoes.md"]
    for mode in MODES:
        found = hits(world, world.alice, query="lava", mode=mode, filters={"document_id": guide})
        assert found
        assert {hit["document_id"] for hit in found} == {guide}
        for kind, name in (("code", "atlas_lava_model.py"), ("markdown", "atlas-volcanoes.md")):
            found = hits(world, world.alice, query="lava flows", mode=mode, filters={"type": kind})
            assert found, (mode, kind)
            assert {(hit["type"], hit["document_id"]) for hit in found} == {
                (kind, world.documents[name])
            }
        found = hits(world, world.alice, query="lava", mode=mode, filters={"type": "pdf"})
        assert found == []


def test_the_tags_filter_matches_any_of_the_documents_tags(world: World) -> None:
    guide, model = world.documents["atlas-volcanoes.md"], world.documents["atlas_lava_model.py"]
    for mode in MODES:
        for tags, expected in (
            (["physics"], {model}),
            (["field-notes"], {guide}),
            (["field-notes", "model"], {guide, model}),
            (["unknown"], set()),
        ):
            found = hits(world, world.alice, query="lava flows", mode=mode, filters={"tags": tags})
            assert {hit["document_id"] for hit in found} == expected, (mode, tags)


def test_retagging_a_document_moves_it_between_tag_filters(world: World) -> None:
    """PUT tags replaces the set; the read model and both retrievers follow (the vectors
    projector rewrites the points' payload)."""
    admin = world.app.admin
    assert admin is not None
    model = world.documents["atlas_lava_model.py"]
    url = f"/api/documents/{model}/tags"
    for tags in (["simulation", "Physics"], ["model", "physics"]):  # the second restores them
        result = ok(world.client.put(url, json={"tags": tags}, headers=admin.headers))
        world.app.settle()
        read = ok(
            world.client.get(
                f"/api/documents/{model}?after={result['position']}", headers=admin.headers
            )
        )
        assert read["tags"] == sorted(tag.lower() for tag in tags)
        for mode in MODES:
            for tag in ("simulation", "model"):
                found = hits(world, world.alice, query="lava", mode=mode, filters={"tags": [tag]})
                assert ({hit["document_id"] for hit in found} == {model}) == (tag in read["tags"])
    for invalid in (["two words"], ["a"] * 33, ["x" * 41], "model"):
        refused = problem(world.client.put(url, json={"tags": invalid}, headers=admin.headers), 400)
        assert refused["errors"][0]["field"].startswith("tags")
    problem(world.client.put(url, json={"tags": ["x"]}, headers=world.alice.headers), 403)


def test_hits_carry_offsets_into_the_document_and_the_retrievers(world: World) -> None:
    found = hits(world, world.alice, query="Halemaumau crater lava lake", mode="hybrid")
    top = found[0]
    assert top["document_id"] == world.documents["atlas-volcanoes.md"]
    assert top["title"] == "atlas-volcanoes"
    assert top["start_offset"] <= top["snippet_offset"] < top["end_offset"]
    assert set(top["retrievers"]) == {"dense", "keyword"}
    chunks = ok(
        world.client.get(
            f"/api/documents/{top['document_id']}/chunks",
            params={"after": world.app.cortex.log.head()},
            headers=world.alice.headers,
        )
    )["items"]
    (chunk,) = [c for c in chunks if c["id"] == top["chunk_id"]]
    assert (chunk["start_offset"], chunk["end_offset"]) == (top["start_offset"], top["end_offset"])
    assert (chunk["heading"], chunk["position"]) == (top["heading"], top["position"])
    assert top["heading"].startswith("Volcano field notes")
    assert top["snippet"] in chunk["text"]


INVALID_BODIES: list[tuple[str, Any]] = [
    ("empty query", {"query": ""}),
    ("limit 0", {"query": "lava", "limit": 0}),
    ("limit above 100", {"query": "lava", "limit": 101}),
    ("unknown mode", {"query": "lava", "mode": "fuzzy"}),
    ("unknown field", {"query": "lava", "colour": "red"}),
    ("unknown filter", {"query": "lava", "filters": {"owner": "me"}}),
    ("query not a string", {"query": 42}),
    ("no query", {"mode": "dense"}),
    ("project id not a uuid", {"query": "lava", "project_id": "atlas"}),
    ("document id not a uuid", {"query": "lava", "filters": {"document_id": "x"}}),
    ("empty type", {"query": "lava", "filters": {"type": ""}}),
    ("tags not a list", {"query": "lava", "filters": {"tags": "x"}}),
    ("rerank not a boolean", {"query": "lava", "rerank": "please"}),
    ("query too long", {"query": "lava " * 500}),
    ("a list", ["lava"]),
    ("null", None),
]


@pytest.mark.parametrize(("case", "body"), INVALID_BODIES, ids=[c for c, _ in INVALID_BODIES])
def test_invalid_bodies_are_client_errors(world: World, case: str, body: Any) -> None:
    response = world.client.post(SEARCH, json=body, headers=world.alice.headers)
    assert response.status_code in (400, 422), (case, response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    assert response.json()["status"] == response.status_code


def test_a_body_that_is_not_json_is_a_client_error(world: World) -> None:
    headers = {**world.alice.headers, "Content-Type": "application/json"}
    for raw in (b"{query: lava", b"", b"\xff\xfe"):
        response = world.client.post(SEARCH, content=raw, headers=headers)
        assert response.status_code in (400, 422), (raw, response.text)
        assert response.headers["content-type"].startswith(PROBLEM_JSON)


def test_queries_without_words_answer_without_error(world: World) -> None:
    for mode in MODES:
        for query in ("?!", "   ", "'\"", "*", "a:b OR (", "NEAR(x y)", "-lava"):
            response = search(world, world.alice, query=query, mode=mode)
            assert response.status_code == 200, (mode, query, response.text)


def test_rerank_without_a_cross_encoder_says_why(world: World) -> None:
    for mode in MODES:
        result = ok(search(world, world.alice, query="Kilauea lava lake", mode=mode, rerank=True))
        assert result["reranked"] is False
        reason = result["unavailable"]["rerank"]
        assert "cross-encoder/ms-marco-MiniLM-L-6-v2" in reason
        assert "offline" in reason
        assert result["hits"]
    plain = ok(search(world, world.alice, query="Kilauea lava lake"))
    assert plain["reranked"] is False
    assert plain["unavailable"] == {}
    assert plain["model"] == "all-MiniLM-L6-v2"


def test_readiness_names_the_embedding_model_and_the_skipped_ones(world: World) -> None:
    response = world.client.get("/readyz")
    assert response.status_code in (200, 503), response.text
    checks = response.json()["checks"]
    model = checks["embedding_model"]
    assert model["ok"] is True
    assert model["detail"].startswith("all-MiniLM-L6-v2 (384d, ")
    for skipped in ("jinaai/jina-embeddings-v2-base-code", "microsoft/codebert-base"):
        assert f"{skipped} skipped: not available offline" in model["detail"]
    assert checks["qdrant"]["ok"] is True
    assert checks["qdrant"]["detail"].startswith("Qdrant local mode in ")
    assert checks["event_store"]["ok"] is True
