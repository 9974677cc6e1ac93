"""Running one step of a workflow run on a worker, idempotently.

``run_step`` records StepStarted, executes the step for the user who started the run, then records
StepCompleted or StepFailed and sends what became ready. Every message may arrive twice (the
reconciler re-sends owed steps; a broker redelivers a dead worker's messages): a step already
started by a live attempt, completed, or of a closed run is skipped. Parallel steps of one run
finishing together collide on the run's version; the loser reloads and records again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import structlog

from cortex.application.errors import VersionConflict
from cortex.application.event_log import CommandResult, EventLog
from cortex.application.workflow_ports import StepContext, StepExecutor, StepFailure, StepQueue
from cortex.domain.errors import InvalidTransition
from cortex.domain.workflow_run import WorkflowRun

logger = structlog.get_logger("cortex.workflows")

COMMIT_ATTEMPTS = 50  # contention is only between the parallel steps of one run
BACKOFF_MAX_SECONDS = 300.0


class Dispatcher(Protocol):
    queue: StepQueue

    def dispatch(self, run: WorkflowRun, before: set[str]) -> None: ...


def commit_and_dispatch(
    log: EventLog, dispatcher: Dispatcher, run_id: UUID, change: Callable[[WorkflowRun], None]
) -> CommandResult:
    """Apply ``change`` to the latest run and commit (again on a conflict); send what is ready."""
    for _ in range(COMMIT_ATTEMPTS):
        run = log.load(run_id, WorkflowRun)
        before = set(run.ready_steps())
        change(run)
        try:
            result = log.commit(run)
        except VersionConflict:
            continue
        dispatcher.dispatch(run, before)
        return result
    raise VersionConflict(run_id, None, log.load(run_id, WorkflowRun).version)


class StepRunner:
    def __init__(
        self,
        log: EventLog,
        executor: StepExecutor,
        dispatcher: Dispatcher,
        *,
        backoff_seconds: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._log = log
        self._executor = executor
        self._dispatcher = dispatcher
        self._backoff = backoff_seconds
        self._clock = clock

    def run_step(self, run_id: UUID, step_id: str, *, restart: bool = False) -> str:
        started = self._start(run_id, step_id, restart)
        if started is None:
            return "skipped"
        run, attempt = started
        context = StepContext(run.id, run.project_id, run.started_by, run.inputs, run.outputs())
        try:
            output = self._executor.execute(run.step(step_id), context)
        except StepFailure as failure:
            return self._finish(run, step_id, attempt, None, failure)
        except Exception as error:  # a bug or an outage we did not classify: worth a retry
            logger.exception("workflow_step_crashed", run_id=str(run_id), step=step_id)
            crash = StepFailure("error", f"{type(error).__name__}: {error}", retryable=True)
            return self._finish(run, step_id, attempt, None, crash)
        return self._finish(run, step_id, attempt, output, None)

    def _start(self, run_id: UUID, step_id: str, restart: bool) -> tuple[WorkflowRun, int] | None:
        for _ in range(COMMIT_ATTEMPTS):
            run = self._log.load(run_id, WorkflowRun)
            now = self._clock()
            if not run.may_start(step_id, now, restart=restart):
                return None
            attempt = run.start_step(step_id, at=now, restart=restart)
            try:
                self._log.commit(run)
            except VersionConflict:
                continue  # another step's event, or another delivery of this one: look again
            if not attempt:  # the presumed-dead attempt was its last: the run has failed
                logger.warning("workflow_step_gave_up", run_id=str(run_id), step=step_id)
                return None
            logger.info("workflow_step_started", run_id=str(run_id), step=step_id, attempt=attempt)
            return run, attempt
        return None

    def _finish(
        self,
        started: WorkflowRun,
        step_id: str,
        attempt: int,
        output: dict[str, Any] | None,
        failure: StepFailure | None,
    ) -> str:
        run_id = started.id
        for tried in range(COMMIT_ATTEMPTS):
            # The run as we started the step, unless something was recorded since (a conflict).
            run = started if tried == 0 else self._log.load(run_id, WorkflowRun)
            before = set(run.ready_steps())
            state = run.steps[step_id]
            if not run.open or state.status != "running":
                logger.info("workflow_step_discarded", run_id=str(run_id), step=step_id)
                return "discarded"  # cancelled, failed, or another attempt finished first
            now = self._clock()
            will_retry = False
            try:
                if failure is None:
                    run.complete_step(step_id, output or {}, at=now)
                else:
                    will_retry = run.fail_step(
                        step_id,
                        attempt,
                        kind=failure.kind,
                        reason=failure.reason,
                        retryable=failure.retryable,
                        at=now,
                    )
            except InvalidTransition:
                return "discarded"  # a newer attempt of the step owns it now
            try:
                self._log.commit(run)
            except VersionConflict:
                continue
            self._dispatcher.dispatch(run, before)
            if failure is None:
                return "completed"
            logger.warning(
                "workflow_step_failed",
                run_id=str(run_id),
                step=step_id,
                attempt=attempt,
                kind=failure.kind,
                will_retry=will_retry,
            )
            if will_retry:
                delay = min(self._backoff * 2 ** (attempt - 1), BACKOFF_MAX_SECONDS)
                self._dispatcher.queue.send(run_id, step_id, delay_seconds=delay)
                return "retrying"
            return "failed"
        raise VersionConflict(run_id, None, self._log.load(run_id, WorkflowRun).version)
