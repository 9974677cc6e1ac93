"""The ``vectors`` projector: keeps Qdrant in step with the log.

Embed workers write a job's vectors before its IngestCompleted; from the log this projector
removes what no longer belongs: the other jobs' points of a document once one completes, a
failed or cancelled job's points, every point of a deleted document. Each of those is idempotent,
so applying an event again after a crash (the position is committed after) changes nothing.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from cortex.domain.document import DocumentDeleted, IngestCancelled, IngestCompleted, IngestFailed
from projections.base import SqlProjection
from projections.store import Cursor
from projections.vector_index import VectorIndex


class VectorsProjection(SqlProjection):
    name = "vectors"
    tables = ()

    def __init__(self, table_names: Any = None, *, index: VectorIndex | None = None) -> None:
        super().__init__(table_names)
        if index is None:
            raise ValueError("the vectors projection needs the vector index")
        self.index = index

    @singledispatchmethod
    def handle(self, event: Any, cur: Cursor) -> None:
        """Events that do not change vectors."""

    @handle.register
    def _completed(self, event: IngestCompleted, cur: Cursor) -> None:
        self.index.delete(document_id=event.originator_id, except_job=event.job_id)

    @handle.register
    def _failed(self, event: IngestFailed, cur: Cursor) -> None:
        if event.final:
            self.index.delete(document_id=event.originator_id, job=event.job_id)

    @handle.register
    def _cancelled(self, event: IngestCancelled, cur: Cursor) -> None:
        self.index.delete(document_id=event.originator_id, job=event.job_id)

    @handle.register
    def _deleted(self, event: DocumentDeleted, cur: Cursor) -> None:
        self.index.delete(document_id=event.originator_id)
