"""Ingest on `cortex worker` processes over a real Redis broker and PostgreSQL, including a
worker killed (SIGKILL) in the middle of a job: the job still completes exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import redis
from litestar.testing import TestClient

from cortex.api.app import create_app
from cortex.bootstrap import Cortex, bootstrap
from cortex.domain.document import DocumentChunked, TextExtracted
from cortex.settings import load_settings
from projections import document_queries

REDIS_URL = os.environ.get("CORTEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
REDIS_DB = 13  # flushed by these tests; nothing else uses it
ROOT = Path(__file__).resolve().parents[2]
TEXT = ("# Runbook\n\n" + "Restart the service when it hangs. " * 200).encode()


@pytest.fixture
def worker_env(postgres_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    client = redis.Redis.from_url(f"{REDIS_URL}/{REDIS_DB}")
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis at {REDIS_URL} unreachable: {error}")
    client.flushdb()
    env = {
        "CORTEX_DATABASE_URL": postgres_url,
        "CORTEX_VAR_DIR": str(tmp_path / "var"),
        "CORTEX_REDIS_URL": f"{REDIS_URL}/{REDIS_DB}",
        "CORTEX_WORKERS_IN_PROCESS": "false",
        "CORTEX_INGEST_RECONCILE_SECONDS": "1",
        "CORTEX_LOG_JSON": "true",
    }
    yield env
    client.flushdb()
    client.close()


@pytest.fixture
def api(worker_env: dict[str, str]) -> Iterator[tuple[Cortex, TestClient[Any]]]:
    """The API process: records commands and sends messages to Redis, consumes nothing."""
    cortex = bootstrap(load_settings(worker_env), migrate_read_store=True)
    cortex.start_projections()
    cortex.start_workers()  # the embed queue: Qdrant's local mode belongs to this process
    try:
        with TestClient(create_app(cortex=cortex)) as client:
            yield cortex, client
    finally:
        cortex.close()


def start_worker(env: dict[str, str], *module: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", *(module or ("cortex.cli", "worker"))]
    return subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def job_status(cortex: Cortex, job_id: str) -> str | None:
    row = document_queries.get_job(cortex.read_store, job_id)
    return None if row is None else str(row["status"])


def upload(client: TestClient[Any], name: str, data: bytes) -> tuple[str, str]:
    project = client.post("/api/projects", json={"name": "Ops"}).json()["id"]
    response = client.post(f"/api/projects/{project}/documents", files={"file": (name, data)})
    assert response.status_code == 201, response.text
    (document,) = response.json()["documents"]
    return document["document_id"], document["job_id"]


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_worker_process_ingests_uploads_sent_through_redis(
    api: tuple[Cortex, TestClient[Any]], worker_env: dict[str, str]
) -> None:
    cortex, client = api
    jobs = [upload(client, f"note{i}.md", TEXT + str(i).encode())[1] for i in range(3)]
    worker = start_worker(worker_env)
    try:
        wait_for(
            lambda: all(job_status(cortex, job) == "completed" for job in jobs),
            60,
            "the worker to complete every job",
        )
    finally:
        stop(worker)
    assert worker.returncode == 0


def test_a_job_whose_worker_is_killed_midway_completes_exactly_once(
    api: tuple[Cortex, TestClient[Any]], worker_env: dict[str, str], tmp_path: Path
) -> None:
    cortex, client = api
    marker = tmp_path / "chunking-started"
    document_id, job_id = upload(client, "runbook.md", TEXT)
    doomed = start_worker(
        {**worker_env, "SLOW_WORKER_MARKER": str(marker)}, "tests.support.slow_worker"
    )
    try:
        wait_for(marker.exists, 60, "the first worker to reach chunking")
        assert job_status(cortex, job_id) in ("queued", "extracted")
    finally:
        doomed.kill()  # SIGKILL: no clean-up, the message stays unacknowledged in Redis
        doomed.wait()
    wait_for(lambda: job_status(cortex, job_id) == "extracted", 10, "the extraction to show")

    rescuer = start_worker(worker_env)
    try:
        wait_for(lambda: job_status(cortex, job_id) == "completed", 60, "the job to complete")
        time.sleep(2)  # let any re-sent duplicate message arrive and be ignored
    finally:
        stop(rescuer)

    events = list(cortex.log.repository.event_store.get(UUID(document_id)))
    assert sum(isinstance(event, TextExtracted) for event in events) == 1
    chunked = [event for event in events if isinstance(event, DocumentChunked)]
    assert len(chunked) == 1
    wait_for(lambda: cortex.runners["chunks"].position() >= cortex.log.head(), 10, "chunks")
    rows = document_queries.list_chunks(
        cortex.read_store, document_id, version=None, after=-1, limit=10_000
    )
    assert [row["position"] for row in rows] == list(range(len(chunked[0].chunks)))
