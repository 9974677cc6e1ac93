"""The ``workflows``, ``workflow_runs`` and ``workflow_run_steps`` read models."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

import msgspec

from cortex.domain.workflow import WorkflowDefined, WorkflowRevised
from cortex.domain.workflow_run import (
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
from projections.base import SqlProjection
from projections.store import Cursor


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _id(value: Any) -> str | None:
    return str(value) if value else None


class WorkflowsProjection(SqlProjection):
    name = "workflows"
    tables = ("workflows", "workflow_runs", "workflow_run_steps")

    @singledispatchmethod
    def handle(self, event: Any, cur: Cursor) -> None:
        """Events that are not about workflows."""

    @handle.register
    def _defined(self, event: WorkflowDefined, cur: Cursor) -> None:
        at = event.timestamp.isoformat()
        cur.execute(
            self.sql(
                "INSERT INTO {workflows} (id, project_id, name, version, definition, defined_by,"
                " defined_at, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING"
            ),
            (
                str(event.originator_id),
                str(event.project_id),
                event.name,
                event.originator_version,
                _json(event.definition),
                _id(event.defined_by),
                at,
                _id(event.defined_by),
                at,
            ),
        )

    @handle.register
    def _revised(self, event: WorkflowRevised, cur: Cursor) -> None:
        cur.execute(
            self.sql(
                "UPDATE {workflows} SET name = ?, version = ?, definition = ?, updated_by = ?,"
                " updated_at = ? WHERE id = ?"
            ),
            (
                event.name,
                event.originator_version,
                _json(event.definition),
                _id(event.revised_by),
                event.timestamp.isoformat(),
                str(event.originator_id),
            ),
        )

    @handle.register
    def _run_started(self, event: WorkflowRunStarted, cur: Cursor) -> None:
        at = event.timestamp.isoformat()
        run_id = str(event.originator_id)
        cur.execute(
            self.sql(
                "INSERT INTO {workflow_runs} (id, workflow_id, workflow_version, workflow_name,"
                " project_id, started_by, status, inputs, started_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?) ON CONFLICT (id) DO NOTHING"
            ),
            (
                run_id,
                str(event.workflow_id),
                event.workflow_version,
                str(event.definition.get("name", "")),
                str(event.project_id),
                _id(event.started_by),
                _json(event.inputs),
                at,
                at,
            ),
        )
        for position, step in enumerate(event.definition["steps"]):
            cur.execute(
                self.sql(
                    "INSERT INTO {workflow_run_steps} (run_id, step_id, position, kind,"
                    " depends_on, status, attempts) VALUES (?, ?, ?, ?, ?, 'pending', 0)"
                    " ON CONFLICT (run_id, step_id) DO NOTHING"
                ),
                (run_id, step["id"], position, step["kind"], _json(step["depends_on"])),
            )

    @handle.register
    def _step_started(self, event: StepStarted, cur: Cursor) -> None:
        self._step(
            cur,
            event,
            "status = 'running', attempts = ?, started_at = ?, finished_at = NULL",
            (event.attempt, event.timestamp.isoformat()),
        )

    @handle.register
    def _step_completed(self, event: StepCompleted, cur: Cursor) -> None:
        self._step(
            cur,
            event,
            "status = 'completed', output = ?, error = NULL, finished_at = ?",
            (_json(event.output), event.timestamp.isoformat()),
        )

    @handle.register
    def _step_failed(self, event: StepFailed, cur: Cursor) -> None:
        status = "retrying" if event.will_retry else "failed"
        self._step(
            cur,
            event,
            "status = ?, attempts = ?, error = ?, finished_at = ?",
            (status, event.attempt, f"{event.kind}: {event.reason}", event.timestamp.isoformat()),
        )

    @handle.register
    def _approval_requested(self, event: ApprovalRequested, cur: Cursor) -> None:
        self._step(
            cur,
            event,
            "status = 'waiting_approval', message = ?, started_at = ?",
            (event.message, event.timestamp.isoformat()),
        )

    @handle.register
    def _approval_granted(self, event: ApprovalGranted, cur: Cursor) -> None:
        output = {"approved": True, "approved_by": str(event.by or ""), "comment": event.comment}
        self._step(
            cur,
            event,
            "status = 'completed', output = ?, decided_by = ?, comment = ?, finished_at = ?",
            (_json(output), _id(event.by), event.comment, event.timestamp.isoformat()),
        )

    @handle.register
    def _approval_rejected(self, event: ApprovalRejected, cur: Cursor) -> None:
        self._step(
            cur,
            event,
            "status = 'failed', error = 'rejected', decided_by = ?, comment = ?, finished_at = ?",
            (_id(event.by), event.comment, event.timestamp.isoformat()),
        )

    @handle.register
    def _run_completed(self, event: WorkflowRunCompleted, cur: Cursor) -> None:
        self._run_end(cur, event, "completed", None, None, None)

    @handle.register
    def _run_failed(self, event: WorkflowRunFailed, cur: Cursor) -> None:
        self._run_end(cur, event, "failed", event.reason, event.step, None)

    @handle.register
    def _run_cancelled(self, event: WorkflowRunCancelled, cur: Cursor) -> None:
        self._run_end(cur, event, "cancelled", event.reason, None, _id(event.by))

    def _step(self, cur: Cursor, event: Any, assignments: str, values: tuple[Any, ...]) -> None:
        run_id, at = str(event.originator_id), event.timestamp.isoformat()
        cur.execute(
            self.sql(
                f"UPDATE {{workflow_run_steps}} SET {assignments} WHERE run_id = ? AND step_id = ?"
            ),
            (*values, run_id, event.step),
        )
        cur.execute(
            self.sql("UPDATE {workflow_runs} SET updated_at = ? WHERE id = ?"), (at, run_id)
        )

    def _run_end(
        self,
        cur: Cursor,
        event: Any,
        status: str,
        error: str | None,
        step: str | None,
        by: str | None,
    ) -> None:
        at = event.timestamp.isoformat()
        cur.execute(
            self.sql(
                "UPDATE {workflow_runs} SET status = ?, error = ?, failed_step = ?,"
                " cancelled_by = ?, updated_at = ?, finished_at = ? WHERE id = ?"
            ),
            (status, error, step, by, at, at, str(event.originator_id)),
        )
        if status != "completed":
            # What was still under way or awaited will never be recorded: a late result is
            # discarded by the run.
            cur.execute(
                self.sql(
                    "UPDATE {workflow_run_steps} SET status = 'cancelled' WHERE run_id = ?"
                    " AND status IN ('running', 'retrying', 'waiting_approval')"
                ),
                (str(event.originator_id),),
            )
