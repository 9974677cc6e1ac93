"""What every part of the lanes package speaks: the lanes, a lane's configuration, messages in,
completions out, and the errors a backend raises."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol


class Lane(StrEnum):
    ORCHESTRATOR = "ORCHESTRATOR"  # the default lane: planning, agent coordination
    CODER = "CODER"  # code analysis, refactoring
    SUPER_READER = "SUPER_READER"  # long-context reading
    FAST_RAG = "FAST_RAG"  # retrieval and questions about the project's knowledge
    GOVERNANCE = "GOVERNANCE"  # compliance checks


DEFAULT_LANE = Lane.ORCHESTRATOR
BackendKind = Literal["openai", "llama_cpp"]


@dataclass(frozen=True)
class LaneConfig:
    """One lane's effective configuration (a lane left unconfigured uses the default lane's)."""

    lane: Lane
    backend: BackendKind
    base_url: str  # OpenAI-compatible: http://host:port/v1
    model: str
    timeout: float
    max_tokens: int
    context_tokens: int
    binary: str = ""  # llama_cpp: the llama.cpp program
    model_path: str = ""  # llama_cpp: the GGUF file
    api_key: str = field(default="", repr=False)
    configured: bool = True  # False: nothing set for this lane or the default one
    own: bool = True  # False: borrowed from the default lane (nothing set for this lane)

    def public(self) -> dict[str, Any]:
        """What may be shown to operators: everything but the API key."""
        return {
            "lane": str(self.lane),
            "backend": self.backend,
            "base_url": self.base_url,
            "model": self.model,
            "timeout": self.timeout,
            "max_tokens": self.max_tokens,
            "context_tokens": self.context_tokens,
            "binary": self.binary,
            "model_path": self.model_path,
            "api_key_set": bool(self.api_key),
            "configured": self.configured,
            "own": self.own,
        }


# OpenAI chat messages: {"role": "system"|"user"|"assistant"|"tool", "content": ..., ...}
Message = dict[str, Any]


def content_text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    raise TypeError("content is neither text nor parts")


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    model: str
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class StreamPiece:
    """A piece of a streamed answer: text as it comes; the last piece has ``done`` and usage."""

    text: str = ""
    done: bool = False
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


ErrorKind = Literal["timeout", "connect", "server", "client", "protocol"]
RETRYABLE: frozenset[str] = frozenset({"timeout", "connect", "server", "protocol"})


class LaneError(Exception):
    """A backend call failed. Timeouts, refused connections, 5xx and unreadable answers are
    worth retrying (and count against the lane's breaker); 4xx are the request's fault."""

    def __init__(self, kind: ErrorKind, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.message = message

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


class Backend(Protocol):
    """A lane's model server (or program)."""

    def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        tools: list[dict[str, Any]] | None = None,
    ) -> Completion: ...

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[StreamPiece]: ...

    def probe(self) -> None:
        """Raise LaneError unless the backend answers (OpenAI: GET /v1/models)."""

    def close(self) -> None: ...
