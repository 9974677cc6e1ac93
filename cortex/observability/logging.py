"""Logging for every Cortex process: one JSON object per line (or readable lines) on stderr.

structlog loggers (``structlog.get_logger("cortex.x")``) render their events themselves and
write the line to stderr (the logging module's record, handler and formatter would double the
cost of the one line every request writes); one handler on the root logger renders every other
library's records (uvicorn, dramatiq, httpx, eventsourcing) through structlog's
``ProcessorFormatter`` with the same processors. So every line of the API, the workers and the
projection runner has the same keys: ``timestamp``, ``level``, ``logger``, ``message``, then the
request's ``request_id``, ``method`` and ``path`` when one is being served,
``trace_id``/``span_id`` when a span is current, and the event's own fields. Secrets are masked
on the way out (``redaction``).

Call ``configure_logging`` once a process knows its settings; calling it again replaces the
handler, the level and the renderer (loggers cached by structlog keep working: their processors
do not depend on the settings).
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, TextIO

import msgspec
import structlog
from opentelemetry import trace as otel_trace
from structlog.typing import EventDict, Processor, WrappedLogger

from cortex.observability.redaction import redact_secrets
from cortex.settings import LogSettings

# The keys every line starts with, in this order; the event's own fields follow.
LEADING_KEYS = (
    "timestamp", "level", "logger", "message", "request_id", "trace_id", "span_id", "user",
    "method", "path", "route", "status_code", "duration_ms",
)  # fmt: skip
# Libraries that log every outbound HTTP call at INFO: quiet unless CORTEX_LOG_LEVEL=DEBUG.
_CHATTY = ("httpx", "httpcore")


def current_trace_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) in hex of the current OpenTelemetry span, if there is one."""
    context = otel_trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def add_trace_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Add ``trace_id`` and ``span_id`` from the current span (unless the event has its own)."""
    if "trace_id" not in event_dict and (ids := current_trace_ids()) is not None:
        event_dict["trace_id"], event_dict["span_id"] = ids
    return event_dict


def _leading_keys_first(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    ordered = {key: event_dict.pop(key) for key in LEADING_KEYS if key in event_dict}
    ordered.update(event_dict)
    return ordered


# msgspec encodes UUIDs, datetimes and enums as their text; anything else it does not know
# (paths, exceptions) becomes its str(), not its repr. Eight times faster than json.dumps.
_encoder = msgspec.json.Encoder(enc_hook=str)


def _json_line(event_dict: EventDict, **_: Any) -> str:
    return _encoder.encode(event_dict).decode()


def _shared_processors() -> list[Processor]:
    """What both structlog events and other libraries' records go through first."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        add_trace_ids,
    ]


def _rendering(as_json: bool) -> list[Processor]:
    """The last steps of every line: exceptions as text, secrets masked, then rendered."""
    ending: list[Processor] = (
        [
            structlog.processors.EventRenamer("message"),
            _leading_keys_first,
            structlog.processors.JSONRenderer(serializer=_json_line),
        ]
        if as_json
        else [structlog.dev.ConsoleRenderer(colors=False)]
    )
    return [structlog.processors.format_exc_info, redact_secrets, *ending]


class _StderrLogger:
    """A structlog logger writing finished lines to whatever ``sys.stderr`` is now (test
    captures replace it), one line at a time."""

    _lock = threading.Lock()

    def __init__(self, name: str) -> None:
        self.name = name

    def msg(self, message: str) -> None:
        with self._lock:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _stderr_logger(*args: Any) -> _StderrLogger:
    return _StderrLogger(str(args[0]) if args else "")


def _logger_name(logger: WrappedLogger, _: str, event_dict: EventDict) -> EventDict:
    event_dict.setdefault("logger", getattr(logger, "name", "") or "root")
    return event_dict


def _formatter(as_json: bool) -> structlog.stdlib.ProcessorFormatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_rendering(as_json),
        ],
    )


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time (test captures replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def configure_logging(settings: LogSettings) -> None:
    """Send structlog and the logging module to stderr, rendered alike, at CORTEX_LOG_LEVEL."""
    level = getattr(logging, settings.level)
    handler = _StderrHandler()
    handler.setFormatter(_formatter(settings.json))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(level if level <= logging.DEBUG else logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):  # uvicorn's own config gives them their handlers
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # The request log (request_logging) replaces uvicorn's, which would show query strings.
    logging.getLogger("uvicorn.access").disabled = True
    logging.captureWarnings(True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _logger_name,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
            add_trace_ids,
            *_rendering(settings.json),
        ],
        logger_factory=_stderr_logger,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,  # configure_logging may run again with other settings
    )
