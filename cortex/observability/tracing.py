"""OpenTelemetry traces: one tracer provider per process, spans sent to a collector over OTLP/HTTP.

Off unless CORTEX_ENABLE_TRACING is true: then nothing is installed, the API's no-op tracer answers
every ``tracer()`` and a span costs a few microseconds. On, the provider samples root spans at
CORTEX_OTEL_SAMPLE_RATIO (children follow their parent's decision, so a trace is kept or dropped
whole) and batches spans to ``<CORTEX_OTEL_EXPORTER_ENDPOINT>/v1/traces`` when an endpoint is set;
without one, spans still give log lines their trace ids.

The SDK, the exporter and the httpx instrumentation are imported only when tracing is on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import structlog
from opentelemetry import trace

from cortex.settings import TracingSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

TRACER_NAME = "cortex"

logger = structlog.get_logger("cortex.tracing")

_installed: tuple[TracingSettings, TracerProvider] | None = None
_tracer: tuple[trace.TracerProvider, trace.Tracer] | None = None


def configure_tracing(
    settings: TracingSettings, *, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """Install the process's tracer provider (once: a second call with the same settings returns
    it); None, and nothing installed, when tracing is off.

    ``exporter`` also receives every span as it ends (tests pass the SDK's in-memory one).
    """
    global _installed
    if not settings.enabled:
        return None
    if _installed is not None and trace.get_tracer_provider() is _installed[1]:
        if _installed[0] != settings:
            logger.warning("tracing_already_configured", service_name=_installed[0].service_name)
        return _installed[1]
    provider = _build_provider(settings, exporter)
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:  # OpenTelemetry allows one per process
        provider.shutdown()
        logger.warning("tracing_provider_already_set", provider=type(trace.get_tracer_provider()))
        return None
    _installed = (settings, provider)
    logger.info(
        "tracing_configured",
        service_name=settings.service_name,
        sample_ratio=settings.sample_ratio,
        exporter_endpoint=settings.exporter_endpoint or None,
    )
    return provider


def _build_provider(settings: TracingSettings, exporter: SpanExporter | None) -> TracerProvider:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: settings.service_name}),
        sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
    )
    if settings.exporter_endpoint:
        endpoint = settings.exporter_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def installed_provider() -> TracerProvider | None:
    """The provider configure_tracing installed, while it is the process's one; else None."""
    if _installed is not None and trace.get_tracer_provider() is _installed[1]:
        return _installed[1]
    return None


def tracer() -> trace.Tracer:
    """The tracer for Cortex's own spans, from whichever provider is installed now."""
    global _tracer
    provider = trace.get_tracer_provider()
    cached = _tracer
    if cached is None or cached[0] is not provider:
        cached = _tracer = (provider, provider.get_tracer(TRACER_NAME))
    return cached[1]


def instrument_http_client(client: httpx.Client) -> httpx.Client:
    """Give every request of the client a CLIENT span and a traceparent header (tracing on)."""
    provider = installed_provider()
    if provider is not None:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=provider)
    return client


def flush_tracing(timeout_seconds: float = 5.0) -> None:
    """Send the spans still batched; a process that exits without this loses its last ones."""
    provider = installed_provider()
    if provider is not None:
        provider.force_flush(int(timeout_seconds * 1000))
