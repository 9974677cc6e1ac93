"""The AgentRun aggregate: the transcript rebuilt from its events alone, pending tool calls, and
the end of a run; and the Agent definition's checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from cortex.domain.agent import AGENT_TOOLS, Agent, AgentSpec
from cortex.domain.agent_run import AgentRun
from cortex.domain.errors import InvalidInput, InvalidTransition

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SPEC = AgentSpec(
    "Researcher", "auto", "Be brief.", ("knowledge_search", "capture_idea"), 4, 1000, 60
)
LANES = frozenset({"ORCHESTRATOR", "CODER"})


def started() -> AgentRun:
    return AgentRun.start(
        id=uuid4(),
        project_id=uuid4(),
        agent_id=uuid4(),
        agent_version=1,
        spec=SPEC,
        started_by=uuid4(),
        input="Find the lava notes.",
        granted_roles=("editor",),
        granted_project_role="editor",
        at=NOW,
    )


def replayed(run: AgentRun) -> AgentRun:
    """The run as a new process sees it: rebuilt from its events, nothing else."""
    rebuilt: Any = None
    for event in run.collect_events():
        rebuilt = event.mutate(rebuilt)
    assert isinstance(rebuilt, AgentRun)
    return rebuilt


def turn(run: AgentRun, *calls: tuple[str, str, dict[str, Any]], text: str = "") -> None:
    run.record_turn(
        content=text,
        tool_calls=tuple(
            {"id": call_id, "name": name, "arguments": json.dumps(arguments)}
            for call_id, name, arguments in calls
        ),
        model_call_id=uuid4(),
        prompt_tokens=100,
        completion_tokens=20,
        at=NOW,
    )


def test_the_transcript_is_rebuilt_from_the_events_alone() -> None:
    run = started()
    turn(run, ("call_0", "knowledge_search", {"query": "lava"}))
    (search,) = run.pending_calls()
    run.call_tool(search, at=NOW)
    run.return_tool(search, result='{"hits": []}', error=None, at=NOW)
    turn(run, ("call_0", "capture_idea", {"title": "x"}))  # the id again, in a new turn
    (capture,) = run.pending_calls()
    run.call_tool(capture, at=NOW)
    run.return_tool(capture, result=None, error="permission denied", at=NOW)
    expected = run.transcript()

    again = replayed(run)
    assert again.transcript() == expected
    assert [m["role"] for m in expected] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
    ]
    assert expected[2]["content"] is None  # a turn of tool calls only
    assert expected[2]["tool_calls"] == [
        {
            "id": "call_0",
            "type": "function",
            "function": {"name": "knowledge_search", "arguments": '{"query": "lava"}'},
        }
    ]
    assert expected[3] == {"role": "tool", "tool_call_id": "call_0", "content": '{"hits": []}'}
    assert json.loads(expected[5]["content"]) == {"error": "permission denied"}
    assert (again.steps, again.tokens, again.status) == (2, 240, "running")
    assert again.pending_calls() == []


def test_a_call_recorded_before_a_crash_is_pending_and_marked_called() -> None:
    run = started()
    turn(run, ("a", "knowledge_search", {}), ("b", "capture_idea", {"title": "t"}))
    first, _ = run.pending_calls()
    run.call_tool(first, at=NOW)
    run.return_tool(first, result="{}", error=None, at=NOW)
    second = run.pending_calls()[0]
    run.call_tool(second, at=NOW)

    again = replayed(run)
    (pending,) = again.pending_calls()
    assert (pending.id, pending.name, pending.called) == ("b", "capture_idea", True)
    with pytest.raises(InvalidTransition):
        turn(again, text="an answer while a call is pending")


def test_a_run_ends_once() -> None:
    run = started()
    turn(run, text="Done.")
    run.complete("Done.", at=NOW)
    for end in (
        lambda: run.complete("again", at=NOW),
        lambda: run.stop("cancelled", detail="", stopped_by=None, at=NOW),
        lambda: run.fail("internal", "x", at=NOW),
    ):
        with pytest.raises(InvalidTransition):
            end()
    assert replayed(run).status == "completed"


def test_only_known_stop_reasons_and_a_deadline_from_the_start() -> None:
    run = started()
    with pytest.raises(InvalidInput):
        run.stop("bored", detail="", stopped_by=None, at=NOW)
    assert run.deadline == NOW + timedelta(seconds=60)
    run.stop("max_steps", detail="4 turns", stopped_by=None, at=NOW)
    assert (run.open, run.status) == (False, "stopped")


def test_a_result_for_a_call_that_is_not_pending_is_refused() -> None:
    run = started()
    turn(run, ("a", "knowledge_search", {}))
    (call,) = run.pending_calls()
    run.return_tool(call, result="{}", error=None, at=NOW)
    with pytest.raises(InvalidTransition):
        run.return_tool(call, result="{}", error=None, at=NOW)


def test_an_empty_input_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        AgentRun.start(
            id=uuid4(), project_id=uuid4(), agent_id=uuid4(), agent_version=1, spec=SPEC,
            started_by=None, input="   ", granted_roles=(), granted_project_role=None, at=NOW,
        )  # fmt: skip
    assert refused.value.field == "input"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tools": ("knowledge_search", "shell")}, "tools"),
        ({"tools": ("ask", "ask")}, "tools"),
        ({"lane": "TURBO"}, "lane"),
        ({"max_steps": 0}, "max_steps"),
        ({"max_tokens": 99}, "max_tokens"),
        ({"timeout_seconds": 3601}, "timeout_seconds"),
        ({"name": ""}, "name"),
    ],
)
def test_definitions_out_of_bounds_are_refused(change: dict[str, Any], field: str) -> None:
    spec = AgentSpec(**{**SPEC.__dict__, **change})
    with pytest.raises(InvalidInput) as refused:
        Agent.define(
            id=uuid4(), project_id=uuid4(), spec=spec, lanes=LANES, defined_by=None, at=NOW
        )
    assert refused.value.field == field


def test_a_revision_is_a_new_version() -> None:
    agent = Agent.define(
        id=uuid4(), project_id=uuid4(), spec=SPEC, lanes=LANES, defined_by=None, at=NOW
    )
    revised = AgentSpec("Coder", "CODER", "", AGENT_TOOLS, 50, 1_000_000, 3600)
    agent.revise(revised, lanes=LANES, revised_by=None, at=NOW)
    assert (agent.version, agent.spec) == (2, revised)
