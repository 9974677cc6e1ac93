"""The ``vectors`` projector: keeps Qdrant in step with the log.

Embed workers write a job's vectors before its IngestCompleted; from the log this projector
removes what no longer belongs: older versions' points once a version completes, the points of a
newer version whose job failed or was cancelled, every point of a deleted document. Each removal
is decided from versions, never from "which job is current", so applying an old event late or
again (a lagging or replaying projector) cannot remove points that belong.
"""

from __future__ import annotations

import json
from functools import singledispatchmethod
from typing import Any

from cortex.domain.document import (
    DocumentDeleted,
    DocumentTagged,
    IngestCancelled,
    IngestCompleted,
    IngestFailed,
    IngestRequested,
)
from projections.base import SqlProjection
from projections.store import Cursor
from projections.vector_index import VectorIndex


class VectorsProjection(SqlProjection):
    name = "vectors"
    tables = ("vector_jobs", "vector_documents", "vector_document_tags")

    def __init__(self, table_names: Any = None, *, index: VectorIndex | None = None) -> None:
        super().__init__(table_names)
        if index is None:
            raise ValueError("the vectors projection needs the vector index")
        self.index = index

    @singledispatchmethod
    def handle(self, event: Any, cur: Cursor) -> None:
        """Events that do not change vectors."""

    @handle.register
    def _requested(self, event: IngestRequested, cur: Cursor) -> None:
        cur.execute(
            self.sql(
                "INSERT INTO {vector_jobs} (job_id, document_id, version) VALUES (?, ?, ?)"
                " ON CONFLICT (job_id) DO NOTHING"
            ),
            (str(event.job_id), str(event.originator_id), event.version),
        )

    @handle.register
    def _completed(self, event: IngestCompleted, cur: Cursor) -> None:
        document_id = str(event.originator_id)
        cur.execute(
            self.sql("DELETE FROM {vector_documents} WHERE document_id = ?"), (document_id,)
        )
        cur.execute(
            self.sql("INSERT INTO {vector_documents} (document_id, indexed_version) VALUES (?, ?)"),
            (document_id, event.version),
        )
        if event.version > 1:  # only then can older versions have points
            self.index.delete(document_id=event.originator_id, below_version=event.version)
        # The worker wrote the tags it saw; ones set while it worked are put right here.
        cur.execute(
            self.sql("SELECT tags FROM {vector_document_tags} WHERE document_id = ?"),
            (document_id,),
        )
        row = cur.fetchone()
        if row is not None:
            self.index.set_tags(event.originator_id, json.loads(row["tags"]))

    @handle.register
    def _tagged(self, event: DocumentTagged, cur: Cursor) -> None:
        document_id = str(event.originator_id)
        cur.execute(
            self.sql("DELETE FROM {vector_document_tags} WHERE document_id = ?"), (document_id,)
        )
        cur.execute(
            self.sql("INSERT INTO {vector_document_tags} (document_id, tags) VALUES (?, ?)"),
            (document_id, json.dumps(list(event.tags))),
        )
        self.index.set_tags(event.originator_id, event.tags)

    @handle.register
    def _failed(self, event: IngestFailed, cur: Cursor) -> None:
        if event.final:
            self._abandon(event, cur)

    @handle.register
    def _cancelled(self, event: IngestCancelled, cur: Cursor) -> None:
        self._abandon(event, cur)

    def _abandon(self, event: Any, cur: Cursor) -> None:
        """A job that will not complete: its points go if they are a newer, unindexed version.
        (A re-ingest of the indexed version rewrote that version's own points: they stay.)"""
        cur.execute(
            self.sql(
                "SELECT j.version, d.indexed_version FROM {vector_jobs} j"
                " LEFT JOIN {vector_documents} d ON d.document_id = j.document_id"
                " WHERE j.job_id = ?"
            ),
            (str(event.job_id),),
        )
        row = cur.fetchone()
        if row is not None and int(row["version"]) > int(row["indexed_version"] or 0):
            self.index.delete(document_id=event.originator_id, job=event.job_id)

    @handle.register
    def _deleted(self, event: DocumentDeleted, cur: Cursor) -> None:
        document_id = str(event.originator_id)
        cur.execute(self.sql("DELETE FROM {vector_jobs} WHERE document_id = ?"), (document_id,))
        cur.execute(
            self.sql("DELETE FROM {vector_documents} WHERE document_id = ?"), (document_id,)
        )
        cur.execute(
            self.sql("DELETE FROM {vector_document_tags} WHERE document_id = ?"), (document_id,)
        )
        self.index.delete(document_id=event.originator_id)
