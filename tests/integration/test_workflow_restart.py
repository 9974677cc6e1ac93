"""The embedded server restarted mid-run (in-memory broker: every queued message is gone): at
start-up the reconciler re-sends every step the events say is owed, at once, also a step a dead
worker had started (its timeout has not passed: nothing else can still hold it)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from cortex.bootstrap import bootstrap
from cortex.domain.workflow_run import StepStarted, WorkflowRun
from tests.conftest import make_settings

STEPS = [
    {"id": "a", "kind": "transform", "template": "A"},
    {"id": "b", "kind": "transform", "template": "B"},
    {
        "id": "c",
        "kind": "transform",
        "template": "{{ steps.a.text }}{{ steps.b.text }}",
        "depends_on": ["a", "b"],
    },
]


def test_a_restarted_server_resumes_its_runs_at_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, CORTEX_INGEST_RECONCILE_SECONDS="3600")
    first = bootstrap(settings, migrate_read_store=True)
    run_id = uuid4()
    try:
        now = datetime.now(UTC)
        project = uuid4()
        first.projects.create_project(project_id=project, name="P", description="", at=now)
        workflow = first.workflows.define_workflow(
            workflow_id=uuid4(),
            project_id=project,
            name="W",
            inputs_schema=None,
            steps=STEPS,
            defined_by=None,
            at=now,
        ).id
        # No worker consumes here: the messages for a and b sit in memory and die with it.
        first.workflows.start_run(workflow, inputs={}, started_by=None, at=now, run_id=run_id)
        run = first.log.load(run_id, WorkflowRun)
        run.start_step("a", at=now)  # as a worker does just before it dies
        first.log.commit(run)
        for runner in first.runners.values():
            runner.catch_up()
    finally:
        first.close()

    second = bootstrap(settings, migrate_read_store=True)
    try:
        second.start_projections()
        second.start_workers({"workflows"})
        deadline = time.monotonic() + 20
        while second.log.load(run_id, WorkflowRun).status == "running":
            assert time.monotonic() < deadline, "the run was not resumed at start-up"
            time.sleep(0.02)
        run = second.log.load(run_id, WorkflowRun)
        assert run.status == "completed"
        assert run.outputs()["c"] == {"text": "AB"}
        events = list(second.log.events.get(run_id))
        attempts = [(e.step, e.attempt) for e in events if isinstance(e, StepStarted)]
        assert sorted(attempts) == [("a", 1), ("a", 2), ("b", 1), ("c", 1)]
    finally:
        second.close()
