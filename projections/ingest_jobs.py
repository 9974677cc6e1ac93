"""The ``ingest_jobs`` read model: each job's status, attempts, stage timings and error."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from cortex.domain.document import (
    ChunksEmbedded,
    DocumentChunked,
    DocumentDeleted,
    IngestCancelled,
    IngestCompleted,
    IngestFailed,
    IngestRequested,
    TextExtracted,
)
from projections.base import SqlProjection
from projections.store import Cursor


class IngestJobsProjection(SqlProjection):
    name = "ingest_jobs"
    tables = ("ingest_jobs",)

    @singledispatchmethod
    def handle(self, event: Any, cur: Cursor) -> None:
        """Events that do not change ingest jobs."""

    @handle.register
    def _requested(self, event: IngestRequested, cur: Cursor) -> None:
        at = event.timestamp.isoformat()
        cur.execute(
            self.sql(
                "INSERT INTO {ingest_jobs} (id, document_id, project_id, document_version, reason,"
                " status, requested_at, updated_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)"
            ),
            (
                str(event.job_id),
                str(event.originator_id),
                str(event.project_id),
                event.version,
                event.reason,
                at,
                at,
            ),
        )

    @handle.register
    def _extracted(self, event: TextExtracted, cur: Cursor) -> None:
        self._update(
            cur,
            event,
            "status = 'extracted', extractor = ?, characters = ?, extract_started_at = ?,"
            " extracted_at = ?, ",
            (
                event.extractor,
                len(event.text),
                event.started_at.isoformat(),
                event.timestamp.isoformat(),
            ),
        )

    @handle.register
    def _chunked(self, event: DocumentChunked, cur: Cursor) -> None:
        self._update(
            cur,
            event,
            "status = 'chunked', tokenizer = ?, chunk_count = ?, chunk_started_at = ?,"
            " chunked_at = ?, ",
            (
                event.tokenizer,
                len(event.chunks),
                event.started_at.isoformat(),
                event.timestamp.isoformat(),
            ),
        )

    @handle.register
    def _embedded(self, event: ChunksEmbedded, cur: Cursor) -> None:
        self._update(
            cur,
            event,
            "status = 'embedded', embedding_model = ?, truncated = ?, embed_started_at = ?,"
            " embedded_at = ?, ",
            (
                event.model,
                event.truncated,
                event.started_at.isoformat(),
                event.timestamp.isoformat(),
            ),
        )

    @handle.register
    def _completed(self, event: IngestCompleted, cur: Cursor) -> None:
        self._update(
            cur, event, "status = 'completed', finished_at = ?, ", (event.timestamp.isoformat(),)
        )

    @handle.register
    def _failed(self, event: IngestFailed, cur: Cursor) -> None:
        final = ("status = 'failed', finished_at = ?, ", (event.timestamp.isoformat(),))
        assignments, values = final if event.final else ("", ())
        self._update(
            cur,
            event,
            assignments + "attempts = ?, failed_stage = ?, error = ?, ",
            (*values, event.attempt, event.stage, event.reason),
        )

    @handle.register
    def _cancelled(self, event: IngestCancelled, cur: Cursor) -> None:
        self._update(
            cur,
            event,
            "status = 'cancelled', error = ?, finished_at = ?, ",
            (event.reason, event.timestamp.isoformat()),
        )

    @handle.register
    def _deleted(self, event: DocumentDeleted, cur: Cursor) -> None:
        cur.execute(
            self.sql("DELETE FROM {ingest_jobs} WHERE document_id = ?"),
            (str(event.originator_id),),
        )

    def _update(self, cur: Cursor, event: Any, assignments: str, values: tuple[Any, ...]) -> None:
        cur.execute(
            self.sql("UPDATE {ingest_jobs} SET " + assignments + "updated_at = ? WHERE id = ?"),
            (*values, event.timestamp.isoformat(), str(event.job_id)),
        )
