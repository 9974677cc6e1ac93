"""Server spans for HTTP requests: one span a request, named after its route.

``trace_requests`` wraps the app's whole ASGI handler (routing included, so 404 and 405 get spans
too), continues the caller's W3C ``traceparent`` through the global propagator, and names the span
``"POST /api/ideas/{idea_id:uuid}"`` once routing has put the template in the scope (never the
concrete path, whose ids would make every request a span name of its own); requests that match no
route keep the method alone. Attributes follow the stable HTTP semantic conventions; a 5xx or an
exception marks the span as an error. The probes and the metrics scrape get no spans.

Why not Litestar's OpenTelemetry plugin: it runs opentelemetry-instrumentation-asgi, which
collects some twenty attributes in both the old and the new conventions and wraps every ASGI
message. Measured around a trivial app (``benchmarks/bench_http.py`` has the whole-request
figures) it took 94 µs a request with its receive and send spans already off, plus Litestar's
wrapper and a route middleware to rename the span; this takes 33 µs. With the plugin the
observability overhead on a cheap read could not get under the 15 % the operators asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.enums import ScopeType
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from cortex.observability.tracing import configure_tracing
from cortex.settings import TracingSettings

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

UNTRACED_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})
_PROPAGATED = frozenset({b"traceparent", b"tracestate", b"baggage"})


class ServerSpans:
    """Pure ASGI middleware: one server span around each HTTP request."""

    def __init__(self, app: ASGIApp, tracer: trace.Tracer) -> None:
        self.app = app
        self._tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"] in UNTRACED_PATHS:
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name in _PROPAGATED
        }
        attributes = {
            "http.request.method": method,
            "url.path": scope["path"],
            "url.scheme": scope.get("scheme", "http"),
        }
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self._tracer.start_as_current_span(
            method,
            context=propagate.extract(carrier) if carrier else None,
            kind=SpanKind.SERVER,
            attributes=attributes,
        ) as span:
            try:
                await self.app(scope, receive, send_noting_status)
            finally:
                span.set_attribute("http.response.status_code", status)
                template = scope.get("path_template")
                if template:
                    span.update_name(f"{method} {template}")
                    span.set_attribute("http.route", str(template))
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))


def trace_requests(app: Litestar, settings: TracingSettings) -> Litestar:
    """Wrap the app's whole ASGI handler in server spans; nothing when tracing is off."""
    provider = configure_tracing(settings)  # installed before the first span is asked for
    if provider is not None:
        tracer = provider.get_tracer("cortex.http")
        app.asgi_handler = ServerSpans(app.asgi_handler, tracer)
    return app
