"""The ``agents``, ``agent_runs`` and ``agent_run_messages`` read models: definitions at their
latest version, runs with their status and token counts, and every run's transcript."""

from __future__ import annotations

import json
from functools import singledispatchmethod
from typing import Any

from cortex.domain.agent import AgentDefined, AgentRevised
from cortex.domain.agent_run_events import (
    AgentMessageRecorded,
    AgentRunCompleted,
    AgentRunFailed,
    AgentRunStarted,
    AgentRunStopped,
    AgentToolCalled,
    AgentToolReturned,
)
from projections.base import SqlProjection
from projections.store import Cursor


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


class AgentsProjection(SqlProjection):
    name = "agents"
    tables = ("agents", "agent_runs", "agent_run_messages")

    @singledispatchmethod
    def handle(self, event: Any, cur: Cursor) -> None:
        """Events that are not about agents."""

    @handle.register
    def _defined(self, event: AgentDefined, cur: Cursor) -> None:
        cur.execute(
            self.sql(
                "INSERT INTO {agents} (id, project_id, name, lane, system_prompt, tools,"
                " max_steps, max_tokens, timeout_seconds, version, defined_by, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING"
            ),
            (
                str(event.originator_id),
                str(event.project_id),
                event.name,
                event.lane,
                event.system_prompt,
                ",".join(event.tools),
                event.max_steps,
                event.max_tokens,
                event.timeout_seconds,
                event.originator_version,
                _id(event.defined_by),
                event.timestamp.isoformat(),
                event.timestamp.isoformat(),
            ),
        )

    @handle.register
    def _revised(self, event: AgentRevised, cur: Cursor) -> None:
        cur.execute(
            self.sql(
                "UPDATE {agents} SET name = ?, lane = ?, system_prompt = ?, tools = ?,"
                " max_steps = ?, max_tokens = ?, timeout_seconds = ?, version = ?,"
                " revised_by = ?, updated_at = ? WHERE id = ?"
            ),
            (
                event.name,
                event.lane,
                event.system_prompt,
                ",".join(event.tools),
                event.max_steps,
                event.max_tokens,
                event.timeout_seconds,
                event.originator_version,
                _id(event.revised_by),
                event.timestamp.isoformat(),
                str(event.originator_id),
            ),
        )

    @handle.register
    def _started(self, event: AgentRunStarted, cur: Cursor) -> None:
        cur.execute(
            self.sql(
                "INSERT INTO {agent_runs} (id, project_id, agent_id, agent_version, agent_name,"
                " lane, tools, max_steps, max_tokens, timeout_seconds, started_by, input, status,"
                " steps, tool_call_count, prompt_tokens, completion_tokens, started_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, 0, 0, 0, ?, ?)"
                " ON CONFLICT (id) DO NOTHING"
            ),
            (
                str(event.originator_id),
                str(event.project_id),
                str(event.agent_id),
                event.agent_version,
                event.agent_name,
                event.lane,
                ",".join(event.tools),
                event.max_steps,
                event.max_tokens,
                event.timeout_seconds,
                _id(event.started_by),
                event.input,
                event.timestamp.isoformat(),
                event.timestamp.isoformat(),
            ),
        )

    @handle.register
    def _message(self, event: AgentMessageRecorded, cur: Cursor) -> None:
        self._entry(
            cur,
            event,
            kind="message",
            role=event.role,
            content=event.content,
            tool_calls=json.dumps(list(event.tool_calls)) if event.tool_calls else None,
            model_call_id=_id(event.model_call_id),
            prompt_tokens=event.prompt_tokens,
            completion_tokens=event.completion_tokens,
        )
        if event.role == "assistant":
            cur.execute(
                self.sql(
                    "UPDATE {agent_runs} SET status = 'running', steps = steps + 1,"
                    " prompt_tokens = prompt_tokens + ?,"
                    " completion_tokens = completion_tokens + ?, updated_at = ? WHERE id = ?"
                ),
                (
                    event.prompt_tokens,
                    event.completion_tokens,
                    event.timestamp.isoformat(),
                    str(event.originator_id),
                ),
            )

    @handle.register
    def _called(self, event: AgentToolCalled, cur: Cursor) -> None:
        self._entry(
            cur,
            event,
            kind="tool_call",
            tool_call_id=event.tool_call_id,
            tool=event.tool,
            arguments=event.arguments,
        )
        self._touch(cur, event, "status = 'running', tool_call_count = tool_call_count + 1")

    @handle.register
    def _returned(self, event: AgentToolReturned, cur: Cursor) -> None:
        self._entry(
            cur,
            event,
            kind="tool_result",
            role="tool",
            tool_call_id=event.tool_call_id,
            tool=event.tool,
            result=event.result,
            error=event.error,
        )
        self._touch(cur, event, "status = status")

    @handle.register
    def _completed(self, event: AgentRunCompleted, cur: Cursor) -> None:
        self._finish(cur, event, "status = 'completed', answer = ?", event.answer)

    @handle.register
    def _stopped(self, event: AgentRunStopped, cur: Cursor) -> None:
        self._finish(
            cur,
            event,
            "status = 'stopped', stop_reason = ?, stop_detail = ?, stopped_by = ?",
            event.reason,
            event.detail,
            _id(event.stopped_by),
        )

    @handle.register
    def _failed(self, event: AgentRunFailed, cur: Cursor) -> None:
        self._finish(
            cur, event, "status = 'failed', error_kind = ?, error = ?", event.kind, event.reason
        )

    def _entry(self, cur: Cursor, event: Any, *, kind: str, **values: Any) -> None:
        columns = ("run_id", "seq", "kind", "at", *values)
        cur.execute(
            self.sql(
                "INSERT INTO {agent_run_messages} ("
                + ", ".join(columns)
                + ") VALUES ("
                + ", ".join("?" for _ in columns)
                + ") ON CONFLICT (run_id, seq) DO NOTHING"
            ),
            (
                str(event.originator_id),
                event.originator_version,
                kind,
                event.timestamp.isoformat(),
                *values.values(),
            ),
        )

    def _touch(self, cur: Cursor, event: Any, assignments: str) -> None:
        cur.execute(
            self.sql("UPDATE {agent_runs} SET " + assignments + ", updated_at = ? WHERE id = ?"),
            (event.timestamp.isoformat(), str(event.originator_id)),
        )

    def _finish(self, cur: Cursor, event: Any, assignments: str, *values: Any) -> None:
        cur.execute(
            self.sql(
                "UPDATE {agent_runs} SET " + assignments + ", updated_at = ?, finished_at = ?"
                " WHERE id = ?"
            ),
            (
                *values,
                event.timestamp.isoformat(),
                event.timestamp.isoformat(),
                str(event.originator_id),
            ),
        )
