"""The ``projects`` read model: one row per project, and the queries that read it."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from cortex.domain.project import (
    ProjectArchived,
    ProjectCreated,
    ProjectDescriptionChanged,
    ProjectRenamed,
)
from projections.base import SqlProjection
from projections.store import Cursor, ReadStore


class ProjectsProjection(SqlProjection):
    name = "projects"
    tables = ("projects",)

    @singledispatchmethod
    def handle(self, event: Any, cur: Cursor) -> None:
        """Events that do not change projects."""

    @handle.register
    def _created(self, event: ProjectCreated, cur: Cursor) -> None:
        at = event.timestamp.isoformat()
        cur.execute(
            self.sql(
                "INSERT INTO {projects} (id, name, description, archived, version, created_at,"
                " updated_at) VALUES (?, ?, ?, FALSE, ?, ?, ?)"
            ),
            (
                str(event.originator_id),
                event.name,
                event.description,
                event.originator_version,
                at,
                at,
            ),
        )

    @handle.register
    def _renamed(self, event: ProjectRenamed, cur: Cursor) -> None:
        self._update(cur, event, "name = ?", event.name)

    @handle.register
    def _described(self, event: ProjectDescriptionChanged, cur: Cursor) -> None:
        self._update(cur, event, "description = ?", event.description)

    @handle.register
    def _archived(self, event: ProjectArchived, cur: Cursor) -> None:
        self._update(cur, event, "archived = ?", True)

    def _update(self, cur: Cursor, event: Any, assignment: str, value: Any) -> None:
        cur.execute(
            self.sql(
                "UPDATE {projects} SET " + assignment + ", version = ?, updated_at = ? WHERE id = ?"
            ),
            (
                value,
                event.originator_version,
                event.timestamp.isoformat(),
                str(event.originator_id),
            ),
        )


_COLUMNS = "id, name, description, archived, version, created_at, updated_at"


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "archived": bool(row["archived"])}


def get_project(store: ReadStore, project_id: str) -> dict[str, Any] | None:
    with store.reading() as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM projects WHERE id = ?", (project_id,))
        row = cur.fetchone()
    return None if row is None else _row(row)


def list_projects(
    store: ReadStore, *, include_archived: bool, after: tuple[str, str] | None, limit: int
) -> list[dict[str, Any]]:
    """Projects oldest first, keyset-paginated on (created_at, id)."""
    where: list[str] = []
    params: list[Any] = []
    if not include_archived:
        where.append("archived = ?")
        params.append(False)
    if after is not None:
        where.append("(created_at > ? OR (created_at = ? AND id > ?))")
        params.extend([after[0], after[0], after[1]])
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    with store.reading() as cur:
        cur.execute(
            f"SELECT {_COLUMNS} FROM projects{clause} ORDER BY created_at, id LIMIT ?",
            (*params, limit),
        )
        return [_row(row) for row in cur.fetchall()]
