"""The OpenAI-compatible lane backend over real HTTP, against the scriptable fake server: answers,
streams, tool calls, and every failure mapped to the right LaneError kind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cortex.lanes.openai_backend import OpenAIBackend, http_client
from cortex.lanes.types import Lane, LaneConfig, LaneError, Message, StreamPiece
from tests.support.llm_server import FakeLLMServer, Reply

API_KEY = "sk-test-0123456789abcdef"
SECRET_PROMPT = "the launch code is PURPLE-GIRAFFE-42"


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(model="test-model") as fake:
        yield fake


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with http_client(pool_size=4) as pooled:
        yield pooled


def lane_config(base_url: str, *, timeout: float = 2.0, api_key: str = "") -> LaneConfig:
    return LaneConfig(
        lane=Lane.CODER,
        backend="openai",
        base_url=base_url,
        model="test-model",
        timeout=timeout,
        max_tokens=64,
        context_tokens=4096,
        api_key=api_key,
    )


@pytest.fixture
def backend(server: FakeLLMServer, client: httpx.Client) -> OpenAIBackend:
    return OpenAIBackend(lane_config(server.base_url), client)


def ask(text: str = "hello") -> list[Message]:
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]


def failure(call: Any) -> LaneError:
    with pytest.raises(LaneError) as caught:
        call()
    return caught.value


def drain(pieces: Iterator[StreamPiece]) -> list[StreamPiece]:
    return list(pieces)


# -- answers -----------------------------------------------------------------------------------


def test_complete_returns_text_usage_and_model(
    server: FakeLLMServer, backend: OpenAIBackend
) -> None:
    server.enqueue(Reply(text="hi there", prompt_tokens=11, completion_tokens=2))
    completion = backend.complete(ask(), max_tokens=32)
    assert completion.text == "hi there"
    assert (completion.prompt_tokens, completion.completion_tokens) == (11, 2)
    assert completion.finish_reason == "stop"
    assert completion.model == "test-model"
    assert completion.tool_calls == ()
    (request,) = server.chat_requests
    assert request.body == {
        "model": "test-model",
        "messages": ask(),
        "max_tokens": 32,
        "stream": False,
    }
    assert "authorization" not in request.headers


def test_finish_reason_length_is_passed_on(server: FakeLLMServer, backend: OpenAIBackend) -> None:
    server.enqueue(Reply(text="cut", finish_reason="length"))
    assert backend.complete(ask(), max_tokens=1).finish_reason == "length"


def test_tool_calls_are_sent_and_parsed(server: FakeLLMServer, backend: OpenAIBackend) -> None:
    tools = [{"type": "function", "function": {"name": "search", "parameters": {}}}]
    server.enqueue(
        Reply(
            tool_calls=[
                {"name": "search", "arguments": {"query": "lanes"}},
                {"name": "open", "arguments": '{"path": "a.md"}', "id": "call_x"},
            ]
        )
    )
    completion = backend.complete(ask(), max_tokens=32, tools=tools)
    assert server.chat_requests[0].body["tools"] == tools
    assert completion.text == ""
    assert completion.finish_reason == "tool_calls"
    first, second = completion.tool_calls
    assert first.name == "search"
    assert json.loads(first.arguments) == {"query": "lanes"}
    assert first.id.startswith("call_")
    assert (second.id, second.name, second.arguments) == ("call_x", "open", '{"path": "a.md"}')


def test_stream_reassembles_the_text_and_ends_with_usage(
    server: FakeLLMServer, backend: OpenAIBackend
) -> None:
    server.enqueue(Reply(text="one two three four", prompt_tokens=9, completion_tokens=4))
    pieces = drain(backend.stream(ask(), max_tokens=16))
    *texts, last = pieces
    assert len(texts) == 4
    assert "".join(piece.text for piece in texts) == "one two three four"
    assert not any(piece.done for piece in texts)
    assert last == StreamPiece(
        done=True, finish_reason="stop", prompt_tokens=9, completion_tokens=4
    )
    body = server.chat_requests[0].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 16


def test_missing_usage_is_estimated(client: httpx.Client) -> None:
    """A server that reports no usage (the fake always does, so a fake transport stands in)."""

    def answer(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["stream"]:
            events = [
                {"choices": [{"index": 0, "delta": {"content": "abcd efgh"}}]},
                {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            ]
            body = "".join(f"data: {json.dumps(event)}\n\n" for event in events)
            return httpx.Response(200, text=body + "data: [DONE]\n\n")
        message = {"role": "assistant", "content": "abcd efgh"}
        return httpx.Response(200, json={"choices": [{"message": message}]})

    with httpx.Client(transport=httpx.MockTransport(answer)) as fake_client:
        backend = OpenAIBackend(lane_config("http://model.test/v1"), fake_client)
        completion = backend.complete(ask(), max_tokens=8)
        last = drain(backend.stream(ask(), max_tokens=8))[-1]
    assert completion.completion_tokens == 3  # 9 characters, about 4 per token
    assert completion.prompt_tokens > 0
    assert completion.finish_reason == "unknown"
    assert completion.model == "test-model"
    assert (last.completion_tokens, last.finish_reason) == (3, "stop")
    assert last.prompt_tokens == completion.prompt_tokens


# -- failures ----------------------------------------------------------------------------------


def test_a_5xx_is_a_retryable_server_error_with_the_servers_message(
    server: FakeLLMServer, backend: OpenAIBackend
) -> None:
    server.enqueue(Reply(status=500, error_message="CUDA out of memory " + "x" * 500))
    error = failure(lambda: backend.complete(ask(SECRET_PROMPT), max_tokens=8))
    assert (error.kind, error.status, error.retryable) == ("server", 500, True)
    assert "HTTP 500" in error.message
    assert "CUDA out of memory" in error.message
    assert len(error.message) < 300  # trimmed
    assert SECRET_PROMPT not in error.message


def test_a_5xx_on_a_stream_is_a_server_error(server: FakeLLMServer, backend: OpenAIBackend) -> None:
    server.enqueue(Reply(status=503, error_message="loading model"))
    error = failure(lambda: drain(backend.stream(ask(), max_tokens=8)))
    assert (error.kind, error.status) == ("server", 503)
    assert "loading model" in error.message


def test_a_4xx_is_a_client_error_not_worth_retrying(
    server: FakeLLMServer, backend: OpenAIBackend
) -> None:
    server.enqueue(Reply(status=400, error_message="max_tokens is too large"))
    error = failure(lambda: backend.complete(ask(), max_tokens=8))
    assert (error.kind, error.status, error.retryable) == ("client", 400, False)
    assert "max_tokens is too large" in error.message


@pytest.mark.parametrize("streamed", [False, True])
def test_a_malformed_answer_is_a_protocol_error(
    server: FakeLLMServer, backend: OpenAIBackend, streamed: bool
) -> None:
    server.enqueue(Reply(text="never", malformed=True))
    if streamed:
        error = failure(lambda: drain(backend.stream(ask(), max_tokens=8)))
    else:
        error = failure(lambda: backend.complete(ask(), max_tokens=8))
    assert (error.kind, error.retryable) == ("protocol", True)


def test_json_of_the_wrong_shape_is_a_protocol_error(client: httpx.Client) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"choices": []})

    with httpx.Client(transport=httpx.MockTransport(answer)) as fake_client:
        backend = OpenAIBackend(lane_config("http://model.test/v1"), fake_client)
        assert failure(lambda: backend.complete(ask(), max_tokens=8)).kind == "protocol"


def test_an_answer_slower_than_the_lane_timeout_is_a_timeout(
    server: FakeLLMServer, client: httpx.Client
) -> None:
    backend = OpenAIBackend(lane_config(server.base_url, timeout=0.2), client)
    server.enqueue(Reply(text="late", delay=1.0))
    error = failure(lambda: backend.complete(ask(), max_tokens=8))
    assert (error.kind, error.retryable) == ("timeout", True)


def test_a_server_that_closes_before_answering_is_a_connect_error(
    server: FakeLLMServer, backend: OpenAIBackend
) -> None:
    server.enqueue(Reply(disconnect=True))
    assert failure(lambda: backend.complete(ask(), max_tokens=8)).kind == "connect"


def test_down_is_a_connect_error_and_up_again_works_with_the_same_pool(
    server: FakeLLMServer, backend: OpenAIBackend
) -> None:
    assert backend.complete(ask("before"), max_tokens=8).text == "echo: before"
    server.down()
    error = failure(lambda: backend.complete(ask(), max_tokens=8))
    assert (error.kind, error.retryable) == ("connect", True)
    assert "127.0.0.1" in error.message
    assert failure(lambda: drain(backend.stream(ask(), max_tokens=8))).kind == "connect"
    server.up()
    assert backend.complete(ask("after"), max_tokens=8).text == "echo: after"
    assert "".join(p.text for p in backend.stream(ask("again"), max_tokens=8)) == "echo: again"


def test_a_stream_cut_midway_is_a_protocol_error_after_its_first_pieces(
    server: FakeLLMServer, backend: OpenAIBackend
) -> None:
    server.enqueue(Reply(text="a b c d e f", stream_break_after=2))
    received: list[str] = []

    def read_all() -> None:
        for piece in backend.stream(ask(), max_tokens=8):
            received.append(piece.text)

    assert failure(read_all).kind == "protocol"
    assert "".join(received) == "a b "


def test_a_pooled_connection_is_reused(server: FakeLLMServer, backend: OpenAIBackend) -> None:
    for _ in range(3):
        backend.complete(ask(), max_tokens=8)
    assert len({request.client_port for request in server.chat_requests}) == 1


# -- the API key -------------------------------------------------------------------------------


@pytest.fixture
def keyed_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(model="test-model", api_key=API_KEY) as fake:
        yield fake


def test_the_api_key_is_sent_as_a_bearer_token(
    keyed_server: FakeLLMServer, client: httpx.Client
) -> None:
    backend = OpenAIBackend(lane_config(keyed_server.base_url, api_key=API_KEY), client)
    assert backend.complete(ask(), max_tokens=8).text == "echo: hello"
    backend.probe()
    drain(backend.stream(ask(), max_tokens=8))
    for request in keyed_server.requests:
        assert request.headers["authorization"] == f"Bearer {API_KEY}"


def test_the_api_key_never_appears_in_errors(
    keyed_server: FakeLLMServer, client: httpx.Client
) -> None:
    wrong = OpenAIBackend(lane_config(keyed_server.base_url, api_key="sk-wrong-key-42"), client)
    error = failure(lambda: wrong.complete(ask(SECRET_PROMPT), max_tokens=8))
    assert (error.kind, error.status) == ("client", 401)
    assert "sk-wrong-key-42" not in str(error)

    backend = OpenAIBackend(lane_config(keyed_server.base_url, api_key=API_KEY), client)
    keyed_server.enqueue(Reply(status=502, error_message=f"upstream refused key {API_KEY}"))
    error = failure(lambda: backend.complete(ask(SECRET_PROMPT), max_tokens=8))
    assert error.kind == "server"
    assert API_KEY not in str(error)
    assert SECRET_PROMPT not in str(error)
    assert API_KEY not in repr(backend.config)


# -- probe -------------------------------------------------------------------------------------


def test_probe_lists_the_models(server: FakeLLMServer, backend: OpenAIBackend) -> None:
    backend.probe()
    (request,) = server.requests
    assert (request.method, request.path) == ("GET", "/v1/models")


def test_probe_fails_with_the_server_or_without_it(
    server: FakeLLMServer, backend: OpenAIBackend
) -> None:
    server.models_status = 503
    assert failure(backend.probe).kind == "server"
    server.models_status = 404
    assert failure(backend.probe).kind == "client"
    server.down()
    assert failure(backend.probe).kind == "connect"
