"""The workflow service on each event store, with a fake executor and a recording queue:
idempotent steps, parallel steps colliding on the run's version, cancel, resume from events."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from cortex.application.workflow_ports import StepContext, StepFailure
from cortex.application.workflows import WorkflowService
from cortex.bootstrap import Cortex
from cortex.domain.errors import InvalidInput
from cortex.domain.workflow_run import StepCompleted, StepStarted, WorkflowRun
from projections.rebuild import rebuild
from projections.store import ReadStore
from projections.workflows import WorkflowsProjection

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Recording:
    def __init__(self) -> None:
        self.sent: list[tuple[str, float, bool]] = []

    def send(
        self, run_id: UUID, step_id: str, *, delay_seconds: float = 0.0, restart: bool = False
    ) -> None:
        self.sent.append((step_id, delay_seconds, restart))

    def steps(self) -> list[str]:
        return [step for step, _, _ in self.sent]


class Executor:
    """Outputs ``{"text": step id}``; a barrier makes parallel steps finish together."""

    def __init__(self) -> None:
        self.barrier: threading.Barrier | None = None
        self.failures: list[StepFailure] = []
        self.calls: list[str] = []
        self.during: Any = None  # called inside the step (e.g. to cancel the run meanwhile)

    def execute(self, step: dict[str, Any], context: StepContext) -> dict[str, Any]:
        self.calls.append(step["id"])
        if self.during is not None:
            self.during()
        if self.barrier is not None:
            self.barrier.wait(timeout=10)
        if self.failures:
            raise self.failures.pop(0)
        return {"text": step["id"]}


class Harness:
    def __init__(self, cortex: Cortex) -> None:
        self.cortex = cortex
        self.clock = Clock()
        self.queue = Recording()
        self.executor = Executor()
        self.service = WorkflowService(
            cortex.log, self.executor, self.queue, backoff_seconds=1.0, clock=self.clock
        )
        self.project = uuid4()
        cortex.projects.create_project(
            project_id=self.project, name="P", description="", owner_id=None, at=T0
        )

    def start(self, *steps: dict[str, Any]) -> UUID:
        workflow = self.service.define_workflow(
            workflow_id=uuid4(),
            project_id=self.project,
            name="W",
            inputs_schema=None,
            steps=list(steps),
            defined_by=None,
            at=T0,
        ).id
        run_id = uuid4()
        self.service.start_run(workflow, inputs={}, started_by=None, at=T0, run_id=run_id)
        return run_id

    def run(self, run_id: UUID) -> WorkflowRun:
        return self.cortex.log.load(run_id, WorkflowRun)

    def events(self, run_id: UUID) -> list[Any]:
        return list(self.cortex.log.events.get(run_id))


def step(step_id: str, *deps: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": "transform", "template": "x", "depends_on": list(deps), **extra}


@pytest.fixture
def harness(cortex: Cortex) -> Harness:
    return Harness(cortex)


def test_a_step_runs_once_however_often_it_is_delivered(harness: Harness) -> None:
    run_id = harness.start(step("a"), step("b", "a"))
    assert harness.queue.steps() == ["a"]
    assert harness.service.run_step(run_id, "a") == "completed"
    assert harness.service.run_step(run_id, "a") == "skipped"
    assert harness.service.run_step(run_id, "b", restart=False) == "completed"
    assert harness.queue.steps() == ["a", "b"]  # b was sent once, when a completed
    assert harness.executor.calls == ["a", "b"]
    assert harness.run(run_id).status == "completed"
    assert harness.service.run_step(run_id, "b") == "skipped"  # the run is closed


def test_parallel_steps_finishing_together_are_both_recorded(harness: Harness) -> None:
    run_id = harness.start(step("a"), step("b"), step("join", "a", "b"))
    harness.executor.barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}
    threads = [
        threading.Thread(
            target=lambda s=s: outcomes.update({s: harness.service.run_step(run_id, s)})
        )
        for s in ("a", "b")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert outcomes == {"a": "completed", "b": "completed"}
    assert harness.queue.steps().count("join") == 1
    completed = [e.step for e in harness.events(run_id) if isinstance(e, StepCompleted)]
    assert sorted(completed) == ["a", "b"]


def test_a_step_finishing_after_cancel_is_discarded(harness: Harness) -> None:
    run_id = harness.start(step("a"), step("b", "a"))
    harness.executor.during = lambda: harness.service.cancel(run_id, by=None, reason="stop", at=T0)
    assert harness.service.run_step(run_id, "a") == "discarded"
    assert harness.run(run_id).status == "cancelled"
    assert not any(isinstance(e, StepCompleted) for e in harness.events(run_id))
    assert harness.queue.steps() == ["a"]


def test_a_retryable_failure_is_re_sent_with_doubling_backoff(harness: Harness) -> None:
    run_id = harness.start(step("a", retries=2))
    harness.executor.failures = [StepFailure("unavailable", "down", retryable=True)] * 2
    assert harness.service.run_step(run_id, "a") == "retrying"
    assert harness.service.run_step(run_id, "a") == "retrying"
    assert harness.service.run_step(run_id, "a") == "completed"
    assert harness.queue.sent == [("a", 0.0, False), ("a", 1.0, False), ("a", 2.0, False)]


def test_resume_re_sends_what_the_events_say_is_owed(harness: Harness) -> None:
    run_id = harness.start(step("a", timeout_seconds=60), step("b"), step("c", "a"))
    service, queue = harness.service, harness.queue
    # A worker took "a" and died: StepStarted recorded, nothing after it.
    run = harness.run(run_id)
    run.start_step("a", at=T0)
    harness.cortex.log.commit(run)
    queue.sent.clear()
    assert service.resume(run_id, at=T0 + timedelta(seconds=30)) == 1  # b: never started
    assert queue.steps() == ["b"]
    assert service.run_step(run_id, "a") == "skipped"  # a live attempt may still hold it
    harness.clock.now = T0 + timedelta(seconds=61)
    queue.sent.clear()
    assert service.resume(run_id, at=harness.clock.now) == 2
    assert queue.steps() == ["a", "b"]
    assert service.run_step(run_id, "a") == "completed"
    attempts = [e.attempt for e in harness.events(run_id) if isinstance(e, StepStarted)]
    assert attempts == [1, 2]
    assert "c" in queue.steps()


def test_resume_after_a_restart_re_sends_running_steps_at_once(harness: Harness) -> None:
    run_id = harness.start(step("a"))
    run = harness.run(run_id)
    run.start_step("a", at=T0)
    harness.cortex.log.commit(run)
    harness.queue.sent.clear()
    assert harness.service.resume(run_id, at=T0) == 0
    assert harness.service.resume(run_id, at=T0, restart=True) == 1
    assert harness.queue.sent == [("a", 0.0, True)]
    assert harness.service.run_step(run_id, "a", restart=True) == "completed"


def test_a_local_ref_pointing_nowhere_refuses_the_inputs_not_the_server(harness: Harness) -> None:
    workflow = harness.service.define_workflow(
        workflow_id=uuid4(),
        project_id=harness.project,
        name="W",
        inputs_schema={"$ref": "#/definitions/missing"},
        steps=[step("a")],
        defined_by=None,
        at=T0,
    ).id
    with pytest.raises(InvalidInput) as refused:
        harness.service.start_run(workflow, inputs={}, started_by=None, at=T0, run_id=uuid4())
    assert refused.value.field == "inputs_schema"


def test_the_read_model_followed_equals_the_read_model_rebuilt(harness: Harness) -> None:
    """Every workflow event through the projector, then `projections rebuild workflows`."""
    service, cortex = harness.service, harness.cortex
    done = harness.start(step("a"), {"id": "ok", "kind": "approval", "depends_on": ["a"]})
    service.run_step(done, "a")
    service.approve(done, "ok", by=None, comment="fine", at=T0)
    harness.executor.failures = [StepFailure("template", "bad", retryable=False)]
    failed = harness.start(step("a"), step("b"))
    service.run_step(failed, "a")
    cancelled = harness.start(step("a", retries=1), {"id": "ok", "kind": "approval"})
    harness.executor.failures = [StepFailure("unavailable", "down", retryable=True)]
    service.run_step(cancelled, "a")
    service.cancel(cancelled, by=None, reason="stop", at=T0)
    rejected = harness.start({"id": "ok", "kind": "approval"})
    service.reject(rejected, "ok", by=None, comment="no", at=T0)
    runner = cortex.runners["workflows"]
    runner.catch_up()
    tables = WorkflowsProjection.tables
    followed = dump(cortex.read_store, tables)
    statuses = sorted(row["status"] for row in followed["workflow_runs"])
    assert statuses == ["cancelled", "completed", "failed", "failed"]
    rebuild(WorkflowsProjection, feed=cortex.log, store=cortex.read_store, batch_size=3)
    assert dump(cortex.read_store, tables) == followed


def dump(store: ReadStore, tables: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    with store.reading() as cur:
        found = {}
        for table in tables:
            cur.execute(f"SELECT * FROM {table}")
            found[table] = sorted(cur.fetchall(), key=repr)
    return found
