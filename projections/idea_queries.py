"""Queries on the ideas read model: one idea, and filtered, searched, keyset-paginated lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from projections.search_words import words
from projections.store import Cursor, ReadStore

SortKey = Literal["created_at", "updated_at", "votes", "title"]
_COLUMNS = (
    "i.id, i.project_id, i.title, i.body, i.status, i.votes, i.version, i.created_at, i.updated_at"
)


@dataclass(frozen=True)
class IdeaFilter:
    project_id: str | None = None
    status: str | None = None
    tag: str | None = None
    text: str | None = None
    project_ids: list[str] | None = None  # None: every project


@dataclass(frozen=True)
class Page:
    sort: SortKey = "created_at"
    descending: bool = True
    after: tuple[Any, str] | None = None  # (sort value, id) of the last row already seen
    limit: int = 50


def get_idea(store: ReadStore, idea_id: str) -> dict[str, Any] | None:
    with store.reading() as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM ideas i WHERE i.id = ?", (idea_id,))
        row = cur.fetchone()
        if row is None:
            return None
        row["tags"] = _tags(cur, [idea_id]).get(idea_id, [])
        cur.execute(
            "SELECT target_id, relation FROM idea_links WHERE idea_id = ? ORDER BY target_id",
            (idea_id,),
        )
        row["links"] = cur.fetchall()
    return row


def list_ideas(store: ReadStore, where: IdeaFilter, page: Page) -> list[dict[str, Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if where.project_id is not None:
        clauses.append("i.project_id = ?")
        params.append(where.project_id)
    if where.project_ids is not None:
        if not where.project_ids:
            return []
        clauses.append(f"i.project_id IN ({', '.join('?' for _ in where.project_ids)})")
        params.extend(where.project_ids)
    if where.status is not None:
        clauses.append("i.status = ?")
        params.append(where.status)
    if where.tag is not None:
        clauses.append("EXISTS (SELECT 1 FROM idea_tags t WHERE t.idea_id = i.id AND t.tag = ?)")
        params.append(where.tag)
    if where.text:
        _search(store.dialect, where.text, clauses, params)
    if page.after is not None:
        op = "<" if page.descending else ">"
        clauses.append(f"(i.{page.sort} {op} ? OR (i.{page.sort} = ? AND i.id {op} ?))")
        params.extend([page.after[0], page.after[0], page.after[1]])
    direction = "DESC" if page.descending else "ASC"
    sql = f"SELECT {_COLUMNS} FROM ideas i"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += f" ORDER BY i.{page.sort} {direction}, i.id {direction} LIMIT ?"
    with store.reading() as cur:
        cur.execute(sql, (*params, page.limit))
        rows = cur.fetchall()
        tags = _tags(cur, [row["id"] for row in rows])
    for row in rows:
        row["tags"] = tags.get(row["id"], [])
    return rows


def ideas_with_words(
    store: ReadStore, project_id: str, wanted: list[str], *, least: int, limit: int
) -> list[tuple[dict[str, Any], int]]:
    """A project's ideas holding at least ``least`` of the ``wanted`` words (as ``words()`` cuts
    them), with how many they hold: most words first, then most votes, then newest."""
    if not wanted or least < 1:
        return []
    if store.dialect == "postgresql":
        test = "(strpos(i.search_words, ?) > 0)::int"
    else:
        test = "(instr(i.search_words, ?) > 0)"
    matched = " + ".join(test for _ in wanted)
    sql = (
        f"SELECT {_COLUMNS}, {matched} AS matched FROM ideas i WHERE i.project_id = ?"
        f" AND {matched} >= ? ORDER BY matched DESC, i.votes DESC, i.created_at DESC, i.id"
        " LIMIT ?"
    )
    padded = [f" {word} " for word in wanted]
    with store.reading() as cur:
        cur.execute(sql, (*padded, project_id, *padded, least, limit))
        rows = cur.fetchall()
    return [(row, int(row.pop("matched"))) for row in rows]


def _search(dialect: str, text: str, clauses: list[str], params: list[Any]) -> None:
    wanted = words(text)
    if not wanted:
        clauses.append("1 = 0")
        return
    if dialect == "postgresql":
        clauses.append("string_to_array(btrim(i.search_words), ' ') @> ?::text[]")
        params.append(wanted)
        return
    for word in wanted:
        clauses.append("instr(i.search_words, ?) > 0")
        params.append(f" {word} ")


def _tags(cur: Cursor, idea_ids: list[str]) -> dict[str, list[str]]:
    if not idea_ids:
        return {}
    marks = ", ".join("?" for _ in idea_ids)
    cur.execute(
        f"SELECT idea_id, tag FROM idea_tags WHERE idea_id IN ({marks}) ORDER BY tag", idea_ids
    )
    result: dict[str, list[str]] = {}
    for row in cur.fetchall():
        result.setdefault(row["idea_id"], []).append(row["tag"])
    return result
