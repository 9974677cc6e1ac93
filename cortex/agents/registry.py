"""The tool registry: each tool's OpenAI definition, what it needs to be allowed, and its run.

Whatever the model sends is checked here before anything runs: a name the agent does not have,
arguments that are not JSON or do not fit the tool's schema, a call the user who started the run
may not make. Each becomes an error result the model sees on its next turn (and the transcript
keeps), never an exception; so does a tool that fails while running.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from jsonschema import Draft202012Validator

from cortex.application.access import Access, Permission, allowed
from cortex.application.agent_ports import ToolOutcome, ToolRequest

logger = structlog.get_logger("cortex.agents")
MAX_RESULT_CHARS = 20_000  # what one tool result may add to the transcript


class ToolError(Exception):
    """A tool refused the call for a reason the model can act on (not found, invalid value)."""


Run = Callable[[dict[str, Any], ToolRequest], Any]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object
    permission: Permission
    run: Run

    def definition(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


class ToolRegistry:
    """The ToolBox the agent loop uses: definitions, checks, and runs."""

    def __init__(self, tools: Sequence[Tool], access: Access) -> None:
        self.tools = {tool.name: tool for tool in tools}
        self._access = access
        self._validators = {tool.name: Draft202012Validator(tool.parameters) for tool in tools}

    def definitions(self, names: Sequence[str]) -> list[dict[str, Any]]:
        return [self.tools[name].definition() for name in names if name in self.tools]

    def execute(self, request: ToolRequest) -> ToolOutcome:
        tool = self.tools.get(request.name)
        if tool is None or request.name not in request.available:
            names = ", ".join(name for name in request.available if name in self.tools)
            return ToolOutcome(error=f"unknown tool {request.name!r}; available: {names or 'none'}")
        arguments, problem = self._arguments(tool, request.arguments)
        if problem is not None:
            return ToolOutcome(error=problem)
        if not allowed(
            self._access, request.user_id, request.project_id, request.grant, tool.permission
        ):
            return ToolOutcome(
                error=f"permission denied: the user who started this run may not {tool.name}"
                " in this project"
            )
        try:
            result = tool.run(arguments, request)
        except ToolError as error:
            return ToolOutcome(error=str(error))
        except Exception as error:
            logger.exception("agent_tool_failed", tool=tool.name, run_id=str(request.run_id))
            return ToolOutcome(error=f"the tool failed: {type(error).__name__}")
        return ToolOutcome(result=_bounded(json.dumps(result, ensure_ascii=False, default=str)))

    def _arguments(self, tool: Tool, text: str) -> tuple[dict[str, Any], str | None]:
        try:
            arguments = json.loads(text or "{}")
        except ValueError as error:
            return {}, f"invalid arguments for {tool.name}: not JSON ({error})"
        if not isinstance(arguments, dict):
            return {}, f"invalid arguments for {tool.name}: expected a JSON object"
        errors = sorted(self._validators[tool.name].iter_errors(arguments), key=str)
        if errors:
            first = errors[0]
            where = "/".join(str(part) for part in first.absolute_path) or "arguments"
            return {}, f"invalid arguments for {tool.name}: {where}: {first.message}"
        return _with_defaults(arguments, tool.parameters), None


def _with_defaults(arguments: dict[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    defaults = {
        name: spec["default"]
        for name, spec in schema.get("properties", {}).items()
        if "default" in spec
    }
    return {**defaults, **arguments}


def _bounded(text: str) -> str:
    """A result too long for the transcript is cut, and still JSON."""
    if len(text) <= MAX_RESULT_CHARS:
        return text
    return json.dumps({"truncated": True, "partial": text[:MAX_RESULT_CHARS]})
