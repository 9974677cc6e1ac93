"""The ``model_calls`` read model: every model lane call, its routing, answer or failure."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from cortex.domain.model_call import ModelCallCompleted, ModelCallFailed, ModelCallRequested
from projections.base import SqlProjection
from projections.keyset import newest_first
from projections.store import Cursor, ReadStore

COLUMNS = (
    "id, project_id, requested_by, mode, status, requested_lane, routed_lane, routing_score,"
    " routing_method, routing_reason, lane, model, fallback_from, prompt_sha256, prompt_chars,"
    " prompt, max_tokens, prompt_tokens, completion_tokens, finish_reason, completion, attempts,"
    " latency_ms, error_kind, error, requested_at, finished_at"
)


class ModelCallsProjection(SqlProjection):
    name = "model_calls"
    tables = ("model_calls",)

    @singledispatchmethod
    def handle(self, event: Any, cur: Cursor) -> None:
        """Events that are not model calls."""

    @handle.register
    def _requested(self, event: ModelCallRequested, cur: Cursor) -> None:
        cur.execute(
            self.sql(
                "INSERT INTO {model_calls} (id, project_id, requested_by, mode, status,"
                " requested_lane, routed_lane, routing_score, routing_method, routing_reason,"
                " prompt_sha256, prompt_chars, prompt, max_tokens, prompt_tokens, requested_at)"
                " VALUES (?, ?, ?, ?, 'requested', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING"
            ),
            (
                str(event.originator_id),
                str(event.project_id),
                str(event.requested_by) if event.requested_by else None,
                event.mode,
                event.requested_lane,
                event.lane,
                event.routing_score,
                event.routing_method,
                event.routing_reason,
                event.prompt_sha256,
                event.prompt_chars,
                event.prompt,
                event.max_tokens,
                event.prompt_tokens,
                event.timestamp.isoformat(),
            ),
        )

    @handle.register
    def _completed(self, event: ModelCallCompleted, cur: Cursor) -> None:
        cur.execute(
            self.sql(
                "UPDATE {model_calls} SET status = 'completed', lane = ?, model = ?,"
                " fallback_from = ?, prompt_tokens = ?, completion_tokens = ?, finish_reason = ?,"
                " completion = ?, attempts = ?, latency_ms = ?, finished_at = ? WHERE id = ?"
            ),
            (
                event.lane,
                event.model,
                event.fallback_from,
                event.prompt_tokens,
                event.completion_tokens,
                event.finish_reason,
                event.completion,
                event.attempts,
                event.latency_ms,
                event.timestamp.isoformat(),
                str(event.originator_id),
            ),
        )

    @handle.register
    def _failed(self, event: ModelCallFailed, cur: Cursor) -> None:
        cur.execute(
            self.sql(
                "UPDATE {model_calls} SET status = 'failed', error_kind = ?, error = ?,"
                " attempts = ?, latency_ms = ?, finished_at = ? WHERE id = ?"
            ),
            (
                event.kind,
                event.reason,
                event.attempts,
                event.latency_ms,
                event.timestamp.isoformat(),
                str(event.originator_id),
            ),
        )


def get_model_call(store: ReadStore, call_id: str) -> dict[str, Any] | None:
    with store.reading() as cur:
        cur.execute(f"SELECT {COLUMNS} FROM model_calls WHERE id = ?", (call_id,))
        return cur.fetchone()


def list_model_calls(
    store: ReadStore, project_id: str, *, after: tuple[str, str] | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first, keyset-paginated on (requested_at, id)."""
    sql = f"SELECT {COLUMNS} FROM model_calls WHERE project_id = ?"
    params: list[Any] = [project_id]
    sql, params = newest_first(sql, params, "requested_at", after, limit)
    with store.reading() as cur:
        cur.execute(sql, params)
        return cur.fetchall()
