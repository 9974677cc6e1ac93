"""structlog configuration: JSON lines (or console) on stderr, at CORTEX_LOG_LEVEL."""

from __future__ import annotations

import logging
import sys

import structlog

from cortex.settings import LogSettings


def configure_logging(settings: LogSettings) -> None:
    level = getattr(logging, settings.level)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if settings.json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
