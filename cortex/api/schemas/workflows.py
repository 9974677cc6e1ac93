"""Workflow wire types: definitions, runs and their steps, approvals, cancel."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

RunStatus = Literal["running", "completed", "failed", "cancelled"]
# "cancelled": under way or awaited when the run ended (cancelled, or failed at another step).
StepStatus = Literal[
    "pending", "running", "retrying", "waiting_approval", "completed", "failed", "cancelled"
]
Steps = Annotated[list[dict[str, Any]], msgspec.Meta(max_length=50)]
Comment = Annotated[str, msgspec.Meta(max_length=2000)]


class DefineWorkflow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Steps: ``{"id", "kind": generate|search|ask|approval|transform, "depends_on": [ids],
    "retries": 2, "timeout_seconds": 300, ...}``; generate takes ``prompt``, ``system``,
    ``lane`` ("auto" or a lane), ``max_tokens``; search ``query``, ``mode``, ``limit``; ask
    ``question``; approval ``message``; transform ``template``. Templates (Jinja, sandboxed) read
    ``inputs.<name>`` and ``steps.<id>.<field>`` of the steps they depend on."""

    project_id: UUID
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    inputs_schema: dict[str, Any] | None = None
    steps: Steps


class ReviseWorkflow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole new definition; send ``If-Match: "<version>"`` to refuse a concurrent revision."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    inputs_schema: dict[str, Any] | None = None
    steps: Steps


class WorkflowRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    project_id: UUID
    name: str
    version: int
    inputs_schema: dict[str, Any]
    steps: list[dict[str, Any]]
    defined_by: UUID | None
    defined_at: str
    updated_by: UUID | None
    updated_at: str


class WorkflowPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[WorkflowRead]
    next_cursor: str | None


class StartRun(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Inputs, checked against the workflow's ``inputs_schema`` (422 with the reason)."""

    inputs: dict[str, Any] = msgspec.field(default_factory=dict)


class RunAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """Poll ``GET /api/workflow-runs/{id}`` (``?after=position`` reads it back at once)."""

    id: UUID
    workflow_id: UUID
    status: RunStatus
    position: int


class StepRead(msgspec.Struct, frozen=True, kw_only=True):
    step_id: str
    kind: str
    depends_on: list[str]
    status: StepStatus
    attempts: int
    output: dict[str, Any] | None
    error: str | None
    message: str | None  # an approval's message
    decided_by: UUID | None
    comment: str | None
    started_at: str | None
    finished_at: str | None


class RunSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    workflow_id: UUID
    workflow_version: int
    workflow_name: str
    project_id: UUID
    started_by: UUID | None
    status: RunStatus
    inputs: dict[str, Any]
    error: str | None
    failed_step: str | None
    cancelled_by: UUID | None
    started_at: str
    updated_at: str
    finished_at: str | None


class RunRead(RunSummary, frozen=True, kw_only=True):
    steps: list[StepRead]


class RunPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[RunSummary]
    next_cursor: str | None


class Decide(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    comment: Comment = ""


class CancelRun(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: Comment = ""
