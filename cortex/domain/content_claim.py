"""The ContentClaim aggregate: which document of a project holds a given content (by sha256).

Its id is derived from the project and the hash, so two uploads of the same bytes into one project
race for the same aggregate and optimistic concurrency lets only one create the document.
Invariant: at most one holder at a time; documents uploaded with the same content on purpose
(``force``) are kept as copies, and the first copy becomes the holder when the holder goes; a
released claim can be claimed again.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, AggregateCreated, AggregateEvent

from cortex.domain.errors import InvalidTransition

CLAIM_NAMESPACE = UUID("0c9a3f52-7d4e-4b1a-8e6f-5a2b9c1d3e4f")


def content_claim_id(project_id: UUID, sha256: str) -> UUID:
    return uuid5(CLAIM_NAMESPACE, f"{project_id}/{sha256}")


class ContentClaimed(AggregateCreated):
    """A document of the project now holds this content."""

    project_id: UUID
    sha256: str
    document_id: UUID


class ContentReclaimed(AggregateEvent):
    """Another document holds the content now: a new upload of released content, or a copy
    taking over from a holder that went."""

    document_id: UUID

    def apply(self, aggregate: ContentClaim) -> None:
        aggregate.document_id = self.document_id
        aggregate.copies = tuple(copy for copy in aggregate.copies if copy != self.document_id)


class ContentCopied(AggregateEvent):
    """A document was uploaded with content the project already holds, on purpose (force)."""

    document_id: UUID

    def apply(self, aggregate: ContentClaim) -> None:
        aggregate.copies = (*aggregate.copies, self.document_id)


class ContentCopyReleased(AggregateEvent):
    """A copy was deleted or moved to other content."""

    document_id: UUID

    def apply(self, aggregate: ContentClaim) -> None:
        aggregate.copies = tuple(copy for copy in aggregate.copies if copy != self.document_id)


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
        self.copies: tuple[UUID, ...] = ()

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
            raise InvalidTransition("the content is still held by another document")
        self.trigger_event(ContentReclaimed, document_id=document_id, timestamp=at)

    def add_copy(self, document_id: UUID, *, at: datetime) -> None:
        if document_id != self.document_id and document_id not in self.copies:
            self.trigger_event(ContentCopied, document_id=document_id, timestamp=at)

    def release(self, document_id: UUID, *, at: datetime) -> None:
        """The document no longer has this content: its first copy takes over, or it is free."""
        if self.document_id == document_id:
            if self.copies:
                self.trigger_event(ContentReclaimed, document_id=self.copies[0], timestamp=at)
            else:
                self.trigger_event(ContentReleased, timestamp=at)
        elif document_id in self.copies:
            self.trigger_event(ContentCopyReleased, document_id=document_id, timestamp=at)
