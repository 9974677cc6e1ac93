"""/api/system/ready (the readiness checks in detail) and /api/system/info (version, profile and
the effective configuration, secrets masked): for admins and auditors."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

from litestar import Controller, get
from litestar.di import NamedDependency

from cortex.api.effective_config import effective_configuration
from cortex.api.readiness import check_readiness, failing
from cortex.api.schemas.system import CheckDetail, ReadinessDetail, SystemInfo
from cortex.bootstrap import Cortex


def cortex_version() -> str:
    try:
        return version("cortex")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


class SystemController(Controller):
    path = "/api/system"
    tags = ["system"]

    @get("/ready", operation_id="systemReady", sync_to_thread=True)
    def ready(self, cortex: NamedDependency[Cortex]) -> ReadinessDetail:
        """Every readiness check with its detail and latency. Always 200 (the report was made);
        ``ready`` and ``failing`` say what /readyz would answer."""
        checks = check_readiness(cortex)
        return ReadinessDetail(
            ready=not failing(checks),
            failing=failing(checks),
            checks={
                name: CheckDetail(
                    ok=check.ok,
                    detail=check.full_detail,
                    latency_ms=check.latency_ms,
                    lag=check.lag,
                )
                for name, check in checks.items()
            },
        )

    @get("/info", operation_id="systemInfo", sync_to_thread=False)
    def info(self, cortex: NamedDependency[Cortex]) -> SystemInfo:
        """Version, profile, Python and every CORTEX_* variable in force (secrets masked)."""
        settings = cortex.settings
        return SystemInfo(
            version=cortex_version(),
            profile=settings.profile,
            python=platform.python_version(),
            configuration=effective_configuration(settings),
        )
