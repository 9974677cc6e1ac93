"""Model calls: route the prompt, record the request, call the lanes, record the answer.

Every call is a ModelCall aggregate: requested (with the routing decision), then completed or
failed, whether it was answered at once, streamed, or queued for a worker.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypedDict, Unpack
from uuid import UUID, uuid4

import structlog

from cortex.application.event_log import EventLog
from cortex.domain.model_call import ModelCall
from cortex.domain.project import Project
from cortex.lanes.gateway import (
    Answered,
    Generation,
    LaneGateway,
    LaneRejected,
    NoLaneAnswered,
    Stream,
)
from cortex.lanes.router import Router, RoutingDecision
from cortex.lanes.types import Completion, Lane, LaneError, Message, StreamPiece, content_text
from cortex.observability import metrics

logger = structlog.get_logger("cortex.model_calls")


class CallOptions(TypedDict, total=False):
    """What a caller may add to a prompt: who asks, a lane of its choice, limits, a system text."""

    requested_by: UUID | None
    lane: Lane | None
    max_tokens: int | None
    system: str | None


class CallQueue(Protocol):
    def generate(
        self, call_id: UUID, prompt: str, system: str | None, max_tokens: int | None
    ) -> None: ...


@dataclass(frozen=True)
class Generated:
    call_id: UUID
    text: str
    decision: RoutingDecision
    answered: Answered
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    latency_ms: float
    position: int


@dataclass(frozen=True)
class Queued:
    call_id: UUID
    decision: RoutingDecision
    position: int


@dataclass(frozen=True)
class Conversed:
    """A conversation's next turn: the completion (text and tool calls) and its recorded call."""

    call_id: UUID
    completion: Completion
    decision: RoutingDecision
    answered: Answered
    latency_ms: float
    position: int


@dataclass(frozen=True)
class StreamedCall:
    call_id: UUID
    decision: RoutingDecision
    answered: Answered
    pieces: Iterator[StreamPiece]
    position: int  # of the request: the call is readable from here on


def _messages(prompt: str, system: str | None) -> list[Message]:
    messages: list[Message] = [{"role": "system", "content": system}] if system else []
    return [*messages, {"role": "user", "content": prompt}]


def _routing_text(messages: list[Message]) -> str:
    """What a conversation is routed on: its last user message (all its text when it has none)."""
    users = [m for m in messages if m.get("role") == "user"]
    chosen = users[-1:] or messages
    return "\n".join(content_text(m.get("content")) for m in chosen)


def _now() -> datetime:
    return datetime.now(UTC)


class ModelCallService:
    def __init__(
        self,
        log: EventLog,
        gateway: LaneGateway,
        router: Router,
        *,
        audit_prompts: bool,
        queue: CallQueue | None = None,
    ) -> None:
        self._log = log
        self.gateway = gateway
        self.router = router
        self._audit_prompts = audit_prompts
        self.queue = queue

    def route(self, prompt: str, lane: Lane | None = None, max_tokens: int = 0) -> RoutingDecision:
        decision = self.router.route(prompt, lane=lane, max_tokens=max_tokens)
        metrics.ROUTING_DECISIONS.labels(lane=str(decision.lane), method=decision.method).inc()
        logger.info(
            "lane_routed",
            lane=str(decision.lane),
            score=round(decision.score, 3),
            method=decision.method,
            reason=decision.reason,
            tokens=decision.tokens,
        )
        return decision

    def generate(
        self, prompt: str, *, project_id: UUID, **options: Unpack[CallOptions]
    ) -> Generated:
        """Answer now: route, call (retries, fallback), and record both ends of the call."""
        call, decision, _ = self._request(prompt, project_id, "sync", options)
        return self._answer(call, decision, prompt, options.get("system"))

    def stream(
        self, prompt: str, *, project_id: UUID, **options: Unpack[CallOptions]
    ) -> StreamedCall:
        """Start a streamed answer; the call is recorded as completed when the stream ends."""
        call, decision, position = self._request(prompt, project_id, "stream", options)
        started = time.perf_counter()
        messages = _messages(prompt, options.get("system"))
        try:
            stream = self.gateway.stream(decision.lane, messages, max_tokens=call.max_tokens)
        except (NoLaneAnswered, LaneRejected) as error:
            self._record_failure(call, error, started)
            raise
        pieces = self._relay(call, stream, decision, started)
        return StreamedCall(call.id, decision, stream.answered, pieces, position)

    def enqueue(self, prompt: str, *, project_id: UUID, **options: Unpack[CallOptions]) -> Queued:
        """Record the call and hand it to a worker on the ``lanes`` queue."""
        if self.queue is None:
            raise RuntimeError("no worker queue is wired for model calls")
        call, decision, position = self._request(prompt, project_id, "job", options)
        self.queue.generate(call.id, prompt, options.get("system"), options.get("max_tokens"))
        return Queued(call.id, decision, position)

    def converse(
        self,
        messages: list[Message],
        *,
        tools: list[dict[str, Any]] | None,
        project_id: UUID,
        requested_by: UUID | None = None,
        lane: Lane | None = None,
        max_tokens: int | None = None,
    ) -> Conversed:
        """Answer a chat (system, user, assistant turns with tool calls, tool results) with
        OpenAI tool definitions the model may call; routed on the last user text (or ``lane``),
        recorded as a model call whose prompt is the serialized messages."""
        options: CallOptions = {
            "requested_by": requested_by,
            "lane": lane,
            "max_tokens": max_tokens,
        }
        recorded = json.dumps(messages, ensure_ascii=False, separators=(",", ":"))
        call, decision, _ = self._request(
            _routing_text(messages), project_id, "tools", options, recorded=recorded
        )
        generation, position = self._complete(call, decision, messages, tools)
        return Conversed(
            call_id=call.id,
            completion=generation.completion,
            decision=decision,
            answered=generation.answered,
            latency_ms=generation.latency * 1000,
            position=position,
        )

    def run_queued(self, call_id: UUID, prompt: str, system: str | None) -> Generated | None:
        """A worker's turn: answer a queued call once (a second delivery finds it closed)."""
        call = self._log.load(call_id, ModelCall)
        if not call.open:
            return None
        decision = self.route(prompt, lane=Lane(call.lane), max_tokens=call.max_tokens)
        return self._answer(call, decision, prompt, system)

    def _request(
        self,
        prompt: str,
        project_id: UUID,
        mode: str,
        options: CallOptions,
        *,
        recorded: str | None = None,
    ) -> tuple[ModelCall, RoutingDecision, int]:
        """Route ``prompt`` and record the request; ``recorded`` (default: the prompt) is what
        the audit trail hashes and, when prompts are audited, keeps."""
        recorded = prompt if recorded is None else recorded
        self._log.load(project_id, Project)  # 404 for a project that does not exist
        lane, max_tokens = options.get("lane"), options.get("max_tokens")
        decision = self.route(prompt, lane=lane, max_tokens=max_tokens or 0)
        config = self.gateway.configs[self.gateway.serving(decision.lane)]
        call = ModelCall.request(
            id=uuid4(),
            project_id=project_id,
            requested_by=options.get("requested_by"),
            mode=mode,
            requested_lane=str(lane) if lane else None,
            lane=str(decision.lane),
            routing_score=decision.score,
            routing_method=decision.method,
            routing_reason=decision.reason,
            prompt_sha256=hashlib.sha256(recorded.encode()).hexdigest(),
            prompt_chars=len(recorded),
            prompt_tokens=decision.tokens,
            prompt=recorded if self._audit_prompts else None,
            max_tokens=max_tokens or config.max_tokens,
            at=_now(),
        )
        return call, decision, self._log.commit(call).position

    def _answer(
        self, call: ModelCall, decision: RoutingDecision, prompt: str, system: str | None
    ) -> Generated:
        generation, position = self._complete(call, decision, _messages(prompt, system), None)
        completion, answered = generation.completion, generation.answered
        return Generated(
            call_id=call.id,
            text=completion.text,
            decision=decision,
            answered=answered,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            finish_reason=completion.finish_reason,
            latency_ms=generation.latency * 1000,
            position=position,
        )

    def _complete(
        self,
        call: ModelCall,
        decision: RoutingDecision,
        messages: list[Message],
        tools: list[dict[str, Any]] | None,
    ) -> tuple[Generation, int]:
        """Call the lanes and record the answer (or the failure) on the call."""
        started = time.perf_counter()
        try:
            generation = self.gateway.call(
                decision.lane, messages, max_tokens=call.max_tokens, tools=tools
            )
        except (NoLaneAnswered, LaneRejected) as error:
            self._record_failure(call, error, started)
            raise
        completion, answered = generation.completion, generation.answered
        call.complete(
            lane=str(answered.lane),
            model=completion.model or answered.config.model,
            latency_ms=generation.latency * 1000,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            finish_reason=completion.finish_reason,
            fallback_from=str(answered.fallback_from) if answered.fallback_from else None,
            attempts=answered.attempts,
            completion=completion.text,
            at=_now(),
        )
        return generation, self._log.commit(call).position

    def _relay(
        self,
        call: ModelCall,
        stream: Stream,
        decision: RoutingDecision,
        started: float,
    ) -> Iterator[StreamPiece]:
        texts: list[str] = []
        last = StreamPiece(done=True, finish_reason="stop")
        finished = False
        try:
            for piece in stream.pieces:
                if piece.text:
                    texts.append(piece.text)
                if piece.done:
                    last = piece
                yield piece
            finished = True
        except LaneError as error:
            self._fail(call, error.kind, error.message, stream.answered, started)
            raise
        finally:
            if not finished and call.open:  # the caller went away mid-answer
                reason = "the stream was closed before the answer ended"
                self._fail(call, "cancelled", reason, stream.answered, started)
        answered = stream.answered
        call.complete(
            lane=str(answered.lane),
            model=answered.config.model,
            latency_ms=(time.perf_counter() - started) * 1000,
            prompt_tokens=last.prompt_tokens if last.prompt_tokens is not None else decision.tokens,
            completion_tokens=last.completion_tokens or 0,
            finish_reason=last.finish_reason or "stop",
            fallback_from=str(answered.fallback_from) if answered.fallback_from else None,
            attempts=answered.attempts,
            completion="".join(texts),
            at=_now(),
        )
        self._log.commit(call)

    def _fail(
        self, call: ModelCall, kind: str, reason: str, answered: Answered, started: float
    ) -> None:
        call.fail(
            kind=kind,
            reason=reason,
            lanes_tried=(str(answered.lane),),
            attempts=answered.attempts,
            latency_ms=(time.perf_counter() - started) * 1000,
            at=_now(),
        )
        self._log.commit(call)

    def _record_failure(
        self, call: ModelCall, error: NoLaneAnswered | LaneRejected, started: float
    ) -> None:
        if isinstance(error, NoLaneAnswered):
            kind, lanes, attempts = "unavailable", error.lanes_tried, error.attempts
        else:
            kind, lanes, attempts = error.error.kind, (str(error.lane),), 1
        call.fail(
            kind=kind,
            reason=str(error),
            lanes_tried=lanes,
            attempts=attempts,
            latency_ms=(time.perf_counter() - started) * 1000,
            at=_now(),
        )
        self._log.commit(call)
