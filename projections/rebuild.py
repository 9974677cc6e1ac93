"""Rebuild a projector's tables from the log without stopping queries.

1. Create shadow tables (``<table>__rebuild``) with the live tables' own definitions.
2. Fill them from position 0 in batches, tracked as ``<name>__rebuild``, while the live projector
   and queries carry on.
3. Switch in one transaction: lock the live tables and position, apply what arrived meanwhile,
   drop the live tables, rename the shadows into their place and hand over the position.
Queries wait for the switch's locks for a moment and never see a half-built table.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from projections.base import SqlProjection
from projections.positions import delete_position, lock_position, set_position
from projections.runner import EventFeed, ProjectionRunner, apply_batch
from projections.store import Cursor, ReadStore

SHADOW_SUFFIX = "__rebuild"


def rebuild(
    projection_class: type[SqlProjection],
    *,
    feed: EventFeed,
    store: ReadStore,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
    build: Callable[[dict[str, str]], SqlProjection] | None = None,
) -> int:
    """Rebuild the projector's tables; return the number of events applied.

    ``build`` makes the projector on the shadow tables when it needs more than their names
    (the vectors projector needs the vector index).
    """
    shadows = {table: table + SHADOW_SUFFIX for table in projection_class.tables}
    shadow_position = projection_class.name + SHADOW_SUFFIX
    with store.transaction() as cur:
        for table, shadow in shadows.items():
            cur.execute(f"DROP TABLE IF EXISTS {shadow}")
            _clone_table(cur, table, shadow)
        lock_position(cur, shadow_position)
        set_position(cur, shadow_position, 0)

    shadow_runner = ProjectionRunner(
        build(shadows) if build else projection_class(shadows),
        feed=feed,
        store=store,
        batch_size=batch_size,
        position_name=shadow_position,
    )
    applied = shadow_runner.catch_up(progress)

    with store.transaction() as cur:
        # Same lock order as a live batch (position, then tables), so the two cannot deadlock.
        lock_position(cur, projection_class.name)
        if store.dialect == "postgresql":
            tables = ", ".join(projection_class.tables)
            cur.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
        while True:
            result = apply_batch(cur, shadow_runner.projection, shadow_position, feed, batch_size)
            applied += result.events
            if progress is not None and result.events:
                progress(result.events)
            if result.events < batch_size:
                break
        for table, shadow in shadows.items():
            _swap(cur, table, shadow)
        set_position(cur, projection_class.name, result.position)
        delete_position(cur, shadow_position)
    return applied


def _clone_table(cur: Cursor, table: str, shadow: str) -> None:
    """An empty copy of the live table's definition; indexes too on PostgreSQL."""
    if cur.dialect == "postgresql":
        cur.execute(f"CREATE TABLE {shadow} (LIKE {table} INCLUDING ALL)")
        return
    # SQLite: the table only; its secondary indexes are built after the swap (see _swap).
    cur.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    row = cur.fetchone()
    assert row is not None, f"no table {table}: run `cortex migrate` first"
    pattern = rf'^CREATE (VIRTUAL )?TABLE\s+(?:IF NOT EXISTS\s+)?"?{table}"?'
    cur.execute(re.sub(pattern, rf"CREATE \1TABLE {shadow}", row["sql"]))


def _swap(cur: Cursor, table: str, shadow: str) -> None:
    """Replace the live table by its shadow, keeping the index names the migrations gave."""
    if cur.dialect == "postgresql":
        live_names = {key: name for name, key in _pg_indexes(cur, table)}
        cur.execute(f"DROP TABLE {table}")
        cur.execute(f"ALTER TABLE {shadow} RENAME TO {table}")
        for name, key in _pg_indexes(cur, table):
            if key in live_names and live_names[key] != name:
                cur.execute(f"ALTER INDEX {name} RENAME TO {live_names[key]}")
        return
    cur.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table,),
    )
    index_statements = [row["sql"] for row in cur.fetchall()]
    cur.execute(f"DROP TABLE {table}")
    cur.execute(f"ALTER TABLE {shadow} RENAME TO {table}")
    for statement in index_statements:
        cur.execute(statement)


def _pg_indexes(cur: Cursor, table: str) -> list[tuple[str, str]]:
    """(name, definition without name and table) of each index on the table."""
    cur.execute(
        "SELECT indexname, indexdef FROM pg_indexes"
        " WHERE schemaname = current_schema() AND tablename = ?",
        (table,),
    )
    return [
        (
            row["indexname"],
            row["indexdef"].startswith("CREATE UNIQUE") * "unique "
            + row["indexdef"].partition(" USING ")[2],
        )
        for row in cur.fetchall()
    ]
