"""Helpers for the search and vector index tests: documents ingested through the real pipeline
(the actors' own functions, run in this thread), their indexed chunks, the points Qdrant holds,
and a fresh database per module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql
from qdrant_client import models

from cortex.bootstrap import Cortex, bootstrap
from cortex.ingest.staging import stage_bytes
from cortex.settings import Settings
from projections import document_queries
from tests.conftest import _userhost, catch_up, make_settings

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for a whole module (the `postgres_url` fixture is per test)."""
    dbname = f"cortex_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    try:
        yield f"postgresql://{_userhost(admin_url)}/{dbname}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )


@contextmanager
def settings_on(
    backend: str, request: pytest.FixtureRequest, folder: Path, **env: str
) -> Iterator[Settings]:
    """Settings on 'sqlite' or on a fresh PostgreSQL database, for module-scoped fixtures."""
    if backend == "sqlite":
        yield make_settings(folder, None, **env)
        return
    with fresh_database(request.getfixturevalue("postgres_admin_url")) as url:
        yield make_settings(folder, url, **env)


@contextmanager
def cortex_on(
    backend: str, request: pytest.FixtureRequest, folder: Path, **env: str
) -> Iterator[Cortex]:
    """Like the `cortex` fixture (projections driven by the test), for a module-scoped one."""
    with settings_on(backend, request, folder, **env) as settings:
        wired = bootstrap(settings, migrate_read_store=True)
        try:
            yield wired
        finally:
            wired.close()


def new_project(cortex: Cortex, name: str = "P") -> UUID:
    return cortex.projects.create_project(project_id=uuid4(), name=name, description="", at=NOW).id


def upload(
    cortex: Cortex, project_id: UUID, name: str, text: str, tags: tuple[str, ...] = ()
) -> tuple[UUID, UUID]:
    """Upload one file (its kind sniffed from the name); (document id, job id)."""
    staged = stage_bytes(name, text.encode(), cortex.store.staging_dir(), 1 << 24)
    (intake,) = cortex.intake.add_documents(
        project_id, [staged], force=True, uploaded_by=None, at=NOW, tags=tags
    )
    assert intake.uploaded.job_id is not None
    return intake.uploaded.document_id, intake.uploaded.job_id


def new_version(cortex: Cortex, document_id: UUID, name: str, text: str) -> UUID:
    """Upload another version of the document; returns its job id."""
    staged = stage_bytes(name, text.encode(), cortex.store.staging_dir(), 1 << 24)
    intake = cortex.intake.add_version(
        document_id, staged, uploaded_by=None, expected_version=None, at=NOW
    )
    assert intake.uploaded.job_id is not None
    return intake.uploaded.job_id


def run_job(cortex: Cortex, document_id: UUID, job_id: UUID) -> None:
    """Extract, chunk, then embed (which completes the job), as the two queues' workers would."""
    cortex.actors.ingest_document.fn(str(document_id), str(job_id))
    cortex.actors.embed_document.fn(str(document_id), str(job_id))


def ingest(
    cortex: Cortex, project_id: UUID, name: str, text: str, tags: tuple[str, ...] = ()
) -> UUID:
    """Upload one file and run its job here (extract, chunk, embed)."""
    document_id, job_id = upload(cortex, project_id, name, text, tags)
    run_job(cortex, document_id, job_id)
    return document_id


def job_status(cortex: Cortex, job_id: UUID) -> str:
    catch_up(cortex)
    job = document_queries.get_job(cortex.read_store, str(job_id))
    assert job is not None
    return str(job["status"])


def indexed_chunks(cortex: Cortex, document_id: UUID) -> list[dict[str, Any]]:
    return document_queries.list_chunks(
        cortex.read_store, str(document_id), version=None, after=-1, limit=10_000
    )


def indexed_chunk_ids(cortex: Cortex, document_id: UUID) -> set[str]:
    return {str(chunk["id"]) for chunk in indexed_chunks(cortex, document_id)}


def all_indexed_chunk_ids(cortex: Cortex) -> set[str]:
    with cortex.read_store.reading() as cur:
        cur.execute(
            "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id"
            " WHERE c.indexed = 1 AND c.document_version = d.indexed_version"
        )
        return {str(row["id"]) for row in cur.fetchall()}


def points(
    cortex: Cortex, collection: str | None = None, document_id: UUID | None = None
) -> dict[str, dict[str, Any]]:
    """Every point of a collection (the alias's by default): payload by point id."""
    found: dict[str, dict[str, Any]] = {}
    selector = (
        models.Filter(
            must=[
                models.FieldCondition(
                    key="document_id", match=models.MatchValue(value=str(document_id))
                )
            ]
        )
        if document_id
        else None
    )
    with cortex.vectors.client() as client:
        name = collection or cortex.vectors.active_collection()
        if name is None or not client.collection_exists(name):
            return {}
        offset = None
        while True:
            batch, offset = client.scroll(
                name, scroll_filter=selector, limit=256, offset=offset, with_payload=True
            )
            found.update({str(point.id): dict(point.payload or {}) for point in batch})
            if offset is None:
                return found


def point_ids_everywhere(cortex: Cortex) -> dict[str, set[str]]:
    """Point ids by collection, for every Cortex collection."""
    return {name: set(points(cortex, name)) for name in cortex.vectors.collections()}
