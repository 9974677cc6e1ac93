"""Queries on the workflow read models: definitions, runs with their steps, runs still open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from projections.keyset import newest_first
from projections.store import ReadStore

WORKFLOW_COLUMNS = (
    "id, project_id, name, version, definition, defined_by, defined_at, updated_by, updated_at"
)
RUN_COLUMNS = (
    "id, workflow_id, workflow_version, workflow_name, project_id, started_by, status, inputs,"
    " error, failed_step, cancelled_by, started_at, updated_at, finished_at"
)
STEP_COLUMNS = (
    "step_id, position, kind, depends_on, status, attempts, output, error, message, decided_by,"
    " comment, started_at, finished_at"
)


def _decoded(row: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {
        **row,
        **{f: msgspec.json.decode(row[f]) if row[f] is not None else None for f in fields},
    }


def get_workflow(store: ReadStore, workflow_id: str) -> dict[str, Any] | None:
    with store.reading() as cur:
        cur.execute(f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = ?", (workflow_id,))
        row = cur.fetchone()
    return None if row is None else _decoded(row, "definition")


def list_workflows(
    store: ReadStore, project_id: str, *, after: tuple[str, str] | None, limit: int
) -> list[dict[str, Any]]:
    """Oldest first, keyset-paginated on (defined_at, id)."""
    sql = f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE project_id = ?"
    params: list[Any] = [project_id]
    if after is not None:
        sql += " AND (defined_at > ? OR (defined_at = ? AND id > ?))"
        params.extend([after[0], after[0], after[1]])
    sql += " ORDER BY defined_at, id LIMIT ?"
    with store.reading() as cur:
        cur.execute(sql, (*params, limit))
        return [_decoded(row, "definition") for row in cur.fetchall()]


def get_run(store: ReadStore, run_id: str) -> dict[str, Any] | None:
    """The run with its steps in definition order."""
    with store.reading() as cur:
        cur.execute(f"SELECT {RUN_COLUMNS} FROM workflow_runs WHERE id = ?", (run_id,))
        row = cur.fetchone()
        if row is None:
            return None
        cur.execute(
            f"SELECT {STEP_COLUMNS} FROM workflow_run_steps WHERE run_id = ? ORDER BY position",
            (run_id,),
        )
        steps = [_decoded(step, "depends_on", "output") for step in cur.fetchall()]
    return {**_decoded(row, "inputs"), "steps": steps}


def list_runs(
    store: ReadStore,
    project_id: str,
    *,
    workflow_id: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Newest first, keyset-paginated on (started_at, id)."""
    sql = f"SELECT {RUN_COLUMNS} FROM workflow_runs WHERE project_id = ?"
    params: list[Any] = [project_id]
    if workflow_id is not None:
        sql += " AND workflow_id = ?"
        params.append(workflow_id)
    sql, params = newest_first(sql, params, "started_at", after, limit)
    with store.reading() as cur:
        cur.execute(sql, params)
        return [_decoded(row, "inputs") for row in cur.fetchall()]


def running_runs(store: ReadStore, stale_seconds: float) -> list[UUID]:
    """Runs still open with nothing recorded for ``stale_seconds`` (what a resume looks at)."""
    cutoff = (datetime.now(UTC) - timedelta(seconds=stale_seconds)).isoformat()
    with store.reading() as cur:
        cur.execute(
            "SELECT id FROM workflow_runs WHERE status = 'running' AND updated_at <= ?"
            " ORDER BY updated_at LIMIT 10000",
            (cutoff,),
        )
        return [UUID(row["id"]) for row in cur.fetchall()]
