"""Model lane wire types: generate, queued generations, model calls, the lanes' status."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

LaneName = Literal["ORCHESTRATOR", "CODER", "SUPER_READER", "FAST_RAG", "GOVERNANCE"]
CallStatus = Literal["requested", "completed", "failed"]


class Generate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``lane`` is optional: the router picks one from the prompt; ``stream`` answers as
    server-sent events (``routing``, then ``token``s, then ``done`` or ``error``)."""

    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=2_000_000)]
    project_id: UUID
    lane: LaneName | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    system: Annotated[str, msgspec.Meta(max_length=100_000)] | None = None
    stream: bool = False


class Routing(msgspec.Struct, frozen=True, kw_only=True):
    lane: LaneName
    score: float
    method: str
    reason: str
    tokens: int
    scores: dict[str, float]


class Generated(msgspec.Struct, frozen=True, kw_only=True):
    call_id: UUID
    text: str
    lane: LaneName
    model: str
    routing: Routing
    fallback_from: LaneName | None
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    latency_ms: float
    position: int


class GenerationQueued(msgspec.Struct, frozen=True, kw_only=True):
    """Poll ``GET /api/model-calls/{call_id}`` (``?after=position`` reads it back at once)."""

    call_id: UUID
    status: CallStatus
    lane: LaneName
    position: int


class ModelCallRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    project_id: UUID
    requested_by: UUID | None
    mode: str
    status: CallStatus
    requested_lane: LaneName | None
    routed_lane: LaneName
    routing_score: float
    routing_method: str
    routing_reason: str
    lane: LaneName | None
    model: str | None
    fallback_from: LaneName | None
    prompt_sha256: str
    prompt_chars: int
    prompt: str | None
    max_tokens: int
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str | None
    completion: str | None
    attempts: int | None
    latency_ms: float | None
    error_kind: str | None
    error: str | None
    requested_at: str
    finished_at: str | None


class ModelCallPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ModelCallRead]
    next_cursor: str | None


class LaneStatus(msgspec.Struct, frozen=True, kw_only=True):
    config: dict[str, Any]
    served_by: LaneName
    healthy: bool | None
    health_error: str
    probe_latency_ms: float
    breaker: dict[str, Any]


class LanesStatus(msgspec.Struct, frozen=True, kw_only=True):
    default_lane: LaneName
    lanes: list[LaneStatus]
