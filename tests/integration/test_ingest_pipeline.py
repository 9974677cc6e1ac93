"""The ingest pipeline on SQLite and PostgreSQL: exactly once under duplicates and crashes,
attempts counted in the log, versions replaced in one step, deletion purging storage."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from cortex.application.content_purge import ContentPurger
from cortex.application.ingest_pipeline import ChunkingPolicy, IngestPipeline, Outcome, RetryLater
from cortex.bootstrap import Cortex
from cortex.domain.document import DocumentChunked, IngestCancelled, IngestFailed, TextExtracted
from cortex.ingest.staging import stage_bytes
from cortex.ingest.tokenizer import ChunkTokenizer
from cortex.storage.base import StorageUnavailable
from cortex.workers.reconciler import Reconciler
from projections import document_queries
from tests.conftest import catch_up

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MARKDOWN = (
    "# Handbook\n\nHow the team works. " + "We write things down. " * 120 + "\n\n## On call\n\n"
    + "Pages go to the person on call. " * 80
).encode()  # fmt: skip


class Crash(BaseException):
    """What a killed worker looks like to the code after it: nothing more runs."""


def project(cortex: Cortex) -> UUID:
    return cortex.projects.create_project(project_id=uuid4(), name="P", description="", at=NOW).id


def upload(
    cortex: Cortex, project_id: UUID, data: bytes = MARKDOWN, name: str = "handbook.md", **kw: Any
) -> tuple[UUID, UUID]:
    staged = stage_bytes(name, data, cortex.store.staging_dir(), 1 << 24)
    (intake,) = cortex.intake.add_documents(
        project_id, [staged], force=kw.get("force", False), uploaded_by=None, at=NOW
    )
    assert intake.uploaded.job_id is not None
    return intake.uploaded.document_id, intake.uploaded.job_id


def pipeline(
    cortex: Cortex, *, store: Any = None, tokenizer: Any = None, attempts: int = 3
) -> IngestPipeline:
    return IngestPipeline(
        cortex.documents,
        store or cortex.store,
        tokenizer or (lambda: TOKENIZER),
        ChunkingPolicy(200, 32),
        max_attempts=attempts,
    )


TOKENIZER = ChunkTokenizer()


def ingest(cortex: Cortex, document_id: UUID, job_id: UUID) -> Outcome:
    """Both stages, as the ingest and embed queues would run them."""
    outcome = pipeline(cortex).run(document_id, job_id)
    if outcome is not Outcome.CHUNKED:
        return outcome
    return cortex.embedder.run(document_id, job_id)


def events_of(cortex: Cortex, document_id: UUID, kind: type) -> list[Any]:
    return [e for e in cortex.log.repository.event_store.get(document_id) if isinstance(e, kind)]


def indexed_chunks(cortex: Cortex, document_id: UUID) -> list[dict[str, Any]]:
    return document_queries.list_chunks(
        cortex.read_store, str(document_id), version=None, after=-1, limit=10_000
    )


def test_a_job_runs_to_completion_with_chunks_matching_the_text(cortex: Cortex) -> None:
    document_id, job_id = upload(cortex, project(cortex))
    assert ingest(cortex, document_id, job_id) is Outcome.COMPLETED
    catch_up(cortex)
    job = document_queries.get_job(cortex.read_store, str(job_id))
    assert job is not None
    assert (job["status"], job["attempts"], job["extractor"]) == ("completed", 0, "markdown/1")
    (extracted,) = events_of(cortex, document_id, TextExtracted)
    chunks = indexed_chunks(cortex, document_id)
    assert len(chunks) == job["chunk_count"] > 2
    for chunk in chunks:
        assert chunk["text"] == extracted.text[chunk["start_offset"] : chunk["end_offset"]]
        assert chunk["token_count"] <= 200
    assert chunks[-1]["heading"] == "Handbook > On call"
    document = document_queries.get_document(cortex.read_store, str(document_id))
    assert document is not None
    assert (document["ingest_status"], document["indexed_version"]) == ("completed", 1)


def test_duplicate_deliveries_running_at_once_record_each_step_once(cortex: Cortex) -> None:
    document_id, job_id = upload(cortex, project(cortex))
    outcomes: list[Outcome] = []
    start = threading.Barrier(4)

    def deliver() -> None:
        start.wait()
        outcomes.append(ingest(cortex, document_id, job_id))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(Outcome.COMPLETED) >= 1
    assert set(outcomes) <= {Outcome.COMPLETED, Outcome.SKIPPED}
    assert len(events_of(cortex, document_id, TextExtracted)) == 1
    (chunked,) = events_of(cortex, document_id, DocumentChunked)
    catch_up(cortex)
    assert len(indexed_chunks(cortex, document_id)) == len(chunked.chunks)


def test_a_worker_killed_after_extraction_is_resumed_by_the_next_delivery(cortex: Cortex) -> None:
    document_id, job_id = upload(cortex, project(cortex))

    def killed() -> ChunkTokenizer:
        raise Crash

    with pytest.raises(Crash):
        pipeline(cortex, tokenizer=killed).run(document_id, job_id)
    catch_up(cortex)
    job = document_queries.get_job(cortex.read_store, str(job_id))
    assert job is not None
    assert job["status"] == "extracted"
    assert document_queries.owed_jobs(cortex.read_store, 0) == [(document_id, job_id, "extracted")]

    assert ingest(cortex, document_id, job_id) is Outcome.COMPLETED
    assert pipeline(cortex).run(document_id, job_id) is Outcome.SKIPPED  # a late redelivery
    assert len(events_of(cortex, document_id, TextExtracted)) == 1
    (chunked,) = events_of(cortex, document_id, DocumentChunked)
    catch_up(cortex)
    assert len(indexed_chunks(cortex, document_id)) == len(chunked.chunks)
    assert document_queries.owed_jobs(cortex.read_store, 0) == []


class UnreachableStore:
    """The real store, except that reading fails as when the storage server is down."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def read_bytes(self, key: str) -> bytes:
        raise StorageUnavailable("storage at 10.0.0.9:9000 refused the connection")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_transient_failures_are_retried_then_fail_with_the_reason(cortex: Cortex) -> None:
    document_id, job_id = upload(cortex, project(cortex))
    down = pipeline(cortex, store=UnreachableStore(cortex.store), attempts=3)
    for _ in range(2):
        with pytest.raises(RetryLater):
            down.run(document_id, job_id)
    assert down.run(document_id, job_id) is Outcome.FAILED
    assert down.run(document_id, job_id) is Outcome.SKIPPED
    failures = events_of(cortex, document_id, IngestFailed)
    assert [(f.attempt, f.final, f.stage) for f in failures] == [
        (1, False, "extract"),
        (2, False, "extract"),
        (3, True, "extract"),
    ]
    catch_up(cortex)
    job = document_queries.get_job(cortex.read_store, str(job_id))
    assert job is not None
    assert (job["status"], job["attempts"], job["failed_stage"]) == ("failed", 3, "extract")
    assert "refused the connection" in job["error"]


def test_a_transient_failure_then_recovery_completes(cortex: Cortex) -> None:
    document_id, job_id = upload(cortex, project(cortex))
    with pytest.raises(RetryLater):
        pipeline(cortex, store=UnreachableStore(cortex.store)).run(document_id, job_id)
    assert ingest(cortex, document_id, job_id) is Outcome.COMPLETED
    catch_up(cortex)
    job = document_queries.get_job(cortex.read_store, str(job_id))
    assert job is not None
    assert (job["status"], job["attempts"]) == ("completed", 1)


def test_content_that_cannot_be_read_fails_at_once(cortex: Cortex) -> None:
    document_id, job_id = upload(cortex, project(cortex), b"{not json", "broken.json")
    assert pipeline(cortex).run(document_id, job_id) is Outcome.FAILED
    (failure,) = events_of(cortex, document_id, IngestFailed)
    assert (failure.attempt, failure.final) == (1, True)
    assert "invalid JSON" in failure.reason


def test_a_new_version_replaces_the_old_chunks_only_once_indexed(cortex: Cortex) -> None:
    document_id, job_id = upload(cortex, project(cortex))
    ingest(cortex, document_id, job_id)
    staged = stage_bytes(
        "handbook.md", b"# Handbook\n\nRewritten.", cortex.store.staging_dir(), 1 << 20
    )
    intake = cortex.intake.add_version(
        document_id, staged, uploaded_by=None, expected_version=None, at=NOW
    )
    assert intake.uploaded.version == 2
    assert intake.uploaded.job_id is not None
    catch_up(cortex)
    before = indexed_chunks(cortex, document_id)
    assert before
    assert {c["document_version"] for c in before} == {1}

    ingest(cortex, document_id, intake.uploaded.job_id)
    catch_up(cortex)
    after = indexed_chunks(cortex, document_id)
    assert [(c["document_version"], c["text"]) for c in after] == [(2, "# Handbook\n\nRewritten.")]
    version_one = document_queries.list_chunks(
        cortex.read_store, str(document_id), version=1, after=-1, limit=100
    )
    assert version_one == []


def test_a_new_version_cancels_the_open_job_of_the_old_one(cortex: Cortex) -> None:
    document_id, first_job = upload(cortex, project(cortex))
    staged = stage_bytes("handbook.md", b"# Handbook\n\nV2.", cortex.store.staging_dir(), 1 << 20)
    cortex.intake.add_version(document_id, staged, uploaded_by=None, expected_version=None, at=NOW)
    (cancelled,) = events_of(cortex, document_id, IngestCancelled)
    assert cancelled.job_id == first_job
    assert "superseded by version 2" in cancelled.reason
    assert pipeline(cortex).run(document_id, first_job) is Outcome.SKIPPED
    catch_up(cortex)
    job = document_queries.get_job(cortex.read_store, str(first_job))
    assert job is not None
    assert job["status"] == "cancelled"


def test_reingest_of_the_same_version_reuses_chunk_ids(cortex: Cortex) -> None:
    document_id, job_id = upload(cortex, project(cortex))
    ingest(cortex, document_id, job_id)
    catch_up(cortex)
    first = [c["id"] for c in indexed_chunks(cortex, document_id)]
    again = uuid4()
    cortex.documents.request_reingest(document_id, job_id=again, at=NOW)
    assert ingest(cortex, document_id, again) is Outcome.COMPLETED
    catch_up(cortex)
    assert [c["id"] for c in indexed_chunks(cortex, document_id)] == first


def purger(cortex: Cortex) -> ContentPurger:
    return ContentPurger(
        cortex.documents,
        cortex.store,
        lambda key, document_id: document_queries.storage_key_in_use(
            cortex.read_store, key, document_id
        ),
        grace=timedelta(0),
    )


def test_deleting_a_document_clears_read_models_and_purges_unshared_bytes(cortex: Cortex) -> None:
    pid = project(cortex)
    document_id, job_id = upload(cortex, pid)
    ingest(cortex, document_id, job_id)
    shared_id, shared_job = upload(cortex, pid, b"Shared words.", "a.txt")
    copy_id, _ = upload(cortex, pid, b"Shared words.", "b.txt", force=True)
    catch_up(cortex)
    key = document_queries.get_document(cortex.read_store, str(document_id))["versions"][0][
        "storage_key"
    ]  # type: ignore[index]
    shared_key = document_queries.get_document(cortex.read_store, str(shared_id))["versions"][0][
        "storage_key"
    ]  # type: ignore[index]

    for doomed in (document_id, shared_id):
        cortex.documents.delete_document(doomed, deleted_by=None, expected_version=None, at=NOW)
    catch_up(cortex)
    assert document_queries.get_document(cortex.read_store, str(document_id)) is None
    assert indexed_chunks(cortex, document_id) == []
    assert document_queries.get_job(cortex.read_store, str(job_id)) is None
    assert set(document_queries.owed_purges(cortex.read_store, 0)) == {document_id, shared_id}

    for doomed in (document_id, shared_id):
        assert purger(cortex).purge(doomed)
    catch_up(cortex)
    assert cortex.store.modified_at(key) is None
    assert cortex.store.modified_at(shared_key) is not None  # the forced copy still uses it
    assert document_queries.owed_purges(cortex.read_store, 0) == []
    assert document_queries.get_document(cortex.read_store, str(copy_id)) is not None
    assert document_queries.get_job(cortex.read_store, str(shared_job)) is None


def test_deleting_frees_the_content_for_a_new_upload(cortex: Cortex) -> None:
    pid = project(cortex)
    document_id, _ = upload(cortex, pid, b"Some words.", "a.txt")
    cortex.documents.delete_document(document_id, deleted_by=None, expected_version=None, at=NOW)
    again, _ = upload(cortex, pid, b"Some words.", "a.txt")
    assert again != document_id


class RecordingQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[UUID, ...]]] = []

    def ingest(self, document_id: UUID, job_id: UUID) -> None:
        self.sent.append(("ingest", (document_id, job_id)))

    def embed(self, document_id: UUID, job_id: UUID) -> None:
        self.sent.append(("embed", (document_id, job_id)))

    def purge(self, document_id: UUID) -> None:
        self.sent.append(("purge", (document_id,)))


def test_the_reconciler_resends_owed_work_only(cortex: Cortex) -> None:
    pid = project(cortex)
    done_id, done_job = upload(cortex, pid, b"Done.", "done.txt")
    ingest(cortex, done_id, done_job)
    owed_id, owed_job = upload(cortex, pid, b"Owed.", "owed.txt")
    gone_id, _ = upload(cortex, pid, b"Gone.", "gone.txt")
    cortex.documents.delete_document(gone_id, deleted_by=None, expected_version=None, at=NOW)
    catch_up(cortex)
    queue = RecordingQueue()
    store = cortex.read_store
    reconciler = Reconciler(
        lambda stale: document_queries.owed_jobs(store, stale),
        lambda stale: document_queries.owed_purges(store, stale),
        queue,
    )
    recent = (datetime.now(UTC) - NOW).total_seconds() + 3600
    assert reconciler.run_once(recent) == 0  # nothing was untouched that long
    assert reconciler.run_once(0) == 2
    assert sorted(queue.sent) == [("ingest", (owed_id, owed_job)), ("purge", (gone_id,))]
    embed_id, embed_job = upload(cortex, pid, b"Chunked only.", "chunked.txt")
    assert pipeline(cortex).run(embed_id, embed_job) is Outcome.CHUNKED
    catch_up(cortex)
    queue.sent.clear()
    reconciler.run_once(0)
    assert ("embed", (embed_id, embed_job)) in queue.sent


def _wait(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=seconds)
    while not condition():
        assert datetime.now(UTC) < deadline, "timed out"
        threading.Event().wait(0.02)


def test_the_in_process_worker_and_reconciler_finish_owed_work_after_a_restart(
    cortex: Cortex,
) -> None:
    """Work recorded while no worker ran (a crash) is done when the workers start."""
    document_id, job_id = upload(cortex, project(cortex))
    cortex.start_projections()
    cortex.start_workers()
    _wait(
        lambda: (
            (document_queries.get_job(cortex.read_store, str(job_id)) or {}).get("status")
            == "completed"
        )
    )
    assert len(events_of(cortex, document_id, DocumentChunked)) == 1


def _rows(cortex: Cortex, table: str) -> list[tuple[Any, ...]]:
    with cortex.read_store.reading() as cur:
        cur.execute(f"SELECT * FROM {table}")
        return sorted(tuple(str(value) for value in row.values()) for row in cur.fetchall())


def test_rebuilding_the_ingest_read_models_reproduces_them(cortex: Cortex) -> None:
    from projections.chunks import ChunksProjection
    from projections.documents import DocumentsProjection
    from projections.ingest_jobs import IngestJobsProjection
    from projections.rebuild import rebuild

    pid = project(cortex)
    first, first_job = upload(cortex, pid)
    ingest(cortex, first, first_job)
    staged = stage_bytes("handbook.md", b"# New\n\nText.", cortex.store.staging_dir(), 1 << 20)
    version = cortex.intake.add_version(
        first, staged, uploaded_by=None, expected_version=None, at=NOW
    )
    assert version.uploaded.job_id is not None
    ingest(cortex, first, version.uploaded.job_id)
    broken, broken_job = upload(cortex, pid, b"[1, 2", "broken.json")
    pipeline(cortex).run(broken, broken_job)
    gone, _ = upload(cortex, pid, b"Gone soon.", "gone.txt")
    cortex.documents.delete_document(gone, deleted_by=None, expected_version=None, at=NOW)
    upload(cortex, pid, b"Still queued.", "queued.txt")
    catch_up(cortex)
    for projection in (DocumentsProjection, IngestJobsProjection, ChunksProjection):
        before = {table: _rows(cortex, table) for table in projection.tables}
        assert any(before.values())
        rebuild(projection, feed=cortex.log, store=cortex.read_store, batch_size=3)
        assert {table: _rows(cortex, table) for table in projection.tables} == before
