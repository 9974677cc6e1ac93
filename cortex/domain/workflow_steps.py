"""A run's step states and which steps are ready: the pure part of scheduling a DAG."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

STATUSES = ("pending", "running", "retrying", "waiting_approval", "completed", "failed")


@dataclass
class StepState:
    """Where one step of a run stands (rebuilt from the run's events)."""

    kind: str
    depends_on: tuple[str, ...]
    status: str = "pending"
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    output: dict[str, Any] | None = None
    error: str | None = None


def step_states(definition: Mapping[str, Any]) -> dict[str, StepState]:
    return {
        str(step["id"]): StepState(str(step["kind"]), tuple(step["depends_on"]))
        for step in definition["steps"]
    }


def ready(steps: Mapping[str, StepState]) -> list[str]:
    """Pending steps whose every dependency has completed, in definition order."""
    return [
        step_id
        for step_id, state in steps.items()
        if state.status == "pending"
        and all(steps[dep].status == "completed" for dep in state.depends_on)
    ]


def all_done(steps: Mapping[str, StepState]) -> bool:
    return all(state.status == "completed" for state in steps.values())
