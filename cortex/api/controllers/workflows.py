"""/api/workflows: define, list, read and revise workflows; start runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from cortex.api.dependencies import (
    After,
    IfMatch,
    accepted,
    decode_cursor,
    expected_version,
    keyset_page,
    wait_for_position,
)
from cortex.api.problems import COMMAND_PROBLEMS, QUERY_PROBLEMS
from cortex.api.schemas.common import CommandAccepted
from cortex.api.schemas.workflows import (
    DefineWorkflow,
    ReviseWorkflow,
    RunAccepted,
    StartRun,
    WorkflowPage,
    WorkflowRead,
)
from cortex.api.security import Principal, require_project
from cortex.application.errors import NotFound
from cortex.bootstrap import Cortex
from cortex.domain.roles import ProjectRole
from projections import workflow_queries

StepId = Annotated[str, msgspec.Meta(max_length=64)]
Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Cursor = Annotated[str | None, QueryParameter(max_length=1000)]


def _workflow(row: dict[str, Any]) -> WorkflowRead:
    definition = row["definition"]
    fields = {k: v for k, v in row.items() if k != "definition"}
    return msgspec.convert(
        {**fields, "inputs_schema": definition["inputs_schema"], "steps": definition["steps"]},
        WorkflowRead,
    )


class WorkflowController(Controller):
    path = "/api/workflows"
    tags = ["workflows"]

    @post(
        operation_id="defineWorkflow",
        status_code=HTTP_201_CREATED,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def define_workflow(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        data: JSONBody[DefineWorkflow],
    ) -> Response[CommandAccepted]:
        """Define a workflow in a project (422 naming what is wrong with the definition)."""
        require_project(principal, cortex, data.project_id, ProjectRole.EDITOR)
        result = cortex.workflows.define_workflow(
            workflow_id=uuid4(),
            project_id=data.project_id,
            name=data.name,
            inputs_schema=data.inputs_schema,
            steps=data.steps,
            defined_by=principal.user_id,
            at=datetime.now(UTC),
        )
        return accepted(result, HTTP_201_CREATED)

    @get(operation_id="listWorkflows", sync_to_thread=True, responses=QUERY_PROBLEMS)
    def list_workflows(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        project_id: FromQuery[UUID],
        cursor: Cursor = None,
        limit: Limit = 50,
        after: After = None,
    ) -> WorkflowPage:
        """A project's workflows, oldest first."""
        require_project(principal, cortex, project_id, ProjectRole.VIEWER)
        wait_for_position(cortex, "workflows", after)
        start = decode_cursor(cursor, 2)
        rows = workflow_queries.list_workflows(
            cortex.read_store,
            str(project_id),
            after=(str(start[0]), str(start[1])) if start else None,
            limit=limit + 1,
        )
        rows, next_cursor = keyset_page(rows, limit, "defined_at", "id")
        return WorkflowPage(
            items=[_workflow(row) for row in rows],
            next_cursor=next_cursor,
        )

    @get(
        "/{workflow_id:uuid}",
        operation_id="getWorkflow",
        sync_to_thread=True,
        responses=QUERY_PROBLEMS,
    )
    def get_workflow(
        self, cortex: NamedDependency[Cortex], workflow_id: FromPath[UUID], after: After = None
    ) -> Response[WorkflowRead]:
        """The workflow's latest definition; its version is the ETag for ``PUT``."""
        wait_for_position(cortex, "workflows", after)
        row = workflow_queries.get_workflow(cortex.read_store, str(workflow_id))
        if row is None:
            raise NotFound("workflow", workflow_id)
        workflow = _workflow(row)
        return Response(workflow, headers={"ETag": f'"{workflow.version}"'})

    @put(
        "/{workflow_id:uuid}",
        operation_id="reviseWorkflow",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def revise_workflow(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        workflow_id: FromPath[UUID],
        data: JSONBody[ReviseWorkflow],
        if_match: IfMatch = None,
    ) -> Response[CommandAccepted]:
        """A new version of the definition (runs in flight keep theirs); 409 when ``If-Match``
        names a version that is no longer the latest."""
        result = cortex.workflows.revise_workflow(
            workflow_id,
            name=data.name,
            inputs_schema=data.inputs_schema,
            steps=data.steps,
            revised_by=principal.user_id,
            expected_version=expected_version(if_match),
            at=datetime.now(UTC),
        )
        return accepted(result)

    @post(
        "/{workflow_id:uuid}/runs",
        operation_id="startWorkflowRun",
        status_code=HTTP_202_ACCEPTED,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def start_run(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        workflow_id: FromPath[UUID],
        data: JSONBody[StartRun],
    ) -> RunAccepted:
        """Start a run of the latest version; its steps run on workers, for the caller."""
        result = cortex.workflows.start_run(
            workflow_id,
            inputs=data.inputs,
            started_by=principal.user_id,
            at=datetime.now(UTC),
            run_id=uuid4(),
        )
        return RunAccepted(
            id=result.id, workflow_id=workflow_id, status="running", position=result.position
        )
