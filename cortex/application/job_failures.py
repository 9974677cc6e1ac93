"""Recording a failed attempt of an ingest job, shared by the pipeline's stages."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import structlog

from cortex.application.documents import DocumentService
from cortex.application.errors import NotFound
from cortex.domain.errors import InvalidTransition

logger = structlog.get_logger("cortex.ingest")


class RetryLater(Exception):
    """The attempt failed for a reason that may pass (storage down); the queue retries it,
    after ``delay_seconds`` when given, else with its exponential backoff."""

    def __init__(self, reason: str, *, delay_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.delay_seconds = delay_seconds


def record_failed_attempt(
    documents: DocumentService,
    document_id: UUID,
    job_id: UUID,
    *,
    stage: str,
    reason: str,
    permanent: bool,
    max_attempts: int,
    at: datetime,
) -> tuple[int, bool] | None:
    """Record the failed attempt: (attempt, final), or None when the job is not open."""
    try:
        recorded = documents.record_failure(
            document_id,
            job_id,
            stage=stage,
            reason=reason,
            permanent=permanent,
            max_attempts=max_attempts,
            at=at,
        )
    except (NotFound, InvalidTransition):
        return None
    if recorded is not None:
        logger.warning(
            "ingest_attempt_failed",
            document_id=str(document_id),
            job_id=str(job_id),
            stage=stage,
            attempt=recorded[0],
            final=recorded[1],
            reason=reason,
        )
    return recorded
