"""The read store: SQL connections for read models on SQLite or PostgreSQL.

SQL in projectors is written once with ``?`` placeholders; the PostgreSQL cursor rewrites them.
Rows come back as dicts. Write transactions are exclusive on SQLite (BEGIN IMMEDIATE) and ordinary
READ COMMITTED transactions on PostgreSQL, where projectors lock their position row instead.
"""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[Any]


class Cursor(ABC):
    """A cursor that speaks ``?`` placeholders and returns dict rows."""

    dialect: Dialect

    @abstractmethod
    def execute(self, sql: str, params: Params = ()) -> None: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Params]) -> None: ...

    @abstractmethod
    def fetchone(self) -> dict[str, Any] | None: ...

    @abstractmethod
    def fetchall(self) -> list[dict[str, Any]]: ...

    @property
    @abstractmethod
    def rowcount(self) -> int: ...


class ReadStore(ABC):
    """Connections to the database that holds the read models."""

    dialect: Dialect

    @abstractmethod
    def transaction(self, *, pipeline: bool = False) -> AbstractContextManager[Cursor]:
        """A write transaction, committed when the block ends without an error."""

    @abstractmethod
    def reading(self) -> AbstractContextManager[Cursor]:
        """A cursor for queries."""

    @abstractmethod
    def close(self) -> None: ...


class _SQLiteCursor(Cursor):
    dialect: Dialect = "sqlite"

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Params = ()) -> None:
        self._cursor.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self._cursor.executemany(sql, rows)

    def fetchone(self) -> dict[str, Any] | None:
        row = self._cursor.fetchone()
        return None if row is None else dict(row)

    def fetchall(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self._cursor.fetchall()]

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount


class SQLiteReadStore(ReadStore):
    """Read models in a SQLite file (WAL mode, one connection per thread)."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, *, busy_timeout: float = 30.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def transaction(self, *, pipeline: bool = False) -> Iterator[Cursor]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield _SQLiteCursor(conn.cursor())
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        yield _SQLiteCursor(self._connection().cursor())

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()


@lru_cache(maxsize=1024)
def _pg_placeholders(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (and literal ``%`` escaped)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _PostgresCursor(Cursor):
    dialect: Dialect = "postgresql"

    def __init__(self, cursor: psycopg.Cursor[dict[str, Any]]) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Params = ()) -> None:
        if params:
            self._cursor.execute(_pg_placeholders(sql), tuple(params))
        else:
            self._cursor.execute(sql.encode())

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self._cursor.executemany(_pg_placeholders(sql), rows)

    def fetchone(self) -> dict[str, Any] | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[dict[str, Any]]:
        return self._cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount


class PostgresReadStore(ReadStore):
    """Read models in PostgreSQL, through a psycopg connection pool."""

    dialect: Dialect = "postgresql"

    def __init__(self, conninfo: str, *, pool_size: int = 5, connect_timeout: float = 3.0) -> None:
        self.pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=pool_size,
            # Autocommit: a query is one round trip (no BEGIN/COMMIT around it); write
            # transactions still open one explicitly with conn.transaction().
            kwargs={
                "connect_timeout": max(1, round(connect_timeout)),
                "row_factory": dict_row,
                "autocommit": True,
            },
            timeout=max(connect_timeout, 5.0),
            open=True,
            name="cortex-read",
        )

    @contextmanager
    def transaction(self, *, pipeline: bool = False) -> Iterator[Cursor]:
        with self.pool.connection() as conn:
            piped = conn.pipeline() if pipeline else nullcontext()
            with conn.transaction(), piped, conn.cursor() as cursor:
                yield _PostgresCursor(cursor)  # type: ignore[arg-type]

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        with self.pool.connection() as conn, conn.cursor() as cursor:
            yield _PostgresCursor(cursor)  # type: ignore[arg-type]

    def close(self) -> None:
        self.pool.close()


class AsyncPostgresReader:
    """Queries on the event loop without a worker thread (for the per-request auth check).

    Bound to the event loop that opens it; the app opens one lazily and closes it at shutdown.
    """

    def __init__(self, conninfo: str, *, pool_size: int = 5) -> None:
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=pool_size,
            kwargs={"row_factory": dict_row, "autocommit": True},
            open=False,
            name="cortex-read-async",
        )

    async def open(self) -> None:
        await self._pool.open()

    async def fetchone(self, sql: str, params: Params) -> dict[str, Any] | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_pg_placeholders(sql), tuple(params))
            row: dict[str, Any] | None = await cursor.fetchone()  # type: ignore[assignment]
            return row

    async def close(self) -> None:
        await self._pool.close()


def open_read_store(url: str, *, pool_size: int = 5, connect_timeout: float = 3.0) -> ReadStore:
    """A ReadStore for ``sqlite:///PATH`` or ``postgresql://...``."""
    if url.startswith("sqlite:///"):
        return SQLiteReadStore(Path(url.removeprefix("sqlite:///")))
    return PostgresReadStore(url, pool_size=pool_size, connect_timeout=connect_timeout)
