"""The actors: thin adapters from a message to an application call that is idempotent.

Actors are bound to the broker passed in (no module-level broker, nothing done at import time).
Failures the pipeline recorded as retryable come back as RetryLater and Dramatiq retries them
with exponential backoff; the attempt count that ends a job lives in the log, not the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import dramatiq
import structlog

from cortex.application.content_purge import ContentPurger
from cortex.application.embedding_pipeline import EmbeddingPipeline
from cortex.application.ingest_pipeline import IngestPipeline, RetryLater
from cortex.observability import metrics

logger = structlog.get_logger("cortex.workers")


@dataclass(frozen=True)
class Actors:
    ingest_document: dramatiq.Actor[Any, Any]
    embed_document: dramatiq.Actor[Any, Any]
    purge_document_content: dramatiq.Actor[Any, Any]


def register_actors(
    broker: dramatiq.Broker,
    pipeline: IngestPipeline,
    embedder: EmbeddingPipeline,
    purger: ContentPurger,
    *,
    max_attempts: int,
    backoff_seconds: float,
) -> Actors:
    def retry_when(retries: int, error: BaseException) -> bool:
        # Bounded here too, in case the log cannot be written to record the failures.
        return retries < max_attempts * 2

    options: dict[str, Any] = {
        "broker": broker,
        "queue_name": "ingest",
        "retry_when": retry_when,
        "min_backoff": int(backoff_seconds * 1000),
        "max_backoff": max(int(backoff_seconds * 1000) * 32, 1),
        "time_limit": 15 * 60 * 1000,
    }

    def ingest_document(document_id: str, job_id: str) -> None:
        try:
            outcome = pipeline.run(UUID(document_id), UUID(job_id))
        except RetryLater as later:
            metrics.INGEST_JOBS.labels(status="retry").inc()
            raise _retry(later) from later
        metrics.INGEST_JOBS.labels(status=str(outcome)).inc()
        logger.info("ingest_job_ran", document_id=document_id, job_id=job_id, outcome=outcome)

    def embed_document(document_id: str, job_id: str) -> None:
        try:
            outcome = embedder.run(UUID(document_id), UUID(job_id))
        except RetryLater as later:
            metrics.INGEST_JOBS.labels(status="retry").inc()
            raise _retry(later) from later
        metrics.INGEST_JOBS.labels(status=str(outcome)).inc()
        logger.info("embed_job_ran", document_id=document_id, job_id=job_id, outcome=outcome)

    def purge_document_content(document_id: str) -> None:
        try:
            purger.purge(UUID(document_id))
        except RetryLater as later:
            raise _retry(later) from later

    return Actors(
        ingest_document=dramatiq.actor(actor_name="ingest_document", **options)(ingest_document),
        embed_document=dramatiq.actor(
            actor_name="embed_document", **{**options, "queue_name": "embed"}
        )(embed_document),
        purge_document_content=dramatiq.actor(actor_name="purge_document_content", **options)(
            purge_document_content
        ),
    )


def _retry(later: RetryLater) -> dramatiq.Retry:
    """Dramatiq's own signal: retried with backoff (or the given delay), not logged as an error."""
    delay = None if later.delay_seconds is None else int(later.delay_seconds * 1000) + 1
    return dramatiq.Retry(str(later), delay=delay)


class DramatiqQueue:
    """The application's JobQueue port, sending through the actors."""

    def __init__(self, actors: Actors) -> None:
        self._actors = actors

    def ingest(self, document_id: UUID, job_id: UUID) -> None:
        self._actors.ingest_document.send(str(document_id), str(job_id))

    def embed(self, document_id: UUID, job_id: UUID) -> None:
        self._actors.embed_document.send(str(document_id), str(job_id))

    def purge(self, document_id: UUID) -> None:
        self._actors.purge_document_content.send(str(document_id))
