"""The ``workflows`` queue: one message per step attempt owed; independent steps of a run are
separate messages, so they run in parallel on the worker threads.

The message is transport only: the run's events say what is owed, and ``run_step`` skips a step
already started by a live attempt or done, so redeliveries and the reconciler's re-sends are
harmless. Retries are recorded on the run (StepFailed, will_retry) and re-sent with backoff by
the service, not by Dramatiq.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import dramatiq
import structlog

from cortex.application.workflows import WorkflowService

logger = structlog.get_logger("cortex.workers")


def register_workflow_actor(
    broker: dramatiq.Broker, workflows: WorkflowService
) -> dramatiq.Actor[Any, Any]:
    def run_workflow_step(run_id: str, step_id: str, restart: bool = False) -> None:
        outcome = workflows.run_step(UUID(run_id), step_id, restart=restart)
        logger.info("workflow_step_ran", run_id=run_id, step=step_id, outcome=outcome)

    return dramatiq.actor(
        actor_name="run_workflow_step",
        broker=broker,
        queue_name="workflows",
        max_retries=0,  # retries are the run's business (StepFailed, then a delayed re-send)
        time_limit=24 * 60 * 60 * 1000,
    )(run_workflow_step)


class WorkflowQueue:
    """The workflow service's StepQueue port, sending through the actor."""

    def __init__(self, actor: dramatiq.Actor[Any, Any]) -> None:
        self._actor = actor

    def send(
        self, run_id: UUID, step_id: str, *, delay_seconds: float = 0.0, restart: bool = False
    ) -> None:
        delay = int(delay_seconds * 1000) or None
        self._actor.send_with_options(args=(str(run_id), step_id, restart), delay=delay)
