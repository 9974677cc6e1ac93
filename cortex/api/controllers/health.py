"""/healthz (liveness) and /readyz (event store, embedding model, Qdrant, the default model
lane, projection lag)."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from cortex.bootstrap import Cortex
from cortex.lanes.types import DEFAULT_LANE


class Check(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    ok: bool
    detail: str = ""
    lag: int | None = None


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    ready: bool
    checks: dict[str, Check]


class HealthController(Controller):
    tags = ["health"]

    @get("/healthz", operation_id="liveness", sync_to_thread=False)
    def liveness(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", operation_id="readiness", sync_to_thread=True)
    def readiness(self, cortex: NamedDependency[Cortex]) -> Response[Readiness]:
        checks: dict[str, Check] = {}
        try:
            head = cortex.log.head()
            checks["event_store"] = Check(ok=True)
        except Exception as error:  # any failure means not ready; the reason is reported
            head = None
            checks["event_store"] = Check(ok=False, detail=type(error).__name__)
        checks["embedding_model"] = _embedding_check(cortex)
        try:
            cortex.vectors.check()
            checks["qdrant"] = Check(ok=True, detail=cortex.vectors.description)
        except Exception as error:
            checks["qdrant"] = Check(
                ok=False, detail=f"{cortex.vectors.description}: {error}"[:300]
            )
        checks["model_lane"] = _lane_check(cortex)
        max_lag = cortex.settings.projections.ready_max_lag
        for name, runner in cortex.runners.items():
            try:
                lag = max(0, head - runner.position()) if head is not None else None
            except Exception as error:
                checks[f"projection:{name}"] = Check(ok=False, detail=type(error).__name__)
                continue
            ok = lag is not None and lag <= max_lag
            detail = "" if ok else f"lag above {max_lag}" if lag is not None else "no head"
            checks[f"projection:{name}"] = Check(ok=ok, lag=lag, detail=detail)
        ready = all(check.ok for check in checks.values())
        status = HTTP_200_OK if ready else HTTP_503_SERVICE_UNAVAILABLE
        return Response(Readiness(ready=ready, checks=checks), status_code=status)


def _embedding_check(cortex: Cortex) -> Check:
    """Which model of the chain is active, and why the ones before it were skipped."""
    model = cortex.embedding.model()  # waits while the model loads (this runs in a thread)
    choice = cortex.embedding.choice
    skipped = "; ".join(
        f"{attempt.model} skipped: {attempt.reason}"
        for attempt in (choice.attempts if choice else [])
        if not attempt.loaded
    )
    if model is None:
        return Check(ok=False, detail=f"no model could be loaded; {skipped}"[:1000])
    active = f"{model.name} ({model.dimension}d, {model.device})"
    return Check(ok=True, detail=f"{active}; {skipped}"[:1000] if skipped else active)


def _lane_check(cortex: Cortex) -> Check:
    """The default lane answers its probe; with no lane configured there is nothing to wait for
    (generation answers 503 and says so)."""
    config = cortex.model_calls.gateway.configs[DEFAULT_LANE]
    if not config.configured:
        return Check(ok=True, detail="no model lane configured (CORTEX_LLM_BASE_URL)")
    health = cortex.model_calls.gateway.probe(DEFAULT_LANE)
    where = config.base_url or config.binary
    if health.ok:
        return Check(ok=True, detail=f"{DEFAULT_LANE} ({config.model} at {where})")
    return Check(ok=False, detail=f"{DEFAULT_LANE} at {where}: {health.error}"[:300])
