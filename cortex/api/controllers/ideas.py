"""/api/ideas: capture, list and search, read, edit, status, votes, links, delete."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
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
    text_query,
    wait_for_position,
)
from cortex.api.problems import COMMAND_PROBLEMS, QUERY_PROBLEMS, InvalidQuery
from cortex.api.schemas.common import CommandAccepted
from cortex.api.schemas.ideas import (
    CaptureIdea,
    ChangeIdeaStatus,
    IdeaPage,
    IdeaRead,
    LinkIdea,
    Status,
    UpdateIdea,
    VoteOnIdea,
)
from cortex.api.security import Principal, require_project
from cortex.application.errors import NotFound
from cortex.bootstrap import Cortex
from cortex.domain.roles import ProjectRole
from projections.idea_queries import IdeaFilter, Page, get_idea, list_ideas

Sort = Literal[
    "created_at", "-created_at", "updated_at", "-updated_at", "votes", "-votes", "title", "-title"
]


class IdeaController(Controller):
    path = "/api/ideas"
    tags = ["ideas"]

    @post(
        "/",
        operation_id="captureIdea",
        status_code=HTTP_201_CREATED,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def capture_idea(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        data: JSONBody[CaptureIdea],
    ) -> Response[CommandAccepted]:
        require_project(principal, cortex, data.project_id, ProjectRole.EDITOR)
        result = cortex.ideas.capture_idea(
            idea_id=uuid4(),
            project_id=data.project_id,
            title=data.title,
            body=data.body,
            tags=data.tags,
            at=datetime.now(UTC),
        )
        response = accepted(result, HTTP_201_CREATED)
        response.headers["Location"] = f"/api/ideas/{result.id}"
        return response

    @get("/", operation_id="listIdeas", sync_to_thread=True, responses=QUERY_PROBLEMS)
    def list_ideas(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        project_id: FromQuery[UUID | None] = None,
        status: FromQuery[Status | None] = None,
        tag: Annotated[str | None, QueryParameter(max_length=40)] = None,
        q: Annotated[
            str | None,
            QueryParameter(max_length=200, description="Words to find in title and body"),
        ] = None,
        sort: FromQuery[Sort] = "-created_at",
        cursor: Annotated[str | None, QueryParameter(max_length=1000)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        after: After = None,
    ) -> IdeaPage:
        wait_for_position(cortex, "ideas", after)
        key = sort.lstrip("-")
        start = decode_cursor(cursor, 2)
        if start and not isinstance(start[0], int if key == "votes" else str):
            raise InvalidQuery("cursor", f"not a cursor for sort={sort}")
        page = Page(
            sort=key,  # type: ignore[arg-type]
            descending=sort.startswith("-"),
            after=(start[0], str(start[1])) if start else None,
            limit=limit + 1,
        )
        where = IdeaFilter(
            project_id=str(project_id) if project_id else None,
            status=status,
            tag=text_query("tag", tag.strip().lower() if tag else None),
            text=text_query("q", q),
            project_ids=principal.visible_project_ids(cortex),
        )
        rows = list_ideas(cortex.read_store, where, page)
        rows, next_cursor = keyset_page(rows, limit, key, "id")
        return IdeaPage(
            items=[msgspec.convert(row, IdeaRead) for row in rows],
            next_cursor=next_cursor,
        )

    @get("/{idea_id:uuid}", operation_id="getIdea", sync_to_thread=True, responses=QUERY_PROBLEMS)
    def get_idea(
        self, cortex: NamedDependency[Cortex], idea_id: FromPath[UUID], after: After = None
    ) -> Response[IdeaRead]:
        wait_for_position(cortex, "ideas", after)
        row = get_idea(cortex.read_store, str(idea_id))
        if row is None:
            raise NotFound("idea", idea_id)
        idea = msgspec.convert(row, IdeaRead)
        return Response(idea, headers={"ETag": f'"{idea.version}"'})

    @patch(
        "/{idea_id:uuid}",
        operation_id="updateIdea",
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def update_idea(
        self,
        cortex: NamedDependency[Cortex],
        idea_id: FromPath[UUID],
        data: JSONBody[UpdateIdea],
        if_match: IfMatch = None,
    ) -> Response[CommandAccepted]:
        result = cortex.ideas.edit_idea(
            idea_id,
            title=data.title,
            body=data.body,
            add_tags=data.add_tags,
            remove_tags=data.remove_tags,
            expected_version=expected_version(if_match),
            at=datetime.now(UTC),
        )
        return accepted(result)

    @post(
        "/{idea_id:uuid}/status",
        operation_id="changeIdeaStatus",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def change_status(
        self,
        cortex: NamedDependency[Cortex],
        idea_id: FromPath[UUID],
        data: JSONBody[ChangeIdeaStatus],
        if_match: IfMatch = None,
    ) -> Response[CommandAccepted]:
        result = cortex.ideas.change_idea_status(
            idea_id,
            status=data.status,
            reason=data.reason,
            expected_version=expected_version(if_match),
            at=datetime.now(UTC),
        )
        return accepted(result)

    @post(
        "/{idea_id:uuid}/votes",
        operation_id="voteOnIdea",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def vote(
        self,
        cortex: NamedDependency[Cortex],
        idea_id: FromPath[UUID],
        data: JSONBody[VoteOnIdea],
        if_match: IfMatch = None,
    ) -> Response[CommandAccepted]:
        result = cortex.ideas.vote_on_idea(
            idea_id,
            value=data.value,
            expected_version=expected_version(if_match),
            at=datetime.now(UTC),
        )
        return accepted(result)

    @post(
        "/{idea_id:uuid}/links",
        operation_id="linkIdea",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def link(
        self,
        cortex: NamedDependency[Cortex],
        idea_id: FromPath[UUID],
        data: JSONBody[LinkIdea],
        if_match: IfMatch = None,
    ) -> Response[CommandAccepted]:
        result = cortex.ideas.link_ideas(
            idea_id,
            target_id=data.target_id,
            relation=data.relation,
            expected_version=expected_version(if_match),
            at=datetime.now(UTC),
        )
        return accepted(result)

    @delete(
        "/{idea_id:uuid}",
        operation_id="deleteIdea",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def delete_idea(
        self, cortex: NamedDependency[Cortex], idea_id: FromPath[UUID], if_match: IfMatch = None
    ) -> Response[CommandAccepted]:
        result = cortex.ideas.delete_idea(
            idea_id, expected_version=expected_version(if_match), at=datetime.now(UTC)
        )
        return accepted(result)
