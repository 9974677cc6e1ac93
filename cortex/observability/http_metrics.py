"""HTTP metrics: requests, errors, in-flight and latency by route template
(``/api/ideas/{idea_id}``, never a raw path with an id), method and status.

``cortex_http_requests_total``, ``cortex_http_request_duration_seconds`` (to the last byte of the
response) and ``cortex_http_requests_error_total`` (5xx) are labelled ``method``, ``path`` (the
route template), ``status_code`` and ``app_name="cortex"``, the names and labels Litestar's
Prometheus plugin uses, so dashboards written for it keep working;
``cortex_http_requests_in_progress`` is labelled ``method`` and ``app_name`` (the route is not
known until routing is done). Requests that match no route (404 before routing) are not
counted: their paths are unbounded. Metrics go to prometheus_client's default registry (the
multiprocess files when ``PROMETHEUS_MULTIPROC_DIR`` is set).

Why not the plugin's middleware: an app-level middleware makes Litestar wrap every route in one
more exception handler, and the plugin builds a ``Request`` and looks every label set up again
on each request; in-process it cost 100-150 µs a request on ``GET /api/ideas`` (see
``benchmarks/bench_http.py``). This wrapper sits around the app's ASGI handler, like the request
log, and keeps each label set's children once looked up.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from litestar.enums import ScopeType
from prometheus_client import Counter, Gauge, Histogram

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

APP_NAME = "cortex"
LABELS = ("method", "path", "status_code", "app_name")
# Generation and uploads take seconds to minutes; reads take milliseconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class HttpMetrics:
    """The four metrics, registered once per process (a second app reuses them)."""

    _registered: HttpMetrics | None = None

    def __init__(self) -> None:
        self.requests = Counter("cortex_http_requests_total", "Total requests", LABELS)
        self.duration = Histogram(
            "cortex_http_request_duration_seconds",
            "Request duration, in seconds",
            LABELS,
            buckets=BUCKETS,
        )
        self.errors = Counter(
            "cortex_http_requests_error_total", "Total errors in requests", LABELS
        )
        self.in_progress = Gauge(
            "cortex_http_requests_in_progress",
            "Total requests currently in progress",
            ("method", "app_name"),
            multiprocess_mode="livesum",
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}
        self._in_progress: dict[str, Any] = {}

    @classmethod
    def registered(cls) -> HttpMetrics:
        if cls._registered is None:
            cls._registered = cls()
        return cls._registered

    def in_progress_of(self, method: str) -> Any:
        gauge = self._in_progress.get(method)
        if gauge is None:
            gauge = self._in_progress[method] = self.in_progress.labels(method, APP_NAME)
        return gauge

    def observe(self, method: str, path: str, status: int, seconds: float) -> None:
        key = (method, path, status)
        children = self._children.get(key)
        if children is None:
            values = (method, path, str(status), APP_NAME)
            children = (
                self.requests.labels(*values),
                self.duration.labels(*values),
                self.errors.labels(*values),
            )
            self._children[key] = children
        requests, duration, errors = children
        requests.inc()
        duration.observe(seconds)
        if status >= 500:
            errors.inc()


class MeasureRequests:
    """Pure ASGI middleware: times each HTTP request and counts it under its route."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        started = time.perf_counter()
        status = 500
        finished = 0.0

        async def send_noting_status(message: Message) -> None:
            nonlocal status, finished
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = time.perf_counter()
            await send(message)

        in_progress = self._metrics.in_progress_of(method)
        in_progress.inc()
        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            in_progress.dec()
            template = scope.get("path_template")
            if template:
                elapsed = (finished or time.perf_counter()) - started
                self._metrics.observe(method, str(template), status, elapsed)


def measure_requests(app: Litestar) -> Litestar:
    """Wrap the app's whole ASGI handler in the HTTP metrics."""
    app.asgi_handler = MeasureRequests(app.asgi_handler, HttpMetrics.registered())
    return app
