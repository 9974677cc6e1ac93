"""A workflow definition, checked and normalised into plain data (what the events store).

A definition is a name, a JSON Schema for the run's inputs, and steps forming a DAG. Each step
has an ``id``, a ``kind``, ``depends_on`` (ids), ``retries`` and ``timeout_seconds``, plus its
kind's fields (see ``KIND_FIELDS``). Templates may read ``inputs.<name>`` and the outputs of the
steps the step depends on, directly or transitively (``steps.<id>.<field>``): anything else
could be read before it exists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from graphlib import CycleError, TopologicalSorter
from typing import Any

from jsonschema import SchemaError
from jsonschema.validators import validator_for

from cortex.domain.errors import InvalidInput
from cortex.domain.workflow_templates import TemplateInvalid, references

NAME_MAX = 200
STEPS_MAX = 50
STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
LANES = ("auto", "ORCHESTRATOR", "CODER", "SUPER_READER", "FAST_RAG", "GOVERNANCE")
SEARCH_MODES = ("hybrid", "dense", "keyword")
DEFAULT_RETRIES = 2
DEFAULT_TIMEOUT_SECONDS = 300
TEMPLATE_MAX = 100_000
COMMON_FIELDS = frozenset({"id", "kind", "depends_on", "retries", "timeout_seconds"})
# Per kind: its template fields (required first) and its other fields.
TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "generate": (("prompt",), ("system",)),
    "search": (("query",), ()),
    "ask": (("question",), ()),
    "approval": ((), ()),
    "transform": (("template",), ()),
}
KIND_FIELDS: dict[str, frozenset[str]] = {
    "generate": frozenset({"prompt", "system", "lane", "max_tokens"}),
    "search": frozenset({"query", "mode", "limit"}),
    "ask": frozenset({"question"}),
    "approval": frozenset({"message"}),
    "transform": frozenset({"template"}),
}


def validate_definition(name: Any, inputs_schema: Any, steps: Any) -> dict[str, Any]:
    """The definition as stored, with defaults filled in; InvalidInput naming what is wrong."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > NAME_MAX:
        raise InvalidInput("name", f"1 to {NAME_MAX} characters")
    schema = _inputs_schema(inputs_schema)
    if not isinstance(steps, list) or not steps:
        raise InvalidInput("steps", "a workflow needs at least one step")
    if len(steps) > STEPS_MAX:
        raise InvalidInput("steps", f"at most {STEPS_MAX} steps")
    normalised = [_step(index, raw) for index, raw in enumerate(steps)]
    ids = [step["id"] for step in normalised]
    duplicates = sorted({step_id for step_id in ids if ids.count(step_id) > 1})
    if duplicates:
        raise InvalidInput("steps", f"duplicate step ids: {', '.join(duplicates)}")
    graph = {step["id"]: step["depends_on"] for step in normalised}
    for step in normalised:
        unknown = [dep for dep in step["depends_on"] if dep not in graph]
        if unknown:
            raise InvalidInput(
                f"steps.{step['id']}.depends_on", f"unknown step ids: {', '.join(unknown)}"
            )
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise InvalidInput("steps", f"cycle: {' -> '.join(error.args[1])}") from None
    _check_references(normalised, _ancestors(graph, order), schema)
    return {"name": name.strip(), "inputs_schema": schema, "steps": normalised}


def _inputs_schema(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {"type": "object"}
    if not isinstance(raw, dict):
        raise InvalidInput("inputs_schema", "a JSON Schema object")
    try:
        validator_for(raw).check_schema(raw)
    except SchemaError as error:
        raise InvalidInput("inputs_schema", f"not a valid JSON Schema: {error.message}") from None
    remote = sorted(_remote_refs(raw))
    if remote:
        # Never fetched: a run's inputs are checked with what the definition holds, nothing more.
        raise InvalidInput("inputs_schema", f"only local $refs (#/...), not {', '.join(remote)}")
    return raw


def _remote_refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {
            str(value)
            for key, value in node.items()
            if key in ("$ref", "$dynamicRef") and not str(value).startswith("#")
        }
        return found.union(*(_remote_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_remote_refs(value) for value in node))
    return set()


def _step(index: int, raw: Any) -> dict[str, Any]:
    where = f"steps[{index}]"
    if not isinstance(raw, Mapping):
        raise InvalidInput(where, "a step is an object")
    step_id = raw.get("id")
    if not isinstance(step_id, str) or not STEP_ID.match(step_id):
        raise InvalidInput(f"{where}.id", "lower-case letters, digits and _, starting a letter")
    where = f"steps.{step_id}"
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in KIND_FIELDS:
        kinds = ", ".join(KIND_FIELDS)
        raise InvalidInput(f"{where}.kind", f"unknown kind {kind!r}; one of {kinds}")
    extra = sorted(set(raw) - COMMON_FIELDS - KIND_FIELDS[kind])
    if extra:
        raise InvalidInput(where, f"fields a {kind} step does not take: {', '.join(extra)}")
    depends_on = raw.get("depends_on", [])
    if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
        raise InvalidInput(f"{where}.depends_on", "a list of step ids")
    step: dict[str, Any] = {
        "id": step_id,
        "kind": kind,
        "depends_on": list(dict.fromkeys(depends_on)),
        "retries": _integer(raw, "retries", where, DEFAULT_RETRIES, 0, 10),
        "timeout_seconds": _integer(
            raw, "timeout_seconds", where, DEFAULT_TIMEOUT_SECONDS, 1, 86_400
        ),
    }
    if step_id in step["depends_on"]:
        raise InvalidInput(f"{where}.depends_on", "a step cannot depend on itself")
    required, optional = TEMPLATES[kind]
    for field in (*required, *optional):
        value = raw.get(field)
        if value is None and field in optional:
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > TEMPLATE_MAX:
            raise InvalidInput(f"{where}.{field}", f"a template of 1 to {TEMPLATE_MAX} characters")
        step[field] = value
    return step | _kind_options(kind, raw, where)


def _kind_options(kind: str, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    if kind == "generate":
        lane = raw.get("lane", "auto")
        if lane not in LANES:
            raise InvalidInput(f"{where}.lane", f"unknown lane {lane!r}; one of {', '.join(LANES)}")
        max_tokens = raw.get("max_tokens")
        if max_tokens is not None:
            max_tokens = _integer(raw, "max_tokens", where, 0, 1, 1_000_000)
        return {"lane": lane, "max_tokens": max_tokens}
    if kind == "search":
        mode = raw.get("mode", "hybrid")
        if mode not in SEARCH_MODES:
            raise InvalidInput(f"{where}.mode", f"one of {', '.join(SEARCH_MODES)}")
        return {"mode": mode, "limit": _integer(raw, "limit", where, 5, 1, 50)}
    if kind == "approval":
        message = raw.get("message", "Approve to continue.")
        if not isinstance(message, str) or len(message) > 10_000:
            raise InvalidInput(f"{where}.message", "text of at most 10,000 characters")
        return {"message": message}
    return {}


def _integer(
    raw: Mapping[str, Any], field: str, where: str, default: int, low: int, high: int
) -> int:
    value = raw.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{where}.{field}", f"an integer from {low} to {high}")
    return value


def _ancestors(graph: dict[str, list[str]], order: list[str]) -> dict[str, set[str]]:
    """Every step's transitive dependencies (``order`` puts dependencies first)."""
    found: dict[str, set[str]] = {}
    for step_id in order:
        found[step_id] = set(graph[step_id]).union(*(found[dep] for dep in graph[step_id]))
    return found


def _check_references(
    steps: list[dict[str, Any]], ancestors: dict[str, set[str]], schema: dict[str, Any]
) -> None:
    declared = schema.get("properties")
    for step in steps:
        required, optional = TEMPLATES[step["kind"]]
        for field in (*required, *optional):
            if field not in step:
                continue
            where = f"steps.{step['id']}.{field}"
            try:
                refs = references(step[field])
            except TemplateInvalid as error:
                raise InvalidInput(where, str(error)) from None
            outside = sorted(refs.steps - ancestors[step["id"]])
            if outside:
                raise InvalidInput(
                    where,
                    f"refers to steps it does not depend on: {', '.join(outside)}"
                    " (add them to depends_on)",
                )
            if isinstance(declared, dict):
                undeclared = sorted(refs.inputs - set(declared))
                if undeclared:
                    raise InvalidInput(
                        where,
                        f"refers to inputs the schema does not declare: {', '.join(undeclared)}",
                    )


def step_ids(definition: Mapping[str, Any]) -> list[str]:
    return [str(step["id"]) for step in definition["steps"]]
