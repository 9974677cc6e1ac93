"""Keyset pages over a read-model table: newest first on (a time column, id), after a cursor row."""

from __future__ import annotations

from typing import Any


def newest_first(
    sql: str, params: list[Any], column: str, after: tuple[str, str] | None, limit: int
) -> tuple[str, list[Any]]:
    """``sql`` (a SELECT with a WHERE clause) ordered newest first on ``(column, id)``, starting
    after the row ``after`` names, and the parameters to run it with."""
    if after is not None:
        sql += f" AND ({column} < ? OR ({column} = ? AND id < ?))"
        params = [*params, after[0], after[0], after[1]]
    return f"{sql} ORDER BY {column} DESC, id DESC LIMIT ?", [*params, limit]
