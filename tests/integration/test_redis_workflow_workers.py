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
import redis

from cortex.bootstrap import Cortex, bootstrap
from cortex.domain.workflow_run import StepCompleted, StepStarted, WorkflowRun
from cortex.settings import load_settings
from tests.integration.test_redis_workers import REDIS_URL, start_worker, stop, wait_for
from tests.support.llm_server import FakeLLMServer, Reply

REDIS_DB = 14  # flushed by these tests; nothing else uses it


@pytest.fixture
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(model="flow-model") as server:
        yield server


@pytest.fixture
def worker_env(postgres_url: str, tmp_path: Path, llm: FakeLLMServer) -> Iterator[dict[str, str]]:
    client = redis.Redis.from_url(f"{REDIS_URL}/{REDIS_DB}")
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis at {REDIS_URL} unreachable: {error}")
    client.flushdb()
    yield {
        "CORTEX_DATABASE_URL": postgres_url,
        "CORTEX_VAR_DIR": str(tmp_path / "var"),
        "CORTEX_REDIS_URL": f"{REDIS_URL}/{REDIS_DB}",
        "CORTEX_WORKERS_IN_PROCESS": "false",
        "CORTEX_INGEST_RECONCILE_SECONDS": "1",
        "CORTEX_LLM_BASE_URL": llm.base_url,
        "CORTEX_LLM_MODEL": "flow-model",
        "CORTEX_LLM_RETRIES": "0",
        "CORTEX_LLM_TIMEOUT": "60",
        "CORTEX_ROUTER_EMBEDDINGS": "false",
        "CORTEX_LOG_JSON": "true",
    }
    client.flushdb()
    client.close()


@pytest.fixture
def api(worker_env: dict[str, str]) -> Iterator[Cortex]:
    """The API's side: records commands, sends to Redis, follows the log; consumes nothing."""
    cortex = bootstrap(load_settings(worker_env), migrate_read_store=True)
    cortex.start_projections()
    try:
        yield cortex
    finally:
        cortex.close()


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
