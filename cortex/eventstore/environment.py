"""Settings -> the environment eventsourcing reads, and a fast, one-line database check.

The library's PostgreSQL recorder needs POSTGRES_PASSWORD even under trust auth, and reports a
missing database only as a pool timeout half a minute later; ``check_database`` says what is wrong
at once instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from cortex.settings import Settings


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be used; the message is one line for the operator."""


def event_store_env(settings: Settings) -> dict[str, str]:
    """Environment for the eventsourcing Application (persistence module, transcoding, DB)."""
    env = {
        "MAPPER_TOPIC": "cortex.eventstore.codec:MsgspecMapper",
        "TRANSCODER_TOPIC": "cortex.eventstore.codec:MsgspecTranscoder",
        "IS_SNAPSHOTTING_ENABLED": "no",
    }
    url = settings.database.url
    if not settings.uses_postgres:
        return env | {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(sqlite_path(url)),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    params = conninfo_to_dict(url)
    return env | {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname", "postgres")),
        "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(params.get("port", "5432")),
        "POSTGRES_USER": str(params.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(params.get("password", "")),
        "POSTGRES_CONNECT_TIMEOUT": str(max(1, round(settings.database.connect_timeout))),
        "POSTGRES_POOL_SIZE": str(settings.database.pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.database.pool_size),
        "POSTGRES_LOCK_TIMEOUT": "10",
    }


def read_store_url(settings: Settings) -> str:
    """Where read models live: CORTEX_READ_DATABASE_URL, else beside the event store."""
    if settings.database.read_url:
        return settings.database.read_url
    if settings.uses_postgres:
        return settings.database.url
    path = sqlite_path(settings.database.url)
    return f"sqlite:///{path.with_name(path.stem + '-read' + path.suffix)}"


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def check_database(url: str, *, timeout: float, variable: str = "CORTEX_DATABASE_URL") -> None:
    """Raise DatabaseUnavailable with a one-line reason unless the database answers."""
    if url.startswith("sqlite:///"):
        folder = sqlite_path(url).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnavailable(
                f"{variable}: cannot create {folder}: {error.strerror}"
            ) from None
        return
    params = conninfo_to_dict(url)
    where = f"{params.get('host', 'localhost')}:{params.get('port', 5432)}"
    dbname = params.get("dbname", "postgres")
    try:
        with psycopg.connect(url, connect_timeout=max(1, round(timeout))) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        text = lines[0].rpartition("failed: ")[2] if lines else type(error).__name__
        if "does not exist" in text and "database" in text:
            reason = f"database {dbname!r} does not exist on PostgreSQL at {where}"
        else:
            reason = f"cannot reach PostgreSQL at {where}: {text}"
        raise DatabaseUnavailable(f"{variable}: {reason}") from None


@contextmanager
def schema_lock(settings: Settings) -> Iterator[None]:
    """Serialise schema creation across processes starting together (PostgreSQL).

    The library creates its tables with CREATE TABLE IF NOT EXISTS, which PostgreSQL does not
    make safe against a concurrent creation of the same table.
    """
    if not settings.uses_postgres:
        yield
        return
    with psycopg.connect(settings.database.url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(7261000)")
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(7261000)")
