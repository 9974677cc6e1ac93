"""Projects: create, rename, describe, archive."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from cortex.application.event_log import CommandResult, EventLog
from cortex.domain.project import Project


class ProjectService:
    """Commands on projects."""

    def __init__(self, log: EventLog) -> None:
        self._log = log

    def create_project(
        self, *, project_id: UUID, name: str, description: str, at: datetime
    ) -> CommandResult:
        project = Project.create(id=project_id, name=name, description=description, at=at)
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
