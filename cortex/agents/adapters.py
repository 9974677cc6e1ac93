"""The ports the tools read through, over the read models and the event log, and the registry
of every tool wired to the services (what bootstrap builds)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from cortex.agents.acting_tools import WorkflowStarter, capture_idea, start_workflow
from cortex.agents.registry import ToolRegistry
from cortex.agents.tools import IdeaLookup, ask, idea_lookup, knowledge_search
from cortex.application.access import Access
from cortex.application.errors import NotFound
from cortex.application.event_log import CommandResult, EventLog
from cortex.application.ideas import IdeaService
from cortex.application.workflows import WorkflowService
from cortex.context.answers import KnowledgeAnswers
from cortex.domain.workflow import Workflow
from cortex.search.service import KnowledgeSearch
from projections.idea_queries import IdeaFilter, Page, get_idea, list_ideas
from projections.store import ReadStore

IDEA_FIELDS = ("id", "title", "body", "status", "votes", "tags", "project_id", "updated_at")


class ReadModelIdeas:
    """IdeaLookup over the ideas read model."""

    def __init__(self, store: ReadStore) -> None:
        self._store = store

    def get(self, idea_id: str) -> dict[str, Any] | None:
        row = get_idea(self._store, idea_id)
        return None if row is None else _idea(row)

    def find(self, project_id: str, text: str | None, limit: int) -> list[dict[str, Any]]:
        where = IdeaFilter(project_id=project_id, text=text)
        rows = list_ideas(self._store, where, Page(sort="updated_at", limit=limit))
        return [_idea(row) for row in rows]


def _idea(row: dict[str, Any]) -> dict[str, Any]:
    return {field: row.get(field) for field in IDEA_FIELDS}


def build_registry(
    *,
    access: Access,
    search: KnowledgeSearch,
    answers: KnowledgeAnswers,
    ideas: IdeaService,
    lookup: IdeaLookup,
    workflows: WorkflowStarter | None,
) -> ToolRegistry:
    """Every tool of the registry (cortex.domain.agent.AGENT_TOOLS), wired."""
    return ToolRegistry(
        [
            knowledge_search(search),
            ask(answers),
            idea_lookup(lookup),
            capture_idea(ideas),
            start_workflow(workflows),
        ],
        access,
    )


class ServiceWorkflows:
    """WorkflowStarter over the workflow service (and the log, for a workflow's project)."""

    def __init__(self, log: EventLog, service: WorkflowService) -> None:
        self._log = log
        self._service = service

    def project_of(self, workflow_id: UUID) -> UUID | None:
        try:
            workflow = self._log.load(workflow_id, Workflow)
        except NotFound:
            return None
        project: UUID = workflow.project_id
        return project

    def start_run(
        self,
        workflow_id: UUID,
        *,
        inputs: dict[str, Any],
        started_by: UUID | None,
        at: datetime,
        run_id: UUID,
    ) -> CommandResult:
        return self._service.start_run(
            workflow_id, inputs=inputs, started_by=started_by, at=at, run_id=run_id
        )
