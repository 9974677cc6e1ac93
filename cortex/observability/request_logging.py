"""The request log: an id for every HTTP request, and one ``request_finished`` line each.

The id is the caller's ``X-Request-ID`` when it is a sane token (up to 128 characters of
``[A-Za-z0-9._-]``), a fresh uuid4 otherwise; it is echoed in the response's ``X-Request-ID``.
While the request is served, ``request_id``, ``method`` and ``path`` are bound in structlog's
context, so every line logged meanwhile (in threads too) carries them. The last line gives
``status_code``, ``duration_ms``, ``user`` (the authenticated caller's user id, and
``api_key_id`` when a key was used), the ``route`` template and the span's ids. The query string,
headers and bodies are never logged: they carry passwords, tokens and keys.

Why not Litestar's own: ``LoggingMiddleware`` (what ``StructlogPlugin`` installs) logs the request
and the response as two lines, the response once per body chunk, with no duration, request id or
caller; the plugin would also configure structlog a second time (workers, which have no app, need
``configure_logging`` anyway). And app-level ``middleware=[...]`` runs only after routing, so
requests to unknown paths (404) or with the wrong method (405) would go unlogged and without an
``X-Request-ID``: ``log_requests`` wraps the app's whole ASGI handler, routing included.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING, Any

import structlog
from litestar.enums import ScopeType

from cortex.observability.logging import current_trace_ids

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-ID when it is sane, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            text = value.decode("latin-1")
            if _SANE_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class RequestLogging:
    """Pure ASGI middleware: binds the request's context, echoes its id, logs its outcome."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Bound once: structlog's module-level proxy would build a logger on every line, since
        # configure_logging turns its caching off. The app is built after logging is configured.
        self._logger = structlog.get_logger("cortex.access").bind()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
        bound = structlog.contextvars.bind_contextvars(
            request_id=request_id, method=scope["method"], path=scope["path"]
        )
        outcome: dict[str, Any] = {"status_code": 500, "trace_ids": None}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status_code"] = message["status"]
                outcome["trace_ids"] = current_trace_ids()  # in case the span ends before us
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _log_finished(self._logger, scope, outcome, started)
            structlog.contextvars.reset_contextvars(**bound)


def _log_finished(
    logger: structlog.typing.FilteringBoundLogger,
    scope: Scope,
    outcome: dict[str, Any],
    started: float,
) -> None:
    status: int = outcome["status_code"]
    trace_ids = current_trace_ids() or outcome["trace_ids"]
    principal = scope.get("state", {}).get("principal")
    user_id = getattr(principal, "user_id", None)
    api_key_id = getattr(principal, "api_key_id", None)
    extra = {"api_key_id": str(api_key_id)} if api_key_id is not None else {}
    log = logger.error if status >= 500 else logger.info
    log(
        "request_finished",
        status_code=status,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        user=str(user_id) if user_id is not None else None,
        route=scope.get("path_template") or None,
        trace_id=trace_ids[0] if trace_ids else None,
        span_id=trace_ids[1] if trace_ids else None,
        **extra,
    )


def log_requests(app: Litestar) -> Litestar:
    """Wrap the app's whole ASGI handler, routing and its 404/405 included, in the request log."""
    app.asgi_handler = RequestLogging(app.asgi_handler)
    return app
