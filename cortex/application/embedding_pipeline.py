"""Embedding a job's chunks into the vector index, then completing the job.

Idempotent like the ingest stages: vectors are written under the chunk ids (writing again
replaces them), and ChunksEmbedded + IngestCompleted are recorded once, after the vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import numpy as np

from cortex.application.documents import DocumentService
from cortex.application.ingest_pipeline import Outcome
from cortex.application.job_failures import RetryLater, record_failed_attempt
from cortex.domain.document import Document
from cortex.domain.errors import InvalidTransition
from cortex.domain.ingest_job import ChunkSpan, IngestJob, IngestStatus
from cortex.embeddings.model import EmbeddingModel
from cortex.embeddings.passages import passage_text


class VectorSink(Protocol):
    """Where vectors go (the Qdrant index, wired by bootstrap)."""

    def write_collection(self, model: str, dimension: int) -> str:
        """The collection this model's vectors go to (created when missing)."""

    def upsert(
        self,
        collection: str,
        ids: Sequence[UUID],
        vectors: np.ndarray[Any, Any],
        payloads: Sequence[dict[str, Any]],
    ) -> None: ...

    def delete(self, *, document_id: UUID, version: int, from_position: int) -> None: ...


def passage(text: str, span: ChunkSpan) -> str:
    return passage_text(text[span.start : span.end], span.heading)


CHUNKED = frozenset({IngestStatus.CHUNKED})


class EmbeddingPipeline:
    def __init__(
        self,
        documents: DocumentService,
        sink: VectorSink,
        model: Callable[[], EmbeddingModel | None],
        *,
        max_attempts: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_embedded: Callable[[int, float], None] | None = None,
    ) -> None:
        self._documents = documents
        self._sink = sink
        self._model = model
        self._max_attempts = max_attempts
        self._clock = clock
        self._on_embedded = on_embedded or (lambda count, seconds: None)

    def run(self, document_id: UUID, job_id: UUID) -> Outcome:
        found = self._documents.open_job(document_id, job_id, CHUNKED)
        if found is None:
            return Outcome.SKIPPED
        document, job = found
        try:
            self._embed(document, job)
        except InvalidTransition:
            return Outcome.SKIPPED
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            recorded = record_failed_attempt(
                self._documents,
                document_id,
                job_id,
                stage="embed",
                reason=reason,
                permanent=False,
                max_attempts=self._max_attempts,
                at=self._clock(),
            )
            if recorded is None or recorded[1]:
                return Outcome.FAILED
            raise RetryLater(reason) from error
        return Outcome.COMPLETED

    def _embed(self, document: Document, job: IngestJob) -> None:
        model = self._model()
        if model is None:
            raise RuntimeError("no embedding model could be loaded (see /readyz)")
        started = self._clock()
        text = job.text or ""
        embedded = model.embed_passages([passage(text, span) for span in job.chunks])
        collection = self._sink.write_collection(model.name, model.dimension)
        content = document.versions[job.version - 1]
        payloads = [
            {
                "project_id": str(document.project_id),
                "document_id": str(document.id),
                "job_id": str(job.id),
                "version": job.version,
                "position": span.position,
                "kind": content.kind,
                "tags": list(document.tags),
                "model": model.name,
            }
            for span in job.chunks
        ]
        self._sink.upsert(collection, [span.id for span in job.chunks], embedded.vectors, payloads)
        if job.reason == "reingest":
            # The same version chunked again may have fewer chunks: the ones past the end go.
            self._sink.delete(
                document_id=document.id, version=job.version, from_position=len(job.chunks)
            )
        now = self._clock()
        self._on_embedded(len(job.chunks), (now - started).total_seconds())
        self._documents.record_embedding(
            document,
            job.id,
            model=model.name,
            dimension=model.dimension,
            collection=collection,
            truncated=embedded.truncated,
            started_at=started,
            at=now,
        )
