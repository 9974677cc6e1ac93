"""The WorkflowRun aggregate: one run of a workflow version, step by step, from its events alone.

Invariants: a step starts only when every step it depends on has completed, and not while a live
attempt of it runs; a step completes once; a failure is retried only while attempts remain and
the error is worth retrying, else the run fails; approval steps are never started by a worker,
they wait for a person; a run ends once (completed, failed or cancelled) and then accepts
nothing, so a step finishing after a cancel is discarded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from cortex.domain.errors import InvalidInput, InvalidTransition
from cortex.domain.workflow_run_events import (
    ApprovalGranted,
    ApprovalRejected,
    ApprovalRequested,
    StepCompleted,
    StepFailed,
    StepStarted,
    WorkflowRunCancelled,
    WorkflowRunCompleted,
    WorkflowRunFailed,
    WorkflowRunStarted,
)
from cortex.domain.workflow_steps import StepState, all_done, ready, step_states

__all__ = [
    "ApprovalGranted",
    "ApprovalRejected",
    "ApprovalRequested",
    "StepCompleted",
    "StepFailed",
    "StepStarted",
    "WorkflowRun",
    "WorkflowRunCancelled",
    "WorkflowRunCompleted",
    "WorkflowRunFailed",
    "WorkflowRunStarted",
]


class WorkflowRun(Aggregate):
    """A run: its copy of the definition, the inputs and every step's state."""

    def __init__(
        self,
        workflow_id: UUID,
        workflow_version: int,
        project_id: UUID,
        started_by: UUID | None,
        inputs: dict[str, Any],
        definition: dict[str, Any],
    ) -> None:
        self.workflow_id = workflow_id
        self.workflow_version = workflow_version
        self.project_id = project_id
        self.started_by = started_by
        self.inputs = inputs
        self.definition = definition
        self.steps: dict[str, StepState] = step_states(definition)
        self.status = "running"

    @classmethod
    def start(
        cls,
        *,
        id: UUID,
        workflow_id: UUID,
        workflow_version: int,
        project_id: UUID,
        started_by: UUID | None,
        inputs: dict[str, Any],
        definition: dict[str, Any],
        at: datetime,
    ) -> WorkflowRun:
        run = cls._create(
            WorkflowRunStarted,
            id=id,
            workflow_id=workflow_id,
            workflow_version=workflow_version,
            project_id=project_id,
            started_by=started_by,
            inputs=inputs,
            definition=definition,
            timestamp=at,
        )
        run._advance(at)
        return run

    @property
    def open(self) -> bool:
        return self.status == "running"

    def step(self, step_id: str) -> dict[str, Any]:
        """The step's definition."""
        for step in self.definition["steps"]:
            if step["id"] == step_id:
                return dict(step)
        raise InvalidInput("step", f"the workflow has no step {step_id!r}")

    def outputs(self) -> dict[str, dict[str, Any]]:
        return {sid: s.output for sid, s in self.steps.items() if s.output is not None}

    def ready_steps(self) -> list[str]:
        """Steps a worker may start now for the first time (approvals are never among them)."""
        return [sid for sid in ready(self.steps) if self.steps[sid].kind != "approval"]

    def may_start(self, step_id: str, now: datetime, *, restart: bool = False) -> bool:
        """Whether an attempt is owed: never started, retry owed, or the last attempt is
        past its timeout (``restart``: presumed dead whatever its age)."""
        state = self.steps.get(step_id)
        if not self.open or state is None or state.kind == "approval":
            return False
        if state.status == "pending":
            return step_id in ready(self.steps)
        if state.status == "retrying":
            return True
        if state.status == "running" and state.started_at is not None:
            timeout = float(self.step(step_id)["timeout_seconds"])
            return restart or (now - state.started_at).total_seconds() >= timeout
        return False

    def owed_steps(self, now: datetime, *, restart: bool = False) -> list[str]:
        """What a resume re-sends: every step an attempt is owed for, from the events alone."""
        return [sid for sid in self.steps if self.may_start(sid, now, restart=restart)]

    def start_step(self, step_id: str, *, at: datetime, restart: bool = False) -> int:
        """Record a new attempt of the step; its number. An attempt still running is presumed
        dead (``may_start`` said so) and counts as a failed one: when it was the last the
        retries allow, the run fails instead and 0 is returned."""
        self._require_open()
        if not self.may_start(step_id, at, restart=restart):
            state = self.steps.get(step_id)
            raise InvalidTransition(
                f"step {step_id} cannot start now", current_status=state.status if state else None
            )
        state = self.steps[step_id]
        if state.status == "running":
            seconds = self.step(step_id)["timeout_seconds"]
            kind, reason = (
                ("interrupted", "its worker stopped with the server")
                if restart
                else ("timeout", f"no result within {seconds} s")
            )
            retried = self.fail_step(
                step_id, state.attempts, kind=kind, reason=reason, retryable=True, at=at
            )
            if not retried:
                return 0
        attempt = self.steps[step_id].attempts + 1
        self.trigger_event(StepStarted, step=step_id, attempt=attempt, timestamp=at)
        return attempt

    def complete_step(self, step_id: str, output: dict[str, Any], *, at: datetime) -> None:
        """Record the output of a running step (whichever of its attempts finished first)."""
        self._require_running(step_id)
        self.trigger_event(StepCompleted, step=step_id, output=output, timestamp=at)
        self._advance(at)

    def fail_step(
        self, step_id: str, attempt: int, *, kind: str, reason: str, retryable: bool, at: datetime
    ) -> bool:
        """Record a failed attempt; whether another is owed (if not, the run fails)."""
        state = self._require_running(step_id)
        if attempt != state.attempts:
            raise InvalidTransition(f"attempt {attempt} of {step_id} was superseded")
        will_retry = retryable and attempt <= int(self.step(step_id)["retries"])
        self.trigger_event(
            StepFailed,
            step=step_id,
            attempt=attempt,
            kind=kind,
            reason=reason[:2000],
            will_retry=will_retry,
            timestamp=at,
        )
        if not will_retry:
            self.trigger_event(WorkflowRunFailed, step=step_id, reason=reason[:2000], timestamp=at)
        return will_retry

    def approve(self, step_id: str, *, by: UUID | None, comment: str, at: datetime) -> None:
        self._require_waiting(step_id)
        self.trigger_event(ApprovalGranted, step=step_id, by=by, comment=comment, timestamp=at)
        self._advance(at)

    def reject(self, step_id: str, *, by: UUID | None, comment: str, at: datetime) -> None:
        self._require_waiting(step_id)
        self.trigger_event(ApprovalRejected, step=step_id, by=by, comment=comment, timestamp=at)
        reason = f"approval {step_id} rejected" + (f": {comment}" if comment else "")
        self.trigger_event(WorkflowRunFailed, step=step_id, reason=reason, timestamp=at)

    def cancel(self, *, by: UUID | None, reason: str, at: datetime) -> None:
        self._require_open()
        self.trigger_event(WorkflowRunCancelled, by=by, reason=reason[:2000], timestamp=at)

    def _advance(self, at: datetime) -> None:
        """Ask for the approvals that became ready; complete the run when nothing is left."""
        for step_id in ready(self.steps):
            if self.steps[step_id].kind == "approval":
                message = str(self.step(step_id).get("message", ""))
                self.trigger_event(ApprovalRequested, step=step_id, message=message, timestamp=at)
        if all_done(self.steps):
            self.trigger_event(WorkflowRunCompleted, timestamp=at)

    def _require_open(self) -> None:
        if not self.open:
            raise InvalidTransition(f"the run is {self.status}", current_status=self.status)

    def _require_running(self, step_id: str) -> StepState:
        self._require_open()
        state = self.steps.get(step_id)
        if state is None or state.status != "running":
            raise InvalidTransition(
                f"step {step_id} is not running", current_status=state.status if state else None
            )
        return state

    def _require_waiting(self, step_id: str) -> None:
        self._require_open()
        state = self.steps.get(step_id)
        if state is None:
            raise InvalidInput("step", f"the workflow has no step {step_id!r}")
        if state.status != "waiting_approval":
            raise InvalidTransition(
                f"step {step_id} is not waiting for approval", current_status=state.status
            )
