"""The ContentClaim aggregate: which document of a project holds a given content (by sha256).

Its id is derived from the project and the hash, so two uploads of the same bytes into one project
race for the same aggregate and optimistic concurrency lets only one create the document.
Invariant: at most one holder at a time; a released claim can be claimed again.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, AggregateCreated, AggregateEvent

CLAIM_NAMESPACE = UUID("0c9a3f52-7d4e-4b1a-8e6f-5a2b9c1d3e4f")


def content_claim_id(project_id: UUID, sha256: str) -> UUID:
    return uuid5(CLAIM_NAMESPACE, f"{project_id}/{sha256}")


class ContentClaimed(AggregateCreated):
    """A document of the project now holds this content."""

    project_id: UUID
    sha256: str
    document_id: UUID


class ContentReclaimed(AggregateEvent):
    """A released content was taken by another document."""

    document_id: UUID

    def apply(self, aggregate: ContentClaim) -> None:
        aggregate.document_id = self.document_id


class ContentReleased(AggregateEvent):
    """The holder was deleted or moved to other content; the content is free again."""

    def apply(self, aggregate: ContentClaim) -> None:
        aggregate.document_id = None


class ContentClaim(Aggregate):
    """Which document of a project holds a content hash, if any."""

    def __init__(self, *, project_id: UUID, sha256: str, document_id: UUID | None) -> None:
        self.project_id = project_id
        self.sha256 = sha256
        self.document_id: UUID | None = document_id

    @classmethod
    def claim(
        cls, *, project_id: UUID, sha256: str, document_id: UUID, at: datetime
    ) -> ContentClaim:
        return cls._create(
            ContentClaimed,
            id=content_claim_id(project_id, sha256),
            project_id=project_id,
            sha256=sha256,
            document_id=document_id,
            timestamp=at,
        )

    def reclaim(self, document_id: UUID, *, at: datetime) -> None:
        if self.document_id is not None:
            raise ValueError("content is still held")
        self.trigger_event(ContentReclaimed, document_id=document_id, timestamp=at)

    def release(self, document_id: UUID, *, at: datetime) -> None:
        """Free the content if this document holds it (a no-op otherwise)."""
        if self.document_id == document_id:
            self.trigger_event(ContentReleased, timestamp=at)
