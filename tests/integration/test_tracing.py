"""Traces: a span per request named after its route, event store appends and projector batches
inside, one trace from the API through the Dramatiq worker to the model server's HTTP call;
spans exported over OTLP/HTTP to a receiver on loopback; none at a sample ratio of 0.

OpenTelemetry lets a process install its tracer provider once, so each test here resets the
API's globals (as opentelemetry-test-utils' ``reset_trace_globals`` does) and installs its own.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util._once import Once

import cortex.api.app as app_module
from cortex.api.tracing import ServerSpans
from cortex.bootstrap import bootstrap
from cortex.observability.tracing import configure_tracing
from tests.api.helpers import create_project, ok
from tests.conftest import make_settings
from tests.support.llm_server import FakeLLMServer

Client = TestClient[Any]
Start = Callable[..., tuple[Client, TracerProvider]]


def _reset_trace_globals() -> None:
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    trace._PROXY_TRACER_PROVIDER = trace.ProxyTracerProvider()


@pytest.fixture(autouse=True)
def fresh_tracing() -> Iterator[None]:
    _reset_trace_globals()
    yield
    _reset_trace_globals()


@pytest.fixture
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(model="default-model") as server:
        yield server


@pytest.fixture
def start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, llm: FakeLLMServer) -> Iterator[Start]:
    """A factory: Cortex with tracing on (and extra CORTEX_* settings), its app on a TestClient."""
    with ExitStack() as stack:

        def factory(
            exporter: InMemorySpanExporter | None = None, *, workers: bool = False, **extra: str
        ) -> tuple[Client, TracerProvider]:
            settings = make_settings(
                tmp_path,
                CORTEX_ENABLE_TRACING="true",
                CORTEX_LLM_BASE_URL=llm.base_url,
                CORTEX_LLM_MODEL="default-model",
                CORTEX_ROUTER_EMBEDDINGS="false",  # no embedding model to load
                **extra,
            )
            provider = configure_tracing(settings.tracing, exporter=exporter)
            assert provider is not None
            stack.callback(provider.shutdown)  # last: after Cortex stopped making spans
            wired = bootstrap(settings, migrate_read_store=True)
            stack.callback(wired.close)
            wired.start_projections()
            if workers:
                wired.start_workers({"lanes"})
            app = app_module.create_app(cortex=wired)
            assert isinstance(app.asgi_handler, ServerSpans)
            client = stack.enter_context(TestClient(app))
            return client, provider

        yield factory


def _named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def _wait_for(exporter: InMemorySpanExporter, name: str, timeout: float = 10) -> ReadableSpan:
    deadline = time.monotonic() + timeout
    while not (found := _named(exporter.get_finished_spans(), name)):
        assert time.monotonic() < deadline, f"no span {name!r} within {timeout}s"
        time.sleep(0.02)
    return found[0]


def _ancestors(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> list[str]:
    """The names of the span's ancestors among ``spans``, nearest first."""
    by_id = {other.context.span_id: other for other in spans}
    names = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


def test_a_request_is_a_server_span_named_after_its_route_holding_the_append(
    start: Start,
) -> None:
    exporter = InMemorySpanExporter()
    client, _ = start(exporter)
    assert ok(client.get("/healthz"))  # a probe: no span
    project = create_project(client)
    ok(client.get(f"/api/projects/{project['id']}", params={"after": project["position"]}))

    spans = exporter.get_finished_spans()
    (server,) = _named(spans, "POST /api/projects")
    assert server.kind is SpanKind.SERVER
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/api/projects"
    (append,) = _named(spans, "event_store.append")
    assert append.parent is not None
    assert append.parent.span_id == server.context.span_id
    assert append.context.trace_id == server.context.trace_id
    assert dict(append.attributes or {}) == {
        "cortex.aggregate.type": "Project",
        "cortex.aggregate.id": project["id"],
        "cortex.event_store.events": 1,
        "cortex.event_store.position": project["position"],
    }
    (read,) = [span for span in spans if span.name.startswith("GET /api/projects/{")]
    assert project["id"] not in read.name  # the route template, not the concrete path
    assert not [span for span in spans if "healthz" in span.name]

    batch = _wait_for(exporter, "projection.batch")
    assert batch.attributes is not None
    assert batch.attributes["cortex.projection.events"] >= 1
    assert batch.attributes["cortex.projection.name"]


def test_a_request_continues_the_callers_trace_and_unrouted_or_failed_ones_are_marked(
    start: Start,
) -> None:
    exporter = InMemorySpanExporter()
    client, _ = start(exporter)
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    traceparent = f"00-{trace_id}-{parent_id}-01"
    ok(
        client.post("/api/projects", json={"name": "Traced"}, headers={"traceparent": traceparent}),
        201,
    )
    assert client.get("/no-such-route").status_code == 404
    assert client.post("/api/projects", content=b"{not json").status_code == 400

    spans = exporter.get_finished_spans()
    created = [s for s in _named(spans, "POST /api/projects") if s.parent is not None]
    (continued,) = created
    assert format(continued.context.trace_id, "032x") == trace_id
    assert continued.parent is not None
    assert format(continued.parent.span_id, "016x") == parent_id
    assert continued.parent.is_remote
    (unrouted,) = _named(spans, "GET")  # no route: the method alone, never the raw path
    assert unrouted.attributes is not None
    assert unrouted.attributes["http.response.status_code"] == 404
    assert unrouted.status.status_code is not StatusCode.ERROR  # a 4xx is the caller's error
    refused = [s for s in _named(spans, "POST /api/projects") if s.parent is None]
    assert [s.attributes["http.response.status_code"] for s in refused if s.attributes] == [400]


def test_a_queued_model_call_is_one_trace_from_the_api_through_the_worker_to_the_model(
    start: Start, llm: FakeLLMServer
) -> None:
    exporter = InMemorySpanExporter()
    client, _ = start(exporter, workers=True)
    project = create_project(client)["id"]
    body = {"prompt": "Summarise what we decided about retention.", "project_id": project}
    ok(client.post("/api/generate/jobs", json=body), 202)

    consumer = _wait_for(exporter, "dramatiq answer_model_call")
    spans = exporter.get_finished_spans()
    (server,) = _named(spans, "POST /api/generate/jobs")
    trace_id = server.context.trace_id
    assert consumer.kind is SpanKind.CONSUMER
    assert consumer.context.trace_id == trace_id
    assert "POST /api/generate/jobs" in _ancestors(consumer, spans)
    (model_call,) = [span for span in spans if span.kind is SpanKind.CLIENT]
    assert model_call.context.trace_id == trace_id
    assert _ancestors(model_call, spans)[0] == "dramatiq answer_model_call"
    (request,) = llm.chat_requests
    assert f"{trace_id:032x}" in request.headers["traceparent"]  # the model server sees it too
    recorded = [s for s in _named(spans, "event_store.append") if s.context.trace_id == trace_id]
    assert len(recorded) == 2  # ModelCallRequested under the request, the answer under the worker
    assert "dramatiq answer_model_call" in _ancestors(recorded[-1], spans)


class OtlpReceiver:
    """An OTLP/HTTP trace receiver on loopback: POST /v1/traces with a protobuf body."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces":
                    self.send_error(404)
                    return
                receiver.requests.append(ExportTraceServiceRequest.FromString(body))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def spans(self) -> list[tuple[str, str]]:
        """(service.name, span name) for every span received."""
        received = []
        for request in self.requests:
            for resource_spans in request.resource_spans:
                service = next(
                    attribute.value.string_value
                    for attribute in resource_spans.resource.attributes
                    if attribute.key == "service.name"
                )
                for scope_spans in resource_spans.scope_spans:
                    received += [(service, span.name) for span in scope_spans.spans]
        return received

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    yield receiver
    receiver.close()


def test_spans_reach_an_otlp_http_receiver_with_the_service_name(
    receiver: OtlpReceiver, start: Start
) -> None:
    client, provider = start(
        CORTEX_OTEL_EXPORTER_ENDPOINT=receiver.url + "/",
        CORTEX_OTEL_SERVICE_NAME="cortex-trace-test",
    )
    create_project(client)
    assert provider.force_flush(timeout_millis=10_000)
    received = receiver.spans()
    assert ("cortex-trace-test", "POST /api/projects") in received
    assert ("cortex-trace-test", "event_store.append") in received
    assert {service for service, _ in received} == {"cortex-trace-test"}


def test_a_sample_ratio_of_zero_exports_nothing(start: Start) -> None:
    exporter = InMemorySpanExporter()
    client, _ = start(exporter, workers=True, CORTEX_OTEL_SAMPLE_RATIO="0")
    project = create_project(client)
    ok(client.get(f"/api/projects/{project['id']}", params={"after": project["position"]}))
    body = {"prompt": "Anything.", "project_id": project["id"]}
    queued = ok(client.post("/api/generate/jobs", json=body), 202)
    deadline = time.monotonic() + 10
    call = f"/api/model-calls/{queued['call_id']}"
    while ok(client.get(call, params={"after": queued["position"]}))["status"] == "requested":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert exporter.get_finished_spans() == ()
