"""What running an agent needs from outside the application layer: the tools (cortex/agents,
wired in bootstrap) and a queue to the workers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from cortex.application.access import Grant


@dataclass(frozen=True)
class ToolRequest:
    """One tool call of a model's turn, with who it acts for and where."""

    name: str
    arguments: str  # JSON text, as the model wrote it
    call_id: str
    run_id: UUID
    turn: int  # the model turn that made the call (ids repeat across turns on some servers)
    project_id: UUID
    user_id: UUID | None
    grant: Grant
    available: tuple[str, ...]  # the agent's tools: any other name is refused
    at: datetime


@dataclass(frozen=True)
class ToolOutcome:
    """A result (JSON text) or an error the model is shown; never both."""

    result: str | None = None
    error: str | None = None


class ToolBox(Protocol):
    def definitions(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """OpenAI tool definitions (type function, JSON-schema parameters) of these tools."""
        ...

    def execute(self, request: ToolRequest) -> ToolOutcome:
        """Run a tool call; every failure is an outcome with an error, never an exception."""
        ...


class AgentQueue(Protocol):
    def send(self, run_id: UUID) -> None: ...


class NoAgentQueue:
    """For processes that only define agents and read runs: owed runs go to the reconciler."""

    def send(self, run_id: UUID) -> None:
        return None
