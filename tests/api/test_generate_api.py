"""POST /api/generate and friends over HTTP, against OpenAI-compatible test servers on loopback:
routing to a configured lane, fallback to the default lane when a lane is missing, failing or
refusing, the circuit breaker opening and closing again, streaming, queued calls answered by a
worker, the audit read model, /api/system/lanes and /readyz."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from litestar.testing import TestClient

from cortex.api.app import create_app
from cortex.bootstrap import Cortex, bootstrap
from cortex.lanes import Lane, agenerate_text, generate_text
from cortex.lanes import calls as lane_calls
from cortex.settings import Settings
from tests.api.helpers import create_project, ok, problem
from tests.conftest import make_settings
from tests.support.llm_server import FakeLLMServer, Reply

Client = TestClient[Any]
CODE_PROMPT = (
    "Refactor this function so it does not crash on an empty list:\n```python\n"
    "def mean(values):\n    return sum(values) / len(values)\n```"
)
PLAN_PROMPT = "Plan the migration of our billing service to the new cluster, step by step."


class Lanes:
    def __init__(self, client: Client, default: FakeLLMServer, coder: FakeLLMServer) -> None:
        self.client = client
        self.default = default
        self.coder = coder
        self.project = create_project(client)["id"]

    @property
    def cortex(self) -> Cortex:
        cortex: Cortex = self.client.app.state.cortex
        return cortex

    def generate(self, prompt: str, **body: Any) -> Any:
        return self.client.post(
            "/api/generate", json={"prompt": prompt, "project_id": self.project, **body}
        )

    def call(self, call_id: str, after: int) -> dict[str, Any]:
        return ok(self.client.get(f"/api/model-calls/{call_id}", params={"after": after}))


def _start(stack: ExitStack, settings: Settings, tmp_path: Path, **extra: str) -> Client:
    url = settings.database.url if settings.uses_postgres else None
    wired = bootstrap(make_settings(tmp_path, url, **extra), migrate_read_store=True)
    stack.callback(wired.close)
    wired.start_projections()
    wired.start_workers({"lanes"})
    return stack.enter_context(TestClient(create_app(cortex=wired)))


@pytest.fixture
def lanes(backend_settings: Settings, tmp_path: Path) -> Iterator[Lanes]:
    with ExitStack() as stack:
        default = stack.enter_context(FakeLLMServer(model="default-model"))
        coder = stack.enter_context(FakeLLMServer(model="coder-model", api_key="coder-secret"))
        client = _start(
            stack,
            backend_settings,
            tmp_path,
            CORTEX_LLM_BASE_URL=default.base_url,
            CORTEX_LLM_MODEL="default-model",
            CORTEX_LANE_CODER_URL=coder.base_url,
            CORTEX_LANE_CODER_MODEL="coder-model",
            CORTEX_LANE_CODER_API_KEY="coder-secret",
            CORTEX_LLM_TIMEOUT="1",
            CORTEX_LLM_RETRIES="2",
            CORTEX_LLM_RETRY_BACKOFF_SECONDS="0.01",
            CORTEX_LLM_BREAKER_FAILURES="2",
            CORTEX_LLM_BREAKER_COOLDOWN_SECONDS="3",
        )
        yield Lanes(client, default, coder)


def test_code_goes_to_the_coder_lane_and_the_call_is_audited_by_hash(lanes: Lanes) -> None:
    lanes.coder.enqueue(Reply(text="Guard the empty list first.", completion_tokens=6))
    answer = ok(lanes.generate(CODE_PROMPT))
    assert (answer["lane"], answer["model"], answer["fallback_from"]) == (
        "CODER",
        "coder-model",
        None,
    )
    assert answer["text"] == "Guard the empty list first."
    assert answer["routing"]["lane"] == "CODER"
    assert answer["routing"]["reason"]
    assert answer["completion_tokens"] == 6
    (request,) = lanes.coder.chat_requests
    assert request.body["model"] == "coder-model"
    assert request.headers["authorization"] == "Bearer coder-secret"
    assert request.messages[-1]["content"] == CODE_PROMPT
    assert lanes.default.chat_requests == []

    call = lanes.call(answer["call_id"], answer["position"])
    assert call["status"] == "completed"
    assert (call["routed_lane"], call["lane"], call["model"]) == ("CODER", "CODER", "coder-model")
    assert call["prompt"] is None  # prompts are not kept unless CORTEX_AUDIT_PROMPTS=true
    assert call["prompt_sha256"] == hashlib.sha256(CODE_PROMPT.encode()).hexdigest()
    assert call["prompt_chars"] == len(CODE_PROMPT)
    assert call["completion"] == "Guard the empty list first."
    listed = ok(
        lanes.client.get(
            "/api/model-calls", params={"project_id": lanes.project, "after": answer["position"]}
        )
    )
    assert [item["id"] for item in listed["items"]] == [answer["call_id"]]


def test_a_lane_without_configuration_is_answered_by_the_default_lane(lanes: Lanes) -> None:
    answer = ok(lanes.generate("What did we decide about retention?", lane="FAST_RAG"))
    assert (answer["lane"], answer["fallback_from"]) == ("ORCHESTRATOR", "FAST_RAG")
    assert answer["routing"]["method"] == "explicit"
    assert answer["text"] == "echo: What did we decide about retention?"
    assert len(lanes.default.chat_requests) == 1


def test_a_failing_lane_is_retried_then_the_default_lane_answers(lanes: Lanes) -> None:
    lanes.coder.enqueue(Reply(status=500), Reply(status=503), Reply(delay=2.0))  # 3 attempts
    answer = ok(lanes.generate(CODE_PROMPT))
    assert (answer["lane"], answer["fallback_from"]) == ("ORCHESTRATOR", "CODER")
    assert answer["attempts"] == 4  # three on CODER, one on the default lane
    assert len(lanes.coder.chat_requests) == 3
    call = lanes.call(answer["call_id"], answer["position"])
    assert (call["lane"], call["fallback_from"], call["attempts"]) == ("ORCHESTRATOR", "CODER", 4)


def test_a_refused_request_is_not_retried_nor_sent_elsewhere(lanes: Lanes) -> None:
    lanes.coder.enqueue(Reply(status=400, error_message="prompt too long for this model"))
    body = problem(lanes.generate(CODE_PROMPT), 502)
    assert "prompt too long" in body["detail"]
    assert len(lanes.coder.chat_requests) == 1
    assert lanes.default.chat_requests == []
    calls = ok(lanes.client.get("/api/model-calls", params={"project_id": lanes.project}))
    deadline = time.monotonic() + 15
    while not calls["items"] or calls["items"][0]["status"] != "failed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
        calls = ok(lanes.client.get("/api/model-calls", params={"project_id": lanes.project}))
    assert calls["items"][0]["error_kind"] == "client"


def test_no_lane_answering_is_a_clear_503_and_a_failed_call(lanes: Lanes) -> None:
    lanes.coder.down()
    lanes.default.down()
    body = problem(lanes.generate(CODE_PROMPT), 503)
    assert "no model lane answered" in body["detail"]
    assert {error["message"].split(":")[0] for error in body["errors"]} == {"CODER", "ORCHESTRATOR"}
    ready = lanes.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["model_lane"]["ok"] is False


def test_the_breaker_opens_on_a_dead_lane_and_closes_when_it_is_back(lanes: Lanes) -> None:
    lanes.coder.down()
    for _ in range(2):  # two failed calls (each retried) open CODER's breaker
        assert ok(lanes.generate(CODE_PROMPT))["fallback_from"] == "CODER"
    status = {
        row["config"]["lane"]: row for row in ok(lanes.client.get("/api/system/lanes"))["lanes"]
    }
    assert status["CODER"]["breaker"]["state"] == "open"
    served = len(lanes.default.chat_requests)
    assert ok(lanes.generate(CODE_PROMPT))["attempts"] == 1  # CODER skipped: open breaker
    assert len(lanes.default.chat_requests) == served + 1

    lanes.coder.up()
    time.sleep(3.1)  # the cooldown: the next call is CODER's trial
    answer = ok(lanes.generate(CODE_PROMPT))
    assert (answer["lane"], answer["fallback_from"]) == ("CODER", None)
    status = {
        row["config"]["lane"]: row for row in ok(lanes.client.get("/api/system/lanes"))["lanes"]
    }
    assert status["CODER"]["breaker"]["state"] == "closed"


def test_a_streamed_answer_arrives_as_events_and_is_recorded_whole(lanes: Lanes) -> None:
    lanes.default.enqueue(Reply(text="First gather the owners, then move the data."))
    response = lanes.generate(PLAN_PROMPT, stream=True)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    assert events[0][0] == "routing"
    routing = json.loads(events[0][1])
    assert routing["lane"] == "ORCHESTRATOR"
    tokens = "".join(json.loads(data)["text"] for name, data in events if name == "token")
    assert tokens == "First gather the owners, then move the data."
    assert events[-1][0] == "done"
    call_id = routing["call_id"]
    deadline = time.monotonic() + 15
    while (call := lanes.call(call_id, routing["position"]))["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert call["completion"] == tokens
    assert call["mode"] == "stream"


def test_a_queued_call_is_answered_by_a_worker_and_read_back(lanes: Lanes) -> None:
    lanes.coder.enqueue(Reply(text="Queued answer."))
    queued = ok(
        lanes.client.post(
            "/api/generate/jobs", json={"prompt": CODE_PROMPT, "project_id": lanes.project}
        ),
        202,
    )
    assert (queued["status"], queued["lane"]) == ("requested", "CODER")
    deadline = time.monotonic() + 10
    while (call := lanes.call(queued["call_id"], queued["position"]))["status"] == "requested":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (call["status"], call["completion"], call["mode"]) == (
        "completed",
        "Queued answer.",
        "job",
    )


def test_lanes_status_shows_configuration_without_secrets(lanes: Lanes) -> None:
    response = lanes.client.get("/api/system/lanes")
    assert "coder-secret" not in response.text
    body = ok(response)
    assert body["default_lane"] == "ORCHESTRATOR"
    rows = {row["config"]["lane"]: row for row in body["lanes"]}
    assert set(rows) == {"ORCHESTRATOR", "CODER", "SUPER_READER", "FAST_RAG", "GOVERNANCE"}
    assert rows["CODER"]["config"]["api_key_set"] is True
    assert rows["CODER"]["healthy"] is True
    assert (rows["GOVERNANCE"]["served_by"], rows["GOVERNANCE"]["config"]["own"]) == (
        "ORCHESTRATOR",
        False,
    )
    assert rows["SUPER_READER"]["config"]["context_tokens"] == 8192  # borrowed from the default
    ready = ok(lanes.client.get("/readyz"))
    assert ready["checks"]["model_lane"]["ok"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": ""},
        {"prompt": "x", "lane": "POET"},
        {"prompt": "x", "max_tokens": 0},
        {"prompt": "x", "temperature": 2},
        {"project_id": None},
    ],
)
def test_invalid_bodies_are_400(lanes: Lanes, body: dict[str, Any]) -> None:
    problem(lanes.client.post("/api/generate", json={"project_id": lanes.project, **body}), 400)
    assert lanes.default.chat_requests == []
    assert lanes.coder.chat_requests == []


def test_an_unknown_project_is_404(lanes: Lanes) -> None:
    body = {"prompt": "x", "project_id": "00000000-0000-0000-0000-000000000001"}
    problem(lanes.client.post("/api/generate", json=body), 404)


def test_prompts_are_kept_when_auditing_is_on(backend_settings: Settings, tmp_path: Path) -> None:
    with ExitStack() as stack:
        server = stack.enter_context(FakeLLMServer(model="m"))
        client = _start(
            stack,
            backend_settings,
            tmp_path,
            CORTEX_LLM_BASE_URL=server.base_url,
            CORTEX_LLM_MODEL="m",
            CORTEX_AUDIT_PROMPTS="true",
        )
        project = create_project(client)["id"]
        answer = ok(
            client.post("/api/generate", json={"prompt": PLAN_PROMPT, "project_id": project})
        )
        call = ok(client.get(f"/api/model-calls/{answer['call_id']}?after={answer['position']}"))
        assert call["prompt"] == PLAN_PROMPT


def test_with_no_lane_configured_generation_is_503_and_readiness_stays_green(
    backend_settings: Settings, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        client = _start(stack, backend_settings, tmp_path)
        project = create_project(client)["id"]
        body = problem(
            client.post("/api/generate", json={"prompt": "hi", "project_id": project}), 503
        )
        assert "CORTEX_LLM_BASE_URL" in body["detail"]
        assert client.get("/readyz").json()["checks"]["model_lane"]["ok"] is True


def _events(text: str) -> list[tuple[str, str]]:
    events = []
    for block in text.strip().split("\r\n\r\n" if "\r\n\r\n" in text else "\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], fields.get("data", "")))
    return events


def test_generate_text_and_its_async_twin_route_and_record_like_the_api(lanes: Lanes) -> None:
    lanes.coder.enqueue(Reply(text="From the coder."))
    lane_calls.use(lanes.cortex)
    try:
        answered = generate_text(CODE_PROMPT, project_id=lanes.project)
        assert (answered.text, answered.answered.lane) == ("From the coder.", Lane.CODER)
        assert answered.decision.lane is Lane.CODER
        planned = anyio.run(partial(agenerate_text, PLAN_PROMPT, lanes.project, max_tokens=5))
    finally:
        lane_calls.use(None)
    assert planned.answered.lane is Lane.ORCHESTRATOR
    assert lanes.default.chat_requests[-1].body["max_tokens"] == 5
    for result in (answered, planned):
        assert lanes.call(str(result.call_id), result.position)["status"] == "completed"
