"""Property-based API test: schemathesis generates requests from the app's own OpenAPI document
(valid and invalid ones) and every answer must be something other than a server error.

Runs on SQLite and on PostgreSQL (one Cortex per backend for the whole module, projections
following; generation is derandomized, so a run is repeatable). Some path and body
ids are swapped for ids of seeded projects and ideas so that requests reach real objects, not only
404s. The one 5xx the API means to give, 503 "read model not caught up" for ?after= beyond the log,
is accepted only when the position asked for really is beyond the log.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar
from litestar.exceptions import LitestarDeprecationWarning
from psycopg import sql
from schemathesis.checks import not_a_server_error

from cortex.api.app import create_app
from cortex.bootstrap import Cortex, bootstrap
from tests.conftest import _userhost, make_settings
from tests.support.llm_server import FakeLLMServer

MAX_EXAMPLES = 50
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Seeded:
    """A Cortex with objects to aim at; archive and delete only ever hit their own pools."""

    cortex: Cortex
    app: Litestar
    projects: list[str]  # never archived by this test
    archivable: list[str]
    ideas: list[str]  # in the live projects; never deleted by this test (statuses may move)
    deletable: list[str]

    @staticmethod
    def pick(generated: Any, pool: list[str]) -> Any:
        """One from the pool for about three in four generated UUIDs; else the generated id.

        A function of the generated value only, so Hypothesis replays a failure exactly.
        """
        try:
            number = UUID(str(generated)).int
        except ValueError:
            return generated
        return generated if number % 4 == 3 else pool[number // 4 % len(pool)]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for SQLite files; else a fresh PostgreSQL database for the module, dropped after."""
    if request.param == "sqlite":
        yield None
        return
    admin_url = request.getfixturevalue("postgres_admin_url")  # skips when unreachable
    dbname = f"cortex_test_{uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    yield f"postgresql://{_userhost(admin_url)}/{dbname}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, database_url: str | None) -> Iterator[Seeded]:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    llm = FakeLLMServer(model="fuzz-model").start()  # /api/generate answers, as in production
    settings = make_settings(
        tmp,
        database_url,
        CORTEX_READ_WAIT_SECONDS="0.05",
        CORTEX_LOG_LEVEL="ERROR",
        CORTEX_LLM_BASE_URL=llm.base_url,
        CORTEX_LLM_MODEL="fuzz-model",
        CORTEX_ROUTER_EMBEDDINGS="false",
    )
    cortex = bootstrap(settings, migrate_read_store=True)

    def project(name: str) -> str:
        return str(
            cortex.projects.create_project(project_id=uuid4(), name=name, description="", at=NOW).id
        )

    def idea(project_id: str, i: int) -> str:
        result = cortex.ideas.capture_idea(
            idea_id=uuid4(),
            project_id=UUID(project_id),
            title=f"Idea {i}",
            body="some words",
            tags=["seed"],
            at=NOW,
        )
        return str(result.id)

    try:
        projects = [project("Alpha"), project("Beta")]
        archivable = [project(f"Old {i}") for i in range(4)]
        ideas = [idea(projects[i % 2], i) for i in range(8)]
        deletable = [idea(projects[i % 2], i) for i in range(8)]
        cortex.start_projections()
        yield Seeded(
            cortex=cortex,
            app=create_app(cortex=cortex),
            projects=projects,
            archivable=archivable,
            ideas=ideas,
            deletable=deletable,
        )
    finally:
        cortex.close()
        llm.stop()


def openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document, read without starting the app (no database is touched).

    Loaded at import so that schemathesis can make one test per operation at collection time.
    (schemathesis.pytest.from_fixture, the lazy loader, fails under pytest 9: it writes
    ``request.node._nodeid``, which pytest 9 no longer has.)
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LitestarDeprecationWarning)  # about the core's handlers
        app = create_app(settings=make_settings(Path("unused-openapi-only")))
    return app.openapi_schema.to_schema()


schema = schemathesis.openapi.from_dict(openapi_document())


def aim_at_seeded_objects(case: Any, seeded: Seeded) -> None:
    method, path = case.operation.method.upper(), case.operation.path
    for name, value in list((case.path_parameters or {}).items()):
        if name == "project_id":
            pool = seeded.archivable if path.endswith("/archive") else seeded.projects
        else:
            pool = seeded.deletable if method == "DELETE" else seeded.ideas
        case.path_parameters[name] = seeded.pick(value, pool)
    targets = {
        "project_id": seeded.projects,
        "target_id": seeded.ideas,
        "aggregate_id": seeded.projects + seeded.ideas,
    }
    for values in (case.query, case.body):
        if isinstance(values, dict):
            for name, pool in targets.items():
                if isinstance(values.get(name), str):
                    values[name] = seeded.pick(values[name], pool)


def waits_for_a_future_position(case: Any, response: Any, seeded: Seeded) -> bool:
    """A 503 the API means: ?after= names a position the log has not reached."""
    if response.status_code != 503 or "retry-after" not in response.headers:
        return False
    after = (case.query or {}).get("after")
    try:
        return int(after) > seeded.cortex.log.head()
    except (TypeError, ValueError):
        return False


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_never_answers_with_a_server_error(case: Any, seeded: Seeded) -> None:
    aim_at_seeded_objects(case, seeded)
    response = case.call(app=seeded.app)
    if waits_for_a_future_position(case, response, seeded):
        return
    case.validate_response(response, checks=[not_a_server_error])
