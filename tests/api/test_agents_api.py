"""Agents over HTTP with authentication on: definitions, runs driven by the in-process ``agents``
worker against a scripted OpenAI-compatible server on loopback (tool calls included), the
transcript, limits, permissions of the run's starter, cancel, and resume after a crash.

One app per backend (SQLite, PostgreSQL) serves the module; each test scripts the server afresh.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from cortex.api.app import create_app
from cortex.application.access import Grant
from cortex.application.agent_ports import NoAgentQueue
from cortex.bootstrap import bootstrap
from cortex.domain.agent_run import AgentRun
from cortex.domain.roles import ProjectRole, Role
from tests.api.helpers import ok, problem
from tests.auth.support import AUTH_SECRET, AuthApp, User
from tests.integration.search_support import ingest, settings_on
from tests.support.llm_server import FakeLLMServer, Reply

NOTES = """# Kilauea field notes

## The lava lake

The lava lake in Halemaumau crater rose and drained several times between 2008 and 2018, and
the crater floor collapsed by hundreds of metres when the lake drained in May 2018.
"""
OPEN = ("queued", "running")


@dataclass
class World:
    app: AuthApp
    llm: FakeLLMServer
    project: str
    document: str
    admin: User
    editor: User  # an editor, and an editor of the project
    viewer: User  # a viewer, and a viewer of the project

    @property
    def client(self) -> TestClient[Any]:
        return self.app.client

    def define(self, user: User | None = None, **fields: Any) -> str:
        body = {
            "project_id": self.project,
            "name": "Researcher",
            "system_prompt": "You research the project's notes.",
            "tools": ["knowledge_search", "capture_idea"],
            **fields,
        }
        response = self.client.post("/api/agents", json=body, headers=(user or self.editor).headers)
        self.app.settle()  # the guard of the next request finds the agent's project
        return str(ok(response, 201)["id"])

    def start(self, agent_id: str, user: User, text: str = "Research the lava lake.") -> Any:
        response = self.client.post(
            f"/api/agents/{agent_id}/runs", json={"input": text}, headers=user.headers
        )
        return ok(response, 202)

    def run(self, run_id: str, after: int = 0) -> dict[str, Any]:
        response = self.client.get(
            f"/api/agent-runs/{run_id}", params={"after": after}, headers=self.admin.headers
        )
        return ok(response)

    def finished(self, run_id: str, timeout: float = 20.0) -> dict[str, Any]:
        """The run once it has ended and the read model has all of it."""
        deadline = time.monotonic() + timeout
        while True:
            self.app.settle()
            run = self.run(run_id)
            if run["status"] not in OPEN:
                return run
            assert time.monotonic() < deadline, f"the run is still {run['status']}"
            time.sleep(0.02)

    def ideas(self) -> list[dict[str, Any]]:
        self.app.settle()
        params = {"project_id": self.project}
        return ok(self.client.get("/api/ideas", params=params, headers=self.admin.headers))["items"]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder: Path = tmp_path_factory.mktemp("agents")
    with ExitStack() as stack:
        llm = stack.enter_context(FakeLLMServer(model="agent-model"))
        env = {
            "CORTEX_SKIP_AUTH": "false",
            "CORTEX_AUTH_SECRET": AUTH_SECRET,
            "CORTEX_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
            "CORTEX_LLM_BASE_URL": llm.base_url,
            "CORTEX_LLM_MODEL": "agent-model",
            "CORTEX_LLM_TIMEOUT": "5",
            "CORTEX_LLM_RETRIES": "0",
        }
        settings = stack.enter_context(settings_on(request.param, request, folder, **env))
        cortex = bootstrap(settings, migrate_read_store=True)
        stack.callback(cortex.close)
        cortex.start_projections()
        cortex.start_workers({"agents"})
        client = stack.enter_context(TestClient(create_app(cortex=cortex)))
        app = AuthApp(cortex=cortex, client=client)
        admin = app.bootstrap_admin()
        project = app.create_project(admin, "Volcanoes")
        document = str(ingest(cortex, UUID(project), "kilauea-notes.md", NOTES))
        editor = app.create_user("erin", [Role.EDITOR])
        viewer = app.create_user("victor", [Role.VIEWER])
        app.add_member(admin, project, editor, ProjectRole.EDITOR)
        app.add_member(admin, project, viewer, ProjectRole.VIEWER)
        app.settle()
        yield World(app, llm, project, document, admin, editor, viewer)


@pytest.fixture
def llm(world: World) -> FakeLLMServer:
    world.llm.reset()
    return world.llm


def tool_messages(request: Any) -> list[dict[str, Any]]:
    return [m for m in request.messages if m["role"] == "tool"]


# Runs -------------------------------------------------------------------------------------------


def test_an_agent_searches_captures_an_idea_and_stops_at_its_step_limit(
    world: World, llm: FakeLLMServer
) -> None:
    agent = world.define(max_steps=2)
    search = {"query": "when did the lava lake drain", "limit": 3}
    idea = {"title": "Alert when the lava lake drains", "body": "As in May 2018.", "tags": ["lava"]}
    llm.enqueue(
        Reply(tool_calls=[{"name": "knowledge_search", "arguments": search}]),
        Reply(tool_calls=[{"name": "capture_idea", "arguments": idea}]),
        Reply(text="never asked: the step limit comes first"),
    )
    queued = world.start(agent, world.editor)
    assert queued["status"] == "queued"
    run = world.finished(queued["id"])

    assert (run["status"], run["stop_reason"], run["steps"]) == ("stopped", "max_steps", 2)
    assert run["answer"] is None
    assert run["started_by"] == world.editor.id
    assert len(llm.chat_requests) == 2
    assert llm.pending == 1
    roles = [message["role"] for message in run["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert run["messages"][1]["content"] == "Research the lava lake."

    searched, captured = run["tool_calls"]
    assert (searched["tool"], searched["status"], searched["error"]) == (
        "knowledge_search",
        "returned",
        None,
    )
    assert json.loads(searched["arguments"]) == search
    hits = searched["result"]["hits"]
    assert hits[0]["document_id"] == world.document
    assert "drained in May 2018" in hits[0]["text"]
    assert (captured["tool"], captured["error"]) == ("capture_idea", None)
    idea_id = captured["result"]["idea_id"]
    (stored,) = [item for item in world.ideas() if item["id"] == idea_id]
    assert (stored["title"], stored["tags"]) == (idea["title"], ["lava"])

    # Each turn is a recorded model call; the second one saw the search's result.
    first, second = llm.chat_requests
    assert {tool["function"]["name"] for tool in first.body["tools"]} == {
        "knowledge_search",
        "capture_idea",
    }
    assistant = second.messages[2]
    assert assistant["tool_calls"][0]["function"]["name"] == "knowledge_search"
    (result,) = tool_messages(second)
    assert result["tool_call_id"] == assistant["tool_calls"][0]["id"]
    assert "drained in May 2018" in result["content"]
    turns = [message for message in run["messages"] if message["role"] == "assistant"]
    for turn, request in zip(turns, llm.chat_requests, strict=True):
        call = ok(
            world.client.get(
                f"/api/model-calls/{turn['model_call_id']}", headers=world.admin.headers
            )
        )
        assert (call["status"], call["mode"], call["requested_by"]) == (
            "completed",
            "tools",
            world.editor.id,
        )
        # The audit trail hashes the conversation as sent (its text only when audited).
        sent = json.dumps(request.messages, ensure_ascii=False, separators=(",", ":"))
        assert call["prompt_sha256"] == hashlib.sha256(sent.encode()).hexdigest()
        assert call["prompt"] is None
    assert run["prompt_tokens"] == sum(turn["prompt_tokens"] for turn in turns) > 0


def test_an_agent_looks_up_ideas_asks_and_starts_a_workflow(
    world: World, llm: FakeLLMServer
) -> None:
    headers = world.admin.headers
    idea = ok(
        world.client.post(
            "/api/ideas",
            json={"project_id": world.project, "title": "Lava lake level dashboard"},
            headers=headers,
        ),
        201,
    )["id"]
    step = {"id": "echo", "kind": "transform", "template": "{{ inputs.topic }}"}
    schema = {"type": "object", "properties": {"topic": {"type": "string"}}}
    workflow = ok(
        world.client.post(
            "/api/workflows",
            json={
                "project_id": world.project,
                "name": "Echo",
                "inputs_schema": schema,
                "steps": [step],
            },
            headers=headers,
        ),
        201,
    )["id"]
    agent = world.define(tools=["idea_lookup", "ask", "start_workflow"])
    calls = [
        {"name": "idea_lookup", "arguments": {"query": "dashboard"}},
        {"name": "ask", "arguments": {"question": "When did the lava lake drain?"}},
        {
            "name": "start_workflow",
            "arguments": {"workflow_id": workflow, "inputs": {"topic": "lava"}},
        },
        {"name": "start_workflow", "arguments": {"workflow_id": str(uuid4())}},
    ]
    llm.enqueue(
        Reply(tool_calls=calls),
        Reply(text="It drained in May 2018 [c1]."),  # the ask tool's own model call
        Reply(text="Done."),
    )
    run = world.finished(world.start(agent, world.editor)["id"])
    assert run["status"] == "completed"
    looked, asked, started, foreign = run["tool_calls"]
    assert [found["id"] for found in looked["result"]["ideas"]] == [idea]
    assert asked["result"]["answer"] == "It drained in May 2018 [c1]."
    assert asked["result"]["found"] is True
    assert asked["result"]["citations"][0]["document_id"] == world.document
    # Read models follow the log each at its own pace: read them as of the run's last event.
    after = {"after": world.app.cortex.log.head()}
    answer_call = ok(
        world.client.get(
            f"/api/model-calls/{asked['result']['model_call_id']}", params=after, headers=headers
        )
    )
    assert (answer_call["requested_by"], answer_call["mode"]) == (world.editor.id, "sync")
    workflow_run = ok(
        world.client.get(
            f"/api/workflow-runs/{started['result']['workflow_run_id']}",
            params=after,
            headers=headers,
        )
    )
    assert (workflow_run["workflow_id"], workflow_run["started_by"]) == (
        workflow,
        world.editor.id,
    )
    assert foreign["error"].startswith("no workflow")


def test_a_final_answer_completes_the_run(world: World, llm: FakeLLMServer) -> None:
    agent = world.define(tools=[], system_prompt="")
    llm.enqueue(Reply(text="The lake drained in May 2018.", completion_tokens=7))
    run = world.finished(world.start(agent, world.viewer)["id"])
    assert (run["status"], run["answer"], run["stop_reason"]) == (
        "completed",
        "The lake drained in May 2018.",
        None,
    )
    assert [m["role"] for m in run["messages"]] == ["user", "assistant"]
    assert run["completion_tokens"] == 7
    assert run["tool_calls"] == []
    (request,) = llm.chat_requests
    assert "tools" not in request.body  # an agent without tools offers none


def test_a_turn_runs_at_most_eight_tool_calls(world: World, llm: FakeLLMServer) -> None:
    agent = world.define(tools=["idea_lookup"])
    asked = [{"name": "idea_lookup", "arguments": {"query": f"q{n}"}} for n in range(12)]
    llm.enqueue(Reply(tool_calls=asked), Reply(text="Done."))
    run = world.finished(world.start(agent, world.viewer)["id"])
    assert run["status"] == "completed"
    assert len(run["tool_calls"]) == 8
    second = llm.chat_requests[1].body["messages"]
    (turn,) = [m for m in second if m["role"] == "assistant"]
    assert len(turn["tool_calls"]) == 8  # the turn as recorded: every call has its result
    assert len(tool_messages(llm.chat_requests[1])) == 8


def test_a_viewers_run_cannot_capture_an_idea(world: World, llm: FakeLLMServer) -> None:
    agent = world.define()
    title = "An idea a viewer may not write"
    llm.enqueue(
        Reply(tool_calls=[{"name": "capture_idea", "arguments": {"title": title}}]),
        Reply(text="I was not allowed to write it down."),
    )
    run = world.finished(world.start(agent, world.viewer)["id"])
    assert run["status"] == "completed"
    (call,) = run["tool_calls"]
    assert call["result"] is None
    assert call["error"].startswith("permission denied")
    assert title not in {idea["title"] for idea in world.ideas()}
    (told,) = tool_messages(llm.chat_requests[1])
    assert "permission denied" in json.loads(told["content"])["error"]


def test_bad_arguments_and_unknown_tools_are_errors_the_next_turn_sees(
    world: World, llm: FakeLLMServer
) -> None:
    agent = world.define()
    llm.enqueue(
        Reply(
            tool_calls=[
                {"name": "knowledge_search", "arguments": "{not json"},
                {"name": "knowledge_search", "arguments": {"limit": 3}},
                {"name": "knowledge_search", "arguments": {"query": "lava", "limit": 500}},
                {"name": "drop_database", "arguments": {}},
                {"name": "ask", "arguments": {"question": "a tool this agent lacks"}},
            ]
        ),
        Reply(text="Sorry."),
    )
    run = world.finished(world.start(agent, world.editor)["id"])
    assert run["status"] == "completed"
    errors = [json.loads(m["content"])["error"] for m in tool_messages(llm.chat_requests[1])]
    assert "not JSON" in errors[0]
    assert "'query' is a required property" in errors[1]
    assert "limit" in errors[2]
    assert errors[3].startswith("unknown tool 'drop_database'; available: knowledge_search")
    assert errors[4].startswith("unknown tool 'ask'")
    assert [call["error"] for call in run["tool_calls"]] == errors


def test_a_run_stops_at_its_token_limit_after_the_turns_tool_calls(
    world: World, llm: FakeLLMServer
) -> None:
    agent = world.define(max_tokens=100)
    llm.enqueue(
        Reply(
            tool_calls=[{"name": "knowledge_search", "arguments": {"query": "lava"}}],
            prompt_tokens=150,
        )
    )
    run = world.finished(world.start(agent, world.editor)["id"])
    assert (run["status"], run["stop_reason"]) == ("stopped", "max_tokens")
    assert run["tool_calls"][0]["status"] == "returned"
    assert len(llm.chat_requests) == 1


def test_a_run_stops_at_its_timeout(world: World, llm: FakeLLMServer) -> None:
    agent = world.define(timeout_seconds=1)
    llm.enqueue(Reply(text="too late", delay=1.3))
    run = world.finished(world.start(agent, world.editor)["id"])
    assert (run["status"], run["stop_reason"]) == ("stopped", "timeout")
    assert run["answer"] is None
    assert run["messages"][-1]["content"] == "too late"  # kept, but not taken as the answer


def test_a_lane_that_refuses_fails_the_run(world: World, llm: FakeLLMServer) -> None:
    agent = world.define()
    llm.enqueue(Reply(status=400, error_message="context too long"))
    run = world.finished(world.start(agent, world.editor)["id"])
    assert (run["status"], run["error_kind"]) == ("failed", "rejected")
    assert "context too long" in run["error"]


def test_cancel_stops_a_run_mid_turn(world: World, llm: FakeLLMServer) -> None:
    agent = world.define()
    llm.enqueue(Reply(text="an answer nobody waits for", delay=1.0))
    queued = world.start(agent, world.editor)
    run_id, after = queued["id"], {"after": queued["position"]}
    deadline = time.monotonic() + 10
    while not llm.chat_requests:  # the worker is waiting for the model
        assert time.monotonic() < deadline
        time.sleep(0.01)
    cancel = f"/api/agent-runs/{run_id}/cancel"
    refused = world.client.post(cancel, params=after, headers=world.viewer.headers)
    problem(refused, 403)  # neither its starter nor an editor
    ok(world.client.post(cancel, params=after, headers=world.editor.headers))
    run = world.finished(run_id)
    assert (run["status"], run["stop_reason"], run["stopped_by"]) == (
        "stopped",
        "cancelled",
        world.editor.id,
    )
    time.sleep(1.2)  # the late answer arrives, and changes nothing
    assert world.finished(run_id)["messages"] == run["messages"]
    again = world.client.post(f"/api/agent-runs/{run_id}/cancel", headers=world.editor.headers)
    assert problem(again, 409)["current_status"] == "stopped"


def test_a_run_resumes_from_its_events_after_a_crash_mid_tool_call(
    world: World, llm: FakeLLMServer
) -> None:
    """The worker died after recording a capture_idea call and before its result: the run is
    sent again by the reconciler, the call runs once (no second idea) and the run goes on."""
    cortex = world.app.cortex
    agent = UUID(world.define())
    queue, cortex.agents.queue = cortex.agents.queue, NoAgentQueue()  # the message is lost
    try:
        run_id = uuid4()
        cortex.agents.start_run(
            agent,
            input="Write it down.",
            started_by=UUID(world.editor.id),
            grant=Grant(frozenset({Role.EDITOR}), ProjectRole.EDITOR),
            run_id=run_id,
            at=datetime.now(UTC),
        )
    finally:
        cortex.agents.queue = queue
    run = cortex.log.load(run_id, AgentRun)
    title = "Captured exactly once"
    arguments = json.dumps({"title": title})
    run.record_turn(
        content="",
        tool_calls=({"id": "call_0", "name": "capture_idea", "arguments": arguments},),
        model_call_id=uuid4(),
        prompt_tokens=10,
        completion_tokens=5,
        at=datetime.now(UTC),
    )
    (pending,) = run.pending_calls()
    run.call_tool(pending, at=datetime.now(UTC))
    cortex.log.commit(run)
    # The crashed attempt had already captured the idea before dying.
    cortex.agents.tools.execute(_request(run, pending))
    llm.enqueue(Reply(text="Written down."))

    world.app.settle()  # the reconciler reads the runs' read model
    assert cortex.reconciler.run_once(0, restarted=True) >= 1
    done = world.finished(str(run_id))
    assert (done["status"], done["answer"]) == ("completed", "Written down.")
    assert [m["role"] for m in done["messages"]][-3:] == ["assistant", "tool", "assistant"]
    assert [idea["title"] for idea in world.ideas()].count(title) == 1
    assert len(llm.chat_requests) == 1


def _request(run: AgentRun, call: Any) -> Any:
    from cortex.application.agent_ports import ToolRequest

    return ToolRequest(
        name=call.name,
        arguments=call.arguments,
        call_id=call.id,
        run_id=run.id,
        turn=run.steps,
        project_id=run.project_id,
        user_id=run.started_by,
        grant=Grant.of(run.granted_roles, run.granted_project_role),
        available=run.spec.tools,
        at=datetime.now(UTC),
    )


# Definitions ------------------------------------------------------------------------------------

INVALID = {
    "unknown tool": ({"tools": ["knowledge_search", "rm_rf"]}, "tools", "unknown tool 'rm_rf'"),
    "tool twice": ({"tools": ["ask", "ask"]}, "tools", "once"),
    "no steps": ({"max_steps": 0}, "max_steps", "between 1 and 50"),
    "too many steps": ({"max_steps": 51}, "max_steps", "between 1 and 50"),
    "too few tokens": ({"max_tokens": 10}, "max_tokens", "between 100"),
    "no time": ({"timeout_seconds": 0}, "timeout_seconds", "between 1 and 3600"),
    "unknown lane": ({"lane": "TURBO"}, "lane", "unknown lane 'TURBO'"),
    "empty name": ({"name": "  "}, "name", "must not be empty"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_definitions_are_422_with_the_reason(world: World, case: str) -> None:
    fields, field, reason = INVALID[case]
    body = {"project_id": world.project, "name": "Bad", **fields}
    response = world.client.post("/api/agents", json=body, headers=world.editor.headers)
    details = problem(response, 422)
    assert details["errors"][0]["field"] == field
    assert reason in details["detail"]


def test_unknown_fields_are_400(world: World) -> None:
    body = {"project_id": world.project, "name": "Bad", "shell": True}
    problem(world.client.post("/api/agents", json=body, headers=world.editor.headers), 400)


def test_revising_makes_a_new_version_and_runs_keep_theirs(
    world: World, llm: FakeLLMServer
) -> None:
    agent = world.define(name="First")
    headers = {**world.editor.headers, "If-Match": '"1"'}
    body = {"name": "Second", "lane": "CODER", "tools": ["ask"], "max_steps": 3}
    revised = ok(world.client.put(f"/api/agents/{agent}", json=body, headers=headers))
    assert revised["version"] == 2
    stale = world.client.put(f"/api/agents/{agent}", json=body, headers=headers)
    assert problem(stale, 409)["current_version"] == 2
    read = world.client.get(
        f"/api/agents/{agent}", params={"after": revised["position"]}, headers=world.viewer.headers
    )
    assert read.headers["etag"] == '"2"'
    assert (read.json()["name"], read.json()["lane"], read.json()["tools"]) == (
        "Second",
        "CODER",
        ["ask"],
    )
    llm.enqueue(Reply(text="Done."))
    run = world.finished(world.start(agent, world.editor)["id"])
    assert (run["agent_version"], run["agent_name"], run["lane"]) == (2, "Second", "CODER")
    listed = ok(
        world.client.get(
            "/api/agent-runs",
            params={"project_id": world.project, "agent_id": agent},
            headers=world.viewer.headers,
        )
    )["items"]
    assert [item["id"] for item in listed] == [run["id"]]
    agents = ok(
        world.client.get(
            "/api/agents", params={"project_id": world.project}, headers=world.viewer.headers
        )
    )["items"]
    assert agent in {item["id"] for item in agents}


def test_viewers_may_not_define_agents(world: World) -> None:
    body = {"project_id": world.project, "name": "Mine"}
    problem(world.client.post("/api/agents", json=body, headers=world.viewer.headers), 403)
