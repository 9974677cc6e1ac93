"""Counting tokens as a lane's model counts them: the serving lane's ``POST /tokenize`` (vLLM and
llama.cpp's server both have it, at the server's root), else a fallback tokenizer.

vLLM takes ``{"model", "prompt", "add_special_tokens"}`` and answers ``{"count", "tokens", ...}``;
llama.cpp's server takes ``{"content", "add_special"}`` and answers ``{"tokens"}`` (an empty list
for a body without ``content``). The first request to a lane asks in vLLM's form; an answer
without ``count`` is llama.cpp's server, asked again in its own form. The form that worked is
remembered until a request fails. Failures are not remembered: a server without /tokenize costs
one quick 404 per counting, and a server that gains one is used at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, TypeVar

import httpx

from cortex.lanes.gateway import LaneGateway
from cortex.lanes.types import Lane, LaneConfig

T = TypeVar("T")
Dialect = Literal["vllm", "llama_cpp"]
TOKENIZE_TIMEOUT = 5.0  # seconds: counting must not wait as long as a generation may
_API_SUFFIX = re.compile(r"/v1/?$")


class TokenizeFailed(Exception):
    """The lane's server could not count (no /tokenize, down, or an unexpected answer)."""


@dataclass(frozen=True)
class Counter:
    """Counts a text's tokens; ``name`` says whose tokenizer, in words."""

    name: str
    count: Callable[[str], int]
    by_lane: bool


class LaneTokenizer:
    """The lanes' own tokenizers over HTTP, with one fallback tokenizer for every lane."""

    def __init__(
        self, gateway: LaneGateway, fallback: Callable[[str], int], fallback_name: str
    ) -> None:
        self._gateway = gateway
        self._fallback = fallback
        self._fallback_name = fallback_name
        self._dialects: dict[Lane, Dialect] = {}

    def counting(self, lane: Lane, work: Callable[[Counter], T]) -> T:
        """``work`` with the lane's tokenizer; all over again with the fallback when the lane
        cannot count (so one result is never counted by two tokenizers)."""
        serving = self._gateway.serving(lane)
        config = self._gateway.configs[serving]
        if not config.configured:
            return work(self.fallback("no model lane is configured"))
        if config.backend != "openai":
            return work(self.fallback(f"the {serving} lane runs llama.cpp as a program"))
        counter = Counter(
            f"lane {serving} ({config.model})",
            lambda text: self._count(serving, config, text),
            by_lane=True,
        )
        try:
            return work(counter)
        except TokenizeFailed as failure:
            return work(self.fallback(str(failure)))

    def fallback(self, why: str) -> Counter:
        return Counter(f"{self._fallback_name} ({why})", self._fallback, by_lane=False)

    def _count(self, lane: Lane, config: LaneConfig, text: str) -> int:
        dialect = self._dialects.get(lane)
        if dialect != "llama_cpp":
            body = {"model": config.model, "prompt": text, "add_special_tokens": False}
            count = self._ask(lane, config, body).get("count")
            if isinstance(count, int) and not isinstance(count, bool):
                self._dialects[lane] = "vllm"
                return count
            # No count: llama.cpp's server, which ignores "prompt" (or a server since changed).
        tokens = self._ask(lane, config, {"content": text, "add_special": False}).get("tokens")
        if not isinstance(tokens, list):
            self._forget(lane, "the lane's /tokenize answered without tokens")
        self._dialects[lane] = "llama_cpp"
        return len(tokens)

    def _ask(self, lane: Lane, config: LaneConfig, body: dict[str, Any]) -> dict[str, Any]:
        url = _API_SUFFIX.sub("", config.base_url.rstrip("/")) + "/tokenize"
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        timeout = min(config.timeout, TOKENIZE_TIMEOUT) if config.timeout else TOKENIZE_TIMEOUT
        try:
            response = self._gateway.client.post(url, json=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as error:
            self._forget(lane, f"the lane's /tokenize failed: {type(error).__name__}")
        if response.status_code in (404, 405, 501):
            self._forget(lane, "the lane has no /tokenize")
        if response.status_code >= 400:
            self._forget(lane, f"the lane's /tokenize answered {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            self._forget(lane, "the lane's /tokenize answered no JSON object")
        return data

    def _forget(self, lane: Lane, why: str) -> NoReturn:
        self._dialects.pop(lane, None)
        raise TokenizeFailed(why)
