"""The ModelCall aggregate: one call to a model lane, from the routing decision to its answer.

The prompt is kept as its SHA-256 and length; its text only when prompt auditing is on. The
completion is kept (a queued call's caller reads it back later). Invariants: a call ends once,
completed or failed.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, AggregateCreated, AggregateEvent

from cortex.domain.errors import InvalidTransition


class ModelCallRequested(AggregateCreated):
    """Someone asked a model lane for text; the router chose ``lane`` (``requested_lane`` when
    the caller named one)."""

    project_id: UUID
    requested_by: UUID | None
    mode: str  # "sync" | "stream" | "job"
    requested_lane: str | None
    lane: str
    routing_score: float
    routing_method: str
    routing_reason: str
    prompt_sha256: str
    prompt_chars: int
    prompt_tokens: int
    prompt: str | None
    max_tokens: int


class ModelCallCompleted(AggregateEvent):
    """A lane answered (``fallback_from`` names the routed lane when another one had to)."""

    lane: str
    model: str
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    fallback_from: str | None
    attempts: int
    completion: str

    def apply(self, aggregate: ModelCall) -> None:
        aggregate.status = "completed"


class ModelCallFailed(AggregateEvent):
    """No lane answered, or the answer broke off; ``kind`` says how."""

    kind: str
    reason: str
    lanes_tried: tuple[str, ...]
    attempts: int
    latency_ms: float

    def apply(self, aggregate: ModelCall) -> None:
        aggregate.status = "failed"


class ModelCall(Aggregate):
    def __init__(
        self,
        project_id: UUID,
        requested_by: UUID | None,
        mode: str,
        requested_lane: str | None,
        lane: str,
        routing_score: float,
        routing_method: str,
        routing_reason: str,
        prompt_sha256: str,
        prompt_chars: int,
        prompt_tokens: int,
        prompt: str | None,
        max_tokens: int,
    ) -> None:
        self.project_id = project_id
        self.requested_by = requested_by
        self.mode = mode
        self.lane = lane
        self.max_tokens = max_tokens
        self.status = "requested"

    @classmethod
    def request(
        cls,
        *,
        id: UUID,
        project_id: UUID,
        requested_by: UUID | None,
        mode: str,
        requested_lane: str | None,
        lane: str,
        routing_score: float,
        routing_method: str,
        routing_reason: str,
        prompt_sha256: str,
        prompt_chars: int,
        prompt_tokens: int,
        prompt: str | None,
        max_tokens: int,
        at: datetime,
    ) -> ModelCall:
        return cls._create(
            ModelCallRequested,
            id=id,
            project_id=project_id,
            requested_by=requested_by,
            mode=mode,
            requested_lane=requested_lane,
            lane=lane,
            routing_score=round(routing_score, 4),
            routing_method=routing_method,
            routing_reason=routing_reason[:1000],
            prompt_sha256=prompt_sha256,
            prompt_chars=prompt_chars,
            prompt_tokens=prompt_tokens,
            prompt=prompt,
            max_tokens=max_tokens,
            timestamp=at,
        )

    def complete(
        self,
        *,
        lane: str,
        model: str,
        latency_ms: float,
        prompt_tokens: int,
        completion_tokens: int,
        finish_reason: str,
        fallback_from: str | None,
        attempts: int,
        completion: str,
        at: datetime,
    ) -> None:
        self._require_open()
        self.trigger_event(
            ModelCallCompleted,
            lane=lane,
            model=model,
            latency_ms=round(latency_ms, 3),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reason=finish_reason,
            fallback_from=fallback_from,
            attempts=attempts,
            completion=completion,
            timestamp=at,
        )

    def fail(
        self,
        *,
        kind: str,
        reason: str,
        lanes_tried: tuple[str, ...],
        attempts: int,
        latency_ms: float,
        at: datetime,
    ) -> None:
        self._require_open()
        self.trigger_event(
            ModelCallFailed,
            kind=kind,
            reason=reason[:2000],
            lanes_tried=lanes_tried,
            attempts=attempts,
            latency_ms=round(latency_ms, 3),
            timestamp=at,
        )

    @property
    def open(self) -> bool:
        return self.status == "requested"

    def _require_open(self) -> None:
        if not self.open:
            raise InvalidTransition(
                f"model call {self.id} is {self.status}", current_status=self.status
            )
