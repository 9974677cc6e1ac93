"""Projector positions in ``projection_positions``, locked and moved in the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from projections.store import Cursor, ReadStore


def lock_position(cur: Cursor, name: str) -> int:
    """The projector's position, locked until the transaction ends (created at 0 when new)."""
    cur.execute(
        "INSERT INTO projection_positions (name, position, updated_at) VALUES (?, 0, ?) "
        "ON CONFLICT (name) DO NOTHING",
        (name, _now()),
    )
    lock = " FOR UPDATE" if cur.dialect == "postgresql" else ""
    cur.execute(f"SELECT position FROM projection_positions WHERE name = ?{lock}", (name,))
    row = cur.fetchone()
    assert row is not None
    return int(row["position"])


def set_position(cur: Cursor, name: str, position: int) -> None:
    cur.execute(
        "UPDATE projection_positions SET position = ?, updated_at = ? WHERE name = ?",
        (position, _now(), name),
    )


def delete_position(cur: Cursor, name: str) -> None:
    cur.execute("DELETE FROM projection_positions WHERE name = ?", (name,))


def read_position(store: ReadStore, name: str) -> int:
    """The projector's committed position (0 when it has not started)."""
    with store.reading() as cur:
        cur.execute("SELECT position FROM projection_positions WHERE name = ?", (name,))
        row = cur.fetchone()
    return 0 if row is None else int(row["position"])


def _now() -> str:
    return datetime.now(UTC).isoformat()
