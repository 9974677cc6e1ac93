"""Server spans for HTTP requests: Litestar's OpenTelemetry plugin, named after the route.

The plugin's middleware wraps the whole app, so it starts the span before routing; a route
middleware renames it ``"POST /api/ideas/{idea_id:uuid}"`` once the route is known (never after
the concrete path, whose ids would make every request its own span name). Requests that match no
route keep the method alone as their name. The probes and the metrics scrape get no spans.
"""

from __future__ import annotations

from typing import Any

from litestar.config.app import AppConfig
from litestar.plugins import InitPlugin
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.types import ASGIApp, Receive, Scope, Send
from opentelemetry import trace
from opentelemetry.semconv.attributes.http_attributes import HTTP_ROUTE

from cortex.observability.tracing import configure_tracing
from cortex.settings import TracingSettings

UNTRACED_PATHS = ["^/metrics$", "^/healthz$", "^/readyz$"]


def litestar_tracing_plugins(settings: TracingSettings) -> list[InitPlugin]:
    """The plugins to add to the app's ``plugins``: none when tracing is off."""
    if not settings.enabled:
        return []
    provider = configure_tracing(settings)  # installed before the middleware asks for a tracer
    config = OpenTelemetryConfig(
        tracer_provider=provider,
        exclude=UNTRACED_PATHS,
        exclude_spans=["receive", "send"],  # one span per request, not one per ASGI message
        scope_span_details_extractor=_span_details_before_routing,
    )
    return [OpenTelemetryPlugin(config), RouteSpanNames()]


class RouteSpanNames(InitPlugin):
    """Adds the route middleware that names each request's span after its route.

    A plugin of its own: Litestar finds the OpenTelemetry plugin by its class name, so a subclass
    of it would not be found."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.middleware.append(name_span_after_route)
        return app_config


def name_span_after_route(app: ASGIApp) -> ASGIApp:
    """Rename the request's server span ``"<method> <path template>"`` once routing is done."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        span = trace.get_current_span()
        template = scope.get("path_template")
        if template and span.is_recording():
            method = scope.get("method")
            span.update_name(f"{method} {template}" if method else str(template))
            span.set_attribute(HTTP_ROUTE, str(template))
        await app(scope, receive, send)

    return middleware


def _span_details_before_routing(scope: Scope) -> tuple[str, dict[str, Any]]:
    return str(scope.get("method") or scope["type"]), {}
