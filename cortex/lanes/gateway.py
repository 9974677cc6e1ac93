"""Calls a lane with retries and backoff on what may pass (timeouts, refused connections, 5xx,
unreadable answers; never 4xx), a circuit breaker per lane, then the default lane.

A lane with nothing configured of its own is the default lane under another name: it is not
tried twice. Streams are retried and fall back only before their first piece; after it, a
failure ends the stream (the caller already has part of an answer).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, TypeVar

import httpx
import structlog

from cortex.lanes.breaker import CircuitBreaker
from cortex.lanes.llama_cpp_backend import LlamaCppBackend
from cortex.lanes.openai_backend import OpenAIBackend, http_client
from cortex.lanes.types import (
    DEFAULT_LANE,
    Backend,
    Completion,
    Lane,
    LaneConfig,
    LaneError,
    Message,
    StreamPiece,
)
from cortex.observability import metrics

logger = structlog.get_logger("cortex.lanes")
T = TypeVar("T")
PROBE_CACHE_SECONDS = 5.0


class NoLaneAnswered(Exception):
    """Every lane that could answer failed or has its breaker open (a 503 at the edge)."""

    def __init__(self, lanes_tried: tuple[str, ...], reasons: list[str], attempts: int) -> None:
        super().__init__("no model lane answered: " + "; ".join(reasons))
        self.lanes_tried = lanes_tried
        self.reasons = reasons
        self.attempts = attempts


class LaneRejected(Exception):
    """A lane refused the request itself (4xx): retrying or another lane would not help."""

    def __init__(self, lane: Lane, error: LaneError) -> None:
        super().__init__(f"the {lane} lane refused the request: {error.message}")
        self.lane = lane
        self.error = error


@dataclass(frozen=True)
class Answered:
    """Which lane answered, after how many attempts, and whether it was a fallback."""

    lane: Lane
    config: LaneConfig
    fallback_from: Lane | None
    attempts: int


@dataclass(frozen=True)
class Generation:
    completion: Completion
    answered: Answered
    latency: float


@dataclass(frozen=True)
class Stream:
    answered: Answered
    pieces: Iterator[StreamPiece]


@dataclass
class Health:
    ok: bool | None = None  # None: never probed
    error: str = ""
    checked_at: float = 0.0
    latency: float = 0.0


@dataclass
class _Tried:
    lanes: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    attempts: int = 0


class LaneGateway:
    def __init__(
        self,
        configs: dict[Lane, LaneConfig],
        *,
        retries: int,
        backoff_seconds: float,
        breaker_failures: int,
        breaker_cooldown_seconds: float,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.configs = configs
        self._retries = retries
        self._backoff = backoff_seconds
        self._sleep = sleep
        self._client = client or http_client()
        self._owns_client = client is None
        self._backends: dict[Lane, Backend] = {}
        self.breakers = {
            lane: CircuitBreaker(breaker_failures, breaker_cooldown_seconds) for lane in Lane
        }
        self.health = {lane: Health() for lane in Lane}
        self._lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        """The pooled HTTP client the lanes share (for other requests to their servers)."""
        return self._client

    def serving(self, lane: Lane) -> Lane:
        """The lane whose server answers for ``lane``: itself, or the default lane."""
        return lane if self.configs[lane].own else DEFAULT_LANE

    def backend(self, lane: Lane) -> Backend:
        with self._lock:
            if lane not in self._backends:
                config = self.configs[lane]
                self._backends[lane] = (
                    LlamaCppBackend(config)
                    if config.backend == "llama_cpp"
                    else OpenAIBackend(config, self._client)
                )
            return self._backends[lane]

    def candidates(self, lane: Lane) -> list[Lane]:
        first = self.serving(lane)
        ordered = [first] if first is DEFAULT_LANE else [first, DEFAULT_LANE]
        return [candidate for candidate in ordered if self.configs[candidate].configured]

    def call(
        self,
        lane: Lane,
        messages: list[Message],
        *,
        max_tokens: int,
        tools: list[dict[str, Any]] | None = None,
    ) -> Generation:
        started = time.perf_counter()

        def attempt(backend: Backend, config: LaneConfig) -> Completion:
            return backend.complete(messages, max_tokens=max_tokens, tools=tools)

        completion, answered = self._first_answer(lane, attempt)
        latency = time.perf_counter() - started
        served = str(answered.lane)
        metrics.LANE_TOKENS.labels(lane=served, kind="prompt").inc(completion.prompt_tokens)
        metrics.LANE_TOKENS.labels(lane=served, kind="completion").inc(completion.completion_tokens)
        return Generation(completion, answered, latency)

    def stream(self, lane: Lane, messages: list[Message], *, max_tokens: int) -> Stream:
        def attempt(backend: Backend, config: LaneConfig) -> Iterator[StreamPiece]:
            pieces = backend.stream(messages, max_tokens=max_tokens)
            first = next(pieces)  # what fails before any text may be retried elsewhere
            return chain([first], pieces)

        pieces, answered = self._first_answer(lane, attempt)
        return Stream(answered, pieces)

    def _first_answer(
        self, lane: Lane, attempt: Callable[[Backend, LaneConfig], T]
    ) -> tuple[T, Answered]:
        routed = self.serving(lane)
        tried = _Tried()
        for candidate in self.candidates(lane):
            breaker = self.breakers[candidate]
            if not breaker.allow():
                tried.lanes.append(str(candidate))
                tried.reasons.append(
                    f"{candidate}: circuit open (next try in {breaker.retry_in():.0f} s)"
                )
                continue
            result = self._with_retries(candidate, attempt, tried)
            if result is not None:
                if candidate is not routed:
                    logger.warning("lane_fallback", routed=str(routed), answered=str(candidate))
                if candidate is not lane:  # down, or missing: the default lane answered for it
                    metrics.LANE_CALLS.labels(lane=str(lane), outcome="fallback").inc()
                fallback_from = lane if candidate is not lane else None
                answered = Answered(
                    candidate, self.configs[candidate], fallback_from, tried.attempts
                )
                return result, answered
        if not tried.lanes:
            tried.reasons.append("no model lane is configured (set CORTEX_LLM_BASE_URL)")
        raise NoLaneAnswered(tuple(tried.lanes), tried.reasons, tried.attempts)

    def _with_retries(
        self, lane: Lane, attempt: Callable[[Backend, LaneConfig], T], tried: _Tried
    ) -> T | None:
        tried.lanes.append(str(lane))
        backend, config, breaker = self.backend(lane), self.configs[lane], self.breakers[lane]
        for number in range(self._retries + 1):
            if number:
                self._sleep(self._backoff * 2 ** (number - 1))
            tried.attempts += 1
            started = time.perf_counter()
            try:
                result = attempt(backend, config)
            except StopIteration:
                error = LaneError("protocol", "the stream ended before any answer")
            except LaneError as failure:
                error = failure
            else:
                breaker.record_success()
                metrics.LANE_CALLS.labels(lane=str(lane), outcome="ok").inc()
                metrics.LANE_LATENCY.labels(lane=str(lane)).observe(time.perf_counter() - started)
                return result
            metrics.LANE_ERRORS.labels(lane=str(lane), kind=error.kind).inc()
            logger.warning(
                "lane_call_failed", lane=str(lane), kind=error.kind, status=error.status,
                attempt=number + 1, error=error.message,
            )  # fmt: skip
            if not error.retryable:
                raise LaneRejected(lane, error)
        breaker.record_failure()
        metrics.LANE_CALLS.labels(lane=str(lane), outcome="error").inc()
        tried.reasons.append(f"{lane}: {error.kind}: {error.message}")
        return None

    def probe(self, lane: Lane, *, max_age: float = PROBE_CACHE_SECONDS) -> Health:
        """The lane's health (GET /v1/models), probed at most every ``max_age`` seconds."""
        serving = self.serving(lane)
        health = self.health[serving]
        now = time.monotonic()
        if health.ok is not None and now - health.checked_at < max_age:
            return health
        if not self.configs[serving].configured:
            self.health[serving] = Health(False, "not configured", now)
            return self.health[serving]
        started = time.perf_counter()
        try:
            self.backend(serving).probe()
        except LaneError as error:
            self.health[serving] = Health(False, f"{error.kind}: {error.message}", now)
        else:
            self.health[serving] = Health(True, "", now, time.perf_counter() - started)
        return self.health[serving]

    def status(self) -> list[dict[str, Any]]:
        """Each lane's configuration (no secrets), health and breaker, for operators."""
        rows = []
        for lane in Lane:
            serving = self.serving(lane)
            health = self.probe(lane)
            rows.append(
                {
                    "config": self.configs[lane].public(),
                    "served_by": str(serving),
                    "healthy": health.ok,
                    "health_error": health.error,
                    "probe_latency_ms": round(health.latency * 1000, 3),
                    "breaker": self.breakers[serving].snapshot(),
                }
            )
        return rows

    def close(self) -> None:
        with self._lock:
            for backend in self._backends.values():
                backend.close()
            self._backends.clear()
        if self._owns_client:
            self._client.close()
