"""The Idea aggregate: a captured thought in a project, with tags, votes, status and links.

Invariants: title 1-200 characters, body at most 20,000, at most 32 tags; status moves only
proposed -> accepted | rejected -> archived; archived and deleted ideas accept no changes; an idea
never links to itself.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, AggregateCreated, AggregateEvent

from cortex.domain.errors import AggregateGone, InvalidInput, InvalidTransition
from cortex.domain.text import clean_tag, clean_text

TITLE_MAX = 200
BODY_MAX = 20_000
TAGS_MAX = 32


class IdeaStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ARCHIVED = "archived"


class LinkRelation(StrEnum):
    RELATES_TO = "relates_to"
    DEPENDS_ON = "depends_on"
    DUPLICATES = "duplicates"
    SUPERSEDES = "supersedes"


ALLOWED_TRANSITIONS: dict[IdeaStatus, frozenset[IdeaStatus]] = {
    IdeaStatus.PROPOSED: frozenset({IdeaStatus.ACCEPTED, IdeaStatus.REJECTED}),
    IdeaStatus.ACCEPTED: frozenset({IdeaStatus.ARCHIVED}),
    IdeaStatus.REJECTED: frozenset({IdeaStatus.ARCHIVED}),
    IdeaStatus.ARCHIVED: frozenset(),
}


class IdeaCaptured(AggregateCreated):
    """Someone wrote down an idea in a project."""

    project_id: UUID
    title: str
    body: str
    tags: tuple[str, ...]


class IdeaEdited(AggregateEvent):
    """The idea's title or body was rewritten."""

    title: str
    body: str

    def apply(self, aggregate: Idea) -> None:
        aggregate.title = self.title
        aggregate.body = self.body


class IdeaTagged(AggregateEvent):
    """A tag was put on the idea."""

    tag: str

    def apply(self, aggregate: Idea) -> None:
        aggregate.tags = (*aggregate.tags, self.tag)


class IdeaUntagged(AggregateEvent):
    """A tag was taken off the idea."""

    tag: str

    def apply(self, aggregate: Idea) -> None:
        aggregate.tags = tuple(tag for tag in aggregate.tags if tag != self.tag)


class IdeaVoted(AggregateEvent):
    """Someone voted for (+1) or against (-1) the idea."""

    value: int

    def apply(self, aggregate: Idea) -> None:
        aggregate.votes += self.value


class IdeaStatusChanged(AggregateEvent):
    """The idea moved along its life cycle, with the reason given."""

    status: str
    previous_status: str
    reason: str

    def apply(self, aggregate: Idea) -> None:
        aggregate.status = IdeaStatus(self.status)


class IdeaLinked(AggregateEvent):
    """The idea was linked to another idea of the same project."""

    target_id: UUID
    relation: str

    def apply(self, aggregate: Idea) -> None:
        aggregate.links = (*aggregate.links, (self.target_id, LinkRelation(self.relation)))


class IdeaDeleted(AggregateEvent):
    """The idea was deleted: a tombstone; it leaves every read model."""

    def apply(self, aggregate: Idea) -> None:
        aggregate.deleted = True


class Idea(Aggregate):
    """A captured idea."""

    def __init__(self, project_id: UUID, title: str, body: str, tags: tuple[str, ...]) -> None:
        self.project_id = project_id
        self.title = title
        self.body = body
        self.tags = tuple(tags)
        self.votes = 0
        self.status = IdeaStatus.PROPOSED
        self.links: tuple[tuple[UUID, LinkRelation], ...] = ()
        self.deleted = False

    @classmethod
    def capture(
        cls,
        *,
        id: UUID,
        project_id: UUID,
        title: str,
        body: str,
        tags: list[str] | tuple[str, ...],
        at: datetime,
    ) -> Idea:
        cleaned_tags = tuple(dict.fromkeys(clean_tag(tag) for tag in tags))
        if len(cleaned_tags) > TAGS_MAX:
            raise InvalidInput("tags", f"at most {TAGS_MAX} tags")
        return cls._create(
            IdeaCaptured,
            id=id,
            project_id=project_id,
            title=clean_text("title", title, max_length=TITLE_MAX),
            body=clean_text("body", body, max_length=BODY_MAX, allow_empty=True),
            tags=cleaned_tags,
            timestamp=at,
        )

    def edit(self, *, title: str | None, body: str | None, at: datetime) -> None:
        self._require_editable()
        new_title = (
            self.title if title is None else clean_text("title", title, max_length=TITLE_MAX)
        )
        new_body = (
            self.body
            if body is None
            else clean_text("body", body, max_length=BODY_MAX, allow_empty=True)
        )
        if (new_title, new_body) != (self.title, self.body):
            self.trigger_event(IdeaEdited, title=new_title, body=new_body, timestamp=at)

    def tag(self, tag: str, *, at: datetime) -> None:
        self._require_editable()
        tag = clean_tag(tag)
        if tag in self.tags:
            return
        if len(self.tags) >= TAGS_MAX:
            raise InvalidInput("tags", f"at most {TAGS_MAX} tags")
        self.trigger_event(IdeaTagged, tag=tag, timestamp=at)

    def untag(self, tag: str, *, at: datetime) -> None:
        self._require_editable()
        tag = clean_tag(tag)
        if tag in self.tags:
            self.trigger_event(IdeaUntagged, tag=tag, timestamp=at)

    def vote(self, value: int, *, at: datetime) -> None:
        self._require_editable()
        if value not in (-1, 1):
            raise InvalidInput("value", "a vote is +1 or -1")
        self.trigger_event(IdeaVoted, value=value, timestamp=at)

    def change_status(self, status: IdeaStatus, *, reason: str, at: datetime) -> None:
        self._require_present()
        if status not in ALLOWED_TRANSITIONS[self.status]:
            allowed = sorted(str(s) for s in ALLOWED_TRANSITIONS[self.status]) or ["none"]
            raise InvalidTransition(
                f"an idea that is {self.status} cannot become {status}; "
                f"allowed: {', '.join(allowed)}",
                current_status=self.status,
            )
        self.trigger_event(
            IdeaStatusChanged,
            status=str(status),
            previous_status=str(self.status),
            reason=clean_text("reason", reason, max_length=1000, allow_empty=True),
            timestamp=at,
        )

    def link(self, target: Idea, relation: LinkRelation, *, at: datetime) -> None:
        self._require_editable()
        if target.id == self.id:
            raise InvalidInput("target_id", "an idea cannot link to itself")
        if target.deleted:
            raise InvalidInput("target_id", "the target idea has been deleted")
        if target.project_id != self.project_id:
            raise InvalidInput("target_id", "the target idea belongs to another project")
        if (target.id, relation) not in self.links:
            self.trigger_event(
                IdeaLinked, target_id=target.id, relation=str(relation), timestamp=at
            )

    def delete(self, *, at: datetime) -> None:
        self._require_present()
        self.trigger_event(IdeaDeleted, timestamp=at)

    def _require_present(self) -> None:
        if self.deleted:
            raise AggregateGone("the idea has been deleted")

    def _require_editable(self) -> None:
        self._require_present()
        if self.status == IdeaStatus.ARCHIVED:
            raise InvalidTransition("the idea is archived", current_status=str(self.status))
