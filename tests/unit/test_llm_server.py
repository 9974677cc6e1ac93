"""The fake OpenAI-compatible server the lane tests talk to, checked over real HTTP with httpx."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.llm_server import FakeLLMServer, Reply

CHAT = "/chat/completions"


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(model="test-model") as fake:
        yield fake


@pytest.fixture
def client(server: FakeLLMServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=5) as http:
        yield http


def chat(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": "test-model", "messages": [{"role": "user", "content": text}], **extra}


def sse_events(lines: Iterable[str]) -> list[Any]:
    """The `data:` payloads of a server-sent event stream, JSON-decoded except for [DONE]."""
    events: list[Any] = []
    for line in lines:
        if line.startswith("data: "):
            data = line.removeprefix("data: ")
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def streamed(client: httpx.Client, body: dict[str, Any]) -> tuple[httpx.Response, list[Any]]:
    with client.stream("POST", CHAT, json={**body, "stream": True}) as response:
        events = sse_events(response.iter_lines())
    return response, events


def test_a_scripted_reply_then_the_echo_default(
    server: FakeLLMServer, client: httpx.Client
) -> None:
    server.enqueue(Reply(text="Hello there, friend", prompt_tokens=7))
    answer = client.post(CHAT, json=chat("say hello")).json()
    assert answer["object"] == "chat.completion"
    assert answer["model"] == "test-model"
    (choice,) = answer["choices"]
    assert choice["message"] == {"role": "assistant", "content": "Hello there, friend"}
    assert choice["finish_reason"] == "stop"
    assert answer["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}

    answer = client.post(CHAT, json=chat("what now")).json()
    assert answer["choices"][0]["message"]["content"] == "echo: what now"
    assert answer["usage"]["prompt_tokens"] == 2
    assert server.pending == 0


def test_a_stream_reassembles_the_text_and_ends_with_done(
    server: FakeLLMServer, client: httpx.Client
) -> None:
    server.enqueue(Reply(text="The quick  brown fox.", completion_tokens=11))
    response, events = streamed(client, chat(stream_options={"include_usage": True}))
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["transfer-encoding"] == "chunked"
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    with_choices = [chunk for chunk in chunks if chunk["choices"]]
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in with_choices)
    assert text == "The quick  brown fox."
    assert len(with_choices) == 1 + 4 + 1  # role, one per word, finish
    assert with_choices[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 11

    _, events = streamed(client, chat("no usage please"))
    assert events[-1] == "[DONE]"
    assert all("usage" not in event for event in events[:-1])


def test_tool_calls_in_the_openai_shape(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(
        Reply(
            tool_calls=[
                {"name": "search", "arguments": {"query": "cats", "limit": 3}},
                {"name": "noop", "arguments": {}},
            ]
        )
    )
    (choice,) = client.post(CHAT, json=chat()).json()["choices"]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "search", "arguments": '{"query": "cats", "limit": 3}'},
        },
        {"id": "call_2", "type": "function", "function": {"name": "noop", "arguments": "{}"}},
    ]


def test_streamed_tool_calls_reassemble_by_index(
    server: FakeLLMServer, client: httpx.Client
) -> None:
    server.enqueue(
        Reply(text="Let me look.", tool_calls=[{"name": "search", "arguments": {"q": 1}}])
    )
    _, events = streamed(client, chat())
    calls: dict[int, dict[str, str]] = {}
    for event in events[:-1]:
        for delta_call in event["choices"][0]["delta"].get("tool_calls", []):
            call = calls.setdefault(delta_call["index"], {"id": "", "name": "", "arguments": ""})
            call["id"] += delta_call.get("id", "")
            call["name"] += delta_call.get("function", {}).get("name", "")
            call["arguments"] += delta_call.get("function", {}).get("arguments", "")
    assert calls == {0: {"id": "call_1", "name": "search", "arguments": '{"q": 1}'}}
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("status", [400, 500, 503])
def test_error_statuses_answer_an_openai_error_body_and_keep_the_connection(
    server: FakeLLMServer, client: httpx.Client, status: int
) -> None:
    server.enqueue(Reply(status=status, headers={"Retry-After": "1"}))
    response = client.post(CHAT, json=chat(stream=True))
    assert response.status_code == status
    assert response.headers["retry-after"] == "1"
    error = response.json()["error"]
    assert error["code"] == status
    assert error["message"]
    assert error["type"]
    assert client.post(CHAT, json=chat("again")).status_code == 200
    first, second = server.requests
    assert first.client_port == second.client_port  # one kept-alive connection


def test_a_malformed_body(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(Reply(malformed=True), Reply(malformed=True))
    response = client.post(CHAT, json=chat())
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    with pytest.raises(json.JSONDecodeError):
        streamed(client, chat())


def test_a_delay_past_the_client_timeout(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(Reply(text="late", delay=2))
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        client.post(CHAT, json=chat(), timeout=0.2)
    assert time.monotonic() - started < 1
    assert client.post(CHAT, json=chat("next")).json()["choices"][0]["message"]["content"] == (
        "echo: next"
    )


def test_broken_answers_are_protocol_errors(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(Reply(disconnect=True), Reply(text="one two three", stream_break_after=2))
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(CHAT, json=chat())
    received: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", CHAT, json=chat(stream=True)) as response,
    ):
        received.extend(response.iter_lines())
    contents = [event["choices"][0]["delta"].get("content") for event in sse_events(received)]
    assert contents == ["", "one ", "two "]  # the role event, then two words, then nothing


def test_stream_events_arrive_one_by_one(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(Reply(text="a b c d", stream_delay=0.05))
    started = time.monotonic()
    arrivals = []
    with client.stream("POST", CHAT, json=chat(stream=True)) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 7  # role, four words, finish, [DONE]
    assert arrivals[-1] - arrivals[0] >= 0.25  # not all at once: six gaps of 0.05 s


def test_down_refuses_connections_and_up_listens_on_the_same_port(
    server: FakeLLMServer, client: httpx.Client
) -> None:
    base_url = server.base_url
    assert client.post(CHAT, json=chat()).status_code == 200  # leaves a pooled connection
    server.down()
    assert not server.running
    for _ in range(2):
        with pytest.raises(httpx.ConnectError):
            client.post(CHAT, json=chat())
    server.up()
    assert server.base_url == base_url
    assert client.post(CHAT, json=chat("back")).json()["choices"][0]["message"]["content"] == (
        "echo: back"
    )


def test_down_interrupts_a_delayed_answer(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(Reply(text="never", delay=5))
    errors: list[Exception] = []

    async def ask() -> None:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:
            try:
                await http.post(CHAT, json=chat())
            except httpx.HTTPError as error:
                errors.append(error)

    async def ask_then_take_down() -> None:
        task = asyncio.create_task(ask())
        while not server.requests:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(server.down)
        await task

    started = time.monotonic()
    asyncio.run(ask_then_take_down())
    assert time.monotonic() - started < 1
    assert isinstance(errors[0], httpx.RemoteProtocolError)


def test_an_async_client_streams_too(server: FakeLLMServer) -> None:
    async def stream() -> list[Any]:
        async with (
            httpx.AsyncClient(base_url=server.base_url) as http,
            http.stream("POST", CHAT, json=chat("async hello", stream=True)) as response,
        ):
            return sse_events([line async for line in response.aiter_lines()])

    events = asyncio.run(stream())
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-1])
    assert text == "echo: async hello"
    assert events[-1] == "[DONE]"


def test_requests_are_recorded(server: FakeLLMServer, client: httpx.Client) -> None:
    client.post(CHAT, json=chat("first", temperature=0.2), headers={"Authorization": "Bearer k"})
    client.get("/models")
    chat_request, models_request = server.requests
    assert chat_request.method == "POST"
    assert chat_request.path == "/v1/chat/completions"
    assert chat_request.headers["authorization"] == "Bearer k"
    assert chat_request.body["temperature"] == 0.2
    assert chat_request.messages == [{"role": "user", "content": "first"}]
    assert not chat_request.stream
    assert models_request.path == "/v1/models"
    assert models_request.body is None
    assert server.chat_requests == [chat_request]


def test_models_lists_the_model_and_can_fail(server: FakeLLMServer, client: httpx.Client) -> None:
    listing = client.get("/models").json()
    assert listing["object"] == "list"
    assert [model["id"] for model in listing["data"]] == ["test-model"]
    server.models_status = 500
    response = client.get("/models")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == 500


def test_unknown_paths_bad_bodies_keys_and_models(client: httpx.Client) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert "error" in response.json()
    assert client.get(CHAT).status_code == 405
    assert client.post(CHAT, content=b"not json").status_code == 400
    assert client.post(CHAT, json={"model": "test-model", "messages": []}).status_code == 400
    with (
        FakeLLMServer(model="m", api_key="secret", strict_model=True) as strict,
        httpx.Client(base_url=strict.base_url) as http,
    ):
        body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
        assert http.post(CHAT, json=body).status_code == 401
        http.headers["Authorization"] = "Bearer secret"
        assert http.post(CHAT, json=body).status_code == 200
        assert http.post(CHAT, json={**body, "model": "other"}).status_code == 404
