"""The work an ingest job owes, done by a worker: extract, chunk, report each step as a command
(embedding follows on its own queue, see embedding_pipeline).

Idempotent per (document, job): every run starts from the stage the log says the job is at, so a
second delivery, a redelivery after a crash or a reconciler's re-send does only what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from cortex.application.documents import DocumentService
from cortex.application.job_failures import RetryLater, record_failed_attempt
from cortex.domain.document import Document
from cortex.domain.errors import InvalidTransition
from cortex.domain.ingest_job import ChunkSpan, IngestJob, IngestStatus, chunk_id
from cortex.ingest.chunking import chunk_text
from cortex.ingest.errors import ContentError
from cortex.ingest.extract import extract_text
from cortex.ingest.tokenizer import ChunkTokenizer
from cortex.storage.base import ObjectStore

__all__ = ["ChunkingPolicy", "IngestPipeline", "Outcome", "RetryLater"]
BEFORE_CHUNKS = frozenset({IngestStatus.QUEUED, IngestStatus.EXTRACTED})


class Outcome(StrEnum):
    CHUNKED = "chunked"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ChunkingPolicy:
    max_tokens: int
    overlap_tokens: int


class IngestPipeline:
    """Runs an ingest job up to its chunks (then embedding is owed), or to a recorded failure."""

    def __init__(
        self,
        documents: DocumentService,
        store: ObjectStore,
        tokenizer: Callable[[], ChunkTokenizer],
        policy: ChunkingPolicy,
        *,
        max_attempts: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_stage: Callable[[str, float], None] | None = None,
    ) -> None:
        self._documents = documents
        self._store = store
        self._tokenizer = tokenizer
        self._policy = policy
        self._max_attempts = max_attempts
        self._clock = clock
        self._on_stage = on_stage or (lambda stage, seconds: None)

    def run(self, document_id: UUID, job_id: UUID) -> Outcome:
        found = self._documents.open_job(document_id, job_id, BEFORE_CHUNKS)
        if found is None:
            return Outcome.SKIPPED  # done, or past this pipeline (embedding is another queue)
        document, job = found
        stage = "extract" if job.status == IngestStatus.QUEUED else "chunk"
        try:
            if job.status == IngestStatus.QUEUED:
                text = self._extract(document, job)
            else:
                text = job.text or ""
            stage = "chunk"
            self._chunk(document, job, text)
        except InvalidTransition:
            return Outcome.SKIPPED  # another delivery of this job recorded the step first
        except ContentError as error:
            self._fail(document_id, job_id, stage, str(error), permanent=True)
            return Outcome.FAILED
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            recorded = self._fail(document_id, job_id, stage, reason, permanent=False)
            if recorded is None or recorded[1]:
                return Outcome.FAILED
            raise RetryLater(reason) from error
        return Outcome.CHUNKED

    def _extract(self, document: Document, job: IngestJob) -> str:
        started = self._clock()
        content = document.versions[job.version - 1]
        data = self._store.read_bytes(content.storage_key)
        text, extractor = extract_text(data, content.kind)
        now = self._clock()
        self._on_stage("extract", (now - started).total_seconds())
        self._documents.record_text(
            document, job.id, text=text, extractor=extractor, started_at=started, at=now
        )
        return text

    def _chunk(self, document: Document, job: IngestJob, text: str) -> None:
        started = self._clock()
        tokenizer = self._tokenizer()
        content = document.versions[job.version - 1]
        spans = chunk_text(
            text,
            content.kind,
            tokenizer.counter(text),
            max_tokens=self._policy.max_tokens,
            overlap_tokens=self._policy.overlap_tokens,
        )
        if not spans:
            raise ContentError("the text holds nothing to index")
        chunks = tuple(
            ChunkSpan(
                id=chunk_id(document.id, job.version, position),
                position=position,
                start=span.start,
                end=span.end,
                heading=span.heading,
                tokens=span.tokens,
            )
            for position, span in enumerate(spans)
        )
        now = self._clock()
        self._on_stage("chunk", (now - started).total_seconds())
        self._documents.record_chunks(
            document, job.id, chunks=chunks, tokenizer=tokenizer.name, started_at=started, at=now
        )
        self._documents.send_embed(document.id, job.id)

    def _fail(
        self, document_id: UUID, job_id: UUID, stage: str, reason: str, *, permanent: bool
    ) -> tuple[int, bool] | None:
        return record_failed_attempt(
            self._documents,
            document_id,
            job_id,
            stage=stage,
            reason=reason,
            permanent=permanent,
            max_attempts=self._max_attempts,
            at=self._clock(),
        )
