"""The ``projects`` read model: one row per project, and the queries that read it."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from cortex.domain.project import (
    ProjectArchived,
    ProjectCreated,
    ProjectDescriptionChanged,
    ProjectMemberAdded,
    ProjectMemberRemoved,
    ProjectRenamed,
)
from projections.base import SqlProjection
from projections.store import Cursor, ReadStore


class ProjectsProjection(SqlProjection):
    name = "projects"
    tables = ("projects", "project_members")

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
        self._update(cur, event, "name = ?, ", (event.name,))

    @handle.register
    def _described(self, event: ProjectDescriptionChanged, cur: Cursor) -> None:
        self._update(cur, event, "description = ?, ", (event.description,))

    @handle.register
    def _member_added(self, event: ProjectMemberAdded, cur: Cursor) -> None:
        self._update(cur, event)
        cur.execute(
            self.sql(
                "INSERT INTO {project_members} (project_id, user_id, role) VALUES (?, ?, ?)"
                " ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role"
            ),
            (str(event.originator_id), str(event.user_id), event.role),
        )

    @handle.register
    def _member_removed(self, event: ProjectMemberRemoved, cur: Cursor) -> None:
        self._update(cur, event)
        cur.execute(
            self.sql("DELETE FROM {project_members} WHERE project_id = ? AND user_id = ?"),
            (str(event.originator_id), str(event.user_id)),
        )

    @handle.register
    def _archived(self, event: ProjectArchived, cur: Cursor) -> None:
        self._update(cur, event, "archived = ?, ", (True,))

    def _update(
        self, cur: Cursor, event: Any, assignment: str = "", values: tuple[Any, ...] = ()
    ) -> None:
        """Set the assignment (``"col = ?, "``) and move the row's version and time."""
        cur.execute(
            self.sql(
                "UPDATE {projects} SET " + assignment + "version = ?, updated_at = ? WHERE id = ?"
            ),
            (
                *values,
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
    store: ReadStore,
    *,
    include_archived: bool,
    after: tuple[str, str] | None,
    limit: int,
    only: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Projects oldest first, keyset-paginated on (created_at, id); ``only`` these ids if given."""
    where: list[str] = []
    params: list[Any] = []
    if only is not None:
        if not only:
            return []
        where.append(f"id IN ({', '.join('?' for _ in only)})")
        params.extend(only)
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
