"""The tool registry: definitions, argument checks, permissions (the starter's, capped by what was
granted when the run started), and failures that become errors instead of exceptions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from cortex.agents.adapters import build_registry
from cortex.agents.registry import Tool, ToolError, ToolRegistry
from cortex.agents.tools import READ, WRITE
from cortex.application.access import Grant
from cortex.application.agent_ports import ToolRequest
from cortex.domain.agent import AGENT_TOOLS
from cortex.domain.roles import ProjectRole, Role

PROJECT, USER = uuid4(), uuid4()
EDITOR_GRANT = Grant(frozenset({Role.EDITOR}), ProjectRole.EDITOR)


class Directory:
    """Access over a dict: user -> (global roles, project role in PROJECT)."""

    def __init__(self) -> None:
        self.users: dict[UUID, tuple[frozenset[Role], ProjectRole | None]] = {}

    def roles(self, user_id: UUID) -> frozenset[Role] | None:
        return self.users[user_id][0] if user_id in self.users else None

    def member_role(self, user_id: UUID, project_id: UUID) -> ProjectRole | None:
        found = self.users.get(user_id)
        return found[1] if found and project_id == PROJECT else None


def echo(arguments: dict[str, Any], request: ToolRequest) -> Any:
    if arguments["text"] == "boom":
        raise RuntimeError("the database is down, password=hunter2")
    if arguments["text"] == "refuse":
        raise ToolError("nothing called refuse here")
    return {"echo": arguments["text"], "times": arguments["times"]}


SCHEMA = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "minLength": 1},
        "times": {"type": "integer", "minimum": 1, "default": 1},
    },
    "required": ["text"],
    "additionalProperties": False,
}
TOOLS = [
    Tool("read_echo", "Echo.", SCHEMA, READ, echo),
    Tool("write_echo", "Echo.", SCHEMA, WRITE, echo),
]


@pytest.fixture
def directory() -> Directory:
    directory = Directory()
    directory.users[USER] = (frozenset({Role.EDITOR}), ProjectRole.EDITOR)
    return directory


def call(
    registry: ToolRegistry,
    name: str,
    arguments: Any,
    *,
    grant: Grant = EDITOR_GRANT,
    user: UUID | None = USER,
) -> tuple[Any, str | None]:
    outcome = registry.execute(
        ToolRequest(
            name=name,
            arguments=arguments if isinstance(arguments, str) else json.dumps(arguments),
            call_id="call_1",
            run_id=uuid4(),
            turn=1,
            project_id=PROJECT,
            user_id=user,
            grant=grant,
            available=("read_echo", "write_echo"),
            at=datetime.now(UTC),
        )
    )
    assert (outcome.result is None) != (outcome.error is None)
    return (json.loads(outcome.result) if outcome.result else None), outcome.error


def test_good_arguments_run_with_defaults_filled_in(directory: Directory) -> None:
    registry = ToolRegistry(TOOLS, directory)
    assert call(registry, "read_echo", {"text": "hi"}) == ({"echo": "hi", "times": 1}, None)


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ("{oops", "invalid arguments for read_echo: not JSON"),
        ("[1, 2]", "invalid arguments for read_echo: expected a JSON object"),
        ({}, "invalid arguments for read_echo: arguments: 'text' is a required property"),
        ({"text": "x", "times": 0}, "invalid arguments for read_echo: times: 0 is less than"),
        ({"text": "x", "rm": True}, "Additional properties are not allowed"),
    ],
)
def test_bad_arguments_are_errors_not_exceptions(
    directory: Directory, arguments: Any, error: str
) -> None:
    result, problem = call(ToolRegistry(TOOLS, directory), "read_echo", arguments)
    assert result is None
    assert error in str(problem)


def test_unknown_tools_and_tools_the_agent_lacks_are_refused(directory: Directory) -> None:
    registry = ToolRegistry([*TOOLS, Tool("secret", "", SCHEMA, READ, echo)], directory)
    for name in ("format_disk", "secret"):
        _, error = call(registry, name, {"text": "x"})
        assert error == f"unknown tool {name!r}; available: read_echo, write_echo"


def test_a_failing_tool_is_an_error_without_its_details(directory: Directory) -> None:
    registry = ToolRegistry(TOOLS, directory)
    assert call(registry, "read_echo", {"text": "boom"}) == (None, "the tool failed: RuntimeError")
    assert call(registry, "read_echo", {"text": "refuse"}) == (None, "nothing called refuse here")


@pytest.mark.parametrize(
    ("roles", "member", "grant", "may_write"),
    [
        ({Role.EDITOR}, ProjectRole.EDITOR, (("editor",), "editor"), True),
        ({Role.EDITOR}, ProjectRole.VIEWER, (("editor",), "editor"), False),  # demoted since
        ({Role.VIEWER}, ProjectRole.EDITOR, (("viewer",), "editor"), False),  # a viewer globally
        ({Role.EDITOR}, ProjectRole.EDITOR, (("viewer",), "viewer"), False),  # a viewer's API key
        ({Role.ADMIN}, None, (("admin",), "owner"), True),
        ({Role.AUDITOR}, None, (("auditor",), "viewer"), False),
    ],
)
def test_writes_need_the_starters_rights_now_and_when_it_started(
    directory: Directory,
    roles: set[Role],
    member: ProjectRole | None,
    grant: tuple[tuple[str, ...], str],
    may_write: bool,
) -> None:
    directory.users[USER] = (frozenset(roles), member)
    registry = ToolRegistry(TOOLS, directory)
    result, error = call(registry, "write_echo", {"text": "x"}, grant=Grant.of(*grant))
    if may_write:
        assert (result, error) == ({"echo": "x", "times": 1}, None)
    else:
        assert str(error).startswith("permission denied")
    assert call(registry, "read_echo", {"text": "x"}, grant=Grant.of(*grant))[1] is None


def test_a_disabled_or_unknown_starter_may_do_nothing(directory: Directory) -> None:
    registry = ToolRegistry(TOOLS, directory)
    _, error = call(registry, "read_echo", {"text": "x"}, user=uuid4())
    assert str(error).startswith("permission denied")


def test_without_authentication_the_grant_decides(directory: Directory) -> None:
    registry = ToolRegistry(TOOLS, directory)
    admin = Grant(frozenset({Role.ADMIN}), ProjectRole.OWNER)
    assert call(registry, "write_echo", {"text": "x"}, user=None, grant=admin)[1] is None


def test_the_registry_offers_exactly_the_domains_tools_as_openai_functions(
    directory: Directory,
) -> None:
    registry = build_registry(
        access=directory,
        search=None,  # type: ignore[arg-type]  # definitions only: nothing runs
        answers=None,  # type: ignore[arg-type]
        ideas=None,  # type: ignore[arg-type]
        lookup=None,  # type: ignore[arg-type]
        workflows=None,
    )
    definitions = registry.definitions(AGENT_TOOLS)
    assert [d["function"]["name"] for d in definitions] == list(AGENT_TOOLS)
    for definition in definitions:
        assert definition["type"] == "function"
        assert definition["function"]["description"]
        parameters = definition["function"]["parameters"]
        assert parameters["type"] == "object"
        assert parameters["additionalProperties"] is False
    _, error = call_named(registry, "start_workflow", {"workflow_id": str(uuid4())})
    assert error == "workflows are not available"


def call_named(registry: ToolRegistry, name: str, arguments: Any) -> tuple[Any, str | None]:
    outcome = registry.execute(
        ToolRequest(
            name=name,
            arguments=json.dumps(arguments),
            call_id="c",
            run_id=uuid4(),
            turn=1,
            project_id=PROJECT,
            user_id=None,
            grant=Grant(frozenset({Role.ADMIN}), ProjectRole.OWNER),
            available=AGENT_TOOLS,
            at=datetime.now(UTC),
        )
    )
    return outcome.result, outcome.error
