"""Shared fixtures: a fresh SQLite folder or a fresh PostgreSQL database per test, and Cortex on it.

PostgreSQL tests create their own database (``cortex_test_<random>``) on the server named by
CORTEX_TEST_POSTGRES_URL and drop it afterwards. When the server cannot be reached they fail with
the reason: a skipped test would prove nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from cortex.bootstrap import Cortex, bootstrap
from cortex.settings import Settings, load_settings

ADMIN_URL = os.environ.get(
    "CORTEX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _postgres_reachable() -> str | None:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL at {ADMIN_URL} unreachable: {str(error).strip().splitlines()[0]}"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    problem = _postgres_reachable()
    if problem is not None:
        pytest.fail(f"{problem}; start it (see README) or set CORTEX_TEST_POSTGRES_URL")
    return ADMIN_URL


def _with_db(url: str, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=dbname)


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    dbname = f"cortex_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    url = f"postgresql://{_userhost(postgres_admin_url)}/{dbname}"
    yield url
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


def _userhost(url: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(url)
    user = params.get("user", "postgres")
    password = f":{params['password']}" if params.get("password") else ""
    return f"{user}{password}@{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}"


def make_settings(tmp_path: Path, database_url: str | None = None, **extra: str) -> Settings:
    env = {"CORTEX_VAR_DIR": str(tmp_path / "var"), "CORTEX_LOG_JSON": "true", **extra}
    if database_url:
        env["CORTEX_DATABASE_URL"] = database_url
    return load_settings(env)


@pytest.fixture(params=["sqlite", "postgres"])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for each backend in turn: SQLite files, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return make_settings(tmp_path)
    url = request.getfixturevalue("postgres_url")
    return make_settings(tmp_path, url)


@pytest.fixture
def cortex(backend_settings: Settings) -> Iterator[Cortex]:
    """Cortex on each backend, read store migrated, projections not following (tests drive them)."""
    wired = bootstrap(backend_settings, migrate_read_store=True)
    yield wired
    wired.close()


def catch_up(cortex: Cortex) -> None:
    for runner in cortex.runners.values():
        runner.catch_up()
