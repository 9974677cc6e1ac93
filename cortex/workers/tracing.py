"""Trace context across the queue: the sender's span travels inside the message, so the API
request, the worker that runs the actor and the model call it makes share one trace."""

from __future__ import annotations

from contextvars import Token
from typing import Any

import dramatiq
from dramatiq.broker import Broker
from dramatiq.message import Message
from dramatiq.middleware import Middleware
from opentelemetry import context, propagate, trace
from opentelemetry.context import Context

from cortex.observability.tracing import tracer

TRACE_CONTEXT = "trace_context"  # the message option holding the W3C traceparent (and tracestate)


class TraceContextMiddleware(Middleware):
    """Injects the current trace context into each message sent; runs each message in a
    CONSUMER span ``dramatiq <actor name>`` that continues it."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[trace.Span, Token[Context]]] = {}

    def before_enqueue(self, broker: Broker, message: Message[Any], delay: int) -> None:
        if TRACE_CONTEXT in message.options:  # a retry stays in its first sender's trace
            return
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        if carrier:  # nothing to carry when tracing is off
            message.options[TRACE_CONTEXT] = carrier

    def before_process_message(self, broker: Broker, message: dramatiq.MessageProxy) -> None:
        parent = propagate.extract(message.options.get(TRACE_CONTEXT) or {})
        span = tracer().start_span(
            f"dramatiq {message.actor_name}",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "dramatiq",
                "messaging.operation.type": "process",
                "messaging.destination.name": message.queue_name,
                "messaging.message.id": message.message_id,
                "messaging.dramatiq.retries": int(message.options.get("retries", 0)),
            },
        )
        token = context.attach(trace.set_span_in_context(span, parent))
        self._open[message.message_id] = (span, token)

    def after_process_message(
        self,
        broker: Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        self._end(message, exception)

    def after_skip_message(self, broker: Broker, message: dramatiq.MessageProxy) -> None:
        self._end(message, None)

    def _end(self, message: dramatiq.MessageProxy, exception: BaseException | None) -> None:
        opened = self._open.pop(message.message_id, None)
        if opened is None:  # an earlier middleware skipped the message before ours began
            return
        span, token = opened
        if exception is not None:
            span.record_exception(exception)
            span.set_status(trace.StatusCode.ERROR, f"{type(exception).__name__}: {exception}")
        span.end()
        context.detach(token)
