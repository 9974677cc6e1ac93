"""The ``agents`` queue: one message per agent run, driving its tool-calling loop to the end.

The message is transport only: the run's events hold its transcript, so a redelivery, or the
reconciler's re-send after a crash, carries on from the last recorded step; a run already ended
is left alone.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import dramatiq
import structlog

from cortex.application.agents import AgentService

logger = structlog.get_logger("cortex.workers")


def register_agent_actor(broker: dramatiq.Broker, agents: AgentService) -> dramatiq.Actor[Any, Any]:
    def run_agent(run_id: str) -> None:
        status = agents.run(UUID(run_id))
        logger.info("agent_run_ran", run_id=run_id, status=status)

    return dramatiq.actor(
        actor_name="run_agent",
        broker=broker,
        queue_name="agents",
        max_retries=0,  # a run that could not go on is recorded as failed; a crash is resumed
        time_limit=24 * 60 * 60 * 1000,  # the agent's own timeout bounds the run
    )(run_agent)


class AgentRunQueue:
    """The agent service's queue port, sending through the actor."""

    def __init__(self, actor: dramatiq.Actor[Any, Any]) -> None:
        self._actor = actor

    def send(self, run_id: UUID) -> None:
        self._actor.send(str(run_id))
