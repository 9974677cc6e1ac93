"""What an ingest job is inside a Document: its stages, the chunks it produced, what it stored.

A job is owed work from the moment its ``IngestRequested`` event is in the log until a terminal
event (completed, failed for good, cancelled) follows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID, uuid5

import msgspec

CHUNK_NAMESPACE = UUID("6f1d4c8e-2b5a-4f3e-9c7d-0a1b2c3d4e5f")


class IngestStatus(StrEnum):
    QUEUED = "queued"
    EXTRACTED = "extracted"
    CHUNKED = "chunked"
    EMBEDDED = "embedded"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({IngestStatus.COMPLETED, IngestStatus.FAILED, IngestStatus.CANCELLED})


class StoredContent(msgspec.Struct, frozen=True, kw_only=True):
    """An uploaded original: what it is and where its bytes are kept (keyed by content hash)."""

    filename: str
    media_type: str
    kind: str
    language: str = ""
    size: int
    sha256: str
    storage_key: str


class ChunkSpan(msgspec.Struct, frozen=True, kw_only=True):
    """A chunk of a job's extracted text, by character offsets; its text is text[start:end]."""

    id: UUID
    position: int
    start: int
    end: int
    heading: str = ""
    tokens: int


def chunk_id(document_id: UUID, version: int, position: int) -> UUID:
    """Deterministic: the same document version chunked again yields the same ids."""
    return uuid5(CHUNK_NAMESPACE, f"{document_id}/{version}/{position}")


@dataclass
class IngestJob:
    """The state of one ingest job, as its events left it."""

    id: UUID
    version: int
    reason: str
    status: IngestStatus = IngestStatus.QUEUED
    failures: int = 0
    text: str | None = None
    chunks: tuple[ChunkSpan, ...] = ()
    error: str = ""

    @property
    def open(self) -> bool:
        return self.status not in TERMINAL
