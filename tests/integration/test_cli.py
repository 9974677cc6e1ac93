"""The `cortex` command against real databases."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from click.testing import CliRunner, Result

from cortex.bootstrap import bootstrap
from cortex.cli import main
from cortex.settings import get_settings, load_settings

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    values = {"CORTEX_VAR_DIR": str(tmp_path / "var"), "CORTEX_AUTO_MIGRATE": "false"}
    if request.param == "postgres":
        values["CORTEX_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    yield values
    get_settings.cache_clear()


def cortex_cli(env: dict[str, str], *args: str) -> Result:
    get_settings.cache_clear()
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def seed(env: dict[str, str]) -> tuple[str, str]:
    cortex = bootstrap(load_settings(env), migrate_read_store=False)
    try:
        project = cortex.projects.create_project(
            project_id=uuid4(), name="v1", description="", at=NOW
        )
        cortex.projects.update_project(
            project.id, name="v2", description=None, expected_version=None, at=NOW
        )
        idea = cortex.ideas.capture_idea(
            idea_id=uuid4(), project_id=project.id, title="An idea", body="", tags=[], at=NOW
        )
    finally:
        cortex.close()
    return str(project.id), str(idea.id)


def test_migrate_applies_each_file_once(env: dict[str, str]) -> None:
    first = cortex_cli(env, "migrate")
    assert first.exit_code == 0, first.output
    assert "applied 0001_projection_positions.sql" in first.output
    again = cortex_cli(env, "migrate")
    assert again.output.strip() == "nothing to apply"


def test_status_rebuild_replay_and_export(env: dict[str, str]) -> None:
    assert cortex_cli(env, "migrate").exit_code == 0
    project_id, _ = seed(env)

    status = cortex_cli(env, "projections", "status")
    assert "log head: 3" in status.output
    assert "ideas\tposition 0\tlag 3" in status.output

    rebuilt = cortex_cli(env, "projections", "rebuild", "projects")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "rebuilt projects from 3 events" in rebuilt.output
    assert "projects\tposition 3\tlag 0" in cortex_cli(env, "projections", "status").output

    replay = cortex_cli(env, "events", "replay", "--aggregate", project_id, "--until", "1")
    lines = [json.loads(line) for line in replay.output.splitlines()]
    assert [line.get("type") for line in lines[:-1]] == ["ProjectCreated"]
    assert lines[-1]["state"]["name"] == "v1"

    exported = cortex_cli(env, "events", "export", "--since", "1")
    records = [json.loads(line) for line in exported.output.splitlines()]
    assert [r["position"] for r in records] == [2, 3]
    assert [r["type"] for r in records] == ["ProjectRenamed", "IdeaCaptured"]


def test_unknown_projection_and_aggregate_are_clear_errors(env: dict[str, str]) -> None:
    assert cortex_cli(env, "migrate").exit_code == 0
    result = cortex_cli(env, "projections", "rebuild", "nope")
    assert result.exit_code != 0
    assert "unknown projection 'nope'" in result.output
    missing = cortex_cli(env, "events", "replay", "--aggregate", str(uuid4()))
    assert missing.exit_code != 0
    assert "not found" in missing.output


def test_missing_postgres_database_is_reported_at_once(
    postgres_admin_url: str, tmp_path: Path
) -> None:
    url = f"postgresql://postgres@127.0.0.1:5432/cortex_missing_{uuid4().hex[:8]}"
    env = {"CORTEX_VAR_DIR": str(tmp_path), "CORTEX_DATABASE_URL": url}
    started = time.monotonic()
    result = cortex_cli(env, "projections", "status")
    assert time.monotonic() - started < 5
    assert result.exit_code == 1
    assert "CORTEX_DATABASE_URL: database" in result.output
    assert "does not exist" in result.output
    get_settings.cache_clear()


def test_invalid_setting_names_the_variable(tmp_path: Path) -> None:
    result = cortex_cli({"CORTEX_VAR_DIR": str(tmp_path), "CORTEX_PORT": "eighty"}, "migrate")
    assert result.exit_code == 1
    assert "CORTEX_PORT:" in result.output
    get_settings.cache_clear()
