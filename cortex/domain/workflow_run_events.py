"""The events of a workflow run (see ``workflow_run`` for the aggregate and its invariants)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import AggregateCreated, AggregateEvent

if TYPE_CHECKING:
    from cortex.domain.workflow_run import WorkflowRun


class WorkflowRunStarted(AggregateCreated):
    """Someone started a run of a workflow version with these inputs (the definition is copied)."""

    workflow_id: UUID
    workflow_version: int
    project_id: UUID
    started_by: UUID | None
    inputs: dict[str, Any]
    definition: dict[str, Any]


class StepStarted(AggregateEvent):
    """A worker began an attempt of a step."""

    step: str
    attempt: int

    def apply(self, aggregate: WorkflowRun) -> None:
        state = aggregate.steps[self.step]
        state.status, state.attempts, state.started_at = "running", self.attempt, self.timestamp


class StepCompleted(AggregateEvent):
    """A step produced its output (what later templates read as ``steps.<id>``)."""

    step: str
    output: dict[str, Any]

    def apply(self, aggregate: WorkflowRun) -> None:
        state = aggregate.steps[self.step]
        state.status, state.output, state.finished_at = "completed", self.output, self.timestamp


class StepFailed(AggregateEvent):
    """An attempt of a step failed; ``will_retry`` says whether another attempt is owed."""

    step: str
    attempt: int
    kind: str
    reason: str
    will_retry: bool

    def apply(self, aggregate: WorkflowRun) -> None:
        state = aggregate.steps[self.step]
        state.status = "retrying" if self.will_retry else "failed"
        state.error, state.finished_at = f"{self.kind}: {self.reason}", self.timestamp


class ApprovalRequested(AggregateEvent):
    """An approval step is ready: the run waits for a person."""

    step: str
    message: str

    def apply(self, aggregate: WorkflowRun) -> None:
        state = aggregate.steps[self.step]
        state.status, state.started_at = "waiting_approval", self.timestamp


class ApprovalGranted(AggregateEvent):
    """A person approved; the step completes with who and why."""

    step: str
    by: UUID | None
    comment: str

    def apply(self, aggregate: WorkflowRun) -> None:
        state = aggregate.steps[self.step]
        state.status, state.finished_at = "completed", self.timestamp
        by = str(self.by or "")
        state.output = {"approved": True, "approved_by": by, "comment": self.comment}


class ApprovalRejected(AggregateEvent):
    """A person rejected; the run fails."""

    step: str
    by: UUID | None
    comment: str

    def apply(self, aggregate: WorkflowRun) -> None:
        state = aggregate.steps[self.step]
        state.status, state.finished_at = "failed", self.timestamp
        state.error = f"rejected: {self.comment}" if self.comment else "rejected"


class WorkflowRunCompleted(AggregateEvent):
    """Every step completed."""

    def apply(self, aggregate: WorkflowRun) -> None:
        aggregate.status = "completed"


class WorkflowRunFailed(AggregateEvent):
    """A step failed for good (or its approval was rejected)."""

    step: str
    reason: str

    def apply(self, aggregate: WorkflowRun) -> None:
        aggregate.status = "failed"


class WorkflowRunCancelled(AggregateEvent):
    """Someone cancelled the run; nothing more is started or recorded for it."""

    by: UUID | None
    reason: str

    def apply(self, aggregate: WorkflowRun) -> None:
        aggregate.status = "cancelled"
