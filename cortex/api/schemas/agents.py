"""Agent wire types: definitions, runs and their transcripts.

Lanes, tools and limits are checked by the domain (422 with the reason), not here, so that a
wrong tool name says which tools there are.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

RunStatus = Literal["queued", "running", "completed", "stopped", "failed"]
Name = Annotated[str, msgspec.Meta(max_length=1000)]


class DefineAgent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``lane``: "auto" (routed on the run's input) or a lane's name; ``tools``: from
    knowledge_search, ask, idea_lookup, capture_idea, start_workflow."""

    project_id: UUID
    name: Name
    lane: Name = "auto"
    system_prompt: Annotated[str, msgspec.Meta(max_length=100_000)] = ""
    tools: Annotated[list[Name], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    max_steps: int = 8
    max_tokens: int = 20_000
    timeout_seconds: int = 300


class ReviseAgent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole new definition (send ``If-Match`` with the version you read)."""

    name: Name
    lane: Name = "auto"
    system_prompt: Annotated[str, msgspec.Meta(max_length=100_000)] = ""
    tools: Annotated[list[Name], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    max_steps: int = 8
    max_tokens: int = 20_000
    timeout_seconds: int = 300


class AgentRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    project_id: UUID
    name: str
    lane: str
    system_prompt: str
    tools: list[str]
    max_steps: int
    max_tokens: int
    timeout_seconds: int
    version: int
    defined_by: UUID | None
    revised_by: UUID | None
    created_at: str
    updated_at: str


class AgentPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[AgentRead]
    next_cursor: str | None


class StartAgentRun(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    input: Annotated[str, msgspec.Meta(max_length=100_000)]


class AgentRunQueued(msgspec.Struct, frozen=True, kw_only=True):
    """Poll ``GET /api/agent-runs/{id}`` (``?after=position`` reads it back at once)."""

    id: UUID
    status: RunStatus
    version: int
    position: int


class AgentRunSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    project_id: UUID
    agent_id: UUID
    agent_version: int
    agent_name: str
    lane: str
    tools: list[str]
    max_steps: int
    max_tokens: int
    timeout_seconds: int
    started_by: UUID | None
    input: str
    status: RunStatus
    stop_reason: str | None
    stop_detail: str | None
    stopped_by: UUID | None
    error_kind: str | None
    error: str | None
    answer: str | None
    steps: int
    tool_call_count: int
    prompt_tokens: int
    completion_tokens: int
    started_at: str
    updated_at: str
    finished_at: str | None


class RequestedToolCall(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


class TranscriptMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message as the model saw it: system, user, assistant (with tool calls), tool."""

    seq: int
    role: str
    content: str | None
    tool_calls: list[RequestedToolCall]
    tool_call_id: str | None
    model_call_id: UUID | None
    prompt_tokens: int | None
    completion_tokens: int | None
    at: str


class ToolCallRead(msgspec.Struct, frozen=True, kw_only=True):
    """A tool call: its arguments, then its result (JSON) or the error the model was shown."""

    id: str
    tool: str
    arguments: str
    status: Literal["called", "returned"]
    result: Any = None
    error: str | None = None
    called_at: str
    returned_at: str | None = None


class AgentRunRead(AgentRunSummary, frozen=True, kw_only=True):
    messages: list[TranscriptMessage]
    tool_calls: list[ToolCallRead]


class AgentRunPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[AgentRunSummary]
    next_cursor: str | None
