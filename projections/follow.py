"""Wake-ups for followers on PostgreSQL: LISTEN on the event store's NOTIFY channel."""

from __future__ import annotations

import psycopg
from psycopg import sql


class PostgresWakeup:
    """Waits for the NOTIFY the eventsourcing recorder sends with every append."""

    def __init__(self, conninfo: str, channel: str) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._closed = False

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        return self._conn

    def wait(self, timeout: float) -> None:
        """Return on a notification, or after ``timeout`` (polling covers lost notifications)."""
        if self._closed:
            return
        try:
            for _ in self._connection().notifies(timeout=max(timeout, 0.5), stop_after=1):
                pass
        except psycopg.Error:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
        finally:
            if self._closed and self._conn is not None:  # closed while we were waiting
                self._conn.close()

    def close(self) -> None:
        self._closed = True
        if self._conn is not None:
            self._conn.close()
