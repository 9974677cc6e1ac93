"""Workflows: define and revise definitions; start, approve, reject, cancel and resume runs.

Steps run on workers (``run_step``, in ``workflow_execution``); this service records the
commands people give and hands every step that became ready to the queue.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from referencing.exceptions import Unresolvable

from cortex.application.event_log import CommandResult, EventLog
from cortex.application.workflow_execution import StepRunner, commit_and_dispatch
from cortex.application.workflow_ports import StepExecutor, StepQueue
from cortex.domain.errors import InvalidInput, InvalidTransition
from cortex.domain.project import Project
from cortex.domain.workflow import Workflow
from cortex.domain.workflow_run import WorkflowRun


def _now() -> datetime:
    return datetime.now(UTC)


class WorkflowService:
    """Commands on workflows and their runs."""

    def __init__(
        self,
        log: EventLog,
        executor: StepExecutor,
        queue: StepQueue,
        *,
        backoff_seconds: float = 1.0,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._log = log
        self.queue = queue
        self._runner = StepRunner(log, executor, self, backoff_seconds=backoff_seconds, clock=clock)

    # Definitions ---------------------------------------------------------------------------

    def define_workflow(
        self,
        *,
        workflow_id: UUID,
        project_id: UUID,
        name: Any,
        inputs_schema: Any,
        steps: Any,
        defined_by: UUID | None,
        at: datetime,
    ) -> CommandResult:
        self._open_project(project_id)
        workflow = Workflow.define(
            id=workflow_id,
            project_id=project_id,
            name=name,
            inputs_schema=inputs_schema,
            steps=steps,
            defined_by=defined_by,
            at=at,
        )
        return self._log.commit(workflow)

    def revise_workflow(
        self,
        workflow_id: UUID,
        *,
        name: Any,
        inputs_schema: Any,
        steps: Any,
        revised_by: UUID | None,
        expected_version: int | None,
        at: datetime,
    ) -> CommandResult:
        workflow = self._log.load(workflow_id, Workflow, expected_version=expected_version)
        self._open_project(workflow.project_id)
        workflow.revise(
            name=name, inputs_schema=inputs_schema, steps=steps, revised_by=revised_by, at=at
        )
        return self._log.commit(workflow)

    # Runs ----------------------------------------------------------------------------------

    def start_run(
        self,
        workflow_id: UUID,
        *,
        inputs: dict[str, Any],
        started_by: UUID | None,
        at: datetime,
        run_id: UUID,
    ) -> CommandResult:
        """Check the inputs against the workflow's schema, record the run, send its first steps."""
        workflow = self._log.load(workflow_id, Workflow)
        self._open_project(workflow.project_id)
        check_inputs(workflow.definition["inputs_schema"], inputs)
        run = WorkflowRun.start(
            id=run_id,
            workflow_id=workflow_id,
            workflow_version=workflow.definition_version,
            project_id=workflow.project_id,
            started_by=started_by,
            inputs=inputs,
            definition=workflow.definition,
            at=at,
        )
        result = self._log.commit(run)
        self.dispatch(run, set())
        return result

    def approve(
        self, run_id: UUID, step_id: str, *, by: UUID | None, comment: str, at: datetime
    ) -> CommandResult:
        return commit_and_dispatch(
            self._log, self, run_id, lambda run: run.approve(step_id, by=by, comment=comment, at=at)
        )

    def reject(
        self, run_id: UUID, step_id: str, *, by: UUID | None, comment: str, at: datetime
    ) -> CommandResult:
        return commit_and_dispatch(
            self._log, self, run_id, lambda run: run.reject(step_id, by=by, comment=comment, at=at)
        )

    def cancel(self, run_id: UUID, *, by: UUID | None, reason: str, at: datetime) -> CommandResult:
        """Cancel a running run; steps still executing finish, and their results are dropped."""
        return commit_and_dispatch(
            self._log, self, run_id, lambda run: run.cancel(by=by, reason=reason, at=at)
        )

    def run_step(self, run_id: UUID, step_id: str, *, restart: bool = False) -> str:
        """A worker's turn at one step (idempotent); what happened, in a word."""
        return self._runner.run_step(run_id, step_id, restart=restart)

    def resume(self, run_id: UUID, *, at: datetime, restart: bool = False) -> int:
        """Re-send the steps the run's events say are owed; how many were sent.

        Owed: ready but never started, a retry not yet started, or started longer ago than the
        step's timeout (``restart``: any started step, when no worker can still hold it)."""
        run = self._log.load(run_id, WorkflowRun)
        owed = run.owed_steps(at, restart=restart)
        for step_id in owed:
            self.queue.send(run_id, step_id, restart=restart)
        return len(owed)

    def resume_all(self, run_ids: list[UUID], *, at: datetime, restart: bool = False) -> int:
        """Resume each run (the reconciler's hook, with the open runs of the read model)."""
        return sum(self.resume(run_id, at=at, restart=restart) for run_id in run_ids)

    def dispatch(self, run: WorkflowRun, before: set[str]) -> None:
        """Send the steps that became ready since ``before``."""
        for step_id in run.ready_steps():
            if step_id not in before and run.open:
                self.queue.send(run.id, step_id)

    def _open_project(self, project_id: UUID) -> None:
        project = self._log.load(project_id, Project)
        if project.archived:
            raise InvalidTransition("the project is archived", current_status="archived")


# Inputs are kept in the run's first event and handed to every step.
INPUTS_MAX_BYTES = 1_000_000


def check_inputs(schema: dict[str, Any], inputs: Any) -> None:
    """InvalidInput naming the first input the schema refuses."""
    size = len(json.dumps(inputs, default=str))
    if size > INPUTS_MAX_BYTES:
        raise InvalidInput("inputs", f"{size} bytes as JSON; at most {INPUTS_MAX_BYTES}")
    validator = validator_for(schema)(schema)
    try:
        error = best_match(validator.iter_errors(inputs))
    except Unresolvable as unresolvable:  # a local $ref pointing nowhere
        raise InvalidInput("inputs_schema", f"cannot be resolved: {unresolvable}") from None
    except RecursionError:  # {"$ref": "#"}: a schema that refers to itself without end
        raise InvalidInput("inputs_schema", "refers to itself without end") from None
    if error is not None:
        where = ".".join(str(part) for part in error.absolute_path)
        raise InvalidInput(f"inputs.{where}" if where else "inputs", error.message)
