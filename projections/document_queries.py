"""Queries on documents, ingest jobs and chunks; and what the reconciler and purger ask."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from projections.keyset import newest_first
from projections.store import Cursor, ReadStore

_DOCUMENT_COLUMNS = (
    "id, project_id, title, filename, media_type, kind, language, size_bytes, sha256,"
    " latest_version, indexed_version, ingest_status, current_job_id, error, duplicate_of,"
    " uploaded_by, created_at, updated_at"
)
_JOB_COLUMNS = (
    "id, document_id, project_id, document_version, reason, status, attempts, failed_stage,"
    " error, extractor, tokenizer, characters, chunk_count, embedding_model, truncated,"
    " requested_at, extract_started_at, extracted_at, chunk_started_at, chunked_at,"
    " embed_started_at, embedded_at, finished_at, updated_at"
)
OPEN_STATUSES = ("queued", "extracted", "chunked", "embedded")


def get_document(store: ReadStore, document_id: str) -> dict[str, Any] | None:
    with store.reading() as cur:
        cur.execute(f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE id = ?", (document_id,))
        row = cur.fetchone()
        if row is None:
            return None
        cur.execute(
            "SELECT number, filename, media_type, kind, size_bytes, sha256, storage_key,"
            " uploaded_by, uploaded_at FROM document_versions WHERE document_id = ?"
            " ORDER BY number",
            (document_id,),
        )
        row["versions"] = cur.fetchall()
        row["tags"] = document_tags(cur, [document_id]).get(document_id, [])
    return row


def list_documents(
    store: ReadStore, project_id: str, *, after: tuple[str, str] | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first, keyset-paginated on (created_at, id)."""
    sql = f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE project_id = ?"
    params: list[Any] = [project_id]
    sql, params = newest_first(sql, params, "created_at", after, limit)
    with store.reading() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
        tags = document_tags(cur, [row["id"] for row in rows])
    for row in rows:
        row["tags"] = tags.get(row["id"], [])
    return rows


def document_tags(cur: Cursor, document_ids: list[str]) -> dict[str, list[str]]:
    """Each document's tags, sorted."""
    if not document_ids:
        return {}
    marks = ", ".join("?" for _ in document_ids)
    cur.execute(
        f"SELECT document_id, tag FROM document_tags WHERE document_id IN ({marks}) ORDER BY tag",
        document_ids,
    )
    tags: dict[str, list[str]] = {}
    for row in cur.fetchall():
        tags.setdefault(row["document_id"], []).append(row["tag"])
    return tags


def get_job(store: ReadStore, job_id: str) -> dict[str, Any] | None:
    with store.reading() as cur:
        cur.execute(f"SELECT {_JOB_COLUMNS} FROM ingest_jobs WHERE id = ?", (job_id,))
        return cur.fetchone()


def list_jobs(
    store: ReadStore,
    *,
    project_ids: list[str] | None,
    status: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Newest first; ``project_ids`` None means every project."""
    clauses: list[str] = []
    params: list[Any] = []
    if project_ids is not None:
        if not project_ids:
            return []
        clauses.append(f"project_id IN ({', '.join('?' for _ in project_ids)})")
        params.extend(project_ids)
    if status is not None:
        clauses.append("status = ?")
        params.append(status)
    if after is not None:
        clauses.append("(requested_at < ? OR (requested_at = ? AND id < ?))")
        params.extend([after[0], after[0], after[1]])
    sql = f"SELECT {_JOB_COLUMNS} FROM ingest_jobs"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY requested_at DESC, id DESC LIMIT ?"
    with store.reading() as cur:
        cur.execute(sql, (*params, limit))
        return cur.fetchall()


def list_chunks(
    store: ReadStore, document_id: str, *, version: int | None, after: int, limit: int
) -> list[dict[str, Any]]:
    """The indexed chunks (or a given version's), in position order after ``after``."""
    selector = "document_version = ?" if version is not None else "indexed = 1"
    params: list[Any] = [document_id, *([version] if version is not None else [])]
    with store.reading() as cur:
        cur.execute(
            "SELECT id, document_id, document_version, position, start_offset, end_offset,"
            " heading, token_count, text, indexed FROM chunks"
            f" WHERE document_id = ? AND {selector} AND position > ?"
            " ORDER BY position LIMIT ?",
            (*params, after, limit),
        )
        return cur.fetchall()


def _cutoff(stale_seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=stale_seconds)).isoformat()


def owed_jobs(store: ReadStore, stale_seconds: float) -> list[tuple[UUID, UUID, str]]:
    """(document id, job id, status) of open jobs untouched for ``stale_seconds``."""
    with store.reading() as cur:
        cur.execute(
            "SELECT document_id, id, status FROM ingest_jobs WHERE status IN (?, ?, ?, ?)"
            " AND updated_at <= ? ORDER BY updated_at LIMIT 10000",
            (*OPEN_STATUSES, _cutoff(stale_seconds)),
        )
        return [
            (UUID(row["document_id"]), UUID(row["id"]), str(row["status"]))
            for row in cur.fetchall()
        ]


def owed_purges(store: ReadStore, stale_seconds: float) -> list[UUID]:
    with store.reading() as cur:
        cur.execute(
            "SELECT document_id FROM storage_purges WHERE requested_at <= ?"
            " ORDER BY requested_at LIMIT 10000",
            (_cutoff(stale_seconds),),
        )
        return [UUID(row["document_id"]) for row in cur.fetchall()]


def storage_key_in_use(store: ReadStore, key: str, except_document: UUID) -> bool:
    """Whether a live document other than the given one has a version stored under key."""
    with store.reading() as cur:
        cur.execute(
            "SELECT 1 FROM document_versions WHERE storage_key = ? AND document_id <> ? LIMIT 1",
            (key, str(except_document)),
        )
        return cur.fetchone() is not None


def jobs_by_status(store: ReadStore) -> dict[str, int]:
    with store.reading() as cur:
        cur.execute("SELECT status, COUNT(*) AS n FROM ingest_jobs GROUP BY status")
        return {row["status"]: int(row["n"]) for row in cur.fetchall()}
