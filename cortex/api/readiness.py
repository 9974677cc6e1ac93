"""Readiness: every dependency a Cortex process needs, checked in one place.

``/readyz`` (public) shows each check's ``ok`` and a short ``detail`` and names the failing ones;
``/api/system/ready`` (admins and auditors) shows the same checks with fuller details (addresses,
with passwords masked, and error messages) and how long each took. Each run also sets the gauge
``cortex_readiness_check_ok{check}``, which the readiness alert reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import redis
from prometheus_client import Gauge

from cortex.api.effective_config import mask_url
from cortex.bootstrap import Cortex
from cortex.lanes.types import DEFAULT_LANE

READINESS_CHECK_OK = Gauge(
    "cortex_readiness_check_ok",
    "1 when the readiness check passed on its last run (in /readyz or /api/system/ready), else 0",
    ["check"],
    multiprocess_mode="livemin",
)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str = ""  # what anyone may see (/readyz)
    internal: str = ""  # more, for admins and auditors; empty means the same as ``detail``
    lag: int | None = None
    latency_ms: float = 0.0

    @property
    def full_detail(self) -> str:
        return self.internal or self.detail


def check_readiness(cortex: Cortex) -> dict[str, CheckResult]:
    """Run every check (in this thread: some block) and record the outcome in the gauge."""
    started = time.perf_counter()
    head, event_store = _event_store_check(cortex)
    checks = {"event_store": replace(event_store, latency_ms=_since(started))}
    checks["embedding_model"] = _timed(partial(_embedding_check, cortex))
    checks["qdrant"] = _timed(partial(_qdrant_check, cortex))
    checks["model_lane"] = _timed(partial(_lane_check, cortex))
    if cortex.settings.workers.redis_url:
        checks["redis"] = _timed(partial(_redis_check, cortex.settings.workers.redis_url))
    max_lag = cortex.settings.projections.ready_max_lag
    for name, runner in cortex.runners.items():
        checks[f"projection:{name}"] = _timed(
            partial(_projection_check, runner.position, head, max_lag)
        )
    for name, check in checks.items():
        READINESS_CHECK_OK.labels(name).set(1 if check.ok else 0)
    return checks


def failing(checks: dict[str, CheckResult]) -> list[str]:
    return [name for name, check in checks.items() if not check.ok]


def _timed(run: Callable[[], CheckResult]) -> CheckResult:
    started = time.perf_counter()
    return replace(run(), latency_ms=_since(started))


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _event_store_check(cortex: Cortex) -> tuple[int | None, CheckResult]:
    try:
        head = cortex.log.head()
    except Exception as error:  # any failure means not ready; the reason is reported
        name = type(error).__name__
        return None, CheckResult(ok=False, detail=name, internal=f"{name}: {error}"[:300])
    return head, CheckResult(ok=True, internal=f"log head at position {head}")


def _embedding_check(cortex: Cortex) -> CheckResult:
    """Which model of the chain is active, and why the ones before it were skipped."""
    model = cortex.embedding.model()  # waits while the model loads (this runs in a thread)
    choice = cortex.embedding.choice
    skipped = "; ".join(
        f"{attempt.model} skipped: {attempt.reason}"
        for attempt in (choice.attempts if choice else [])
        if not attempt.loaded
    )
    if model is None:
        return CheckResult(ok=False, detail=f"no model could be loaded; {skipped}"[:1000])
    active = f"{model.name} ({model.dimension}d, {model.device})"
    return CheckResult(ok=True, detail=f"{active}; {skipped}"[:1000] if skipped else active)


def _qdrant_check(cortex: Cortex) -> CheckResult:
    description = cortex.vectors.description
    try:
        cortex.vectors.check()
    except Exception as error:
        return CheckResult(ok=False, detail=f"{description}: {error}"[:300])
    return CheckResult(ok=True, detail=description)


def _lane_check(cortex: Cortex) -> CheckResult:
    """The default lane answers its probe; with no lane configured there is nothing to wait for
    (generation answers 503 and says so)."""
    config = cortex.model_calls.gateway.configs[DEFAULT_LANE]
    if not config.configured:
        return CheckResult(ok=True, detail="no model lane configured (CORTEX_LLM_BASE_URL)")
    health = cortex.model_calls.gateway.probe(DEFAULT_LANE)
    where = config.base_url or config.binary
    if health.ok:
        return CheckResult(ok=True, detail=f"{DEFAULT_LANE} ({config.model} at {where})")
    return CheckResult(ok=False, detail=f"{DEFAULT_LANE} at {where}: {health.error}"[:300])


def _redis_check(url: str) -> CheckResult:
    """The Dramatiq broker's Redis answers PING within a second. The public detail names no
    address (the URL may carry a password); the full one has it masked."""
    where = mask_url(url)
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        name = type(error).__name__
        return CheckResult(ok=False, detail=name, internal=f"{where}: {name}: {error}"[:300])
    finally:
        client.close()
    return CheckResult(ok=True, internal=where)


def _projection_check(position: Callable[[], int], head: int | None, max_lag: int) -> CheckResult:
    try:
        lag = max(0, head - position()) if head is not None else None
    except Exception as error:
        name = type(error).__name__
        return CheckResult(ok=False, detail=name, internal=f"{name}: {error}"[:300])
    ok = lag is not None and lag <= max_lag
    detail = "" if ok else f"lag above {max_lag}" if lag is not None else "no head"
    return CheckResult(ok=ok, lag=lag, detail=detail)
