"""Workflows over HTTP, steps executed by the in-process worker against a scriptable
OpenAI-compatible server: a DAG with a parallel branch and an approval, cancel, retries that end
in a failed run, steps that fail without retry, invalid definitions and inputs, revisions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from cortex.api.app import create_app
from cortex.bootstrap import Cortex, bootstrap
from cortex.domain.workflow_run import StepCompleted
from cortex.settings import Settings
from tests.api.helpers import create_project, ok, problem
from tests.conftest import make_settings
from tests.support.llm_server import FakeLLMServer, Reply

Client = TestClient[Any]
TOPIC_SCHEMA = {
    "type": "object",
    "properties": {"topic": {"type": "string", "minLength": 1}},
    "required": ["topic"],
    "additionalProperties": False,
}


class Flows:
    def __init__(self, client: Client, llm: FakeLLMServer) -> None:
        self.client = client
        self.llm = llm
        self.project = create_project(client)["id"]

    @property
    def cortex(self) -> Cortex:
        cortex: Cortex = self.client.app.state.cortex
        return cortex

    def define(self, steps: list[dict[str, Any]], schema: Any = TOPIC_SCHEMA) -> Any:
        body = {"project_id": self.project, "name": "Flow", "inputs_schema": schema, "steps": steps}
        return self.client.post("/api/workflows", json=body)

    def start(self, steps: list[dict[str, Any]], inputs: Any = None) -> str:
        workflow = ok(self.define(steps), 201)["id"]
        started = self.client.post(
            f"/api/workflows/{workflow}/runs", json={"inputs": inputs or {"topic": "billing"}}
        )
        return str(ok(started, 202)["id"])

    def run(self, run_id: str) -> dict[str, Any]:
        after = self.cortex.log.head()  # read what has been recorded so far
        return ok(self.client.get(f"/api/workflow-runs/{run_id}", params={"after": after}))

    def wait(self, run_id: str, done: Callable[[dict[str, Any]], bool], seconds: float = 20) -> Any:
        deadline = time.monotonic() + seconds
        while True:
            run = self.run(run_id)
            if done(run):
                return run
            assert time.monotonic() < deadline, f"gave up waiting; the run is {run}"
            time.sleep(0.02)


def steps_of(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["step_id"]: step for step in run["steps"]}


def status_is(*statuses: str) -> Callable[[dict[str, Any]], bool]:
    return lambda run: run["status"] in statuses


def step_is(step_id: str, status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda run: steps_of(run)[step_id]["status"] == status


def _flows(stack: ExitStack, tmp_path: Path, database_url: str | None) -> Flows:
    llm = stack.enter_context(FakeLLMServer(model="flow-model"))
    settings = make_settings(
        tmp_path,
        database_url,
        CORTEX_LLM_BASE_URL=llm.base_url,
        CORTEX_LLM_MODEL="flow-model",
        CORTEX_LLM_RETRIES="0",
        CORTEX_LLM_BREAKER_FAILURES="1000",
        CORTEX_ROUTER_EMBEDDINGS="false",
        CORTEX_INGEST_RETRY_BACKOFF_SECONDS="0.05",
        CORTEX_WORKER_THREADS="4",
    )
    wired = bootstrap(settings, migrate_read_store=True)
    stack.callback(wired.close)
    wired.start_projections()
    wired.start_workers({"workflows"})
    return Flows(stack.enter_context(TestClient(create_app(cortex=wired))), llm)


@pytest.fixture
def flows(tmp_path: Path) -> Iterator[Flows]:
    with ExitStack() as stack:
        yield _flows(stack, tmp_path, None)


@pytest.fixture
def flows_on_each_backend(backend_settings: Settings, tmp_path: Path) -> Iterator[Flows]:
    url = backend_settings.database.url if backend_settings.uses_postgres else None
    with ExitStack() as stack:
        yield _flows(stack, tmp_path, url)


REVIEWED = [
    {"id": "outline", "kind": "generate", "prompt": "Outline {{ inputs.topic }}."},
    {"id": "risks", "kind": "generate", "prompt": "Risks of {{ inputs.topic }}?", "lane": "CODER"},
    {
        "id": "review",
        "kind": "approval",
        "message": "Publish?",
        "depends_on": ["outline", "risks"],
    },
    {
        "id": "final",
        "kind": "generate",
        "depends_on": ["review"],
        "prompt": "Merge: {{ steps.outline.text }} + {{ steps.risks.text }}"
        " ({{ steps.review.comment }})",
    },
]


def test_parallel_branches_run_at_once_then_wait_for_approval_then_finish(
    flows_on_each_backend: Flows,
) -> None:
    flows = flows_on_each_backend
    flows.llm.enqueue(Reply(text="OUTLINE", delay=0.6), Reply(text="OUTLINE", delay=0.6))
    run_id = flows.start(REVIEWED)
    # Both branches' requests reach the model before either is answered.
    deadline = time.monotonic() + 10
    while len(flows.llm.chat_requests) < 2:
        assert time.monotonic() < deadline, "the second branch never started"
        time.sleep(0.01)
    assert not any(s["status"] == "completed" for s in flows.run(run_id)["steps"])

    run = flows.wait(run_id, step_is("review", "waiting_approval"))
    steps = steps_of(run)
    outline, risks = steps["outline"], steps["risks"]
    assert outline["started_at"] < risks["finished_at"]
    assert risks["started_at"] < outline["finished_at"]
    assert (outline["status"], outline["attempts"], outline["output"]["text"]) == (
        "completed",
        1,
        "OUTLINE",
    )
    assert UUID(outline["output"]["model_call_id"])
    assert steps["review"]["message"] == "Publish?"
    assert (steps["final"]["status"], run["status"]) == ("pending", "running")

    approved = flows.client.post(
        f"/api/workflow-runs/{run_id}/steps/review/approve", json={"comment": "ship it"}
    )
    ok(approved)
    run = flows.wait(run_id, status_is("completed", "failed"))
    assert run["status"] == "completed", run
    final = steps_of(run)["final"]
    assert final["output"]["text"] == "echo: Merge: OUTLINE + OUTLINE (ship it)"
    call = ok(
        flows.client.get(
            f"/api/model-calls/{final['output']['model_call_id']}",
            params={"after": flows.cortex.log.head()},
        )
    )
    assert (call["status"], call["project_id"]) == ("completed", flows.project)
    assert [
        r["id"]
        for r in ok(flows.client.get("/api/workflow-runs", params={"project_id": flows.project}))[
            "items"
        ]
    ] == [run_id]
    # A second approval is a conflict with the state, not a second event.
    again = flows.client.post(f"/api/workflow-runs/{run_id}/steps/review/approve", json={})
    problem(again, 409)


def test_a_rejected_approval_fails_the_run(flows: Flows) -> None:
    run_id = flows.start([{"id": "ok", "kind": "approval"}, REVIEWED[0] | {"depends_on": ["ok"]}])
    flows.wait(run_id, step_is("ok", "waiting_approval"))
    ok(flows.client.post(f"/api/workflow-runs/{run_id}/steps/ok/reject", json={"comment": "no"}))
    run = flows.wait(run_id, status_is("failed"))
    assert run["failed_step"] == "ok"
    assert "rejected" in run["error"]
    assert steps_of(run)["outline"]["status"] == "pending"
    assert flows.llm.chat_requests == []


def test_cancel_stops_the_run_and_discards_a_step_finishing_after_it(flows: Flows) -> None:
    flows.llm.enqueue(Reply(text="too late", delay=0.8))
    run_id = flows.start([REVIEWED[0], REVIEWED[0] | {"id": "after", "depends_on": ["outline"]}])
    flows.wait(run_id, lambda run: len(flows.llm.chat_requests) == 1)
    cancelled = flows.client.post(f"/api/workflow-runs/{run_id}/cancel", json={"reason": "enough"})
    ok(cancelled)
    run = flows.wait(run_id, status_is("cancelled"))
    assert run["error"] == "enough"
    time.sleep(1.2)  # the model answers; the step's result is dropped, nothing else starts
    run = flows.run(run_id)
    assert run["status"] == "cancelled"
    assert steps_of(run)["outline"]["status"] == "cancelled"
    events = list(flows.cortex.log.events.get(UUID(run_id)))
    assert not any(isinstance(event, StepCompleted) for event in events)
    assert steps_of(run)["after"]["status"] == "pending"
    assert len(flows.llm.chat_requests) == 1
    problem(flows.client.post(f"/api/workflow-runs/{run_id}/cancel", json={}), 409)


def test_a_failing_step_is_retried_with_backoff_then_fails_the_run(flows: Flows) -> None:
    flows.llm.enqueue(Reply(status=503), Reply(status=503), Reply(status=503))
    run_id = flows.start([REVIEWED[0] | {"retries": 2}])
    run = flows.wait(run_id, status_is("failed", "completed"))
    assert (run["status"], run["failed_step"]) == ("failed", "outline")
    outline = steps_of(run)["outline"]
    assert (outline["status"], outline["attempts"]) == ("failed", 3)
    assert outline["error"].startswith("unavailable")
    assert len(flows.llm.chat_requests) == 3


def test_a_failing_step_that_succeeds_on_retry_completes_the_run(flows: Flows) -> None:
    flows.llm.enqueue(Reply(status=500), Reply(text="second time lucky"))
    run_id = flows.start([REVIEWED[0]])
    run = flows.wait(run_id, status_is("failed", "completed"))
    assert run["status"] == "completed"
    outline = steps_of(run)["outline"]
    assert (outline["attempts"], outline["output"]["text"]) == (2, "second time lucky")


@pytest.mark.parametrize(
    ("step", "reply", "error"),
    [
        (REVIEWED[0], Reply(status=400), "lane_rejected"),
        (
            {"id": "t", "kind": "transform", "template": "{{ inputs.topic.nope.deeper }}"},
            None,
            "template",
        ),
    ],
)
def test_deterministic_errors_are_not_retried(
    flows: Flows, step: dict[str, Any], reply: Reply | None, error: str
) -> None:
    if reply is not None:
        flows.llm.enqueue(reply)
    run_id = flows.start([step | {"retries": 3}])
    run = flows.wait(run_id, status_is("failed", "completed"))
    (only,) = run["steps"]
    assert (run["status"], only["attempts"]) == ("failed", 1)
    assert only["error"].startswith(error)


def test_transform_and_search_steps_read_earlier_outputs(flows: Flows) -> None:
    run_id = flows.start(
        [
            {"id": "find", "kind": "search", "query": "{{ inputs.topic }}", "mode": "keyword"},
            {
                "id": "count",
                "kind": "transform",
                "depends_on": ["find"],
                "template": "{{ steps.find.hits | length }} hits for {{ inputs.topic | upper }}",
            },
        ]
    )
    run = flows.wait(run_id, status_is("failed", "completed"))
    assert run["status"] == "completed", run
    assert steps_of(run)["count"]["output"] == {"text": "0 hits for BILLING"}


@pytest.mark.parametrize(
    ("steps", "field", "words"),
    [
        (
            [REVIEWED[0] | {"depends_on": ["risks"]}, REVIEWED[1] | {"depends_on": ["outline"]}],
            "steps",
            "cycle",
        ),
        ([REVIEWED[3]], "steps.final.depends_on", "unknown step ids: review"),
        (
            [REVIEWED[0], REVIEWED[1] | {"prompt": "{{ steps.outline.text }}"}],
            "steps.risks.prompt",
            "does not depend on: outline",
        ),
        ([REVIEWED[0] | {"prompt": "{% for %}"}], "steps.outline.prompt", "does not parse"),
        ([REVIEWED[0] | {"kind": "shell"}], "steps.outline.kind", "unknown kind"),
        ([], "steps", "at least one step"),
    ],
)
def test_invalid_definitions_are_refused_with_the_reason(
    flows: Flows, steps: list[dict[str, Any]], field: str, words: str
) -> None:
    body = problem(flows.define(steps), 422)
    assert field in body["detail"], body
    assert words in body["detail"], body


def test_inputs_the_schema_refuses_are_422_and_start_nothing(flows: Flows) -> None:
    workflow = ok(flows.define([REVIEWED[0]]), 201)["id"]
    for inputs, words in (({}, "'topic' is a required property"), ({"topic": 3}, "not of type")):
        response = flows.client.post(f"/api/workflows/{workflow}/runs", json={"inputs": inputs})
        assert words in problem(response, 422)["detail"]
    listed = flows.client.get(
        "/api/workflow-runs", params={"project_id": flows.project, "after": flows.cortex.log.head()}
    )
    assert ok(listed)["items"] == []


def test_revisions_are_versioned_and_a_stale_version_is_a_conflict(flows: Flows) -> None:
    defined = ok(flows.define([REVIEWED[0]]), 201)
    workflow = defined["id"]
    path = f"/api/workflows/{workflow}"
    body = {"name": "Flow v2", "inputs_schema": TOPIC_SCHEMA, "steps": [REVIEWED[0], REVIEWED[1]]}
    revised = ok(flows.client.put(path, json=body, headers={"If-Match": '"1"'}))
    assert revised["version"] == 2
    stale = flows.client.put(path, json=body, headers={"If-Match": '"1"'})
    assert problem(stale, 409)["current_version"] == 2
    read = ok(flows.client.get(path, params={"after": revised["position"]}))
    assert (read["name"], read["version"], len(read["steps"])) == ("Flow v2", 2, 2)
    invalid = flows.client.put(path, json=body | {"steps": [REVIEWED[3]]})
    problem(invalid, 422)
    listed = ok(flows.client.get("/api/workflows", params={"project_id": flows.project}))
    assert [item["id"] for item in listed["items"]] == [workflow]
