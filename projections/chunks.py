"""The ``chunks`` read model (with ``document_texts``, each job's extracted text).

A job's chunks arrive unindexed; when the job completes they become the document's indexed
chunks and every other version's chunks go, in the same transaction: one step, no gap.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from cortex.domain.document import (
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


class ChunksProjection(SqlProjection):
    name = "chunks"
    tables = ("document_texts", "chunks", "chunk_search")

    @singledispatchmethod
    def handle(self, event: Any, cur: Cursor) -> None:
        """Events that do not change chunks."""

    @handle.register
    def _requested(self, event: IngestRequested, cur: Cursor) -> None:
        cur.execute(
            self.sql(
                "INSERT INTO {document_texts} (job_id, document_id, project_id, document_version)"
                " VALUES (?, ?, ?, ?)"
            ),
            (str(event.job_id), str(event.originator_id), str(event.project_id), event.version),
        )

    @handle.register
    def _extracted(self, event: TextExtracted, cur: Cursor) -> None:
        cur.execute(
            self.sql("UPDATE {document_texts} SET text = ? WHERE job_id = ?"),
            (event.text, str(event.job_id)),
        )

    @handle.register
    def _chunked(self, event: DocumentChunked, cur: Cursor) -> None:
        cur.execute(
            self.sql(
                "SELECT document_id, project_id, document_version, text FROM {document_texts}"
                " WHERE job_id = ?"
            ),
            (str(event.job_id),),
        )
        job = cur.fetchone()
        if job is None or job["text"] is None:
            return
        text = job["text"]
        document_id, version = job["document_id"], job["document_version"]
        # A re-ingest of the indexed version replaces its rows in place and keeps them indexed.
        cur.execute(
            self.sql(
                "DELETE FROM {chunks} WHERE document_id = ? AND document_version = ?"
                " AND position >= ?"
            ),
            (document_id, version, len(event.chunks)),
        )
        for chunk in event.chunks:
            cur.execute(
                self.sql(
                    "INSERT INTO {chunks} (id, document_id, project_id, document_version,"
                    " position, start_offset, end_offset, heading, token_count, text, job_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET start_offset = excluded.start_offset,"
                    " end_offset = excluded.end_offset, heading = excluded.heading,"
                    " token_count = excluded.token_count, text = excluded.text,"
                    " job_id = excluded.job_id"
                ),
                (
                    str(chunk.id),
                    document_id,
                    job["project_id"],
                    version,
                    chunk.position,
                    chunk.start,
                    chunk.end,
                    chunk.heading,
                    chunk.tokens,
                    text[chunk.start : chunk.end],
                    str(event.job_id),
                ),
            )

    @handle.register
    def _completed(self, event: IngestCompleted, cur: Cursor) -> None:
        document_id = str(event.originator_id)
        cur.execute(
            self.sql(
                "UPDATE {chunks} SET indexed = 1 WHERE document_id = ? AND document_version = ?"
            ),
            (document_id, event.version),
        )
        cur.execute(
            self.sql("DELETE FROM {chunks} WHERE document_id = ? AND document_version < ?"),
            (document_id, event.version),
        )
        cur.execute(
            self.sql(
                "DELETE FROM {document_texts} WHERE document_id = ? AND job_id <> ?"
                " AND document_version <= ?"
            ),
            (document_id, str(event.job_id), event.version),
        )
        # Keyword search holds exactly the indexed chunks: swapped in the same transaction.
        cur.execute(self.sql("DELETE FROM {chunk_search} WHERE document_id = ?"), (document_id,))
        cur.execute(
            self.sql(
                "INSERT INTO {chunk_search} (chunk_id, document_id, project_id, body)"
                " SELECT c.id, c.document_id, c.project_id, c.heading || ' ' || c.text"
                " FROM {chunks} c WHERE c.document_id = ? AND c.indexed = 1"
            ),
            (document_id,),
        )

    @handle.register
    def _failed(self, event: IngestFailed, cur: Cursor) -> None:
        if event.final:
            self._abandon(cur, event)

    @handle.register
    def _cancelled(self, event: IngestCancelled, cur: Cursor) -> None:
        self._abandon(cur, event)

    def _abandon(self, cur: Cursor, event: Any) -> None:
        """A job that will not complete: its unindexed chunks and its text go."""
        cur.execute(
            self.sql(
                "DELETE FROM {chunks} WHERE indexed = 0 AND document_id = ? AND document_version ="
                " (SELECT document_version FROM {document_texts} WHERE job_id = ?)"
            ),
            (str(event.originator_id), str(event.job_id)),
        )
        cur.execute(self.sql("DELETE FROM {document_texts} WHERE job_id = ?"), (str(event.job_id),))

    @handle.register
    def _deleted(self, event: DocumentDeleted, cur: Cursor) -> None:
        document_id = str(event.originator_id)
        cur.execute(self.sql("DELETE FROM {chunks} WHERE document_id = ?"), (document_id,))
        cur.execute(self.sql("DELETE FROM {document_texts} WHERE document_id = ?"), (document_id,))
        cur.execute(self.sql("DELETE FROM {chunk_search} WHERE document_id = ?"), (document_id,))
