"""A workflow run on `cortex worker --queues workflows` processes over Redis and PostgreSQL: the
worker is killed (SIGKILL) while a step's model request is in flight, a new worker starts, and
its reconciler resumes the run from the events alone (the step's timeout has passed: a second
attempt), so the run completes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from cortex.bootstrap import Cortex
from cortex.domain.workflow_run import StepCompleted, StepStarted, WorkflowRun
from tests.integration.test_redis_workers import start_worker, stop, wait_for
from tests.support.llm_server import FakeLLMServer, Reply
from tests.support.model_workers import api_side, model_worker_env

REDIS_DB = 14  # flushed by these tests; nothing else uses it


@pytest.fixture
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(model="flow-model") as server:
        yield server


@pytest.fixture
def worker_env(postgres_url: str, tmp_path: Path, llm: FakeLLMServer) -> Iterator[dict[str, str]]:
    with model_worker_env(
        postgres_url, tmp_path / "var", llm, redis_db=REDIS_DB, llm_timeout=60
    ) as env:
        yield env


@pytest.fixture
def api(worker_env: dict[str, str]) -> Iterator[Cortex]:
    """The API's side: records commands, sends to Redis, follows the log; consumes nothing."""
    with api_side(worker_env) as cortex:
        yield cortex


def run_of(cortex: Cortex, run_id: UUID) -> WorkflowRun:
    return cortex.log.load(run_id, WorkflowRun)


def test_a_run_whose_worker_is_killed_mid_step_is_resumed_and_completes(
    api: Cortex, worker_env: dict[str, str], llm: FakeLLMServer
) -> None:
    cortex = api
    project = uuid4()
    at = datetime.now(UTC)
    cortex.projects.create_project(project_id=project, name="Ops", description="", at=at)
    workflow = cortex.workflows.define_workflow(
        workflow_id=uuid4(),
        project_id=project,
        name="Slow then quick",
        inputs_schema=None,
        steps=[
            {"id": "slow", "kind": "generate", "prompt": "Plan it.", "timeout_seconds": 2},
            {"id": "after", "kind": "transform", "depends_on": ["slow"], "template": "done"},
        ],
        defined_by=None,
        at=at,
    ).id
    llm.enqueue(Reply(text="never delivered", delay=60))
    doomed = start_worker(worker_env, "cortex.cli", "worker", "--queues", "workflows")
    try:
        run_id = uuid4()
        cortex.workflows.start_run(
            workflow, inputs={}, started_by=None, at=datetime.now(UTC), run_id=run_id
        )
        wait_for(lambda: len(llm.chat_requests) == 1, 60, "the step's model request")
        assert run_of(cortex, run_id).steps["slow"].status == "running"
    finally:
        doomed.kill()  # SIGKILL: the request stays in flight, nothing is recorded after it
        doomed.wait()
    killed_at = time.monotonic()

    rescuer = start_worker(worker_env, "cortex.cli", "worker", "--queues", "workflows")
    try:
        wait_for(lambda: run_of(cortex, run_id).status != "running", 60, "the run to end")
        # Before Redis would hand the dead worker's message back (30 s heartbeat timeout).
        assert time.monotonic() - killed_at < 30
    finally:
        stop(rescuer)
    run = run_of(cortex, run_id)
    assert run.status == "completed"
    assert run.outputs()["slow"]["text"] == "echo: Plan it."
    assert run.outputs()["after"] == {"text": "done"}
    events: list[Any] = list(cortex.log.events.get(run_id))
    assert [e.attempt for e in events if isinstance(e, StepStarted) and e.step == "slow"] == [1, 2]
    assert sum(isinstance(e, StepCompleted) and e.step == "slow" for e in events) == 1
    assert len(llm.chat_requests) == 2
