"""/api/projects: create, list, read, update, archive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID, uuid4

import msgspec
from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from cortex.api.dependencies import (
    After,
    IfMatch,
    accepted,
    decode_cursor,
    expected_version,
    keyset_page,
    wait_for_position,
)
from cortex.api.problems import COMMAND_PROBLEMS, QUERY_PROBLEMS
from cortex.api.schemas.auth import SetMember
from cortex.api.schemas.common import CommandAccepted
from cortex.api.schemas.projects import CreateProject, ProjectPage, ProjectRead, UpdateProject
from cortex.api.security import Principal
from cortex.application.errors import NotFound
from cortex.bootstrap import Cortex
from cortex.domain.roles import ProjectRole
from projections.projects import get_project, list_projects


class ProjectController(Controller):
    path = "/api/projects"
    tags = ["projects"]

    @post(
        "/",
        operation_id="createProject",
        status_code=HTTP_201_CREATED,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def create_project(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        data: JSONBody[CreateProject],
    ) -> Response[CommandAccepted]:
        """Create a project; the caller becomes its owner."""
        result = cortex.projects.create_project(
            project_id=uuid4(),
            name=data.name,
            description=data.description,
            at=datetime.now(UTC),
            owner_id=principal.user_id,
        )
        response = accepted(result, HTTP_201_CREATED)
        response.headers["Location"] = f"/api/projects/{result.id}"
        return response

    @get("/", operation_id="listProjects", sync_to_thread=True, responses=QUERY_PROBLEMS)
    def list_projects(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        include_archived: FromQuery[bool] = False,
        cursor: Annotated[str | None, QueryParameter(max_length=1000)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        after: After = None,
    ) -> ProjectPage:
        wait_for_position(cortex, "projects", after)
        start = decode_cursor(cursor, 2)
        rows = list_projects(
            cortex.read_store,
            include_archived=include_archived,
            after=(str(start[0]), str(start[1])) if start else None,
            limit=limit + 1,
            only=principal.visible_project_ids(cortex),
        )
        rows, next_cursor = keyset_page(rows, limit, "created_at", "id")
        return ProjectPage(
            items=[msgspec.convert(row, ProjectRead) for row in rows],
            next_cursor=next_cursor,
        )

    @get(
        "/{project_id:uuid}",
        operation_id="getProject",
        sync_to_thread=True,
        responses=QUERY_PROBLEMS,
    )
    def get_project(
        self, cortex: NamedDependency[Cortex], project_id: FromPath[UUID], after: After = None
    ) -> Response[ProjectRead]:
        wait_for_position(cortex, "projects", after)
        row = get_project(cortex.read_store, str(project_id))
        if row is None:
            raise NotFound("project", project_id)
        project = msgspec.convert(row, ProjectRead)
        return Response(project, headers={"ETag": f'"{project.version}"'})

    @patch(
        "/{project_id:uuid}",
        operation_id="updateProject",
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def update_project(
        self,
        cortex: NamedDependency[Cortex],
        project_id: FromPath[UUID],
        data: JSONBody[UpdateProject],
        if_match: IfMatch = None,
    ) -> Response[CommandAccepted]:
        result = cortex.projects.update_project(
            project_id,
            name=data.name,
            description=data.description,
            expected_version=expected_version(if_match),
            at=datetime.now(UTC),
        )
        return accepted(result)

    @post(
        "/{project_id:uuid}/archive",
        operation_id="archiveProject",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def archive_project(
        self, cortex: NamedDependency[Cortex], project_id: FromPath[UUID], if_match: IfMatch = None
    ) -> Response[CommandAccepted]:
        result = cortex.projects.archive_project(
            project_id, expected_version=expected_version(if_match), at=datetime.now(UTC)
        )
        return accepted(result)

    @post(
        "/{project_id:uuid}/members",
        operation_id="setProjectMember",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def set_member(
        self, cortex: NamedDependency[Cortex], project_id: FromPath[UUID], data: JSONBody[SetMember]
    ) -> Response[CommandAccepted]:
        """Add a member with a project role, or change a member's role (owners only)."""
        result = cortex.projects.set_member(
            project_id, user_id=data.user_id, role=ProjectRole(data.role), at=datetime.now(UTC)
        )
        wait_for_position(cortex, "projects", result.position)  # the guard reads memberships
        return accepted(result)

    @delete(
        "/{project_id:uuid}/members/{user_id:uuid}",
        operation_id="removeProjectMember",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def remove_member(
        self, cortex: NamedDependency[Cortex], project_id: FromPath[UUID], user_id: FromPath[UUID]
    ) -> Response[CommandAccepted]:
        result = cortex.projects.remove_member(project_id, user_id=user_id, at=datetime.now(UTC))
        wait_for_position(cortex, "projects", result.position)  # removal holds at once
        return accepted(result)
