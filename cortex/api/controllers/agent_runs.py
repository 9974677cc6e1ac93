"""/api/agent-runs: a run with its transcript, a project's runs, cancel."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK

from cortex.api.dependencies import After, accepted, decode_cursor, keyset_page, wait_for_position
from cortex.api.problems import COMMAND_PROBLEMS, QUERY_PROBLEMS
from cortex.api.schemas.agents import (
    AgentRunPage,
    AgentRunRead,
    AgentRunSummary,
    RequestedToolCall,
    ToolCallRead,
    TranscriptMessage,
)
from cortex.api.schemas.common import CommandAccepted
from cortex.api.security import Principal, require_project
from cortex.application.errors import NotFound
from cortex.bootstrap import Cortex
from cortex.domain.roles import ProjectRole
from projections.agent_queries import get_run, list_runs, run_entries


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def transcript(entries: list[dict[str, Any]]) -> tuple[list[TranscriptMessage], list[ToolCallRead]]:
    """The messages as the model saw them, and each tool call joined with its result."""
    messages: list[TranscriptMessage] = []
    calls: list[dict[str, Any]] = []
    for entry in entries:
        kind = entry["kind"]
        if kind == "tool_call":
            calls.append(
                {
                    "id": entry["tool_call_id"],
                    "tool": entry["tool"],
                    "arguments": entry["arguments"],
                    "status": "called",
                    "called_at": entry["at"],
                }
            )
            continue
        if kind == "tool_result":
            # The last call with this id: ids may repeat across turns on some servers.
            call = next((c for c in reversed(calls) if c["id"] == entry["tool_call_id"]), None)
            if call is not None:
                call.update(
                    status="returned",
                    result=_json(entry["result"]),
                    error=entry["error"],
                    returned_at=entry["at"],
                )
            content = (
                entry["result"] if entry["error"] is None else json.dumps({"error": entry["error"]})
            )
        else:
            content = entry["content"]
        messages.append(
            TranscriptMessage(
                seq=entry["seq"],
                role=entry["role"],
                content=content,
                tool_calls=[
                    RequestedToolCall(id=c["id"], name=c["name"], arguments=c["arguments"])
                    for c in _json(entry["tool_calls"]) or []
                ],
                tool_call_id=entry["tool_call_id"],
                model_call_id=entry["model_call_id"],
                prompt_tokens=entry["prompt_tokens"],
                completion_tokens=entry["completion_tokens"],
                at=entry["at"],
            )
        )
    return messages, [msgspec.convert(call, ToolCallRead) for call in calls]


class AgentRunController(Controller):
    path = "/api/agent-runs"
    tags = ["agents"]

    @get(
        "/{run_id:uuid}",
        operation_id="getAgentRun",
        sync_to_thread=True,
        responses=QUERY_PROBLEMS,
    )
    def get_run(
        self, cortex: NamedDependency[Cortex], run_id: FromPath[UUID], after: After = None
    ) -> AgentRunRead:
        """A run's status, stop reason or error, token counts and transcript: each message
        (with the model call that produced it), each tool call with its arguments and result."""
        wait_for_position(cortex, "agents", after)
        row = get_run(cortex.read_store, str(run_id))
        if row is None:
            raise NotFound("agent run", run_id)
        messages, calls = transcript(run_entries(cortex.read_store, str(run_id)))
        detail = {**row, "messages": messages, "tool_calls": calls}
        return msgspec.convert(msgspec.to_builtins(detail), AgentRunRead)

    @get("/", operation_id="listAgentRuns", sync_to_thread=True, responses=QUERY_PROBLEMS)
    def list_runs(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        project_id: FromQuery[UUID],
        agent_id: FromQuery[UUID | None] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=1000)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        after: After = None,
    ) -> AgentRunPage:
        """A project's runs (of one agent with ``agent_id``), newest first."""
        require_project(principal, cortex, project_id, ProjectRole.VIEWER)
        wait_for_position(cortex, "agents", after)
        start = decode_cursor(cursor, 2)
        rows = list_runs(
            cortex.read_store,
            str(project_id),
            agent_id=str(agent_id) if agent_id else None,
            after=(str(start[0]), str(start[1])) if start else None,
            limit=limit + 1,
        )
        rows, next_cursor = keyset_page(rows, limit, "started_at", "id")
        return AgentRunPage(
            items=[msgspec.convert(row, AgentRunSummary) for row in rows],
            next_cursor=next_cursor,
        )

    @post(
        "/{run_id:uuid}/cancel",
        operation_id="cancelAgentRun",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def cancel_run(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        run_id: FromPath[UUID],
    ) -> Response[CommandAccepted]:
        """Stop a queued or running run (409 when it has ended); the starter or an editor."""
        row = get_run(cortex.read_store, str(run_id))
        if row is None:
            raise NotFound("agent run", run_id)
        if principal.user_id is None or str(principal.user_id) != row["started_by"]:
            require_project(principal, cortex, row["project_id"], ProjectRole.EDITOR)
        result = cortex.agents.cancel(run_id, cancelled_by=principal.user_id, at=datetime.now(UTC))
        return accepted(result)
