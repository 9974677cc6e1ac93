"""Document, ingest job and chunk wire types."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec

JobStatus = Literal[
    "queued", "extracted", "chunked", "embedded", "completed", "failed", "cancelled"
]


class PasteDocument(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Pasted text; ``filename`` (e.g. ``notes.md``) tells its format, else it is sniffed."""

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    text: Annotated[str, msgspec.Meta(min_length=1)]
    filename: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | None = None


Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^\S+$")]


class TagDocument(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The document's whole set of tags (replaces the one before)."""

    tags: Annotated[list[Tag], msgspec.Meta(max_length=32)]


class UploadedDocument(msgspec.Struct, frozen=True, kw_only=True):
    """One file of an upload: a new document (``created``) or the one that already has it."""

    document_id: UUID
    title: str
    filename: str
    kind: str
    media_type: str
    size_bytes: int
    sha256: str
    created: bool
    duplicate_of: UUID | None
    job_id: UUID | None
    version: int
    position: int | None


class SkippedFile(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    reason: str


class UploadResults(msgspec.Struct, frozen=True, kw_only=True):
    """Pass ``position`` as ``?after=`` to read the documents and jobs back at once."""

    documents: list[UploadedDocument]
    skipped: list[SkippedFile]
    position: int


class DocumentVersionRead(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    filename: str
    media_type: str
    kind: str
    size_bytes: int
    sha256: str
    uploaded_by: UUID | None
    uploaded_at: str


class DocumentRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    project_id: UUID
    title: str
    filename: str
    media_type: str
    kind: str
    language: str
    size_bytes: int
    sha256: str
    latest_version: int
    indexed_version: int
    ingest_status: JobStatus
    current_job_id: UUID | None
    error: str
    duplicate_of: UUID | None
    uploaded_by: UUID | None
    created_at: str
    updated_at: str
    tags: list[str] = []
    versions: list[DocumentVersionRead] | None = None


class DocumentPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[DocumentRead]
    next_cursor: str | None


class StageTimings(msgspec.Struct, frozen=True, kw_only=True):
    """Seconds spent waiting in the queue, extracting, chunking, embedding, and in all."""

    queued_seconds: float | None
    extract_seconds: float | None
    chunk_seconds: float | None
    embed_seconds: float | None
    total_seconds: float | None


class IngestJobRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    document_id: UUID
    project_id: UUID
    document_version: int
    reason: str
    status: JobStatus
    attempts: int
    failed_stage: str
    error: str
    extractor: str
    tokenizer: str
    characters: int | None
    chunk_count: int | None
    embedding_model: str
    truncated: int | None
    requested_at: str
    extract_started_at: str | None
    extracted_at: str | None
    chunk_started_at: str | None
    chunked_at: str | None
    embed_started_at: str | None
    embedded_at: str | None
    finished_at: str | None
    updated_at: str
    timings: StageTimings


class IngestJobPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[IngestJobRead]
    next_cursor: str | None


class ChunkRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    document_id: UUID
    document_version: int
    position: int
    start_offset: int
    end_offset: int
    heading: str
    token_count: int
    text: str
    indexed: bool


class ChunkPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ChunkRead]
    next_cursor: str | None


class JobAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """The job now owed; poll ``/api/ingest/jobs/{job_id}`` (``?after=position``)."""

    job_id: UUID
    document_id: UUID
    position: int
