"""Ideas: capture, edit, tag, vote, move through statuses, link, delete."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from cortex.application.event_log import CommandResult, EventLog
from cortex.domain.errors import InvalidInput, InvalidTransition
from cortex.domain.idea import Idea, IdeaStatus, LinkRelation
from cortex.domain.project import Project


class IdeaService:
    """Commands on ideas."""

    def __init__(self, log: EventLog) -> None:
        self._log = log

    def capture_idea(
        self,
        *,
        idea_id: UUID,
        project_id: UUID,
        title: str,
        body: str,
        tags: list[str],
        at: datetime,
    ) -> CommandResult:
        project = self._log.load(project_id, Project)
        if project.archived:
            raise InvalidTransition("the project is archived", current_status="archived")
        idea = Idea.capture(
            id=idea_id, project_id=project_id, title=title, body=body, tags=tags, at=at
        )
        return self._log.commit(idea)

    def edit_idea(
        self,
        idea_id: UUID,
        *,
        title: str | None = None,
        body: str | None = None,
        add_tags: list[str] | None = None,
        remove_tags: list[str] | None = None,
        expected_version: int | None,
        at: datetime,
    ) -> CommandResult:
        idea = self._load(idea_id, expected_version)
        idea.edit(title=title, body=body, at=at)
        for tag in remove_tags or ():
            idea.untag(tag, at=at)
        for tag in add_tags or ():
            idea.tag(tag, at=at)
        return self._log.commit(idea)

    def vote_on_idea(
        self, idea_id: UUID, *, value: int, expected_version: int | None, at: datetime
    ) -> CommandResult:
        idea = self._load(idea_id, expected_version)
        idea.vote(value, at=at)
        return self._log.commit(idea)

    def change_idea_status(
        self,
        idea_id: UUID,
        *,
        status: str,
        reason: str,
        expected_version: int | None,
        at: datetime,
    ) -> CommandResult:
        try:
            new_status = IdeaStatus(status)
        except ValueError:
            allowed = ", ".join(s.value for s in IdeaStatus)
            raise InvalidInput("status", f"expected one of {allowed}") from None
        idea = self._load(idea_id, expected_version)
        idea.change_status(new_status, reason=reason, at=at)
        return self._log.commit(idea)

    def link_ideas(
        self,
        idea_id: UUID,
        *,
        target_id: UUID,
        relation: str,
        expected_version: int | None,
        at: datetime,
    ) -> CommandResult:
        try:
            link_relation = LinkRelation(relation)
        except ValueError:
            allowed = ", ".join(r.value for r in LinkRelation)
            raise InvalidInput("relation", f"expected one of {allowed}") from None
        idea = self._load(idea_id, expected_version)
        if target_id == idea_id:
            raise InvalidInput("target_id", "an idea cannot link to itself")
        target = self._log.load(target_id, Idea)
        idea.link(target, link_relation, at=at)
        return self._log.commit(idea)

    def delete_idea(
        self, idea_id: UUID, *, expected_version: int | None, at: datetime
    ) -> CommandResult:
        idea = self._load(idea_id, expected_version)
        idea.delete(at=at)
        return self._log.commit(idea)

    def _load(self, idea_id: UUID, expected_version: int | None) -> Idea:
        return self._log.load(idea_id, Idea, expected_version=expected_version)
