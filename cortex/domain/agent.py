"""The Agent aggregate: a versioned definition of a bounded tool-calling assistant in a project.

Invariants: name 1-200 characters, system prompt at most 20,000; the lane is "auto" or one of the
lanes; tools come from the fixed registry, each once; limits within bounds (steps 1-50, tokens
100-1,000,000, timeout 1-3,600 seconds). Every revision is a new version; runs record the version
they used.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, AggregateCreated, AggregateEvent

from cortex.domain.errors import InvalidInput
from cortex.domain.text import clean_text

# The fixed tool registry (cortex/agents implements each one).
AGENT_TOOLS = ("knowledge_search", "ask", "idea_lookup", "capture_idea", "start_workflow")
AUTO_LANE = "auto"
NAME_MAX = 200
SYSTEM_PROMPT_MAX = 20_000
STEPS = (1, 50)
TOKENS = (100, 1_000_000)
TIMEOUT_SECONDS = (1, 3600)


@dataclass(frozen=True)
class AgentSpec:
    """What a definition says: the fields AgentDefined and AgentRevised share."""

    name: str
    lane: str
    system_prompt: str
    tools: tuple[str, ...]
    max_steps: int
    max_tokens: int
    timeout_seconds: int

    def checked(self, lanes: Collection[str]) -> AgentSpec:
        """The spec cleaned, or InvalidInput naming the field and the reason."""
        if self.lane != AUTO_LANE and self.lane not in lanes:
            allowed = ", ".join([AUTO_LANE, *sorted(lanes)])
            raise InvalidInput("lane", f"unknown lane {self.lane!r}; expected one of {allowed}")
        unknown = [tool for tool in self.tools if tool not in AGENT_TOOLS]
        if unknown:
            raise InvalidInput(
                "tools", f"unknown tool {unknown[0]!r}; available: {', '.join(AGENT_TOOLS)}"
            )
        if len(set(self.tools)) != len(self.tools):
            raise InvalidInput("tools", "each tool may be named once")
        _within("max_steps", self.max_steps, STEPS)
        _within("max_tokens", self.max_tokens, TOKENS)
        _within("timeout_seconds", self.timeout_seconds, TIMEOUT_SECONDS)
        return AgentSpec(
            name=clean_text("name", self.name, max_length=NAME_MAX),
            lane=self.lane,
            system_prompt=clean_text(
                "system_prompt", self.system_prompt, max_length=SYSTEM_PROMPT_MAX, allow_empty=True
            ),
            tools=tuple(self.tools),
            max_steps=self.max_steps,
            max_tokens=self.max_tokens,
            timeout_seconds=self.timeout_seconds,
        )


def _within(field: str, value: int, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise InvalidInput(field, f"must be between {low} and {high}, not {value}")


class AgentDefined(AggregateCreated):
    """Someone defined an agent in a project."""

    project_id: UUID
    name: str
    lane: str
    system_prompt: str
    tools: tuple[str, ...]
    max_steps: int
    max_tokens: int
    timeout_seconds: int
    defined_by: UUID | None


class AgentRevised(AggregateEvent):
    """The definition was replaced by a new version (runs already started keep theirs)."""

    name: str
    lane: str
    system_prompt: str
    tools: tuple[str, ...]
    max_steps: int
    max_tokens: int
    timeout_seconds: int
    revised_by: UUID | None

    def apply(self, aggregate: Agent) -> None:
        aggregate.spec = _spec_of(self)


def _spec_of(event: AgentDefined | AgentRevised) -> AgentSpec:
    return AgentSpec(
        name=event.name,
        lane=event.lane,
        system_prompt=event.system_prompt,
        tools=tuple(event.tools),
        max_steps=event.max_steps,
        max_tokens=event.max_tokens,
        timeout_seconds=event.timeout_seconds,
    )


class Agent(Aggregate):
    """An agent definition."""

    def __init__(
        self,
        project_id: UUID,
        name: str,
        lane: str,
        system_prompt: str,
        tools: Sequence[str],
        max_steps: int,
        max_tokens: int,
        timeout_seconds: int,
        defined_by: UUID | None,
    ) -> None:
        self.project_id = project_id
        self.spec = AgentSpec(
            name, lane, system_prompt, tuple(tools), max_steps, max_tokens, timeout_seconds
        )

    @classmethod
    def define(
        cls,
        *,
        id: UUID,
        project_id: UUID,
        spec: AgentSpec,
        lanes: Collection[str],
        defined_by: UUID | None,
        at: datetime,
    ) -> Agent:
        spec = spec.checked(lanes)
        return cls._create(
            AgentDefined,
            id=id,
            project_id=project_id,
            defined_by=defined_by,
            timestamp=at,
            **_fields(spec),
        )

    def revise(
        self, spec: AgentSpec, *, lanes: Collection[str], revised_by: UUID | None, at: datetime
    ) -> None:
        spec = spec.checked(lanes)
        self.trigger_event(AgentRevised, revised_by=revised_by, timestamp=at, **_fields(spec))


def _fields(spec: AgentSpec) -> dict[str, object]:
    return {
        "name": spec.name,
        "lane": spec.lane,
        "system_prompt": spec.system_prompt,
        "tools": spec.tools,
        "max_steps": spec.max_steps,
        "max_tokens": spec.max_tokens,
        "timeout_seconds": spec.timeout_seconds,
    }
