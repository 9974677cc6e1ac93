"""Workflows benchmark: the orchestration overhead per step, in-process and with Redis workers.

Run:  .venv/bin/python benchmarks/bench_workflows.py [--steps N] [--runs R] [--no-redis]
      [--pg-admin-url URL] [--redis-url URL]

A workflow is a chain of N ``generate`` steps (default 10), each depending on the one before; R
runs of it (default 8) are started one after the other and awaited. The model server is
``tests/support/llm_server.py``'s ``FakeLLMServer`` in a subprocess, answering at once, so what
is measured is Cortex's own work. Routing is rules-only (``CORTEX_ROUTER_EMBEDDINGS=false``) in
every path, the baseline included.

The overhead of a step is read from the run's events alone: the time from one step's
``StepCompleted`` to the next step's ``StepStarted`` (their timestamps, taken by the same clock
in the process that ran the steps): commit the completion, send the next step's message, a
worker takes it, loads the run, records StepStarted. Also reported: the time a step takes from
its ``StepStarted`` to its ``StepCompleted`` (the model call through ``ModelCallService.generate``
plus rendering), and the baseline in the same run, a bare ``ModelCallService.generate`` call per
step on the same database. The ratio is (overhead + step) / baseline: what one step of a chain
costs against calling the model directly.

Modes:
1. in-process, SQLite: the in-memory broker (StubBroker) and an in-process Dramatiq worker;
2. Redis workers, PostgreSQL (unless --no-redis): a fresh ``cortex_bench_<random>`` database, a
   flushed Redis database 10, and one ``cortex worker --queues workflows`` subprocess; this
   process only starts runs and reads the log.

Everything is removed at the end, also after an error or Ctrl-C. About a minute on a 2-core
machine at the defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import redis
import structlog
from backends import PostgresBackend
from measure import model_server, pct

from cortex.bootstrap import Cortex, bootstrap
from cortex.domain.workflow_run import StepCompleted, StepStarted, WorkflowRun
from cortex.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
LLM_MODEL = "bench-model"
PROMPT = "Summarise step {i} of the plan in one line."


def env_for(database_url: str, var_dir: Path, base_url: str, redis_url: str = "") -> dict[str, str]:
    env = {
        "CORTEX_DATABASE_URL": database_url,
        "CORTEX_VAR_DIR": str(var_dir),
        "CORTEX_LOG_LEVEL": "WARNING",
        "CORTEX_LLM_BASE_URL": base_url,
        "CORTEX_LLM_MODEL": LLM_MODEL,
        "CORTEX_ROUTER_EMBEDDINGS": "false",
        "CORTEX_WORKER_THREADS": "2",
    }
    if redis_url:
        env |= {"CORTEX_REDIS_URL": redis_url, "CORTEX_WORKERS_IN_PROCESS": "false"}
    return env


def chain(steps: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"s{i}",
            "kind": "generate",
            "lane": "ORCHESTRATOR",
            "prompt": PROMPT.format(i=i) + (f" After: {{{{ steps.s{i - 1}.text }}}}" if i else ""),
            "depends_on": [f"s{i - 1}"] if i else [],
        }
        for i in range(steps)
    ]


def new_project(cortex: Cortex) -> UUID:
    project = uuid4()
    now = datetime.now(UTC)
    cortex.projects.create_project(project_id=project, name="bench", description="", at=now)
    return project


def baseline(cortex: Cortex, project: UUID, calls: int) -> list[float]:
    """Seconds per bare ModelCallService.generate call (after a warm-up)."""
    for i in range(5):
        cortex.model_calls.generate(PROMPT.format(i=i), project_id=project)
    took = []
    for i in range(calls):
        started = time.perf_counter()
        cortex.model_calls.generate(PROMPT.format(i=i), project_id=project)
        took.append(time.perf_counter() - started)
    return took


def run_chains(cortex: Cortex, project: UUID, steps: int, runs: int) -> tuple[list[float], ...]:
    """(overheads, step times, run wall times) in seconds over ``runs`` runs (one warm-up)."""
    workflow = cortex.workflows.define_workflow(
        workflow_id=uuid4(),
        project_id=project,
        name="chain",
        inputs_schema=None,
        steps=chain(steps),
        defined_by=None,
        at=datetime.now(UTC),
    ).id
    gaps: list[float] = []
    steps_took: list[float] = []
    walls: list[float] = []
    for index in range(runs + 1):
        run_id = uuid4()
        started = time.perf_counter()
        cortex.workflows.start_run(
            workflow, inputs={}, started_by=None, at=datetime.now(UTC), run_id=run_id
        )
        deadline = time.monotonic() + 120
        while cortex.log.load(run_id, WorkflowRun).status == "running":
            if time.monotonic() > deadline:
                raise SystemExit(f"run {run_id} did not finish in 120 s")
            time.sleep(0.01)
        wall = time.perf_counter() - started
        run = cortex.log.load(run_id, WorkflowRun)
        if run.status != "completed":
            raise SystemExit(f"run {run_id} ended {run.status}")
        if index == 0:
            continue  # warm-up: connections, first messages
        walls.append(wall)
        events = list(cortex.log.events.get(run_id))
        begun = {e.step: e.timestamp for e in events if isinstance(e, StepStarted)}
        ended = {e.step: e.timestamp for e in events if isinstance(e, StepCompleted)}
        for i in range(steps):
            steps_took.append((ended[f"s{i}"] - begun[f"s{i}"]).total_seconds())
            if i:
                gaps.append((begun[f"s{i}"] - ended[f"s{i - 1}"]).total_seconds())
    return gaps, steps_took, walls


def report(title: str, gaps: list[float], took: list[float], base: list[float]) -> None:
    ms = 1000
    per_step = pct(gaps, 50) + pct(took, 50)
    print(f"\n== {title} ==")
    print(
        f"  overhead StepCompleted -> next StepStarted: p50 {pct(gaps, 50) * ms:7.2f} ms"
        f"   p95 {pct(gaps, 95) * ms:7.2f} ms   ({len(gaps)} gaps)"
    )
    print(
        f"  step StepStarted -> StepCompleted:          p50 {pct(took, 50) * ms:7.2f} ms"
        f"   p95 {pct(took, 95) * ms:7.2f} ms"
    )
    print(
        f"  baseline bare generate():                   p50 {pct(base, 50) * ms:7.2f} ms"
        f"   p95 {pct(base, 95) * ms:7.2f} ms   ({len(base)} calls)"
    )
    print(f"  ratio (overhead + step) / baseline, p50s:   {per_step / pct(base, 50):.2f}x")


@contextlib.contextmanager
def opened(env: dict[str, str]) -> Iterator[Cortex]:
    cortex = bootstrap(load_settings(env), migrate_read_store=True)
    try:
        yield cortex
    finally:
        cortex.close()


def in_process(base_url: str, temp: Path, steps: int, runs: int) -> None:
    env = env_for(f"sqlite:///{temp}/bench.sqlite3", temp / "var-sqlite", base_url)
    with opened(env) as cortex:
        cortex.start_workers({"workflows"})
        project = new_project(cortex)
        base = baseline(cortex, project, steps * runs)
        gaps, took, walls = run_chains(cortex, project, steps, runs)
    report(f"in-process (StubBroker, 2 worker threads), SQLite, chain of {steps}", gaps, took, base)
    print(f"  run wall time p50 {pct(walls, 50) * 1000:.1f} ms for {steps} steps")


def with_redis(
    base_url: str, temp: Path, steps: int, runs: int, admin_url: str, redis_url: str
) -> None:
    postgres = PostgresBackend(admin_url)
    postgres.check()
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        env = env_for(postgres.fresh_url(), temp / "var-pg", base_url, redis_url)
        with opened(env) as cortex:
            worker = subprocess.Popen(
                [sys.executable, "-m", "cortex.cli", "worker", "--queues", "workflows"],
                env={**os.environ, **env},
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
            )
            try:
                project = new_project(cortex)
                base = baseline(cortex, project, steps * runs)
                gaps, took, walls = run_chains(cortex, project, steps, runs)
            finally:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
        title = (
            f"Redis workers (1 `cortex worker` process, 2 threads), PostgreSQL, chain of {steps}"
        )
        report(title, gaps, took, base)
        print(f"  run wall time p50 {pct(walls, 50) * 1000:.1f} ms for {steps} steps")
        print("  (the baseline runs in this process; the steps' generate runs in the worker)")
    finally:
        client.flushdb()
        client.close()
        postgres.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="steps in the chain (default 10)")
    parser.add_argument("--runs", type=int, default=8, help="runs per mode (default 8)")
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis workers mode")
    parser.add_argument("--pg-admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    args = parser.parse_args(argv)
    if args.steps < 2 or args.runs < 1:
        parser.error("--steps must be at least 2 and --runs at least 1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    temp = Path(tempfile.mkdtemp(prefix="cortex_bench_workflows_"))
    started = time.perf_counter()
    try:
        with model_server(LLM_MODEL) as base_url:
            in_process(base_url, temp, args.steps, args.runs)
            if not args.no_redis:
                with_redis(base_url, temp, args.steps, args.runs, args.pg_admin_url, args.redis_url)
    finally:
        import shutil

        shutil.rmtree(temp, ignore_errors=True)
    print(f"\ntook {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
