"""The log: one JSON shape for every line, one line per request, and no secret in any of them.

The first tests run a small Litestar app wrapped by ``log_requests``; the last ones run the real
app (``create_app``) with authentication on: a sign-in over HTTP, its tokens used, a failed
sign-in, a 404 and a 400 whose body carries a secret, then the captured stderr is searched.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest
import structlog
from litestar import Litestar, get, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, JSONBody
from litestar.testing import TestClient
from litestar.types import Receive, Scope, Send
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.util._once import Once

from cortex.api.app import create_app
from cortex.bootstrap import bootstrap
from cortex.observability.logging import configure_logging
from cortex.observability.redaction import REDACTED
from cortex.observability.request_logging import log_requests
from cortex.observability.tracing import configure_tracing
from cortex.settings import LogSettings
from tests.auth.conftest import auth_settings
from tests.auth.support import AuthApp, new_password

LISTED_KEYS = {
    "timestamp", "level", "logger", "message", "request_id", "trace_id", "span_id", "user",
    "path", "status_code", "duration_ms",
}  # fmt: skip
LEADING = ["timestamp", "level", "logger", "message"]
GENERATED_ID = re.compile(r"[0-9a-f]{32}")
USER_ID = UUID("0b0e5a4c-2c1d-4c43-9a5e-3f9f5c1a7d11")
log = structlog.get_logger("cortex.tests")


def json_lines(err: str) -> list[dict[str, Any]]:
    """Every line written to stderr, each of which must be one JSON object."""
    lines = [line for line in err.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(line, dict) for line in parsed)
    return parsed


def finished(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["message"] == "request_finished"]


# A small app -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakePrincipal:
    user_id: UUID | None
    api_key_id: UUID | None = None


async def fake_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Like the app's guard: the caller goes to ``connection.state.principal``."""
    who = connection.headers.get("x-test-user")
    connection.state.principal = FakePrincipal(UUID(who) if who else None)


class NewItem(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    count: int


@get("/items/{item_id:int}", sync_to_thread=False)
def read_item(item_id: FromPath[int]) -> dict[str, int]:
    log.info("item_read", item_id=item_id)
    return {"id": item_id}


@get("/threaded", sync_to_thread=True)
def threaded() -> dict[str, bool]:
    log.info("in_a_worker_thread")
    return {"ok": True}


@post("/items", sync_to_thread=False)
def create_item(data: JSONBody[NewItem]) -> dict[str, str]:
    return {"name": data.name}


@get("/boom", sync_to_thread=False)
def boom() -> None:
    raise RuntimeError("the handler failed")


def small_app() -> Litestar:
    app = Litestar(
        [read_item, threaded, create_item, boom], guards=[fake_guard], logging_config=None
    )
    return log_requests(app)


@pytest.fixture
def client() -> Iterator[TestClient[Any]]:
    configure_logging(LogSettings())
    with TestClient(small_app()) as test_client:
        yield test_client


def test_each_request_logs_one_line_with_the_listed_keys(
    client: TestClient[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = client.get(
        "/items/7?password=hunter2&token=abc",
        headers={"X-Request-ID": "req-7", "X-Test-User": str(USER_ID)},
    )
    assert response.status_code == 200
    (line,) = finished(json_lines(capsys.readouterr().err))
    assert set(line) >= LISTED_KEYS
    assert list(line)[:4] == LEADING
    assert line["level"] == "info"
    assert line["logger"] == "cortex.access"
    assert line["request_id"] == "req-7" == response.headers["X-Request-ID"]
    assert line["status_code"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["user"] == str(USER_ID)
    assert line["path"] == "/items/7"  # never the query string
    assert line["method"] == "GET"
    assert line["route"] == "/items/{item_id}"
    assert line["trace_id"] is None
    assert line["span_id"] is None


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("abc-123.X_y", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("has space", False),
        ('inject"quote', False),
        (None, False),
    ],
)
def test_request_id_is_the_callers_when_sane_and_generated_otherwise(
    client: TestClient[Any], capsys: pytest.CaptureFixture[str], given: str | None, kept: bool
) -> None:
    capsys.readouterr()
    headers = {"X-Request-ID": given} if given is not None else {}
    response = client.get("/items/1", headers=headers)
    (line,) = finished(json_lines(capsys.readouterr().err))
    echoed = response.headers["X-Request-ID"]
    assert line["request_id"] == echoed
    assert response.headers.get_list("X-Request-ID") == [echoed]
    if kept:
        assert echoed == given
    else:
        assert GENERATED_ID.fullmatch(echoed)


def test_lines_logged_while_serving_carry_the_request_context(
    client: TestClient[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    client.get("/items/3", headers={"X-Request-ID": "in-loop"})
    client.get("/threaded", headers={"X-Request-ID": "in-thread"})
    log.info("between_requests")
    lines = json_lines(capsys.readouterr().err)
    by_message = {line["message"]: line for line in lines if line["message"] != "request_finished"}
    assert by_message["item_read"]["request_id"] == "in-loop"
    assert by_message["item_read"]["path"] == "/items/3"
    assert by_message["item_read"]["method"] == "GET"
    assert by_message["item_read"]["logger"] == "cortex.tests"
    assert by_message["in_a_worker_thread"]["request_id"] == "in-thread"
    assert "request_id" not in by_message["between_requests"]  # unbound after each request
    assert [line["request_id"] for line in finished(lines)] == ["in-loop", "in-thread"]


def test_unknown_paths_failures_and_bad_bodies_are_logged_without_bodies(
    client: TestClient[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    secret = f"S3cret-{secrets.token_hex(8)}"
    missing = client.get("/nowhere")
    failed = client.get("/boom")
    refused = client.post("/items", json={"name": "body-marker", "count": "x", "password": secret})
    assert (missing.status_code, failed.status_code, refused.status_code) == (404, 500, 400)
    err = capsys.readouterr().err
    lines = finished(json_lines(err))
    assert [(line["path"], line["status_code"]) for line in lines] == [
        ("/nowhere", 404),
        ("/boom", 500),
        ("/items", 400),
    ]
    assert lines[0]["route"] is None  # routing found nothing; still logged, still an id
    assert missing.headers["X-Request-ID"] == lines[0]["request_id"]
    assert lines[1]["level"] == "error"
    assert secret not in err
    assert "body-marker" not in err


def test_trace_and_span_ids_come_from_the_current_span(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(LogSettings())
    context = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    app = small_app()
    inner = app.asgi_handler

    async def traced(scope: Scope, receive: Receive, send: Send) -> None:
        with trace.use_span(NonRecordingSpan(context)):
            await inner(scope, receive, send)

    app.asgi_handler = traced
    capsys.readouterr()
    with TestClient(app) as test_client:
        test_client.get("/items/5")
    lines = json_lines(capsys.readouterr().err)
    for line in [*finished(lines), next(line for line in lines if line["message"] == "item_read")]:
        assert line["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
        assert line["span_id"] == "b7ad6b7169203331"


def test_console_lines_when_json_is_off(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogSettings(json=False))
    try:
        with TestClient(small_app()) as test_client:
            capsys.readouterr()
            test_client.get("/items/2?password=hunter2")
        err = capsys.readouterr().err
    finally:
        configure_logging(LogSettings())
    (line,) = [line for line in err.splitlines() if "request_finished" in line]
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
    assert "[cortex.access]" in line
    assert "status_code=200" in line
    assert "path=/items/2" in line
    assert "hunter2" not in err


def test_standard_library_records_come_out_in_the_same_shape(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(LogSettings())
    capsys.readouterr()
    logging.getLogger("dramatiq.worker.Consumer").warning("consumer %s stopped", "ingest")
    logging.getLogger("eventsourcing").debug("below the level: not written")
    (line,) = json_lines(capsys.readouterr().err)
    assert list(line)[:4] == LEADING
    assert line["logger"] == "dramatiq.worker.Consumer"
    assert line["level"] == "warning"
    assert line["message"] == "consumer ingest stopped"


def test_secret_fields_and_credential_looking_values_are_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(LogSettings())
    capsys.readouterr()
    key = f"ck_{uuid4().hex}_{secrets.token_urlsafe(24)}"
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl"
    refresh = f"{uuid4().hex}.{secrets.token_urlsafe(24)}"
    log.info(
        "careless_call",
        password="pw-1",
        new_password="pw-2",
        access_token="at-1",
        refresh_token="rt-1",
        client_secret="cs-1",
        api_key="ak-1",
        headers={"Authorization": "Bearer abcdefghijklmnop", "accept": "text/plain"},
        note=f"used {key} then {jwt} and {refresh}",
        tokens=42,
        max_tokens=7,
        api_key_id="kept",
    )
    logging.getLogger("httpx").warning("sent Authorization: Bearer %s", jwt)
    err = capsys.readouterr().err
    first, second = json_lines(err)
    for name in ("password", "new_password", "access_token", "refresh_token", "client_secret"):
        assert first[name] == REDACTED
    assert first["api_key"] == REDACTED
    assert first["headers"] == {"Authorization": REDACTED, "accept": "text/plain"}
    assert first["note"] == f"used {REDACTED} then {REDACTED} and {REDACTED}"
    assert (first["tokens"], first["max_tokens"], first["api_key_id"]) == (42, 7, "kept")
    assert second["message"] == f"sent Authorization: {REDACTED}"
    for value in ("pw-1", "pw-2", "at-1", "rt-1", "cs-1", "ak-1", key, jwt, refresh, "abcdefgh"):
        assert value not in err


# The real app (create_app passes logging_config=None and calls log_requests) ---------------------

MakeApp = Callable[..., AuthApp]


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[MakeApp]:
    """``make_app(**CORTEX_env)``: an auth-enabled app on SQLite, projections following."""
    with ExitStack() as stack:

        def factory(**env: str) -> AuthApp:
            wired = bootstrap(auth_settings(tmp_path, **env), migrate_read_store=True)
            stack.callback(wired.close)
            wired.start_projections()
            client = stack.enter_context(TestClient(create_app(cortex=wired)))
            return AuthApp(cortex=wired, client=client)

        yield factory
    configure_logging(LogSettings())


def parts_of(*credentials: str) -> set[str]:
    """Each credential and its secret parts (a JWT's signature, a refresh token's secret)."""
    found = set(credentials)
    for value in credentials:
        found.add(value.rsplit(".", 1)[-1])
    return {value for value in found if len(value) >= 12}


def test_the_api_logs_no_password_token_or_body(
    make_app: MakeApp, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app(CORTEX_LOG_LEVEL="DEBUG")
    admin = app.bootstrap_admin()
    assert admin.tokens is not None
    client = app.client
    wrong = new_password()
    body_secret = new_password()
    assert app.token_response(admin.username, wrong).status_code == 401
    assert client.get("/api/auth/me", headers=admin.headers).status_code == 200
    assert client.get(f"/api/projects/{uuid4()}", headers=admin.headers).status_code == 404
    assert client.get("/api/no-such-route", headers=admin.headers).status_code == 404
    refused = client.post(
        "/api/auth/users",
        json={"username": "body-marker-user", "password": body_secret, "roles": 5},
        headers=admin.headers,
    )
    assert refused.status_code == 400
    rotated = app.refresh(admin.tokens.refresh)
    assert rotated.status_code == 200
    query = client.get(f"/api/projects?access_token={admin.tokens.access}", headers=admin.headers)
    assert query.status_code in (200, 400)

    err = capsys.readouterr().err
    assert "request_finished" in err
    leaked = parts_of(
        admin.password,
        wrong,
        body_secret,
        admin.tokens.access,
        admin.tokens.refresh,
        rotated.json()["access_token"],
        rotated.json()["refresh_token"],
    )
    assert not sorted(value[:8] for value in leaked if value in err)
    assert "body-marker-user" not in err


def test_each_api_request_has_a_line_with_the_listed_keys(
    make_app: MakeApp, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app()
    admin = app.bootstrap_admin()
    capsys.readouterr()
    me = app.client.get(
        "/api/auth/me?verbose=1", headers={**admin.headers, "X-Request-ID": "from-the-proxy"}
    )
    anonymous = app.client.get("/api/auth/me")
    failed = app.token_response(admin.username, new_password())
    assert (me.status_code, anonymous.status_code, failed.status_code) == (200, 401, 401)

    lines = finished(json_lines(capsys.readouterr().err))
    assert [(line["path"], line["status_code"]) for line in lines] == [
        ("/api/auth/me", 200),
        ("/api/auth/me", 401),
        ("/api/auth/token", 401),
    ]
    for line, response in zip(lines, (me, anonymous, failed), strict=True):
        assert set(line) >= LISTED_KEYS
        assert isinstance(line["duration_ms"], float)
        assert line["request_id"] == response.headers["X-Request-ID"]
    assert lines[0]["request_id"] == "from-the-proxy"
    assert GENERATED_ID.fullmatch(lines[1]["request_id"])
    assert lines[0]["user"] == admin.id
    assert lines[0]["route"] == "/api/auth/me"
    assert lines[1]["user"] is None
    assert lines[2]["user"] is None


def test_the_api_writes_console_lines_when_json_is_off(
    make_app: MakeApp, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app(CORTEX_LOG_JSON="false")
    capsys.readouterr()
    assert app.client.get("/healthz").status_code == 200
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "request_finished" in line]
    assert "[cortex.access]" in line
    assert "status_code=200" in line


def test_the_api_renders_standard_library_records_as_json(
    make_app: MakeApp, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app()
    capsys.readouterr()
    assert app.client.get("/healthz").status_code == 200
    logging.getLogger("dramatiq").warning("a %s line", "dramatiq")
    lines = json_lines(capsys.readouterr().err)
    (access,) = finished(lines)
    (stdlib,) = [line for line in lines if line["logger"] == "dramatiq"]
    assert list(stdlib)[:4] == list(access)[:4] == LEADING
    assert stdlib["message"] == "a dramatiq line"


def _reset_trace_globals() -> None:
    """OpenTelemetry installs one provider per process; forget it (as test_tracing does)."""
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    trace._PROXY_TRACER_PROVIDER = trace.ProxyTracerProvider()


@pytest.fixture
def fresh_tracing() -> Iterator[None]:
    _reset_trace_globals()
    yield
    _reset_trace_globals()


@pytest.mark.usefixtures("fresh_tracing")
def test_the_api_request_line_carries_its_server_spans_ids(
    make_app: MakeApp, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exporter = InMemorySpanExporter()
    settings = auth_settings(tmp_path, CORTEX_ENABLE_TRACING="true")
    assert configure_tracing(settings.tracing, exporter=exporter) is not None
    app = make_app(CORTEX_ENABLE_TRACING="true")  # bootstrap finds the provider installed
    capsys.readouterr()
    assert app.client.get("/api/auth/me").status_code == 401
    (line,) = finished(json_lines(capsys.readouterr().err))
    (span,) = [span for span in exporter.get_finished_spans() if span.kind == SpanKind.SERVER]
    assert span.context is not None
    assert line["trace_id"] == format(span.context.trace_id, "032x")
    assert line["span_id"] == format(span.context.span_id, "016x")
