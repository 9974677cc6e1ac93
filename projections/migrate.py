"""`cortex migrate`: apply the numbered SQL files in migrations/ once each, in order.

``NNNN_name.sql`` applies everywhere; ``NNNN_name.postgresql.sql`` or ``NNNN_name.sqlite.sql``
only on that dialect. Applied files are recorded in ``schema_migrations`` with a checksum; a
recorded file whose content changed is an error, never silently re-applied.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

from projections.store import ReadStore

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+(?:\.(sqlite|postgresql))?\.sql$")


class MigrationError(RuntimeError):
    """A migration file is malformed or was changed after it was applied."""


def pending_files(dialect: str, directory: Path = MIGRATIONS_DIR) -> list[Path]:
    """The migration files that apply to a dialect, in order."""
    files = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: expected NNNN_name[.dialect].sql")
        if match.group(2) in (None, dialect):
            files.append(path)
    return files


def _statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def migrate(store: ReadStore, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply what has not been applied; return the names applied now."""
    applied_now: list[str] = []
    with store.transaction() as cur:
        if store.dialect == "postgresql":
            # One migrator at a time across processes; released at commit.
            cur.execute("SELECT pg_advisory_xact_lock(7261001)")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        cur.execute("SELECT name, checksum FROM schema_migrations")
        done = {row["name"]: row["checksum"] for row in cur.fetchall()}
        for path in pending_files(store.dialect, directory):
            sql = path.read_text()
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if path.name in done:
                if done[path.name] != checksum:
                    raise MigrationError(f"{path.name} changed after it was applied")
                continue
            for statement in _statements(sql):
                cur.execute(statement)
            cur.execute(
                "INSERT INTO schema_migrations (name, checksum, applied_at) VALUES (?, ?, ?)",
                (path.name, checksum, datetime.now(UTC).isoformat()),
            )
            applied_now.append(path.name)
    return applied_now
