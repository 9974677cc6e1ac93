"""Queries on the agents read models: definitions, runs (keyset-paginated, newest first), a
run's transcript entries, and the open runs the reconciler sends again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from projections.keyset import newest_first
from projections.store import ReadStore

AGENT_COLUMNS = (
    "id, project_id, name, lane, system_prompt, tools, max_steps, max_tokens, timeout_seconds,"
    " version, defined_by, revised_by, created_at, updated_at"
)
RUN_COLUMNS = (
    "id, project_id, agent_id, agent_version, agent_name, lane, tools, max_steps, max_tokens,"
    " timeout_seconds, started_by, input, status, stop_reason, stop_detail, stopped_by,"
    " error_kind, error, answer, steps, tool_call_count, prompt_tokens, completion_tokens,"
    " started_at, updated_at, finished_at"
)
ENTRY_COLUMNS = (
    "seq, kind, role, content, tool_calls, tool_call_id, tool, arguments, result, error,"
    " model_call_id, prompt_tokens, completion_tokens, at"
)


def _tools(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "tools": [name for name in str(row["tools"]).split(",") if name]}


def get_agent(store: ReadStore, agent_id: str) -> dict[str, Any] | None:
    with store.reading() as cur:
        cur.execute(f"SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?", (agent_id,))
        row = cur.fetchone()
    return None if row is None else _tools(row)


def list_agents(
    store: ReadStore, project_id: str, *, after: tuple[str, str] | None, limit: int
) -> list[dict[str, Any]]:
    """A project's agents, oldest first, keyset-paginated on (created_at, id)."""
    sql = f"SELECT {AGENT_COLUMNS} FROM agents WHERE project_id = ?"
    params: list[Any] = [project_id]
    if after is not None:
        sql += " AND (created_at > ? OR (created_at = ? AND id > ?))"
        params.extend([after[0], after[0], after[1]])
    sql += " ORDER BY created_at, id LIMIT ?"
    with store.reading() as cur:
        cur.execute(sql, (*params, limit))
        return [_tools(row) for row in cur.fetchall()]


def get_run(store: ReadStore, run_id: str) -> dict[str, Any] | None:
    with store.reading() as cur:
        cur.execute(f"SELECT {RUN_COLUMNS} FROM agent_runs WHERE id = ?", (run_id,))
        row = cur.fetchone()
    return None if row is None else _tools(row)


def run_entries(store: ReadStore, run_id: str) -> list[dict[str, Any]]:
    """The run's transcript entries in the order they happened."""
    with store.reading() as cur:
        cur.execute(
            f"SELECT {ENTRY_COLUMNS} FROM agent_run_messages WHERE run_id = ? ORDER BY seq",
            (run_id,),
        )
        return cur.fetchall()


def list_runs(
    store: ReadStore,
    project_id: str,
    *,
    agent_id: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """A project's runs (of one agent, when given), newest first, keyset on (started_at, id)."""
    sql = f"SELECT {RUN_COLUMNS} FROM agent_runs WHERE project_id = ?"
    params: list[Any] = [project_id]
    if agent_id is not None:
        sql += " AND agent_id = ?"
        params.append(agent_id)
    sql, params = newest_first(sql, params, "started_at", after, limit)
    with store.reading() as cur:
        cur.execute(sql, params)
        return [_tools(row) for row in cur.fetchall()]


def open_runs(store: ReadStore, stale_seconds: float, busy_seconds: float = 0.0) -> list[UUID]:
    """Runs owed after a crash: queued ones untouched for ``stale_seconds``, running ones for
    ``busy_seconds`` too (the longest a live worker's step may record nothing: a model call)."""
    now = datetime.now(UTC)
    queued = (now - timedelta(seconds=stale_seconds)).isoformat()
    running = (now - timedelta(seconds=max(stale_seconds, busy_seconds))).isoformat()
    with store.reading() as cur:
        cur.execute(
            "SELECT id FROM agent_runs WHERE (status = 'queued' AND updated_at <= ?)"
            " OR (status = 'running' AND updated_at <= ?) ORDER BY updated_at LIMIT 10000",
            (queued, running),
        )
        return [UUID(row["id"]) for row in cur.fetchall()]
