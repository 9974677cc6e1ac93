"""A lane served by an OpenAI-compatible HTTP server (vLLM, llama.cpp's server, OpenAI itself).

Every failure becomes a :class:`LaneError` whose kind says whose fault it was: a timeout, no
connection (refused, reset or closed before the answer began), the server (5xx), the request
(4xx), or an answer that is not what the protocol promises (bad JSON, a stream cut midway).
Error messages name the lane, the endpoint and the server's own message, never the API key or
the prompt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from cortex.lanes.types import (
    Completion,
    ErrorKind,
    LaneConfig,
    LaneError,
    Message,
    StreamPiece,
    ToolCall,
    content_text,
)
from cortex.observability.tracing import instrument_http_client

MAX_DETAIL = 200  # characters of a server's error message kept in a LaneError


def http_client(pool_size: int = 20) -> httpx.Client:
    """A pooled client to share between lanes; no default timeout (each call passes its lane's)."""
    limits = httpx.Limits(
        max_connections=pool_size, max_keepalive_connections=pool_size, keepalive_expiry=30.0
    )
    # No default timeout on purpose: every request passes its lane's own.
    client = httpx.Client(limits=limits, timeout=None)  # noqa: S113
    return instrument_http_client(client)  # a span per request when tracing is on


class OpenAIBackend:
    """One lane's OpenAI-compatible server, spoken to through a shared pooled client. The client
    belongs to whoever made it: :meth:`close` leaves it open for the other lanes."""

    def __init__(self, config: LaneConfig, client: httpx.Client) -> None:
        self.config = config
        self._client = client
        self._base_url = config.base_url.rstrip("/")
        self._headers = {"Accept": "application/json"}
        if config.api_key:
            self._headers["Authorization"] = f"Bearer {config.api_key}"

    # -- the Backend protocol -----------------------------------------------------------------

    def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        tools: list[dict[str, Any]] | None = None,
    ) -> Completion:
        body = self._body(messages, max_tokens, stream=False)
        if tools:
            body["tools"] = tools
        with self._request("POST", "/chat/completions", body) as response:
            data = self._read_json(response, "/chat/completions")
        try:
            choice = data["choices"][0]
            message = choice["message"]
            text = content_text(message.get("content"))
            calls = tuple(
                _tool_call(call, index)
                for index, call in enumerate(message.get("tool_calls") or [])
            )
            usage = data.get("usage") or {}
            prompt_tokens = usage.get("prompt_tokens")
            completion_tokens = usage.get("completion_tokens")
            return Completion(
                text=text,
                # A server that reports no usage (some llama.cpp builds, proxies) gets estimates:
                # about four characters per token, good enough for budgets and metrics.
                prompt_tokens=int(prompt_tokens)
                if prompt_tokens is not None
                else _estimate_messages(messages),
                completion_tokens=int(completion_tokens)
                if completion_tokens is not None
                else _estimate(text + "".join(c.arguments for c in calls)),
                finish_reason=str(choice.get("finish_reason") or "unknown"),
                model=str(data.get("model") or self.config.model),
                tool_calls=calls,
            )
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise self._error("protocol", "/chat/completions", "unexpected answer shape") from exc

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[StreamPiece]:
        body = self._body(messages, max_tokens, stream=True)
        body["stream_options"] = {"include_usage": True}
        endpoint = "/chat/completions"
        with self._request("POST", endpoint, body, accept="text/event-stream") as response:
            self._check_status(response, endpoint)
            finish_reason: str | None = None
            usage: dict[str, Any] = {}
            produced: list[str] = []
            ended = False
            try:
                for data in _sse_data(response.iter_lines()):
                    if data == "[DONE]":
                        ended = True
                        break
                    chunk = json.loads(data)
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices") or []:
                        text = content_text((choice.get("delta") or {}).get("content"))
                        if text:
                            produced.append(text)
                            yield StreamPiece(text=text)
                        finish_reason = choice.get("finish_reason") or finish_reason
            except httpx.TimeoutException as exc:
                raise self._error("timeout", endpoint, "timed out mid-stream") from exc
            except httpx.TransportError as exc:
                raise self._error("protocol", endpoint, f"stream cut: {exc}") from exc
            except (ValueError, TypeError, AttributeError) as exc:
                raise self._error("protocol", endpoint, "unreadable stream event") from exc
            if not ended and finish_reason is None:
                raise self._error("protocol", endpoint, "stream ended before its last event")
        prompt_tokens = usage.get("prompt_tokens")
        completion_tokens = usage.get("completion_tokens")
        yield StreamPiece(
            done=True,
            finish_reason=finish_reason or "unknown",
            # Without a usage event (servers that ignore stream_options): estimates, as above.
            prompt_tokens=int(prompt_tokens)
            if prompt_tokens is not None
            else _estimate_messages(messages),
            completion_tokens=int(completion_tokens)
            if completion_tokens is not None
            else _estimate("".join(produced)),
        )

    def probe(self) -> None:
        with self._request("GET", "/models", None) as response:
            data = self._read_json(response, "/models")
        if not isinstance(data.get("data"), list):
            raise self._error("protocol", "/models", "no model list in the answer")

    def close(self) -> None:
        """Nothing to release: the pooled client is closed by its owner."""

    # -- HTTP ---------------------------------------------------------------------------------

    def _body(self, messages: list[Message], max_tokens: int, *, stream: bool) -> dict[str, Any]:
        return {
            "model": self.config.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "stream": stream,
        }

    @contextmanager
    def _request(
        self, method: str, endpoint: str, body: dict[str, Any] | None, accept: str | None = None
    ) -> Iterator[httpx.Response]:
        """The response once its headers have arrived; failures before then are timeouts or
        connection failures (a server that closes before answering counts as unreachable)."""
        headers = dict(self._headers)
        if accept:
            headers["Accept"] = accept
        request = self._client.build_request(
            method,
            self._base_url + endpoint,
            json=body,
            headers=headers,
            timeout=self.config.timeout,
        )
        try:
            response = self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise self._error(
                "timeout", endpoint, f"no answer within {self.config.timeout}s"
            ) from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise self._error("connect", endpoint, "invalid base URL") from exc
        except httpx.TransportError as exc:
            raise self._error("connect", endpoint, f"cannot reach {self._where()}: {exc}") from exc
        try:
            yield response
        finally:
            response.close()

    def _read_json(self, response: httpx.Response, endpoint: str) -> dict[str, Any]:
        self._check_status(response, endpoint)
        raw = self._read(response, endpoint)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise self._error("protocol", endpoint, "the answer is not JSON") from exc
        if not isinstance(data, dict):
            raise self._error("protocol", endpoint, "the answer is not a JSON object")
        return data

    def _read(self, response: httpx.Response, endpoint: str) -> bytes:
        try:
            return response.read()
        except httpx.TimeoutException as exc:
            raise self._error("timeout", endpoint, "timed out reading the answer") from exc
        except httpx.TransportError as exc:
            raise self._error("protocol", endpoint, f"answer cut: {exc}") from exc

    def _check_status(self, response: httpx.Response, endpoint: str) -> None:
        status = response.status_code
        if status < 400:
            return
        try:
            detail = _server_message(response.read())
        except httpx.HTTPError:
            detail = ""
        # 408 and 429 are the server's state (slow, busy), not the request's fault: retry them.
        kind: ErrorKind = "server" if status >= 500 or status in (408, 429) else "client"
        message = f"HTTP {status}" + (f": {detail}" if detail else "")
        raise self._error(kind, endpoint, message, status=status)

    def _where(self) -> str:
        url = httpx.URL(self._base_url)
        return f"{url.host}:{url.port}" if url.port else url.host

    def _error(
        self, kind: ErrorKind, endpoint: str, detail: str, *, status: int | None = None
    ) -> LaneError:
        if self.config.api_key:
            detail = detail.replace(self.config.api_key, "***")
        return LaneError(kind, f"lane {self.config.lane}: {endpoint}: {detail}", status=status)


# -- the protocol's shapes ---------------------------------------------------------------------


def _sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The payloads of server-sent events (multi-line ``data:`` fields joined with newlines)."""
    parts: list[str] = []
    for line in lines:
        if not line:
            if parts:
                yield "\n".join(parts)
                parts = []
        elif line.startswith("data:"):
            parts.append(line[5:].removeprefix(" "))
    if parts:
        yield "\n".join(parts)


def _tool_call(call: dict[str, Any], index: int) -> ToolCall:
    function = call["function"]
    arguments = function.get("arguments")
    if not isinstance(arguments, str):  # some servers send the object itself
        arguments = json.dumps(arguments if arguments is not None else {})
    return ToolCall(
        id=str(call.get("id") or f"call_{index}"), name=str(function["name"]), arguments=arguments
    )


def _server_message(raw: bytes) -> str:
    """The message of an OpenAI-style error body (or the body's start), on one line, trimmed."""
    text = raw.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            text = str(error["message"])
        elif isinstance(error, str):
            text = error
        elif data.get("message"):
            text = str(data["message"])
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."


def _estimate(text: str) -> int:
    return (len(text) + 3) // 4


def _estimate_messages(messages: list[Message]) -> int:
    # ~4 characters per token plus a few tokens of framing per message.
    return sum(_estimate(_safe_text(m.get("content"))) + 4 for m in messages if isinstance(m, dict))


def _safe_text(content: Any) -> str:
    try:
        return content_text(content)
    except TypeError:
        return ""
