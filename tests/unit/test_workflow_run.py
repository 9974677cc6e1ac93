"""The WorkflowRun aggregate: ready steps, approvals, retries, completion, cancel; and replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cortex.domain.errors import InvalidTransition
from cortex.domain.workflow_definition import validate_definition
from cortex.domain.workflow_run import WorkflowRun
from cortex.domain.workflow_steps import StepState, ready

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def definition(*steps: dict[str, Any]) -> dict[str, Any]:
    return validate_definition("Flow", None, list(steps))


def transform(step_id: str, *deps: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": "transform", "template": "x", "depends_on": list(deps), **extra}


def start(*steps: dict[str, Any]) -> WorkflowRun:
    return WorkflowRun.start(
        id=uuid4(),
        workflow_id=uuid4(),
        workflow_version=1,
        project_id=uuid4(),
        started_by=None,
        inputs={},
        definition=definition(*steps),
        at=T0,
    )


def replayed(run: WorkflowRun) -> WorkflowRun:
    events = run.collect_events()
    copy: WorkflowRun | None = None
    for event in events:
        copy = event.mutate(copy)
    assert copy is not None
    return copy


def test_diamond_runs_the_branches_then_the_join() -> None:
    run = start(transform("a"), transform("b", "a"), transform("c", "a"), transform("d", "b", "c"))
    assert run.ready_steps() == ["a"]
    run.start_step("a", at=T0)
    assert run.ready_steps() == []
    run.complete_step("a", {"text": "A"}, at=T0)
    assert run.ready_steps() == ["b", "c"]
    for step_id in ("b", "c"):
        run.start_step(step_id, at=T0)
    run.complete_step("b", {"text": "B"}, at=T0)
    assert run.ready_steps() == []
    run.complete_step("c", {"text": "C"}, at=T0)
    run.start_step("d", at=T0)
    run.complete_step("d", {"text": "D"}, at=T0)
    assert run.status == "completed"
    assert replayed(run).status == "completed"


def test_an_approval_is_requested_when_ready_and_completes_on_approve() -> None:
    approval = {"id": "ok", "kind": "approval", "message": "Ship?", "depends_on": ["a"]}
    run = start(transform("a"), approval, transform("b", "ok"))
    run.start_step("a", at=T0)
    run.complete_step("a", {"text": "A"}, at=T0)
    assert run.steps["ok"].status == "waiting_approval"
    assert run.ready_steps() == []  # a worker never starts an approval
    assert not run.may_start("ok", T0)
    run.approve("ok", by=None, comment="fine", at=T0)
    assert run.ready_steps() == ["b"]
    assert run.outputs()["ok"]["comment"] == "fine"


def test_a_rejected_approval_fails_the_run() -> None:
    run = start({"id": "ok", "kind": "approval"}, transform("b", "ok"))
    run.reject("ok", by=None, comment="no", at=T0)
    assert run.status == "failed"
    with pytest.raises(InvalidTransition):
        run.start_step("b", at=T0)


def test_a_step_completes_once() -> None:
    run = start(transform("a"), transform("b"))
    run.start_step("a", at=T0)
    run.complete_step("a", {}, at=T0)
    with pytest.raises(InvalidTransition):
        run.complete_step("a", {}, at=T0)
    with pytest.raises(InvalidTransition):
        run.start_step("a", at=T0)


def test_failures_are_retried_while_attempts_remain_then_fail_the_run() -> None:
    run = start(transform("a", retries=1))
    attempt = run.start_step("a", at=T0)
    assert run.fail_step("a", attempt, kind="x", reason="boom", retryable=True, at=T0)
    assert run.steps["a"].status == "retrying"
    assert run.may_start("a", T0)
    attempt = run.start_step("a", at=T0)
    assert attempt == 2
    assert not run.fail_step("a", attempt, kind="x", reason="boom", retryable=True, at=T0)
    assert run.status == "failed"


def test_a_deterministic_failure_is_not_retried() -> None:
    run = start(transform("a", retries=5))
    attempt = run.start_step("a", at=T0)
    assert not run.fail_step("a", attempt, kind="template", reason="x", retryable=False, at=T0)
    assert run.status == "failed"


def test_a_running_step_is_owed_again_after_its_timeout_or_on_restart() -> None:
    run = start(transform("a", timeout_seconds=10))
    run.start_step("a", at=T0)
    assert run.owed_steps(T0 + timedelta(seconds=5)) == []
    assert run.owed_steps(T0 + timedelta(seconds=5), restart=True) == ["a"]
    assert run.owed_steps(T0 + timedelta(seconds=11)) == ["a"]
    assert run.start_step("a", at=T0 + timedelta(seconds=11)) == 2
    # The first attempt's late failure is superseded; its late success still counts once.
    with pytest.raises(InvalidTransition):
        run.fail_step("a", 1, kind="x", reason="late", retryable=True, at=T0)
    run.complete_step("a", {"text": "late"}, at=T0)
    assert run.status == "completed"


def test_attempts_that_never_report_count_against_the_retries() -> None:
    run = start(transform("a", timeout_seconds=10, retries=1))
    run.start_step("a", at=T0)
    assert run.start_step("a", at=T0 + timedelta(seconds=11)) == 2  # the first timed out
    assert run.steps["a"].attempts == 2
    # The second never reports either: no retry is left, the run fails (no third attempt).
    assert run.start_step("a", at=T0 + timedelta(seconds=22)) == 0
    assert run.status == "failed"
    assert run.owed_steps(T0 + timedelta(seconds=60)) == []
    failures = [e for e in run.collect_events() if type(e).__name__ == "StepFailed"]
    assert [(e.attempt, e.kind, e.will_retry) for e in failures] == [
        (1, "timeout", True),
        (2, "timeout", False),
    ]


def test_nothing_starts_or_completes_after_cancel() -> None:
    run = start(transform("a"), transform("b"))
    run.start_step("a", at=T0)
    run.cancel(by=None, reason="enough", at=T0)
    assert run.ready_steps() == ["b"]
    assert not run.may_start("b", T0)
    with pytest.raises(InvalidTransition):
        run.start_step("b", at=T0)
    with pytest.raises(InvalidTransition):
        run.complete_step("a", {}, at=T0)
    with pytest.raises(InvalidTransition):
        run.cancel(by=None, reason="again", at=T0)
    assert replayed(run).status == "cancelled"


# Ready-step computation against a brute-force reading of the rule ----------------------------


@st.composite
def dags(draw: st.DrawFn) -> dict[str, StepState]:
    count = draw(st.integers(1, 8))
    steps: dict[str, StepState] = {}
    for index in range(count):
        deps = draw(st.lists(st.sampled_from(range(index)), unique=True)) if index else []
        status = draw(st.sampled_from(["pending", "running", "completed", "failed"]))
        steps[f"s{index}"] = StepState("transform", tuple(f"s{d}" for d in deps), status)
    return steps


@settings(max_examples=200, deadline=None)
@given(dags())
def test_ready_steps_are_exactly_the_pending_ones_whose_dependencies_all_completed(
    steps: dict[str, StepState],
) -> None:
    expected = set()
    for step_id, state in steps.items():
        blocked = any(steps[dep].status != "completed" for dep in state.depends_on)
        if state.status == "pending" and not blocked:
            expected.add(step_id)
    assert set(ready(steps)) == expected
