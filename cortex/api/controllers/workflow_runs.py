"""/api/workflow-runs: runs with their steps, cancel, approve and reject."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from cortex.api.dependencies import After, accepted, decode_cursor, keyset_page, wait_for_position
from cortex.api.problems import COMMAND_PROBLEMS, QUERY_PROBLEMS
from cortex.api.schemas.common import CommandAccepted
from cortex.api.schemas.workflows import CancelRun, Decide, RunPage, RunRead, RunSummary
from cortex.api.security import Principal, require_project
from cortex.application.errors import NotFound
from cortex.bootstrap import Cortex
from cortex.domain.roles import ProjectRole
from projections import workflow_queries

StepId = Annotated[str, msgspec.Meta(max_length=64)]
Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Cursor = Annotated[str | None, QueryParameter(max_length=1000)]


class WorkflowRunController(Controller):
    path = "/api/workflow-runs"
    tags = ["workflows"]

    @get(operation_id="listWorkflowRuns", sync_to_thread=True, responses=QUERY_PROBLEMS)
    def list_runs(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        project_id: FromQuery[UUID],
        workflow_id: FromQuery[UUID | None] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
        after: After = None,
    ) -> RunPage:
        """A project's runs (or one workflow's), newest first, without their steps."""
        require_project(principal, cortex, project_id, ProjectRole.VIEWER)
        wait_for_position(cortex, "workflows", after)
        start = decode_cursor(cursor, 2)
        rows = workflow_queries.list_runs(
            cortex.read_store,
            str(project_id),
            workflow_id=str(workflow_id) if workflow_id else None,
            after=(str(start[0]), str(start[1])) if start else None,
            limit=limit + 1,
        )
        rows, next_cursor = keyset_page(rows, limit, "started_at", "id")
        return RunPage(
            items=[msgspec.convert(row, RunSummary) for row in rows],
            next_cursor=next_cursor,
        )

    @get(
        "/{run_id:uuid}",
        operation_id="getWorkflowRun",
        sync_to_thread=True,
        responses=QUERY_PROBLEMS,
    )
    def get_run(
        self, cortex: NamedDependency[Cortex], run_id: FromPath[UUID], after: After = None
    ) -> RunRead:
        """The run and each step's status, attempts, output, error and timings."""
        wait_for_position(cortex, "workflows", after)
        row = workflow_queries.get_run(cortex.read_store, str(run_id))
        if row is None:
            raise NotFound("workflow run", run_id)
        return msgspec.convert(row, RunRead)

    @post(
        "/{run_id:uuid}/cancel",
        operation_id="cancelWorkflowRun",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def cancel_run(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        run_id: FromPath[UUID],
        data: JSONBody[CancelRun],
    ) -> Response[CommandAccepted]:
        """Cancel a running run (409 when it has ended); a step still executing is discarded."""
        result = cortex.workflows.cancel(
            run_id, by=principal.user_id, reason=data.reason, at=datetime.now(UTC)
        )
        return accepted(result)

    @post(
        "/{run_id:uuid}/steps/{step_id:str}/approve",
        operation_id="approveWorkflowStep",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def approve(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        run_id: FromPath[UUID],
        step_id: FromPath[StepId],
        data: JSONBody[Decide],
    ) -> Response[CommandAccepted]:
        """Approve a step waiting for approval; the steps after it are sent to the workers."""
        result = cortex.workflows.approve(
            run_id, step_id, by=principal.user_id, comment=data.comment, at=datetime.now(UTC)
        )
        return accepted(result)

    @post(
        "/{run_id:uuid}/steps/{step_id:str}/reject",
        operation_id="rejectWorkflowStep",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def reject(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        run_id: FromPath[UUID],
        step_id: FromPath[StepId],
        data: JSONBody[Decide],
    ) -> Response[CommandAccepted]:
        """Reject a step waiting for approval: the run fails."""
        result = cortex.workflows.reject(
            run_id, step_id, by=principal.user_id, comment=data.comment, at=datetime.now(UTC)
        )
        return accepted(result)
