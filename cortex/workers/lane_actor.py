"""The ``lanes`` queue: queued model calls, answered by a worker and recorded on the call.

The prompt travels in the message only (the log keeps its hash unless prompts are audited), so a
lost message leaves the call ``requested``; the gateway's retries and fallback run inside one
delivery, and a second delivery of the same call finds it closed and does nothing.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import dramatiq
import structlog

from cortex.application.model_calls import ModelCallService
from cortex.lanes.gateway import LaneRejected, NoLaneAnswered

logger = structlog.get_logger("cortex.workers")


def register_lane_actor(
    broker: dramatiq.Broker, model_calls: ModelCallService
) -> dramatiq.Actor[Any, Any]:
    def answer_model_call(call_id: str, prompt: str, system: str | None) -> None:
        try:
            generated = model_calls.run_queued(UUID(call_id), prompt, system)
        except (NoLaneAnswered, LaneRejected) as error:
            # Recorded as ModelCallFailed on the call; the caller reads why by polling it.
            logger.warning("model_call_failed", call_id=call_id, error=str(error))
            return
        if generated is not None:
            logger.info("model_call_answered", call_id=call_id, lane=str(generated.answered.lane))

    return dramatiq.actor(
        actor_name="answer_model_call",
        broker=broker,
        queue_name="lanes",
        max_retries=0,  # the gateway already retried and fell back
        time_limit=60 * 60 * 1000,
    )(answer_model_call)


class LaneQueue:
    """The model call service's queue port, sending through the actor."""

    def __init__(self, actor: dramatiq.Actor[Any, Any]) -> None:
        self._actor = actor

    def generate(
        self, call_id: UUID, prompt: str, system: str | None, max_tokens: int | None
    ) -> None:
        self._actor.send(str(call_id), prompt, system)
