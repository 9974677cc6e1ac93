"""POST /api/context/build and POST /api/knowledge/ask over HTTP with authentication on, on
SQLite and PostgreSQL: documents ingested with the real pipeline (all-MiniLM-L6-v2), the FAST_RAG
lane served by a test LLM server on loopback that counts whitespace-separated words as tokens.

One app per backend serves the module; tests that change the test server's /tokenize put it back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from cortex.api.app import create_app
from cortex.bootstrap import bootstrap
from cortex.context.answers import NOT_FOUND, SYSTEM_PROMPT
from cortex.domain.roles import ProjectRole, Role
from cortex.ingest.tokenizer import ChunkTokenizer
from tests.api.helpers import ok, problem
from tests.auth.support import AUTH_SECRET, AuthApp, User
from tests.integration.search_support import ingest, settings_on
from tests.support.llm_server import FakeLLMServer, Reply

BUILD, ASK = "/api/context/build", "/api/knowledge/ask"
KILAUEA = """# Kilauea field notes

## The lava lake

Kilauea on Hawaii erupts basaltic lava that flows in long rivers to the sea. The lava lake in
Halemaumau crater rose and drained several times between 2008 and 2018, and the crater floor
collapsed by hundreds of metres when the lake drained in May 2018.

## Safety

Keep upwind of the vog and never walk on a fresh lava crust; it can be thin over molten rock.
"""
ATLAS_DOCUMENTS = {
    "kilauea-notes.md": KILAUEA,
    # The same notes uploaded again with one word changed: a near-duplicate.
    "kilauea-notes-copy.md": KILAUEA.replace("several times", "many times"),
    "lava-monitoring.md": """# Monitoring the Kilauea lava lake

Tiltmeters on the crater rim and a thermal camera record the level of the lava lake every minute.
When the lake rises the summit inflates; when the lake drains the ground tilts back.
""",
    "tea.md": """# Brewing tea

Green tea wants water well below boiling, around 75 degrees, and two minutes at most; black tea
takes water just off the boil and four minutes. Oolong sits between the two.
""",
}
BOREALIS_DOCUMENTS = {
    "borealis-kilauea.md": """# Borealis survey: the Kilauea lava lake

The Kilauea lava lake in Halemaumau crater is the subject of survey BOREALIS-7731. The lava lake
drained in 2018 and a new lava lake formed in 2020 after water had pooled in the crater.
""",
}
QUESTION = "When did the Kilauea lava lake drain?"
ABSENT = "What is the boiling point of mercury at sea level?"
AUTH_ENV = {
    "CORTEX_SKIP_AUTH": "false",
    "CORTEX_AUTH_SECRET": AUTH_SECRET,
    "CORTEX_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
}


@dataclass
class World:
    app: AuthApp
    rag: FakeLLMServer  # the FAST_RAG lane's server
    default: FakeLLMServer  # the default lane's
    atlas: str
    borealis: str
    documents: dict[str, str]  # file name -> document id
    idea: str  # an idea in Atlas about the lava lake
    alice: User  # viewer in Atlas
    bob: User  # viewer in Borealis

    @property
    def client(self) -> TestClient[Any]:
        return self.app.client

    def post(self, path: str, user: User, **body: Any) -> Any:
        return self.client.post(path, json=body, headers=user.headers)

    def build(self, user: User | None = None, **body: Any) -> dict[str, Any]:
        body = {"project_id": self.atlas, "question": QUESTION, "token_budget": 4000, **body}
        return ok(self.post(BUILD, user or self.alice, **body))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder: Path = tmp_path_factory.mktemp("context")
    with ExitStack() as stack:
        rag = stack.enter_context(FakeLLMServer(model="rag-model"))
        default = stack.enter_context(FakeLLMServer(model="default-model"))
        env = {
            **AUTH_ENV,
            "CORTEX_LLM_BASE_URL": default.base_url,
            "CORTEX_LLM_MODEL": "default-model",
            "CORTEX_LANE_FAST_RAG_URL": rag.base_url,
            "CORTEX_LANE_FAST_RAG_MODEL": "rag-model",
            "CORTEX_LANE_FAST_RAG_CONTEXT_TOKENS": "4096",
            "CORTEX_LANE_FAST_RAG_MAX_TOKENS": "256",
            "CORTEX_LLM_TIMEOUT": "5",
        }
        settings = stack.enter_context(settings_on(request.param, request, folder, **env))
        cortex = bootstrap(settings, migrate_read_store=True)
        stack.callback(cortex.close)
        cortex.start_projections()
        client = stack.enter_context(TestClient(create_app(cortex=cortex)))
        app = AuthApp(cortex=cortex, client=client)
        admin = app.bootstrap_admin()
        atlas = app.create_project(admin, "Atlas")
        borealis = app.create_project(admin, "Borealis")
        documents = {
            name: str(ingest(app.cortex, UUID(project), name, text))
            for project, texts in ((atlas, ATLAS_DOCUMENTS), (borealis, BOREALIS_DOCUMENTS))
            for name, text in texts.items()
        }
        idea = ok(
            client.post(
                "/api/ideas",
                json={
                    "project_id": atlas,
                    "title": "Live lava lake level dashboard",
                    "body": "Show the Kilauea lava lake level from the thermal camera publicly.",
                },
                headers=admin.headers,
            ),
            201,
        )["id"]
        alice = app.create_user("alice", [Role.VIEWER])
        bob = app.create_user("bob", [Role.VIEWER])
        app.add_member(admin, atlas, alice, ProjectRole.VIEWER)
        app.add_member(admin, borealis, bob, ProjectRole.VIEWER)
        app.settle()
        yield World(app, rag, default, atlas, borealis, documents, idea, alice, bob)


def document_ids(pack: dict[str, Any]) -> set[str]:
    return {item["document_id"] for item in pack["items"] if item["kind"] == "chunk"}


# Building context ---------------------------------------------------------------------------------


def test_the_pack_is_counted_by_the_lanes_tokenizer_and_numbered(world: World) -> None:
    pack = world.build()
    assert pack["tokenizer"] == "lane FAST_RAG (rag-model)"
    assert pack["items"]
    assert [item["citation"] for item in pack["items"]] == [
        f"c{number}" for number in range(1, len(pack["items"]) + 1)
    ]
    for item in pack["items"]:  # the test server counts whitespace-separated words
        assert item["source"].startswith(f"[{item['citation']}] ")
        assert item["text"].strip() in item["source"]
        assert item["tokens"] == len(item["source"].split())
    assert pack["tokens"] == sum(item["tokens"] for item in pack["items"]) <= 4000
    assert pack["overhead_tokens"] == 0
    scores = [item["score"] for item in pack["items"]]
    assert scores == sorted(scores, reverse=True)
    assert world.rag.tokenize_requests
    assert world.default.tokenize_requests == []  # the FAST_RAG lane's server counts


def test_whole_items_are_kept_within_the_budget(world: World) -> None:
    full = world.build()
    first, second = full["items"][0], full["items"][1]
    budget = first["tokens"] + second["tokens"] - 1  # the second no longer fits
    pack = world.build(token_budget=budget)
    assert pack["tokens"] <= budget
    assert pack["items"][0]["chunk_id"] == first["chunk_id"]
    assert all(item["text"] in {i["text"] for i in full["items"]} for item in pack["items"])
    assert pack["dropped_over_budget"] >= 1
    assert len(pack["items"]) < len(full["items"])
    tiny = world.build(token_budget=1)
    assert tiny["items"] == []
    assert tiny["tokens"] == 0
    assert tiny["relevant"] > 0  # relevant, but nothing fits


def test_near_duplicate_documents_are_dropped(world: World) -> None:
    pack = world.build()
    texts = [item["text"] for item in pack["items"]]
    # Each section of the notes is in the pack once, from one of the two uploads.
    assert sum("Halemaumau crater rose and drained" in text for text in texts) == 1, texts
    assert sum("Keep upwind of the vog" in text for text in texts) <= 1, texts
    assert pack["dropped_duplicates"] >= 1
    copies = {world.documents["kilauea-notes.md"], world.documents["kilauea-notes-copy.md"]}
    assert document_ids(pack) & copies
    assert world.documents["lava-monitoring.md"] in document_ids(pack)


def test_related_ideas_are_included(world: World) -> None:
    pack = world.build()
    (idea,) = [item for item in pack["items"] if item["kind"] == "idea"]
    assert idea["idea_id"] == world.idea
    assert (idea["title"], idea["status"]) == ("Live lava lake level dashboard", "proposed")
    assert idea["document_id"] is None
    assert idea["chunk_id"] is None
    assert idea["source"].startswith(f'[{idea["citation"]}] idea "Live lava lake level')


def test_chunks_carry_their_document_and_offsets(world: World) -> None:
    pack = world.build()
    for item in [item for item in pack["items"] if item["kind"] == "chunk"]:
        chunks = ok(
            world.client.get(
                f"/api/documents/{item['document_id']}/chunks", headers=world.alice.headers
            )
        )["items"]
        (chunk,) = [chunk for chunk in chunks if chunk["id"] == item["chunk_id"]]
        assert (chunk["position"], chunk["start_offset"], chunk["end_offset"]) == (
            item["position"],
            item["start_offset"],
            item["end_offset"],
        )
        assert chunk["text"] == item["text"]


def test_a_server_without_tokenize_falls_back_to_the_embedding_tokenizer(world: World) -> None:
    world.rag.tokenize = None
    try:
        pack = world.build()
    finally:
        world.rag.tokenize = "vllm"
    assert pack["tokenizer"] == "all-MiniLM-L6-v2 (the lane has no /tokenize)"
    minilm = ChunkTokenizer().tokenizer
    for item in pack["items"]:
        count = len(minilm.encode(item["source"], add_special_tokens=False).ids)
        assert item["tokens"] == count != len(item["source"].split())
    assert world.build()["tokenizer"] == "lane FAST_RAG (rag-model)"  # and back when it has one


def test_llama_cpp_servers_tokenize_is_spoken_too(world: World) -> None:
    world.rag.tokenize = "llama_cpp"
    world.rag.reset()
    try:
        pack = world.build()
    finally:
        world.rag.tokenize = "vllm"
    assert pack["tokenizer"] == "lane FAST_RAG (rag-model)"
    assert all(item["tokens"] == len(item["source"].split()) for item in pack["items"])
    assert any("content" in request.body for request in world.rag.tokenize_requests)


def test_nothing_relevant_gives_an_empty_pack(world: World) -> None:
    pack = world.build(question=ABSENT)
    assert pack["items"] == []
    assert pack["relevant"] == 0
    assert pack["candidates"] > 0  # dense search always returns its nearest chunks


def test_a_chunk_only_dense_search_finds_counts_above_the_similarity_floor(world: World) -> None:
    """No keyword support (one of three words), so similarity decides: the monitoring notes
    (cosine about 0.38) are in, the other nearest chunks (under 0.2) are not."""
    pack = world.build(question="What instruments track the summit?")
    (item,) = pack["items"]
    assert item["document_id"] == world.documents["lava-monitoring.md"]
    assert item["retrievers"] == ["dense"]
    assert pack["relevant"] == 1
    assert pack["candidates"] > 1


def test_another_projects_chunks_never_appear(world: World) -> None:
    for question in (QUESTION, "BOREALIS-7731 survey", "new lava lake formed in 2020"):
        pack = world.build(question=question)
        assert document_ids(pack) <= {world.documents[name] for name in ATLAS_DOCUMENTS}
        assert "BOREALIS" not in "".join(item["text"] for item in pack["items"])
    # The control: Borealis's member finds it.
    theirs = world.build(world.bob, project_id=world.borealis, question="BOREALIS-7731 survey")
    assert document_ids(theirs) == {world.documents["borealis-kilauea.md"]}
    for path, body in ((BUILD, {"token_budget": 100}), (ASK, {})):
        refused = world.post(path, world.alice, project_id=world.borealis, question="lava", **body)
        assert "not found" in problem(refused, 404)["detail"]


INVALID: dict[str, dict[str, Any]] = {
    "no body fields": {},
    "no question": {"project_id": "P", "token_budget": 100},
    "empty question": {"project_id": "P", "question": "", "token_budget": 100},
    "no budget": {"project_id": "P", "question": "lava"},
    "zero budget": {"project_id": "P", "question": "lava", "token_budget": 0},
    "budget not a number": {"project_id": "P", "question": "lava", "token_budget": "lots"},
    "bad project id": {"project_id": "not-a-uuid", "question": "lava", "token_budget": 100},
    "unknown field": {"project_id": "P", "question": "lava", "token_budget": 100, "mode": "x"},
    "question too long": {"project_id": "P", "question": "x" * 2001, "token_budget": 100},
}
INVALID_ASKS: dict[str, dict[str, Any]] = {
    "no body fields": {},
    "no project": {"question": "lava"},
    "empty question": {"project_id": "P", "question": ""},
    "bad project id": {"project_id": "not-a-uuid", "question": "lava"},
    "unknown field": {"project_id": "P", "question": "lava", "token_budget": 100},
    "question too long": {"project_id": "P", "question": "x" * 2001},
}


def _with_project(world: World, body: dict[str, Any]) -> dict[str, Any]:
    return {key: world.atlas if value == "P" else value for key, value in body.items()}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_context_bodies_are_400(world: World, case: str) -> None:
    problem(world.post(BUILD, world.alice, **_with_project(world, INVALID[case])), 400)


@pytest.mark.parametrize("case", sorted(INVALID_ASKS))
def test_invalid_questions_are_400(world: World, case: str) -> None:
    world.rag.reset()
    problem(world.post(ASK, world.alice, **_with_project(world, INVALID_ASKS[case])), 400)
    assert world.rag.chat_requests == []


# Answers ------------------------------------------------------------------------------------------

_BLOCK = re.compile(r"^\[(c\d+)\] ", re.MULTILINE)


def test_an_answer_cites_the_documents_it_came_from(world: World) -> None:
    world.rag.reset()
    world.rag.enqueue(
        Reply(text="The lake drained in May 2018 [c1]; a thermal camera watches it [c2]. [c9]")
    )
    answer = ok(world.post(ASK, world.alice, project_id=world.atlas, question=QUESTION))
    assert answer["found"] is True
    assert answer["answer"].startswith("The lake drained in May 2018 [c1]")
    assert (answer["lane"], answer["model"]) == ("FAST_RAG", "rag-model")
    assert answer["unknown_citations"] == ["c9"]
    assert [citation["citation"] for citation in answer["citations"]] == ["c1", "c2"]

    # The lane got the numbered sources and the question, with the instructions to cite them.
    (request,) = world.rag.chat_requests
    system, user = request.messages
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert user["content"].startswith("Sources:\n\n[c1] ")
    assert user["content"].endswith(f"Question: {QUESTION}")
    sent = _BLOCK.findall(user["content"])
    context = answer["context"]
    assert sent == [item["citation"] for item in context["items"]]
    assert context["tokenizer"] == "lane FAST_RAG (rag-model)"
    assert context["token_budget"] == 4096 - 256 - 32
    assert context["tokens"] + context["overhead_tokens"] <= context["token_budget"]
    assert world.default.chat_requests == []

    # Each citation resolves to the item the prompt carried under that id.
    blocks = dict(zip(sent, _BLOCK.split(user["content"])[2::2], strict=True))
    by_citation = {item["citation"]: item for item in context["items"]}
    for citation in answer["citations"]:
        used = by_citation[citation["citation"]]
        if citation["kind"] == "idea":
            assert citation["idea_id"] == used["id"] == world.idea
            continue
        assert citation["chunk_id"] == used["id"]
        chunks = ok(
            world.client.get(
                f"/api/documents/{citation['document_id']}/chunks", headers=world.alice.headers
            )
        )["items"]
        (chunk,) = [chunk for chunk in chunks if chunk["id"] == citation["chunk_id"]]
        assert (chunk["position"], chunk["start_offset"], chunk["end_offset"]) == (
            citation["position"],
            citation["start_offset"],
            citation["end_offset"],
        )
        assert chunk["text"].strip() in blocks[citation["citation"]]
        name = next(name for name, id_ in world.documents.items() if id_ == chunk["document_id"])
        assert name in ATLAS_DOCUMENTS
        assert citation["title"] == name.removesuffix(".md")
    assert any(citation["kind"] == "chunk" for citation in answer["citations"])

    # The call is recorded like any model call.
    call = ok(
        world.client.get(
            f"/api/model-calls/{answer['model_call_id']}",
            params={"after": answer["position"]},
            headers=world.alice.headers,
        )
    )
    assert (call["status"], call["requested_lane"], call["lane"]) == (
        "completed",
        "FAST_RAG",
        "FAST_RAG",
    )
    assert call["completion"] == answer["answer"]
    assert call["requested_by"] == world.alice.id


def test_a_question_about_something_absent_is_not_found_without_a_model_call(
    world: World,
) -> None:
    world.rag.reset()
    answer = ok(world.post(ASK, world.alice, project_id=world.atlas, question=ABSENT))
    assert answer["found"] is False
    assert answer["answer"] == NOT_FOUND
    assert answer["citations"] == []
    assert answer["model_call_id"] is None
    assert answer["context"]["items"] == []
    assert world.rag.chat_requests == []
    assert world.default.chat_requests == []


def test_the_models_own_not_found_is_reported(world: World) -> None:
    world.rag.reset()
    world.rag.enqueue(Reply(text=f"{NOT_FOUND}."))
    answer = ok(world.post(ASK, world.alice, project_id=world.atlas, question=QUESTION))
    assert answer["found"] is False
    assert answer["citations"] == []
    assert answer["model_call_id"] is not None  # the model was asked, and said so
