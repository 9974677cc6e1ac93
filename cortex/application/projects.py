"""Projects: create, rename, describe, archive."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from cortex.application.event_log import CommandResult, EventLog
from cortex.domain.project import Project
from cortex.domain.roles import ProjectRole
from cortex.domain.user import User


class ProjectService:
    """Commands on projects."""

    def __init__(self, log: EventLog) -> None:
        self._log = log

    def create_project(
        self,
        *,
        project_id: UUID,
        name: str,
        description: str,
        at: datetime,
        owner_id: UUID | None = None,
    ) -> CommandResult:
        """Create a project; its creator (when known) becomes its first owner."""
        project = Project.create(id=project_id, name=name, description=description, at=at)
        if owner_id is not None:
            project.set_member(owner_id, ProjectRole.OWNER, at=at)
        return self._log.commit(project)

    def set_member(
        self, project_id: UUID, *, user_id: UUID, role: ProjectRole, at: datetime
    ) -> CommandResult:
        project = self._log.load(project_id, Project)
        self._log.load(user_id, User)  # only existing users become members
        project.set_member(user_id, role, at=at)
        return self._log.commit(project)

    def remove_member(self, project_id: UUID, *, user_id: UUID, at: datetime) -> CommandResult:
        project = self._log.load(project_id, Project)
        project.remove_member(user_id, at=at)
        return self._log.commit(project)

    def update_project(
        self,
        project_id: UUID,
        *,
        name: str | None,
        description: str | None,
        expected_version: int | None,
        at: datetime,
    ) -> CommandResult:
        project = self._log.load(project_id, Project, expected_version=expected_version)
        if name is not None:
            project.rename(name, at=at)
        if description is not None:
            project.describe(description, at=at)
        return self._log.commit(project)

    def archive_project(
        self, project_id: UUID, *, expected_version: int | None, at: datetime
    ) -> CommandResult:
        project = self._log.load(project_id, Project, expected_version=expected_version)
        project.archive(at=at)
        return self._log.commit(project)

    def get_project(self, project_id: UUID) -> Project:
        """The write-side state of a project (for other contexts' checks, not for queries)."""
        return self._log.load(project_id, Project)
