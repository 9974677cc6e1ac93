"""A scriptable OpenAI-compatible chat server on loopback, for tests that must speak real HTTP.

It answers the subset of the protocol that vLLM and llama.cpp's server share with OpenAI:

- ``GET /v1/models``: the list format, with the one model id (``models_status`` scripts a failure);
- ``POST /v1/chat/completions``: ``chat.completion`` JSON, or with ``"stream": true`` server-sent
  events of ``chat.completion.chunk`` (one per word, tool calls as ``delta.tool_calls``, a usage
  chunk when ``stream_options.include_usage`` is true) ending with ``data: [DONE]``;
- ``GET /health``: ``{"status": "ok"}``, as both servers have it;
- ``POST /tokenize`` (at the root, as both servers have it) with whitespace-separated words as
  tokens: vLLM's form by default (``{"prompt"}`` -> ``{"count", "max_model_len", "tokens"}``),
  llama.cpp's with ``tokenize="llama_cpp"`` (``{"content"}`` -> ``{"tokens"}``), none (404) with
  ``tokenize=None``; the attribute may be changed while the server runs;
- anything else: 404 (or 405) with an OpenAI-style error body.

HTTP/1.1 with keep-alive and exact Content-Length, so pooled clients reuse connections; streams
are sent with ``Transfer-Encoding: chunked``. Chat replies come from a queue of scripted
:class:`Reply` objects, consumed in order; when it is empty the reply echoes the last user message
(``"echo: <text>"``, or whatever ``default_reply`` returns).

``down()`` closes the listening socket and every open connection, so new connections are refused
and pooled ones fail; ``up()`` listens again on the same port.

Standard library only::

    with FakeLLMServer(model="test-model") as server:
        server.enqueue(Reply(text="hello"), Reply(status=503))
        client = httpx.Client(base_url=server.base_url)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

__all__ = ["FakeLLMServer", "RecordedRequest", "Reply", "ToolCall"]

HOST = "127.0.0.1"

# A tool call as scripted: {"name": str, "arguments": dict | str, "id": str (optional)}.
ToolCall = dict[str, Any]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "server_error",
    503: "service_unavailable_error",
    504: "timeout_error",
}


@dataclass
class Reply:
    """One scripted answer to a chat completion request (stream or not).

    text: the assistant's content (None: no content, e.g. with tool calls only).
    tool_calls: [{"name": ..., "arguments": dict or raw str, "id": optional}]; ids default to
        ``call_N`` (numbered across the server's life) and finish_reason to "tool_calls".
    status: an HTTP status; anything but 200 answers an OpenAI-style error body (also for streams).
    error_message: the error body's message (default: the status phrase).
    delay: seconds to wait before answering (the request is recorded at once).
    malformed: answer 200 with a body that is not JSON (for streams: an event that is not JSON).
    disconnect: close the connection without answering anything.
    prompt_tokens / completion_tokens: usage; by default whitespace word counts.
    finish_reason: overrides "stop" / "tool_calls" (e.g. "length").
    stream_delay: seconds between SSE events.
    stream_break_after: abort a stream (no terminating chunk) after this many content events.
    headers: extra response headers (e.g. {"Retry-After": "1"}).
    """

    text: str | None = None
    tool_calls: list[ToolCall] | None = None
    status: int = 200
    error_message: str | None = None
    delay: float = 0.0
    malformed: bool = False
    disconnect: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    stream_delay: float = 0.0
    stream_break_after: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the server received it. Header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body; None when there was none or it was not JSON
    raw_body: bytes
    client_port: int  # the same for requests that came over one (kept-alive) connection

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("stream") is True

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        return list(messages) if isinstance(messages, list) else []


class _AbortConnection(Exception):
    """Drop the connection without (finishing) an answer."""


class _HTTPServer(ThreadingHTTPServer):
    allow_reuse_address = True  # up() rebinds the port while old connections sit in TIME_WAIT
    daemon_threads = True

    def __init__(self, fake: FakeLLMServer, port: int) -> None:
        self.fake = fake
        self.closing = threading.Event()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away, or down(): nothing worth a traceback on stderr.
        pass

    def drop_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            _shutdown(connection)


class FakeLLMServer:
    """An OpenAI-compatible server on 127.0.0.1, scripted with :class:`Reply` objects."""

    def __init__(
        self,
        model: str = "test-model",
        *,
        port: int = 0,
        api_key: str | None = None,
        strict_model: bool = False,
        tokenize: Literal["vllm", "llama_cpp"] | None = "vllm",
    ) -> None:
        self.model = model
        self.tokenize = tokenize  # which server's /tokenize to answer like (None: no /tokenize)
        self.api_key = api_key  # when set, requests need "Authorization: Bearer <api_key>"
        self.strict_model = strict_model  # when set, another "model" in a request answers 404
        self.models_status = 200
        self.default_reply: Callable[[RecordedRequest], Reply] = _echo
        self._port = port
        self._lock = threading.Lock()
        self._replies: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._call_ids = itertools.count(1)
        self._completion_ids = itertools.count(1)
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> FakeLLMServer:
        self.up()
        return self

    def stop(self) -> None:
        self.down()

    def up(self) -> None:
        """Listen (again), on the same port as before."""
        if self._server is not None:
            return
        server = _HTTPServer(self, self._port)
        self._port = server.server_address[1]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"fake-llm-{self._port}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread

    def down(self) -> None:
        """Stop listening and drop every open connection; the port is kept for up()."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.closing.set()  # wakes up delayed answers, which then give up
        server.shutdown()
        server.server_close()
        server.drop_connections()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port == 0:
            raise RuntimeError("the server has not been started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    # -- script and record --------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    @property
    def pending(self) -> int:
        """How many scripted replies are still queued."""
        with self._lock:
            return len(self._replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def tokenize_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/tokenize"]

    def reset(self) -> None:
        """Forget the scripted replies and the recorded requests."""
        with self._lock:
            self._replies.clear()
            self._requests.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            reply = self._replies.popleft() if self._replies else None
        return reply if reply is not None else self.default_reply(request)

    def _next_call_id(self) -> str:
        with self._lock:
            return f"call_{next(self._call_ids)}"

    def _next_completion_id(self) -> str:
        with self._lock:
            return f"chatcmpl-{next(self._completion_ids)}"


# -- the protocol ------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # stream events leave one by one
    server: _HTTPServer
    server_version = "FakeLLM/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- dispatch -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        fake = self.server.fake
        raw = self._read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = self.path.split("?", 1)[0]
        request = RecordedRequest(
            method=self.command,
            path=path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            raw_body=raw,
            client_port=self.client_address[1],
        )
        fake._record(request)
        try:
            self._route(fake, request)
        except (_AbortConnection, OSError):
            self.close_connection = True
            _shutdown(self.connection)

    def _route(self, fake: FakeLLMServer, request: RecordedRequest) -> None:
        routes = {
            "/v1/models": ("GET", self._models),
            "/v1/chat/completions": ("POST", self._chat),
            "/health": ("GET", self._health),
        }
        if fake.tokenize is not None:
            routes["/tokenize"] = ("POST", self._tokenize)
        route = routes.get(request.path.rstrip("/") or "/")
        if route is None:
            self._error(404, f"Not found: {request.path}")
            return
        method, handler = route
        if request.method != method:
            self._error(405, f"Method {request.method} not allowed on {request.path}")
            return
        if fake.api_key is not None and request.path.startswith("/v1/"):
            expected = f"Bearer {fake.api_key}"
            if request.headers.get("authorization") != expected:
                self._error(401, "Incorrect API key provided.")
                return
        handler(fake, request)

    # -- endpoints ----------------------------------------------------------------------------

    def _health(self, fake: FakeLLMServer, request: RecordedRequest) -> None:
        self._json(200, {"status": "ok"})

    def _tokenize(self, fake: FakeLLMServer, request: RecordedRequest) -> None:
        body = request.body if isinstance(request.body, dict) else {}
        if fake.tokenize == "llama_cpp":  # llama.cpp's server: no "content", no tokens
            content = body.get("content")
            words = content.split() if isinstance(content, str) else []
            self._json(200, {"tokens": list(range(len(words)))})
            return
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            self._error(400, "'prompt' (or 'messages') is required.")
            return
        tokens = list(range(len(prompt.split())))
        self._json(200, {"count": len(tokens), "max_model_len": 8192, "tokens": tokens})

    def _models(self, fake: FakeLLMServer, request: RecordedRequest) -> None:
        if fake.models_status != 200:
            self._error(fake.models_status)
            return
        model = {"id": fake.model, "object": "model", "created": 0, "owned_by": "fake-llm"}
        self._json(200, {"object": "list", "data": [model]})

    def _chat(self, fake: FakeLLMServer, request: RecordedRequest) -> None:
        body = request.body
        if not isinstance(body, dict):
            self._error(400, "The request body is not a JSON object.")
            return
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            self._error(400, "'messages' must be a non-empty list.")
            return
        if fake.strict_model and body.get("model") != fake.model:
            self._error(404, f"The model `{body.get('model')}` does not exist.")
            return

        reply = fake._next_reply(request)
        if reply.delay > 0 and self.server.closing.wait(reply.delay):
            raise _AbortConnection
        if reply.disconnect:
            raise _AbortConnection
        if reply.status != 200:
            self._error(reply.status, reply.error_message, reply.headers)
            return

        if request.stream:
            self._stream(fake, request, reply)
        elif reply.malformed:
            self._send(200, b'{"id": "chatcmpl-broken", "choices": [{"mess', reply.headers)
        else:
            self._json(200, _completion(fake, request, reply), reply.headers)

    def _stream(self, fake: FakeLLMServer, request: RecordedRequest, reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()

        sent_output = 0
        for index, event in enumerate(_stream_events(fake, request, reply)):
            if index and reply.stream_delay > 0 and self.server.closing.wait(reply.stream_delay):
                raise _AbortConnection
            if _carries_output(event):
                if reply.stream_break_after is not None and sent_output >= reply.stream_break_after:
                    raise _AbortConnection
                sent_output += 1
            data = event if isinstance(event, str) else json.dumps(event)
            self._chunk(f"data: {data}\n\n".encode())
        self.wfile.write(b"0\r\n\r\n")

    # -- writing ------------------------------------------------------------------------------

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers)

    def _error(
        self, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        error = {
            "message": message or phrase,
            "type": _ERROR_TYPES.get(status, "server_error" if status >= 500 else "api_error"),
            "param": None,
            "code": status,
        }
        self._json(status, {"error": error}, headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    # -- reading ------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""


# -- payloads ----------------------------------------------------------------------------------


def _echo(request: RecordedRequest) -> Reply:
    users = [m for m in request.messages if isinstance(m, dict) and m.get("role") == "user"]
    last = _content_text(users[-1].get("content")) if users else ""
    return Reply(text=f"echo: {last}")


def _content_text(content: Any) -> str:
    """A message's text: a plain string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def _words(text: str) -> int:
    return len(text.split())


def _tool_calls(fake: FakeLLMServer, reply: Reply) -> list[dict[str, Any]]:
    calls = []
    for call in reply.tool_calls or []:
        arguments = call.get("arguments", {})
        calls.append(
            {
                "id": call.get("id") or fake._next_call_id(),
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                },
            }
        )
    return calls


def _usage(request: RecordedRequest, reply: Reply, calls: list[dict[str, Any]]) -> dict[str, int]:
    prompt = reply.prompt_tokens
    if prompt is None:
        prompt = sum(
            _words(_content_text(m.get("content"))) for m in request.messages if isinstance(m, dict)
        )
    completion = reply.completion_tokens
    if completion is None:
        completion = _words(reply.text or "") + sum(
            1 + _words(c["function"]["arguments"]) for c in calls
        )
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _finish_reason(reply: Reply) -> str:
    if reply.finish_reason is not None:
        return reply.finish_reason
    return "tool_calls" if reply.tool_calls else "stop"


def _completion(fake: FakeLLMServer, request: RecordedRequest, reply: Reply) -> dict[str, Any]:
    calls = _tool_calls(fake, reply)
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": fake._next_completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": fake.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _finish_reason(reply),
            }
        ],
        "usage": _usage(request, reply, calls),
    }


def _pieces(text: str) -> list[str]:
    """The text cut before each word that follows whitespace: "a b  c" -> ["a ", "b  ", "c"]."""
    return [piece for piece in re.split(r"(?<=\s)(?=\S)", text) if piece]


def _halves(text: str) -> list[str]:
    middle = len(text) // 2
    return [part for part in (text[:middle], text[middle:]) if part]


def _stream_events(
    fake: FakeLLMServer, request: RecordedRequest, reply: Reply
) -> Iterator[dict[str, Any] | str]:
    """The SSE payloads of a streamed answer, in order; strings are sent as they are."""
    completion_id = fake._next_completion_id()
    created = int(time.time())
    options = request.body.get("stream_options") if isinstance(request.body, dict) else None
    include_usage = isinstance(options, dict) and options.get("include_usage") is True

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        event: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": fake.model,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if include_usage:
            event["usage"] = None
        return event

    yield chunk({"role": "assistant", "content": ""})
    if reply.malformed:
        yield '{"id": "chatcmpl-broken", "choices": [{"delta'
        yield "[DONE]"
        return
    for piece in _pieces(reply.text or ""):
        yield chunk({"content": piece})
    calls = _tool_calls(fake, reply)
    for index, call in enumerate(calls):
        function = call["function"]
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": function["name"], "arguments": ""},
                    }
                ]
            }
        )
        for part in _halves(function["arguments"]):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
    yield chunk({}, _finish_reason(reply))
    if include_usage:
        yield {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": fake.model,
            "choices": [],
            "usage": _usage(request, reply, calls),
        }
    yield "[DONE]"


def _carries_output(event: dict[str, Any] | str) -> bool:
    """Whether an event carries content or a tool call (what stream_break_after counts)."""
    if not isinstance(event, dict) or not event.get("choices"):
        return False
    delta = event["choices"][0]["delta"]
    return bool(delta.get("content") or delta.get("tool_calls"))


def _shutdown(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
