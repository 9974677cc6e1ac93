"""What running a workflow step needs from outside the application layer: an executor per step
kind (model calls, search, answers: wired in bootstrap) and a queue to the workers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID


class StepFailure(Exception):
    """A step attempt that did not produce an output; ``retryable`` False for errors that would
    fail the same way again (a template error, a lane refusing the request)."""

    def __init__(self, kind: str, reason: str, *, retryable: bool) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True)
class StepContext:
    """What a step sees: the run's inputs, its earlier steps' outputs, and who it acts for."""

    run_id: UUID
    project_id: UUID
    started_by: UUID | None
    inputs: dict[str, Any]
    outputs: dict[str, dict[str, Any]]


class StepExecutor(Protocol):
    def execute(self, step: dict[str, Any], context: StepContext) -> dict[str, Any]:
        """The step's output; StepFailure when it failed."""
        ...


class StepQueue(Protocol):
    def send(
        self, run_id: UUID, step_id: str, *, delay_seconds: float = 0.0, restart: bool = False
    ) -> None: ...


class NoStepQueue:
    """For processes that only define and read workflows: steps owed are left to the reconciler."""

    def send(
        self, run_id: UUID, step_id: str, *, delay_seconds: float = 0.0, restart: bool = False
    ) -> None:
        return None
