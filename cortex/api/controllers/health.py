"""/healthz (liveness: no dependencies) and /readyz (readiness: the checks of
``cortex.api.readiness``, terse; 503 names the failing ones)."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from cortex.api.readiness import check_readiness, failing
from cortex.api.schemas.system import Check, Readiness
from cortex.bootstrap import Cortex


class HealthController(Controller):
    tags = ["health"]

    @get("/healthz", operation_id="liveness", sync_to_thread=False)
    def liveness(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", operation_id="readiness", sync_to_thread=True)
    def readiness(self, cortex: NamedDependency[Cortex]) -> Response[Readiness]:
        """200 when every check passes, else 503; ``failing`` names the checks that did not."""
        checks = check_readiness(cortex)
        names = failing(checks)
        body = Readiness(
            ready=not names,
            failing=names,
            checks={
                name: Check(ok=check.ok, detail=check.detail, lag=check.lag)
                for name, check in checks.items()
            },
        )
        status = HTTP_503_SERVICE_UNAVAILABLE if names else HTTP_200_OK
        return Response(body, status_code=status)
