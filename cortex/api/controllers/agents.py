"""/api/agents: define, list, read and revise agents; start runs (answered by a worker)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID, uuid4

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED

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
from cortex.api.schemas.agents import (
    AgentPage,
    AgentRead,
    AgentRunQueued,
    DefineAgent,
    ReviseAgent,
    StartAgentRun,
)
from cortex.api.schemas.common import CommandAccepted
from cortex.api.security import Principal, require_project
from cortex.application.access import Grant
from cortex.application.errors import NotFound
from cortex.bootstrap import Cortex
from cortex.domain.agent import AgentSpec
from cortex.domain.roles import ProjectRole
from projections.agent_queries import get_agent, list_agents


def _spec(data: DefineAgent | ReviseAgent) -> AgentSpec:
    return AgentSpec(
        name=data.name,
        lane=data.lane,
        system_prompt=data.system_prompt,
        tools=tuple(data.tools),
        max_steps=data.max_steps,
        max_tokens=data.max_tokens,
        timeout_seconds=data.timeout_seconds,
    )


class AgentController(Controller):
    path = "/api/agents"
    tags = ["agents"]

    @post(
        "/",
        operation_id="createAgent",
        status_code=HTTP_201_CREATED,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def create_agent(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        data: JSONBody[DefineAgent],
    ) -> Response[CommandAccepted]:
        """Define an agent: 422 names an unknown lane or tool, or a limit out of bounds."""
        require_project(principal, cortex, data.project_id, ProjectRole.EDITOR)
        result = cortex.agents.define_agent(
            agent_id=uuid4(),
            project_id=data.project_id,
            spec=_spec(data),
            defined_by=principal.user_id,
            at=datetime.now(UTC),
        )
        response = accepted(result, HTTP_201_CREATED)
        response.headers["Location"] = f"/api/agents/{result.id}"
        return response

    @get("/", operation_id="listAgents", sync_to_thread=True, responses=QUERY_PROBLEMS)
    def list_agents(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        project_id: FromQuery[UUID],
        cursor: Annotated[str | None, QueryParameter(max_length=1000)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        after: After = None,
    ) -> AgentPage:
        """A project's agents, oldest first."""
        require_project(principal, cortex, project_id, ProjectRole.VIEWER)
        wait_for_position(cortex, "agents", after)
        start = decode_cursor(cursor, 2)
        rows = list_agents(
            cortex.read_store,
            str(project_id),
            after=(str(start[0]), str(start[1])) if start else None,
            limit=limit + 1,
        )
        rows, next_cursor = keyset_page(rows, limit, "created_at", "id")
        return AgentPage(
            items=[msgspec.convert(row, AgentRead) for row in rows],
            next_cursor=next_cursor,
        )

    @get("/{agent_id:uuid}", operation_id="getAgent", sync_to_thread=True, responses=QUERY_PROBLEMS)
    def get_agent(
        self, cortex: NamedDependency[Cortex], agent_id: FromPath[UUID], after: After = None
    ) -> Response[AgentRead]:
        """The agent's latest definition (its version as ETag)."""
        wait_for_position(cortex, "agents", after)
        row = get_agent(cortex.read_store, str(agent_id))
        if row is None:
            raise NotFound("agent", agent_id)
        agent = msgspec.convert(row, AgentRead)
        return Response(agent, headers={"ETag": f'"{agent.version}"'})

    @put(
        "/{agent_id:uuid}",
        operation_id="reviseAgent",
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def revise_agent(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        agent_id: FromPath[UUID],
        data: JSONBody[ReviseAgent],
        if_match: IfMatch = None,
    ) -> Response[CommandAccepted]:
        """A new version of the definition; 409 when ``If-Match`` names another version."""
        result = cortex.agents.revise_agent(
            agent_id,
            spec=_spec(data),
            expected_version=expected_version(if_match),
            revised_by=principal.user_id,
            at=datetime.now(UTC),
        )
        return accepted(result)

    @post(
        "/{agent_id:uuid}/runs",
        operation_id="startAgentRun",
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def start_run(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        agent_id: FromPath[UUID],
        data: JSONBody[StartAgentRun],
    ) -> Response[AgentRunQueued]:
        """Queue a run on the ``agents`` worker queue; read it at ``/api/agent-runs/{id}``.

        Its tool calls may do what the caller may do in the project, and no more."""
        project_id = principal.resource_project_id or str(cortex.agents.project_of(agent_id))
        grant = Grant(principal.roles, principal.project_role(cortex, project_id))
        result = cortex.agents.start_run(
            agent_id,
            input=data.input,
            started_by=principal.user_id,
            grant=grant,
            run_id=uuid4(),
            at=datetime.now(UTC),
        )
        queued = AgentRunQueued(
            id=result.id, status="queued", version=result.version, position=result.position
        )
        return Response(
            queued,
            status_code=HTTP_202_ACCEPTED,
            headers={"Location": f"/api/agent-runs/{result.id}"},
        )
