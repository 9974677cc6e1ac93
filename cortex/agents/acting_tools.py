"""The tools that act: capture an idea, start a workflow run.

Ids of what they create derive from the run, the turn and the call, so a tool call run again
after a crash finds its idea or workflow run already there instead of making a second one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

from cortex.agents.registry import Tool, ToolError
from cortex.agents.tools import CALL, UUID_PATTERN, WRITE, object_schema, text_schema
from cortex.application.agent_ports import ToolRequest
from cortex.application.errors import NotFound, VersionConflict
from cortex.application.event_log import CommandResult
from cortex.application.ideas import IdeaService
from cortex.domain.errors import DomainError


class WorkflowStarter(Protocol):
    """Starts a workflow run (WorkflowService), and says which project a workflow is in."""

    def project_of(self, workflow_id: UUID) -> UUID | None: ...

    def start_run(
        self,
        workflow_id: UUID,
        *,
        inputs: dict[str, Any],
        started_by: UUID | None,
        at: datetime,
        run_id: UUID,
    ) -> CommandResult: ...


def derived_id(request: ToolRequest, what: str) -> UUID:
    """The id of what this call creates: the same on every attempt of the same call."""
    name = f"cortex:agent-run:{request.run_id}:{request.turn}:{request.call_id}:{what}"
    return uuid5(NAMESPACE_URL, name)


def capture_idea(ideas: IdeaService) -> Tool:
    def run(arguments: dict[str, Any], request: ToolRequest) -> Any:
        idea_id = derived_id(request, "idea")
        try:
            ideas.capture_idea(
                idea_id=idea_id,
                project_id=request.project_id,
                title=arguments["title"],
                body=arguments.get("body", ""),
                tags=arguments.get("tags", []),
                at=request.at,
            )
        except VersionConflict:
            pass  # this call ran before a crash: the idea is already there
        except DomainError as error:
            raise ToolError(str(error)) from None
        return {"idea_id": str(idea_id), "title": arguments["title"]}

    tags = {"type": "array", "items": text_schema(40, "A tag"), "maxItems": 32}
    return Tool(
        "capture_idea",
        "Write down a new idea in the project (title, optional body and tags).",
        object_schema(
            {
                "title": text_schema(200, "The idea in a line"),
                "body": {"type": "string", "maxLength": 20_000},
                "tags": tags,
            },
            ["title"],
        ),
        WRITE,
        run,
    )


def start_workflow(workflows: WorkflowStarter | None) -> Tool:
    def run(arguments: dict[str, Any], request: ToolRequest) -> Any:
        if workflows is None:
            raise ToolError("workflows are not available")
        workflow_id = UUID(arguments["workflow_id"])
        if workflows.project_of(workflow_id) != request.project_id:
            raise ToolError(f"no workflow {workflow_id} in this project")
        run_id = derived_id(request, "workflow-run")
        try:
            workflows.start_run(
                workflow_id,
                inputs=arguments.get("inputs", {}),
                started_by=request.user_id,
                at=request.at,
                run_id=run_id,
            )
        except VersionConflict:
            pass  # started before a crash
        except (DomainError, NotFound) as error:
            raise ToolError(str(error)) from None
        return {"workflow_run_id": str(run_id), "status": "started"}

    return Tool(
        "start_workflow",
        "Start a run of one of the project's workflows with its inputs.",
        object_schema(
            {
                "workflow_id": {"type": "string", "pattern": UUID_PATTERN},
                "inputs": {"type": "object"},
            },
            ["workflow_id"],
        ),
        CALL,
        run,
    )
