"""The AgentRun aggregate: one run of an agent, every message and tool call an event.

The transcript the next model call needs (system, user, assistant turns with their tool calls,
tool results) is rebuilt from the events alone, so a run interrupted by a crash resumes where it
stopped. Invariants: a run ends once (completed, stopped or failed); a tool result answers a call
of the last assistant turn; the input is 1-20,000 characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from cortex.domain.agent import AgentSpec
from cortex.domain.agent_run_events import (
    AgentMessageRecorded,
    AgentRunCompleted,
    AgentRunFailed,
    AgentRunStarted,
    AgentRunStopped,
    AgentToolCalled,
    AgentToolReturned,
)
from cortex.domain.errors import InvalidInput, InvalidTransition
from cortex.domain.text import clean_text

INPUT_MAX = 20_000
STOP_REASONS = ("max_steps", "max_tokens", "timeout", "cancelled")
OPEN = ("queued", "running")


@dataclass(frozen=True)
class PendingCall:
    """A tool call of the last assistant turn that has no result yet."""

    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it
    called: bool  # AgentToolCalled is recorded (the tool may have run before a crash)


class AgentRun(Aggregate):
    """A run of an agent."""

    def __init__(
        self,
        project_id: UUID,
        agent_id: UUID,
        agent_version: int,
        started_by: UUID | None,
        input: str,
        agent_name: str,
        lane: str,
        system_prompt: str,
        tools: tuple[str, ...],
        max_steps: int,
        max_tokens: int,
        timeout_seconds: int,
        granted_roles: tuple[str, ...],
        granted_project_role: str | None,
    ) -> None:
        self.project_id = project_id
        self.agent_id = agent_id
        self.started_by = started_by
        self.spec = AgentSpec(
            agent_name, lane, system_prompt, tuple(tools), max_steps, max_tokens, timeout_seconds
        )
        self.granted_roles = tuple(granted_roles)
        self.granted_project_role = granted_project_role
        self.status = "queued"
        self.steps = 0
        self.tokens = 0
        self.messages: list[dict[str, Any]] = []
        self.last_calls: tuple[dict[str, str], ...] = ()
        self.called: set[str] = set()
        self.returned: set[str] = set()

    @classmethod
    def start(
        cls,
        *,
        id: UUID,
        project_id: UUID,
        agent_id: UUID,
        agent_version: int,
        spec: AgentSpec,
        started_by: UUID | None,
        input: str,
        granted_roles: tuple[str, ...],
        granted_project_role: str | None,
        at: datetime,
    ) -> AgentRun:
        text = clean_text("input", input, max_length=INPUT_MAX)
        run = cls._create(
            AgentRunStarted,
            id=id,
            project_id=project_id,
            agent_id=agent_id,
            agent_version=agent_version,
            started_by=started_by,
            input=text,
            agent_name=spec.name,
            lane=spec.lane,
            system_prompt=spec.system_prompt,
            tools=spec.tools,
            max_steps=spec.max_steps,
            max_tokens=spec.max_tokens,
            timeout_seconds=spec.timeout_seconds,
            granted_roles=granted_roles,
            granted_project_role=granted_project_role,
            timestamp=at,
        )
        if spec.system_prompt:
            run._message("system", spec.system_prompt, at=at)
        run._message("user", text, at=at)
        return run

    # -- what the model says, and what the tools answer ---------------------------------------

    def record_turn(
        self,
        *,
        content: str,
        tool_calls: tuple[dict[str, str], ...],
        model_call_id: UUID,
        prompt_tokens: int,
        completion_tokens: int,
        at: datetime,
    ) -> None:
        """Record a model's turn; a turn with tool calls leaves them pending."""
        self._require_open()
        if self.pending_calls():
            raise InvalidTransition("the last turn's tool calls have not all returned")
        self._message(
            "assistant",
            content,
            tool_calls=tool_calls,
            model_call_id=model_call_id,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            at=at,
        )

    def call_tool(self, call: PendingCall, *, at: datetime) -> None:
        self._require_pending(call.id)
        if not call.called:
            self.trigger_event(
                AgentToolCalled,
                tool_call_id=call.id,
                tool=call.name,
                arguments=call.arguments,
                timestamp=at,
            )

    def return_tool(
        self, call: PendingCall, *, result: str | None, error: str | None, at: datetime
    ) -> None:
        self._require_pending(call.id)
        self.trigger_event(
            AgentToolReturned,
            tool_call_id=call.id,
            tool=call.name,
            result=result,
            error=error,
            timestamp=at,
        )

    # -- the end ------------------------------------------------------------------------------

    def complete(self, answer: str, *, at: datetime) -> None:
        self._require_open()
        self.trigger_event(AgentRunCompleted, answer=answer, timestamp=at)

    def stop(self, reason: str, *, detail: str, stopped_by: UUID | None, at: datetime) -> None:
        self._require_open()
        if reason not in STOP_REASONS:
            raise InvalidInput("reason", f"expected one of {', '.join(STOP_REASONS)}")
        self.trigger_event(
            AgentRunStopped, reason=reason, detail=detail, stopped_by=stopped_by, timestamp=at
        )

    def fail(self, kind: str, reason: str, *, at: datetime) -> None:
        self._require_open()
        self.trigger_event(AgentRunFailed, kind=kind, reason=reason[:2000], timestamp=at)

    # -- state --------------------------------------------------------------------------------

    @property
    def open(self) -> bool:
        return self.status in OPEN

    @property
    def deadline(self) -> datetime:
        started: datetime = self.created_on
        return started + timedelta(seconds=self.spec.timeout_seconds)

    def transcript(self) -> list[dict[str, Any]]:
        """The messages for the next model call (copies: callers may not change the run)."""
        return [dict(message) for message in self.messages]

    def pending_calls(self) -> list[PendingCall]:
        return [
            PendingCall(call["id"], call["name"], call["arguments"], call["id"] in self.called)
            for call in self.last_calls
            if call["id"] not in self.returned
        ]

    def _message(
        self,
        role: str,
        content: str,
        *,
        tool_calls: tuple[dict[str, str], ...] = (),
        model_call_id: UUID | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        at: datetime,
    ) -> None:
        self.trigger_event(
            AgentMessageRecorded,
            role=role,
            content=content,
            tool_calls=tool_calls,
            model_call_id=model_call_id,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            timestamp=at,
        )

    def _require_pending(self, call_id: str) -> None:
        self._require_open()
        if call_id not in {call.id for call in self.pending_calls()}:
            raise InvalidTransition(f"no pending tool call {call_id!r}")

    def _require_open(self) -> None:
        if not self.open:
            raise InvalidTransition(f"the run is {self.status}", current_status=self.status)
