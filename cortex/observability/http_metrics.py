"""HTTP metrics from Litestar's Prometheus plugin: requests, errors, in-flight and latency by
route template (``/api/ideas/{idea_id}``, never a raw path with an id), method and status.

The plugin's middleware registers its metrics in prometheus_client's default registry (in the
multiprocess files when ``PROMETHEUS_MULTIPROC_DIR`` is set), so /metrics reports them with the
rest: ``cortex_http_requests_total``, ``cortex_http_request_duration_seconds``,
``cortex_http_requests_in_progress`` and ``cortex_http_requests_error_total``, labelled
``method``, ``path``, ``status_code`` and ``app_name="cortex"``. Requests that match no route
(404 before routing) are not counted: their paths are unbounded.
"""

from __future__ import annotations

from litestar.middleware.base import DefineMiddleware
from litestar.plugins.prometheus import PrometheusConfig

# Generation and uploads take seconds to minutes; reads take milliseconds.
BUCKETS: list[str | float] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300
]  # fmt: skip


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="cortex",
        prefix="cortex_http",
        group_path=True,
        buckets=BUCKETS,
    )


def prometheus_middleware() -> DefineMiddleware:
    """The middleware for ``Litestar(middleware=[...])``."""
    return prometheus_config().middleware
