"""`cortex worker` and `cortex projections run` serve /metrics on a port of their own; with several
worker processes the parent serves the sum of its children's metrics (prometheus_client's
multiprocess mode), so a call answered by any child shows in the one scrape."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
import redis

from cortex.bootstrap import bootstrap
from cortex.settings import load_settings
from tests.support.llm_server import FakeLLMServer

REDIS_URL = os.environ.get("CORTEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
REDIS_DB = 12  # flushed by these tests; nothing else uses it
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int, wanted: str, timeout: float = 60) -> str:
    """The scrape once it contains ``wanted`` (the process needs a few seconds to start)."""
    deadline = time.monotonic() + timeout
    body = ""
    while time.monotonic() < deadline:
        try:
            body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        except httpx.HTTPError:
            body = ""
        if wanted in body:
            return body
        time.sleep(0.2)
    raise AssertionError(f"{wanted!r} not in the scrape of port {port} within {timeout}s:\n{body}")


def start(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "cortex.cli", *args]
    return subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def env(postgres_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    client = redis.Redis.from_url(f"{REDIS_URL}/{REDIS_DB}")
    client.flushdb()
    with FakeLLMServer(model="m") as llm:
        yield {
            "CORTEX_DATABASE_URL": postgres_url,
            "CORTEX_VAR_DIR": str(tmp_path / "var"),
            "CORTEX_REDIS_URL": f"{REDIS_URL}/{REDIS_DB}",
            "CORTEX_WORKERS_IN_PROCESS": "false",
            "CORTEX_LLM_BASE_URL": llm.base_url,
            "CORTEX_LLM_MODEL": "m",
            "CORTEX_ROUTER_EMBEDDINGS": "false",
            "CORTEX_LOG_LEVEL": "WARNING",
        }
    client.flushdb()
    client.close()


def test_a_worker_parent_serves_the_sum_of_its_childrens_metrics(
    env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    port = free_port()
    cortex = bootstrap(load_settings(env), migrate_read_store=True)
    worker = start(
        {**env, "PROMETHEUS_MULTIPROC_DIR": str(folder)},
        "worker",
        "--processes",
        "2",
        "--queues",
        "lanes",
        "--metrics-port",
        str(port),
    )
    try:
        scrape(port, "cortex_embedded_chunks_total")  # the children's counters, summed
        project = cortex.projects.create_project(
            project_id=uuid4(), name="P", description="", at=datetime.now(UTC)
        )
        cortex.model_calls.enqueue("Plan the week.", project_id=project.id)
        body = scrape(port, 'cortex_lane_calls_total{lane="ORCHESTRATOR",outcome="ok"} 1.0')
        assert "cortex_lane_latency_seconds_bucket" in body
        pids = {path.stem.rsplit("_", 1)[-1] for path in folder.glob("counter_*.db")}
        assert len(pids) >= 2, sorted(path.name for path in folder.iterdir())
    finally:
        stop(worker)
        cortex.close()


def test_the_projection_runner_serves_its_metrics(env: dict[str, str]) -> None:
    port = free_port()
    bootstrap(load_settings(env), migrate_read_store=True).close()
    runner = start(env, "projections", "run", "--metrics-port", str(port))
    try:
        body = scrape(port, "cortex_projection_lag_events")
        assert 'cortex_projection_lag_events{projection="ideas"}' in body
    finally:
        stop(runner)
