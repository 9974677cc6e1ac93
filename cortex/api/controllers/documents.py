"""Documents: upload (files, archives, pasted text), list, read, original bytes, chunks,
new versions, re-ingest, delete."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from itertools import chain
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID, uuid4

import anyio
import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from cortex.api.dependencies import (
    After,
    IfMatch,
    accepted,
    decode_cursor,
    expected_version,
    keyset_page,
    wait_for_position,
)
from cortex.api.problems import COMMAND_PROBLEMS, QUERY_PROBLEMS, problem_responses
from cortex.api.schemas.common import CommandAccepted
from cortex.api.schemas.documents import (
    ChunkPage,
    ChunkRead,
    DocumentPage,
    DocumentRead,
    JobAccepted,
    SkippedFile,
    TagDocument,
    UploadedDocument,
    UploadResults,
)
from cortex.api.security import Principal
from cortex.api.upload_openapi import UploadFilesOperation, UploadVersionOperation
from cortex.api.uploads import expand_archives, read_uploads
from cortex.application.errors import NotFound
from cortex.application.intake import Intake
from cortex.bootstrap import Cortex
from cortex.ingest.errors import RejectedUpload
from cortex.storage.base import ObjectMissing
from projections.document_queries import get_document, list_chunks, list_documents

UPLOAD_PROBLEMS = problem_responses(400, 404, 409, 413, 415, 422, 503)
Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Cursor = Annotated[str | None, QueryParameter(max_length=1000)]
UploadTags = Annotated[
    list[str] | None,
    QueryParameter(
        max_items=32, description="Tags for every uploaded document (repeat: ?tags=a&tags=b)"
    ),
]


def _uploaded(intake: Intake) -> UploadedDocument:
    uploaded, content = intake.uploaded, intake.content
    return UploadedDocument(
        document_id=uploaded.document_id,
        title=intake.title,
        filename=content.filename,
        kind=content.kind,
        media_type=content.media_type,
        size_bytes=content.size,
        sha256=content.sha256,
        created=uploaded.created,
        duplicate_of=uploaded.duplicate_of,
        job_id=uploaded.job_id,
        version=uploaded.version,
        position=uploaded.result.position if uploaded.result else None,
    )


class DocumentController(Controller):
    path = "/api"
    tags = ["documents"]

    @post(
        "/projects/{project_id:uuid}/documents",
        operation_id="uploadDocuments",
        status_code=HTTP_201_CREATED,
        request_max_body_size=None,  # streamed to disk and limited per file
        responses=UPLOAD_PROBLEMS,
        operation_class=UploadFilesOperation,
        summary="Upload documents (multipart files, zip archives, or pasted text)",
    )
    async def upload_documents(
        self,
        request: Request[Any, Any, Any],
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        project_id: FromPath[UUID],
        force: FromQuery[bool] = False,
        tags: UploadTags = None,
    ) -> Response[UploadResults]:
        """201 when a document was created; 200 when every file was already there
        (``duplicate_of`` names the holder; ``?force=true`` uploads it again)."""
        limits = cortex.settings.ingest
        folder = cortex.store.staging_dir()
        staged = await read_uploads(request, folder, limits, max_files=limits.max_files)
        files, skipped = await anyio.to_thread.run_sync(expand_archives, staged, folder, limits)
        if not files:
            reasons = "; ".join(f"{name}: {why}" for name, why in skipped[:5])
            raise RejectedUpload(415, f"no file in the upload can be ingested ({reasons})")
        add = partial(
            cortex.intake.add_documents,
            project_id,
            files,
            force=force,
            uploaded_by=principal.user_id,
            at=datetime.now(UTC),
            tags=tuple(tags or ()),
        )
        intakes = await anyio.to_thread.run_sync(add)
        documents = [_uploaded(intake) for intake in intakes]
        created = any(item.created for item in documents)
        return Response(
            UploadResults(
                documents=documents,
                skipped=[SkippedFile(name=name, reason=why) for name, why in skipped],
                position=max((item.position or 0 for item in documents), default=0)
                or cortex.log.head(),
            ),
            status_code=HTTP_201_CREATED if created else HTTP_200_OK,
        )

    @get(
        "/projects/{project_id:uuid}/documents",
        operation_id="listDocuments",
        sync_to_thread=True,
        responses=QUERY_PROBLEMS,
    )
    def list_documents(
        self,
        cortex: NamedDependency[Cortex],
        project_id: FromPath[UUID],
        cursor: Cursor = None,
        limit: Limit = 50,
        after: After = None,
    ) -> DocumentPage:
        """Newest first."""
        wait_for_position(cortex, "documents", after)
        start = decode_cursor(cursor, 2)
        rows = list_documents(
            cortex.read_store,
            str(project_id),
            after=(str(start[0]), str(start[1])) if start else None,
            limit=limit + 1,
        )
        rows, next_cursor = keyset_page(rows, limit, "created_at", "id")
        return DocumentPage(
            items=[msgspec.convert(row, DocumentRead) for row in rows],
            next_cursor=next_cursor,
        )

    @get(
        "/documents/{document_id:uuid}",
        operation_id="getDocument",
        sync_to_thread=True,
        responses=QUERY_PROBLEMS,
    )
    def get_document(
        self, cortex: NamedDependency[Cortex], document_id: FromPath[UUID], after: After = None
    ) -> DocumentRead:
        """The document with its versions and ingest status."""
        wait_for_position(cortex, "documents", after)
        row = get_document(cortex.read_store, str(document_id))
        if row is None:
            raise NotFound("document", document_id)
        return msgspec.convert(row, DocumentRead)

    @get(
        "/documents/{document_id:uuid}/content",
        operation_id="getDocumentContent",
        sync_to_thread=True,
        responses=QUERY_PROBLEMS,
    )
    def get_content(
        self,
        cortex: NamedDependency[Cortex],
        document_id: FromPath[UUID],
        version: Annotated[int | None, QueryParameter(ge=1)] = None,
        after: After = None,
    ) -> Stream:
        """The original bytes as uploaded (the latest version unless ``?version=``)."""
        wait_for_position(cortex, "documents", after)
        row = get_document(cortex.read_store, str(document_id))
        if row is None:
            raise NotFound("document", document_id)
        number = version or row["latest_version"]
        chosen = next((v for v in row["versions"] if v["number"] == number), None)
        if chosen is None:
            raise NotFound("document version", document_id)
        name = quote(chosen["filename"], safe="")
        # The first read happens here, before any header is sent: storage that is down or an
        # object that is gone still gets a proper problem response.
        chunks = cortex.store.iter_bytes(chosen["storage_key"])
        try:
            first = next(chunks, b"")
        except ObjectMissing:
            raise NotFound("stored content of document", document_id) from None
        return Stream(
            chain([first], chunks),
            media_type=chosen["media_type"],
            headers={
                "Content-Type": chosen["media_type"],
                "Content-Length": str(chosen["size_bytes"]),
                "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
                "ETag": f'"{chosen["sha256"]}"',
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "sandbox",
            },
        )

    @get(
        "/documents/{document_id:uuid}/chunks",
        operation_id="listDocumentChunks",
        sync_to_thread=True,
        responses=QUERY_PROBLEMS,
    )
    def list_chunks(
        self,
        cortex: NamedDependency[Cortex],
        document_id: FromPath[UUID],
        version: Annotated[int | None, QueryParameter(ge=1, le=1 << 40)] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
        after: After = None,
    ) -> ChunkPage:
        """The indexed chunks in order (or those of ``?version=``, indexed or in progress)."""
        wait_for_position(cortex, "chunks", after)
        start = decode_cursor(cursor, 1)
        rows = list_chunks(
            cortex.read_store,
            str(document_id),
            version=version,
            after=int(start[0]) if start else -1,
            limit=limit + 1,
        )
        rows, next_cursor = keyset_page(rows, limit, "position")
        return ChunkPage(
            items=[msgspec.convert(row, ChunkRead, strict=False) for row in rows],
            next_cursor=next_cursor,
        )

    @post(
        "/documents/{document_id:uuid}/versions",
        operation_id="uploadDocumentVersion",
        status_code=HTTP_201_CREATED,
        request_max_body_size=None,
        responses=UPLOAD_PROBLEMS,
        operation_class=UploadVersionOperation,
    )
    async def upload_version(
        self,
        request: Request[Any, Any, Any],
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        document_id: FromPath[UUID],
        if_match: IfMatch = None,
    ) -> Response[UploadedDocument]:
        """A new version (one file, not an archive). The old one stays searchable until the new
        one is indexed. 200 with ``duplicate_of`` when the content is the current version's."""
        limits = cortex.settings.ingest
        staged = (await read_uploads(request, cortex.store.staging_dir(), limits, max_files=1))[0]
        if staged.sniffed is not None and staged.sniffed.kind == "archive":
            staged.discard()
            raise RejectedUpload(415, "a version is one document, not an archive")
        add = partial(
            cortex.intake.add_version,
            document_id,
            staged,
            uploaded_by=principal.user_id,
            expected_version=expected_version(if_match),
            at=datetime.now(UTC),
        )
        intake = await anyio.to_thread.run_sync(add)
        result = _uploaded(intake)
        return Response(result, status_code=HTTP_201_CREATED if result.created else HTTP_200_OK)

    @put(
        "/documents/{document_id:uuid}/tags",
        operation_id="tagDocument",
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def tag_document(
        self,
        cortex: NamedDependency[Cortex],
        document_id: FromPath[UUID],
        data: JSONBody[TagDocument],
        if_match: IfMatch = None,
    ) -> Response[CommandAccepted]:
        """Replace the document's tags; knowledge search can filter on them."""
        result = cortex.documents.tag_document(
            document_id,
            data.tags,
            expected_version=expected_version(if_match),
            at=datetime.now(UTC),
        )
        return accepted(result)

    @post(
        "/documents/{document_id:uuid}/reingest",
        operation_id="reingestDocument",
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def reingest(self, cortex: NamedDependency[Cortex], document_id: FromPath[UUID]) -> JobAccepted:
        """Extract and chunk the latest version again (409 while a job is still open)."""
        job_id = uuid4()
        result = cortex.documents.request_reingest(document_id, job_id=job_id, at=datetime.now(UTC))
        return JobAccepted(job_id=job_id, document_id=document_id, position=result.position)

    @delete(
        "/documents/{document_id:uuid}",
        operation_id="deleteDocument",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def delete_document(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        document_id: FromPath[UUID],
        if_match: IfMatch = None,
    ) -> Response[CommandAccepted]:
        """Removes it from read models and indexes; its bytes are purged from storage."""
        result = cortex.documents.delete_document(
            document_id,
            deleted_by=principal.user_id,
            expected_version=expected_version(if_match),
            at=datetime.now(UTC),
        )
        return accepted(result)
