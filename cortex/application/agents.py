"""Agents: define and revise them, start runs (answered by a worker on the ``agents`` queue),
run them (the bounded tool-calling loop), cancel them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from cortex.application.access import Grant
from cortex.application.agent_loop import AgentLoop
from cortex.application.agent_ports import AgentQueue, ToolBox
from cortex.application.event_log import CommandResult, EventLog
from cortex.application.model_calls import ModelCallService
from cortex.domain.agent import Agent, AgentSpec
from cortex.domain.agent_run import AgentRun
from cortex.domain.errors import InvalidTransition
from cortex.domain.project import Project
from cortex.lanes.types import Lane

LANES = frozenset(lane.value for lane in Lane)


def _now() -> datetime:
    return datetime.now(UTC)


class AgentService:
    """Commands on agents and their runs."""

    def __init__(
        self,
        log: EventLog,
        model_calls: ModelCallService,
        tools: ToolBox,
        queue: AgentQueue,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._log = log
        self.queue = queue
        self.tools = tools
        self._loop = AgentLoop(log, model_calls, tools, clock)

    def define_agent(
        self,
        *,
        agent_id: UUID,
        project_id: UUID,
        spec: AgentSpec,
        defined_by: UUID | None,
        at: datetime,
    ) -> CommandResult:
        self._open_project(project_id)
        agent = Agent.define(
            id=agent_id,
            project_id=project_id,
            spec=spec,
            lanes=LANES,
            defined_by=defined_by,
            at=at,
        )
        return self._log.commit(agent)

    def revise_agent(
        self,
        agent_id: UUID,
        *,
        spec: AgentSpec,
        expected_version: int | None,
        revised_by: UUID | None,
        at: datetime,
    ) -> CommandResult:
        """A new version of the definition; runs already started keep the one they copied."""
        agent = self._log.load(agent_id, Agent, expected_version=expected_version)
        self._open_project(agent.project_id)
        agent.revise(spec, lanes=LANES, revised_by=revised_by, at=at)
        return self._log.commit(agent)

    def start_run(
        self,
        agent_id: UUID,
        *,
        input: str,
        started_by: UUID | None,
        grant: Grant,
        run_id: UUID,
        at: datetime,
    ) -> CommandResult:
        """Record the run (queued) with the agent's current definition and send it to a worker."""
        agent = self._log.load(agent_id, Agent)
        self._open_project(agent.project_id)
        run = AgentRun.start(
            id=run_id,
            project_id=agent.project_id,
            agent_id=agent_id,
            agent_version=agent.version,
            spec=agent.spec,
            started_by=started_by,
            input=input,
            granted_roles=tuple(sorted(str(role) for role in grant.roles)),
            granted_project_role=str(grant.project_role) if grant.project_role else None,
            at=at,
        )
        result = self._log.commit(run)
        self.queue.send(run_id)
        return result

    def project_of(self, agent_id: UUID) -> UUID:
        """The project an agent belongs to (NotFound when there is no such agent)."""
        project: UUID = self._log.load(agent_id, Agent).project_id
        return project

    def run(self, run_id: UUID) -> str:
        """A worker's turn: drive the run to its end (resuming from its transcript)."""
        return self._loop.run(run_id)

    def cancel(self, run_id: UUID, *, cancelled_by: UUID | None, at: datetime) -> CommandResult:
        """Stop an open run; the worker notices before its next step."""
        run = self._log.load(run_id, AgentRun)
        run.stop("cancelled", detail="cancelled by a user", stopped_by=cancelled_by, at=at)
        return self._log.commit(run)

    def resume(self, run_id: UUID) -> None:
        """Send an open run to a worker again (the reconciler's way after a crash)."""
        self.queue.send(run_id)

    def _open_project(self, project_id: UUID) -> None:
        project = self._log.load(project_id, Project)
        if project.archived:
            raise InvalidTransition("the project is archived", current_status="archived")
