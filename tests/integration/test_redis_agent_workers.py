"""An agent run on `cortex worker --queues agents` processes over Redis and PostgreSQL: the worker
is killed (SIGKILL) while the run's second model turn is in flight, a new worker starts, and its
reconciler resumes the run from the events alone (once a live worker would have recorded
something), so the run completes with the first turn and its tool call kept, not redone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from cortex.application.access import Grant
from cortex.bootstrap import Cortex
from cortex.domain.agent import AgentSpec
from cortex.domain.agent_run import AgentRun
from cortex.domain.agent_run_events import AgentToolReturned
from cortex.domain.roles import ProjectRole, Role
from tests.integration.test_redis_workers import start_worker, stop, wait_for
from tests.support.llm_server import FakeLLMServer, Reply
from tests.support.model_workers import api_side, model_worker_env

REDIS_DB = 11  # flushed by these tests; nothing else uses it
LLM_TIMEOUT = 2  # a live worker records something within 2 x 2 s: the reconciler's wait


@pytest.fixture
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(model="agent-model") as server:
        yield server


@pytest.fixture
def worker_env(postgres_url: str, tmp_path: Path, llm: FakeLLMServer) -> Iterator[dict[str, str]]:
    with model_worker_env(
        postgres_url, tmp_path / "var", llm, redis_db=REDIS_DB, llm_timeout=LLM_TIMEOUT
    ) as env:
        yield env


@pytest.fixture
def api(worker_env: dict[str, str]) -> Iterator[Cortex]:
    """The API's side: records commands, sends to Redis, follows the log; consumes nothing."""
    with api_side(worker_env) as cortex:
        yield cortex


def run_of(cortex: Cortex, run_id: UUID) -> AgentRun:
    return cortex.log.load(run_id, AgentRun)


def test_a_run_whose_worker_is_killed_mid_turn_is_resumed_and_completes(
    api: Cortex, worker_env: dict[str, str], llm: FakeLLMServer
) -> None:
    cortex = api
    project, at = uuid4(), datetime.now(UTC)
    cortex.projects.create_project(project_id=project, name="Ops", description="", at=at)
    spec = AgentSpec("Idea keeper", "auto", "", ("capture_idea",), 5, 10_000, 600)
    agent = cortex.agents.define_agent(
        agent_id=uuid4(), project_id=project, spec=spec, defined_by=None, at=at
    ).id
    title = "Written down once"
    llm.enqueue(
        Reply(tool_calls=[{"name": "capture_idea", "arguments": {"title": title}}]),
        Reply(text="never delivered", delay=60),
    )
    doomed = start_worker(worker_env, "cortex.cli", "worker", "--queues", "agents")
    try:
        run_id = uuid4()
        cortex.agents.start_run(
            agent,
            input="Keep this idea.",
            started_by=None,
            grant=Grant(frozenset({Role.ADMIN}), ProjectRole.OWNER),
            run_id=run_id,
            at=datetime.now(UTC),
        )
        wait_for(lambda: len(llm.chat_requests) == 2, 60, "the second turn's model request")
        assert run_of(cortex, run_id).steps == 1
    finally:
        doomed.kill()  # SIGKILL: the request stays in flight, nothing is recorded after it
        doomed.wait()
    killed_at = time.monotonic()

    llm.enqueue(Reply(text="Kept."))
    rescuer = start_worker(worker_env, "cortex.cli", "worker", "--queues", "agents")
    try:
        wait_for(lambda: not run_of(cortex, run_id).open, 60, "the run to end")
        # Before Redis would hand the dead worker's message back (30 s heartbeat timeout).
        assert time.monotonic() - killed_at < 30
    finally:
        stop(rescuer)
    run = run_of(cortex, run_id)
    assert run.status == "completed"
    assert [m["role"] for m in run.transcript()] == ["user", "assistant", "tool", "assistant"]
    assert run.transcript()[-1]["content"] == "Kept."
    assert len(llm.chat_requests) == 3
    returned = [e for e in cortex.log.events.get(run_id) if isinstance(e, AgentToolReturned)]
    assert len(returned) == 1  # the tool call of the first turn was not redone
