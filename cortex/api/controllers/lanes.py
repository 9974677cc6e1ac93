"""Model lanes over HTTP: generate (answered, streamed or queued), model calls, lane status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from cortex.api.dependencies import After, decode_cursor, keyset_page, wait_for_position
from cortex.api.problems import QUERY_PROBLEMS, problem_responses
from cortex.api.schemas.lanes import (
    Generate,
    Generated,
    GenerationQueued,
    LanesStatus,
    LaneStatus,
    ModelCallPage,
    ModelCallRead,
    Routing,
)
from cortex.api.security import Principal, require_project
from cortex.application import model_calls
from cortex.application.errors import NotFound
from cortex.bootstrap import Cortex
from cortex.domain.roles import ProjectRole
from cortex.lanes.router import RoutingDecision
from cortex.lanes.types import DEFAULT_LANE, Lane, LaneError
from projections.model_calls import get_model_call, list_model_calls

GENERATE_PROBLEMS = problem_responses(400, 404, 502, 503)


def _routing(decision: RoutingDecision) -> Routing:
    return Routing(
        lane=decision.lane.value,
        score=round(decision.score, 4),
        method=decision.method,
        reason=decision.reason,
        tokens=decision.tokens,
        scores={lane: round(score, 4) for lane, score in decision.scores.items()},
    )


def _sse(call: model_calls.StreamedCall) -> Iterator[ServerSentEventMessage]:
    answered = call.answered
    head = {
        "call_id": str(call.call_id),
        "position": call.position,
        "lane": answered.lane.value,
        "model": answered.config.model,
        "fallback_from": answered.fallback_from.value if answered.fallback_from else None,
        "routing": msgspec.to_builtins(_routing(call.decision)),
    }
    yield ServerSentEventMessage(event="routing", data=msgspec.json.encode(head).decode())
    try:
        for piece in call.pieces:
            if piece.text:
                data = msgspec.json.encode({"text": piece.text}).decode()
                yield ServerSentEventMessage(event="token", data=data)
            if piece.done:
                done = {
                    "call_id": str(call.call_id),
                    "finish_reason": piece.finish_reason,
                    "prompt_tokens": piece.prompt_tokens,
                    "completion_tokens": piece.completion_tokens,
                }
                yield ServerSentEventMessage(event="done", data=msgspec.json.encode(done).decode())
    except LaneError as error:
        failure = {"call_id": str(call.call_id), "kind": error.kind, "detail": error.message}
        yield ServerSentEventMessage(event="error", data=msgspec.json.encode(failure).decode())


class LanesController(Controller):
    path = "/api"
    tags = ["lanes"]

    @post(
        "/generate",
        operation_id="generateText",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=GENERATE_PROBLEMS,
    )
    def generate(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        data: JSONBody[Generate],
    ) -> Response[Any]:
        """Route the prompt to a lane (or use ``lane``) and answer: JSON, or server-sent events
        with ``stream: true``. 503 when no lane answers, 502 when the lane refused the request."""
        require_project(principal, cortex, data.project_id, ProjectRole.VIEWER)
        options: dict[str, Any] = {
            "project_id": data.project_id,
            "requested_by": principal.user_id,
            "lane": Lane(data.lane) if data.lane else None,
            "max_tokens": data.max_tokens,
            "system": data.system,
        }
        if data.stream:
            streamed = cortex.model_calls.stream(data.prompt, **options)
            return ServerSentEvent(_sse(streamed))
        result = cortex.model_calls.generate(data.prompt, **options)
        answered = result.answered
        return Response(
            Generated(
                call_id=result.call_id,
                text=result.text,
                lane=answered.lane.value,
                model=answered.config.model,
                routing=_routing(result.decision),
                fallback_from=answered.fallback_from.value if answered.fallback_from else None,
                attempts=answered.attempts,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                finish_reason=result.finish_reason,
                latency_ms=round(result.latency_ms, 3),
                position=result.position,
            )
        )

    @post(
        "/generate/jobs",
        operation_id="queueGeneration",
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=problem_responses(400, 404),
    )
    def queue_generation(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        data: JSONBody[Generate],
    ) -> GenerationQueued:
        """Queue the call on the ``lanes`` worker queue; poll ``GET /api/model-calls/{id}``."""
        require_project(principal, cortex, data.project_id, ProjectRole.VIEWER)
        queued = cortex.model_calls.enqueue(
            data.prompt,
            project_id=data.project_id,
            requested_by=principal.user_id,
            lane=Lane(data.lane) if data.lane else None,
            max_tokens=data.max_tokens,
            system=data.system,
        )
        return GenerationQueued(
            call_id=queued.call_id,
            status="requested",
            lane=queued.decision.lane.value,
            position=queued.position,
        )

    @get(
        "/model-calls/{call_id:uuid}",
        operation_id="getModelCall",
        sync_to_thread=True,
        responses=QUERY_PROBLEMS,
    )
    def get_model_call(
        self, cortex: NamedDependency[Cortex], call_id: FromPath[UUID], after: After = None
    ) -> ModelCallRead:
        """A call's routing, status, answer (or failure) and token counts."""
        wait_for_position(cortex, "model_calls", after)
        row = get_model_call(cortex.read_store, str(call_id))
        if row is None:
            raise NotFound("model call", call_id)
        return msgspec.convert(row, ModelCallRead)

    @get(
        "/model-calls", operation_id="listModelCalls", sync_to_thread=True, responses=QUERY_PROBLEMS
    )
    def list_model_calls(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        project_id: FromQuery[UUID],
        cursor: Annotated[str | None, QueryParameter(max_length=1000)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        after: After = None,
    ) -> ModelCallPage:
        """A project's model calls, newest first."""
        require_project(principal, cortex, project_id, ProjectRole.VIEWER)
        wait_for_position(cortex, "model_calls", after)
        start = decode_cursor(cursor, 2)
        rows = list_model_calls(
            cortex.read_store,
            str(project_id),
            after=(start[0], start[1]) if start else None,
            limit=limit + 1,
        )
        rows, next_cursor = keyset_page(rows, limit, "requested_at", "id")
        return ModelCallPage(
            items=[msgspec.convert(row, ModelCallRead) for row in rows],
            next_cursor=next_cursor,
        )

    @get("/system/lanes", operation_id="listLanes", sync_to_thread=True, tags=["system"])
    def list_lanes(self, cortex: NamedDependency[Cortex]) -> LanesStatus:
        """Each lane's configuration (secrets left out), health probe and circuit breaker."""
        return LanesStatus(
            default_lane=DEFAULT_LANE.value,
            lanes=[msgspec.convert(row, LaneStatus) for row in cortex.model_calls.gateway.status()],
        )
