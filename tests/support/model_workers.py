"""What the tests of `cortex worker` processes driving model calls over Redis share: their
environment (a flushed Redis database, the fake model server, a 1 s reconcile period) and the
API's side of the test (records commands, sends to Redis, follows the log; consumes nothing)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from cortex.bootstrap import Cortex, bootstrap
from cortex.settings import load_settings
from tests.support.llm_server import FakeLLMServer

REDIS_URL = os.environ.get("CORTEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]


@contextmanager
def model_worker_env(
    postgres_url: str, var_dir: Path, llm: FakeLLMServer, *, redis_db: int, llm_timeout: float
) -> Iterator[dict[str, str]]:
    """The workers' CORTEX_* settings; Redis database ``redis_db`` is flushed before and after."""
    client = redis.Redis.from_url(f"{REDIS_URL}/{redis_db}")
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis at {REDIS_URL} unreachable: {error}")
    client.flushdb()
    try:
        yield {
            "CORTEX_DATABASE_URL": postgres_url,
            "CORTEX_VAR_DIR": str(var_dir),
            "CORTEX_REDIS_URL": f"{REDIS_URL}/{redis_db}",
            "CORTEX_WORKERS_IN_PROCESS": "false",
            "CORTEX_INGEST_RECONCILE_SECONDS": "1",
            "CORTEX_LLM_BASE_URL": llm.base_url,
            "CORTEX_LLM_MODEL": llm.model,
            "CORTEX_LLM_RETRIES": "0",
            "CORTEX_LLM_TIMEOUT": str(llm_timeout),
            "CORTEX_ROUTER_EMBEDDINGS": "false",
            "CORTEX_LOG_JSON": "true",
        }
    finally:
        client.flushdb()
        client.close()


@contextmanager
def api_side(env: dict[str, str]) -> Iterator[Cortex]:
    cortex = bootstrap(load_settings(env), migrate_read_store=True)
    cortex.start_projections()
    try:
        yield cortex
    finally:
        cortex.close()
