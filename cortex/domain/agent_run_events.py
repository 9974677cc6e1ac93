"""The events of an agent run: each message and each tool call is one, so the transcript the
next model call needs is rebuilt from them alone (their ``apply`` methods build it)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import AggregateCreated, AggregateEvent

if TYPE_CHECKING:
    from cortex.domain.agent_run import AgentRun


class AgentRunStarted(AggregateCreated):
    """Someone started an agent; the definition it runs with is copied here."""

    project_id: UUID
    agent_id: UUID
    agent_version: int
    started_by: UUID | None
    input: str
    agent_name: str
    lane: str
    system_prompt: str
    tools: tuple[str, ...]
    max_steps: int
    max_tokens: int
    timeout_seconds: int
    # What the starter could do when it started (an API key may hold less than its owner).
    granted_roles: tuple[str, ...]
    granted_project_role: str | None


class AgentMessageRecorded(AggregateEvent):
    """A message joined the transcript: the system prompt, the input, or a model's turn (with
    its tool calls, the model call that produced it and its tokens)."""

    role: str
    content: str
    tool_calls: tuple[dict[str, str], ...]
    model_call_id: UUID | None
    prompt_tokens: int
    completion_tokens: int

    def apply(self, aggregate: AgentRun) -> None:
        message: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.role == "assistant":
            aggregate.steps += 1
            aggregate.tokens += self.prompt_tokens + self.completion_tokens
            aggregate.status = "running"
            aggregate.last_calls = tuple(dict(call) for call in self.tool_calls)
            aggregate.called, aggregate.returned = set(), set()
            if self.tool_calls:
                message["content"] = self.content or None
                message["tool_calls"] = [_wire_call(call) for call in self.tool_calls]
        aggregate.messages.append(message)


class AgentToolCalled(AggregateEvent):
    """The run is about to execute a tool call of the last assistant turn."""

    tool_call_id: str
    tool: str
    arguments: str

    def apply(self, aggregate: AgentRun) -> None:
        aggregate.status = "running"
        aggregate.called.add(self.tool_call_id)


class AgentToolReturned(AggregateEvent):
    """A tool answered a call: its result (JSON text) or an error the model is shown."""

    tool_call_id: str
    tool: str
    result: str | None
    error: str | None

    def apply(self, aggregate: AgentRun) -> None:
        aggregate.returned.add(self.tool_call_id)
        content = self.result if self.error is None else json.dumps({"error": self.error})
        aggregate.messages.append(
            {"role": "tool", "tool_call_id": self.tool_call_id, "content": content or "null"}
        )


class AgentRunCompleted(AggregateEvent):
    """The model gave its final answer (a turn without tool calls)."""

    answer: str

    def apply(self, aggregate: AgentRun) -> None:
        aggregate.status = "completed"


class AgentRunStopped(AggregateEvent):
    """The run was stopped before an answer: a limit was reached, or someone cancelled it."""

    reason: str
    detail: str
    stopped_by: UUID | None

    def apply(self, aggregate: AgentRun) -> None:
        aggregate.status = "stopped"


class AgentRunFailed(AggregateEvent):
    """The run cannot go on (no lane answered, the lane refused the request, an error)."""

    kind: str
    reason: str

    def apply(self, aggregate: AgentRun) -> None:
        aggregate.status = "failed"


def _wire_call(call: dict[str, str]) -> dict[str, Any]:
    """A recorded tool call in the shape OpenAI-compatible servers expect back."""
    return {
        "id": call["id"],
        "type": "function",
        "function": {"name": call["name"], "arguments": call["arguments"]},
    }
