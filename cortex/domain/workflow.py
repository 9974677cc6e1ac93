"""The Workflow aggregate: a named, versioned definition of steps in a project.

Invariants: the definition is always a valid one (``validate_definition``); each revision
replaces it whole and its version is the number of definitions so far (1 when defined); runs
keep a copy of the version they started with, so revising never changes a run in flight.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, AggregateCreated, AggregateEvent

from cortex.domain.workflow_definition import validate_definition


class WorkflowDefined(AggregateCreated):
    """Someone defined a workflow in a project."""

    project_id: UUID
    name: str
    definition: dict[str, Any]
    defined_by: UUID | None


class WorkflowRevised(AggregateEvent):
    """The workflow's definition was replaced by a new version."""

    name: str
    definition: dict[str, Any]
    revised_by: UUID | None

    def apply(self, aggregate: Workflow) -> None:
        aggregate.name = self.name
        aggregate.definition = self.definition
        aggregate.definition_version += 1


class Workflow(Aggregate):
    """A workflow definition and its revisions."""

    def __init__(
        self, project_id: UUID, name: str, definition: dict[str, Any], defined_by: UUID | None
    ) -> None:
        self.project_id = project_id
        self.name = name
        self.definition = definition
        self.definition_version = 1

    @classmethod
    def define(
        cls,
        *,
        id: UUID,
        project_id: UUID,
        name: Any,
        inputs_schema: Any,
        steps: Any,
        defined_by: UUID | None,
        at: datetime,
    ) -> Workflow:
        definition = validate_definition(name, inputs_schema, steps)
        return cls._create(
            WorkflowDefined,
            id=id,
            project_id=project_id,
            name=definition["name"],
            definition=definition,
            defined_by=defined_by,
            timestamp=at,
        )

    def revise(
        self, *, name: Any, inputs_schema: Any, steps: Any, revised_by: UUID | None, at: datetime
    ) -> None:
        definition = validate_definition(name, inputs_schema, steps)
        self.trigger_event(
            WorkflowRevised,
            name=definition["name"],
            definition=definition,
            revised_by=revised_by,
            timestamp=at,
        )
