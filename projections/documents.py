"""The ``documents`` read model, with ``document_versions``, ``document_tags`` and
``storage_purges`` (owed purges)."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from cortex.domain.document import (
    ChunksEmbedded,
    DocumentChunked,
    DocumentContentPurged,
    DocumentDeleted,
    DocumentTagged,
    DocumentUploaded,
    DocumentVersionUploaded,
    IngestCancelled,
    IngestCompleted,
    IngestFailed,
    IngestRequested,
    TextExtracted,
)
from cortex.domain.ingest_job import StoredContent
from projections.base import SqlProjection
from projections.store import Cursor


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


class DocumentsProjection(SqlProjection):
    name = "documents"
    tables = ("documents", "document_versions", "document_tags", "storage_purges")

    @singledispatchmethod
    def handle(self, event: Any, cur: Cursor) -> None:
        """Events that do not change documents."""

    @handle.register
    def _uploaded(self, event: DocumentUploaded, cur: Cursor) -> None:
        at = event.timestamp.isoformat()
        content = event.content
        cur.execute(
            self.sql(
                "INSERT INTO {documents} (id, project_id, title, filename, media_type, kind,"
                " language, size_bytes, sha256, latest_version, ingest_status, duplicate_of,"
                " uploaded_by, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 'queued', ?, ?, ?, ?)"
            ),
            (
                str(event.originator_id),
                str(event.project_id),
                event.title,
                content.filename,
                content.media_type,
                content.kind,
                content.language,
                content.size,
                content.sha256,
                _id(event.duplicate_of),
                _id(event.uploaded_by),
                at,
                at,
            ),
        )
        self._version(cur, event, 1, content, event.uploaded_by)

    @handle.register
    def _tagged(self, event: DocumentTagged, cur: Cursor) -> None:
        document_id = str(event.originator_id)
        cur.execute(self.sql("DELETE FROM {document_tags} WHERE document_id = ?"), (document_id,))
        for tag in event.tags:
            cur.execute(
                self.sql("INSERT INTO {document_tags} (document_id, tag) VALUES (?, ?)"),
                (document_id, tag),
            )
        self._touch(cur, event, "", ())

    @handle.register
    def _version_uploaded(self, event: DocumentVersionUploaded, cur: Cursor) -> None:
        content = event.content
        self._touch(
            cur,
            event,
            "filename = ?, media_type = ?, kind = ?, language = ?, size_bytes = ?, sha256 = ?,"
            " latest_version = ?, ",
            (
                content.filename,
                content.media_type,
                content.kind,
                content.language,
                content.size,
                content.sha256,
                event.number,
            ),
        )
        self._version(cur, event, event.number, content, event.uploaded_by)

    def _version(
        self, cur: Cursor, event: Any, number: int, content: StoredContent, by: Any
    ) -> None:
        cur.execute(
            self.sql(
                "INSERT INTO {document_versions} (document_id, number, filename, media_type, kind,"
                " size_bytes, sha256, storage_key, uploaded_by, uploaded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            (
                str(event.originator_id),
                number,
                content.filename,
                content.media_type,
                content.kind,
                content.size,
                content.sha256,
                content.storage_key,
                _id(by),
                event.timestamp.isoformat(),
            ),
        )

    @handle.register
    def _requested(self, event: IngestRequested, cur: Cursor) -> None:
        self._touch(
            cur,
            event,
            "ingest_status = 'queued', current_job_id = ?, error = '', ",
            (str(event.job_id),),
        )

    @handle.register
    def _extracted(self, event: TextExtracted, cur: Cursor) -> None:
        self._job_status(cur, event, "extracted")

    @handle.register
    def _chunked(self, event: DocumentChunked, cur: Cursor) -> None:
        self._job_status(cur, event, "chunked")

    @handle.register
    def _embedded(self, event: ChunksEmbedded, cur: Cursor) -> None:
        self._job_status(cur, event, "embedded")

    @handle.register
    def _completed(self, event: IngestCompleted, cur: Cursor) -> None:
        self._job_status(cur, event, "completed")
        cur.execute(
            self.sql(
                "UPDATE {documents} SET indexed_version = ? WHERE id = ? AND indexed_version < ?"
            ),
            (event.version, str(event.originator_id), event.version),
        )

    @handle.register
    def _failed(self, event: IngestFailed, cur: Cursor) -> None:
        status = "failed" if event.final else None
        self._job_status(cur, event, status, error=event.reason)

    @handle.register
    def _cancelled(self, event: IngestCancelled, cur: Cursor) -> None:
        self._job_status(cur, event, "cancelled")

    @handle.register
    def _deleted(self, event: DocumentDeleted, cur: Cursor) -> None:
        document_id = str(event.originator_id)
        cur.execute(self.sql("DELETE FROM {documents} WHERE id = ?"), (document_id,))
        cur.execute(
            self.sql("DELETE FROM {document_versions} WHERE document_id = ?"), (document_id,)
        )
        cur.execute(self.sql("DELETE FROM {document_tags} WHERE document_id = ?"), (document_id,))
        cur.execute(
            self.sql("INSERT INTO {storage_purges} (document_id, requested_at) VALUES (?, ?)"),
            (document_id, event.timestamp.isoformat()),
        )

    @handle.register
    def _purged(self, event: DocumentContentPurged, cur: Cursor) -> None:
        cur.execute(
            self.sql("DELETE FROM {storage_purges} WHERE document_id = ?"),
            (str(event.originator_id),),
        )

    def _job_status(
        self, cur: Cursor, event: Any, status: str | None, *, error: str | None = None
    ) -> None:
        """Update the document's ingest status when the event is about its current job."""
        assignments = ("ingest_status = ?, " if status else "") + (
            "error = ?, " if error is not None else ""
        )
        values = tuple(v for v in (status, error) if v is not None)
        cur.execute(
            self.sql(
                "UPDATE {documents} SET " + assignments + "updated_at = ?"
                " WHERE id = ? AND current_job_id = ?"
            ),
            (*values, event.timestamp.isoformat(), str(event.originator_id), str(event.job_id)),
        )

    def _touch(self, cur: Cursor, event: Any, assignments: str, values: tuple[Any, ...]) -> None:
        cur.execute(
            self.sql("UPDATE {documents} SET " + assignments + "updated_at = ? WHERE id = ?"),
            (*values, event.timestamp.isoformat(), str(event.originator_id)),
        )
