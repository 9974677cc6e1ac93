"""Where benchmark data goes: SQLite files in a folder, or fresh PostgreSQL databases that are
dropped afterwards. Shared by the benchmark scripts."""

from __future__ import annotations

import secrets
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict


class Backend:
    name: str

    def fresh_url(self) -> str:
        raise NotImplementedError

    def cleanup(self) -> None:
        raise NotImplementedError


class SQLiteBackend(Backend):
    name = "SQLite"

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._count = 0

    def fresh_url(self) -> str:
        self._count += 1
        return f"sqlite:///{self._folder}/case{self._count}.sqlite3"

    def cleanup(self) -> None:
        """The files go with the temporary directory."""


class PostgresBackend(Backend):
    name = "PostgreSQL"

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.databases: list[str] = []

    def check(self) -> None:
        try:
            with psycopg.connect(self.admin_url, connect_timeout=3):
                pass
        except psycopg.Error as error:
            raise SystemExit(f"PostgreSQL at {self.admin_url} unreachable: {error}") from None

    def fresh_url(self) -> str:
        dbname = f"cortex_bench_{secrets.token_hex(6)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        self.databases.append(dbname)
        params = conninfo_to_dict(self.admin_url)
        password = f":{params['password']}" if params.get("password") else ""
        return "postgresql://{user}{password}@{host}:{port}/{dbname}".format(
            user=params.get("user", "postgres"),
            password=password,
            host=params.get("host", "127.0.0.1"),
            port=params.get("port", 5432),
            dbname=dbname,
        )

    def cleanup(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for dbname in self.databases:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(dbname)
                    )
                )
        self.databases.clear()
