"""Keyword search over the indexed chunks (FTS5 on SQLite, tsvector on PostgreSQL), and the
hydration of chunk hits with their text, offsets and document."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from projections.document_queries import document_tags
from projections.store import ReadStore

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_WORDS = 32
# Words that match nearly every chunk: PostgreSQL's english configuration drops them from a
# tsquery, SQLite's FTS5 does not, and OR-ing them in floods keyword results with noise.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "should",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)


@dataclass(frozen=True)
class ChunkFilter:
    project_ids: list[str] | None  # None: every project
    document_id: str | None = None
    kind: str | None = None
    tags: list[str] | None = None


def query_words(text: str) -> list[str]:
    """The query's words, lower-cased, each once, in order (what keyword search looks for)."""
    return list(dict.fromkeys(word.lower() for word in _WORD.findall(text)))[:MAX_QUERY_WORDS]


def content_words(text: str) -> list[str]:
    """The query's words that keyword search matches on: stop words left out (unless that
    leaves none)."""
    return [word for word in query_words(text) if word not in STOP_WORDS] or query_words(text)


def keyword_search(
    store: ReadStore, text: str, where: ChunkFilter, *, limit: int
) -> list[tuple[str, float]]:
    """(chunk id, relevance) best first; any of the query's words may match."""
    words = content_words(text)
    if not words or (where.project_ids is not None and not where.project_ids):
        return []
    clauses: list[str] = []
    params: list[Any] = []
    if where.project_ids is not None:
        clauses.append(f"s.project_id IN ({', '.join('?' for _ in where.project_ids)})")
        params.extend(where.project_ids)
    if where.document_id:
        clauses.append("s.document_id = ?")
        params.append(where.document_id)
    if where.kind:
        clauses.append("d.kind = ?")
        params.append(where.kind)
    if where.tags:  # any of them, as in the vector index
        clauses.append(
            "EXISTS (SELECT 1 FROM document_tags t WHERE t.document_id = s.document_id"
            f" AND t.tag IN ({', '.join('?' for _ in where.tags)}))"
        )
        params.extend(where.tags)
    extra = "".join(f" AND {clause}" for clause in clauses)
    if store.dialect == "postgresql":
        sql = (
            "SELECT s.chunk_id, ts_rank_cd(s.body_vector, q) AS score"
            " FROM chunk_search s JOIN documents d ON d.id = s.document_id,"
            " to_tsquery('english', ?) q"
            " WHERE s.body_vector @@ q" + extra + " ORDER BY score DESC LIMIT ?"
        )
        match = " | ".join(words)
    else:
        sql = (
            "SELECT s.chunk_id, -bm25(chunk_search) AS score"
            " FROM chunk_search s JOIN documents d ON d.id = s.document_id"
            " WHERE chunk_search MATCH ?" + extra + " ORDER BY score DESC LIMIT ?"
        )
        match = " OR ".join('"' + word.replace('"', "") + '"' for word in words)
    with store.reading() as cur:
        cur.execute(sql, (match, *params, limit))
        return [(str(row["chunk_id"]), float(row["score"])) for row in cur.fetchall()]


def words_matched(store: ReadStore, chunk_ids: list[str], words: list[str]) -> dict[str, int]:
    """How many of ``words`` each chunk matches, as keyword search matches them (stemmed)."""
    counts = dict.fromkeys(chunk_ids, 0)
    if not chunk_ids:
        return counts
    marks = ", ".join("?" for _ in chunk_ids)
    if store.dialect == "postgresql":
        sql = (
            f"SELECT chunk_id FROM chunk_search WHERE chunk_id IN ({marks})"
            " AND body_vector @@ plainto_tsquery('english', ?)"
        )
    else:
        sql = (
            "SELECT chunk_id FROM chunk_search"
            f" WHERE chunk_search MATCH ? AND chunk_id IN ({marks})"
        )
    with store.reading() as cur:
        for word in words:
            if store.dialect == "postgresql":
                cur.execute(sql, (*chunk_ids, word))
            else:
                cur.execute(sql, ('"' + word.replace('"', "") + '"', *chunk_ids))
            for row in cur.fetchall():
                counts[str(row["chunk_id"])] += 1
    return counts


def hydrate(store: ReadStore, chunk_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The chunks still indexed (their document's indexed version), with their documents."""
    if not chunk_ids:
        return {}
    marks = ", ".join("?" for _ in chunk_ids)
    with store.reading() as cur:
        cur.execute(
            "SELECT c.id, c.document_id, c.project_id, c.document_version, c.position,"
            " c.start_offset, c.end_offset, c.heading, c.text, d.title, d.kind"
            " FROM chunks c JOIN documents d ON d.id = c.document_id"
            f" WHERE c.id IN ({marks}) AND c.indexed = 1"
            " AND c.document_version = d.indexed_version",
            chunk_ids,
        )
        return {str(row["id"]): row for row in cur.fetchall()}


def indexed_chunks(store: ReadStore, *, after: str = "", limit: int = 500) -> list[dict[str, Any]]:
    """A page of every indexed chunk with what its vector's payload needs, in id order."""
    with store.reading() as cur:
        cur.execute(
            "SELECT c.id, c.document_id, c.project_id, c.job_id, c.document_version,"
            " c.position, c.heading, c.text, d.kind"
            " FROM chunks c JOIN documents d ON d.id = c.document_id"
            " WHERE c.indexed = 1 AND c.document_version = d.indexed_version AND c.id > ?"
            " ORDER BY c.id LIMIT ?",
            (after, limit),
        )
        rows = cur.fetchall()
        tags = document_tags(cur, sorted({row["document_id"] for row in rows}))
    for row in rows:
        row["tags"] = tags.get(row["document_id"], [])
    return rows
