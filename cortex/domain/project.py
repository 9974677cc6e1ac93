"""The Project aggregate: a named workspace that ideas and documents belong to.

Invariants: a name is 1-120 printable characters, a description at most 4,000; an archived
project accepts no further changes; a project with members keeps at least one owner.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, AggregateCreated, AggregateEvent

from cortex.domain.errors import InvalidTransition
from cortex.domain.roles import ProjectRole
from cortex.domain.text import clean_text

NAME_MAX = 120
DESCRIPTION_MAX = 4000


class ProjectCreated(AggregateCreated):
    """A project was created with a name and a description."""

    name: str
    description: str


class ProjectRenamed(AggregateEvent):
    """A project was given a new name."""

    name: str

    def apply(self, aggregate: Project) -> None:
        aggregate.name = self.name


class ProjectDescriptionChanged(AggregateEvent):
    """A project's description was rewritten."""

    description: str

    def apply(self, aggregate: Project) -> None:
        aggregate.description = self.description


class ProjectMemberAdded(AggregateEvent):
    """A user became a member of the project with a role (or had their role changed)."""

    user_id: UUID
    role: str

    def apply(self, aggregate: Project) -> None:
        aggregate.members = {**aggregate.members, self.user_id: ProjectRole(self.role)}


class ProjectMemberRemoved(AggregateEvent):
    """A user stopped being a member of the project."""

    user_id: UUID

    def apply(self, aggregate: Project) -> None:
        aggregate.members = {k: v for k, v in aggregate.members.items() if k != self.user_id}


class ProjectArchived(AggregateEvent):
    """A project was archived: it stays readable and accepts no changes."""

    def apply(self, aggregate: Project) -> None:
        aggregate.archived = True


class Project(Aggregate):
    """A workspace for a team's knowledge."""

    def __init__(self, name: str, description: str) -> None:
        self.name = name
        self.description = description
        self.archived = False
        self.members: dict[UUID, ProjectRole] = {}

    @classmethod
    def create(cls, *, id: UUID, name: str, description: str, at: datetime) -> Project:
        return cls._create(
            ProjectCreated,
            id=id,
            name=clean_text("name", name, max_length=NAME_MAX),
            description=clean_text(
                "description", description, max_length=DESCRIPTION_MAX, allow_empty=True
            ),
            timestamp=at,
        )

    def rename(self, name: str, *, at: datetime) -> None:
        self._require_active()
        name = clean_text("name", name, max_length=NAME_MAX)
        if name != self.name:
            self.trigger_event(ProjectRenamed, name=name, timestamp=at)

    def describe(self, description: str, *, at: datetime) -> None:
        self._require_active()
        description = clean_text(
            "description", description, max_length=DESCRIPTION_MAX, allow_empty=True
        )
        if description != self.description:
            self.trigger_event(ProjectDescriptionChanged, description=description, timestamp=at)

    def set_member(self, user_id: UUID, role: ProjectRole, *, at: datetime) -> None:
        self._require_active()
        if self.members.get(user_id) != role:
            self.trigger_event(ProjectMemberAdded, user_id=user_id, role=str(role), timestamp=at)

    def remove_member(self, user_id: UUID, *, at: datetime) -> None:
        self._require_active()
        if user_id not in self.members:
            return
        owners = [uid for uid, role in self.members.items() if role == ProjectRole.OWNER]
        if owners == [user_id]:
            raise InvalidTransition("a project keeps at least one owner")
        self.trigger_event(ProjectMemberRemoved, user_id=user_id, timestamp=at)

    def archive(self, *, at: datetime) -> None:
        self._require_active()
        self.trigger_event(ProjectArchived, timestamp=at)

    def _require_active(self) -> None:
        if self.archived:
            raise InvalidTransition("the project is archived", current_status="archived")
