"""Workflow definitions: what is accepted (with defaults filled in) and each reason for refusing."""

from __future__ import annotations

from typing import Any

import pytest

from cortex.application.workflows import check_inputs
from cortex.domain.errors import InvalidInput
from cortex.domain.workflow_definition import validate_definition
from cortex.domain.workflow_templates import TemplateInvalid, references

SCHEMA = {"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]}


def step(step_id: str, kind: str = "transform", **fields: Any) -> dict[str, Any]:
    defaults = {
        "generate": {"prompt": "Write about {{ inputs.topic }}"},
        "search": {"query": "{{ inputs.topic }}"},
        "ask": {"question": "What about {{ inputs.topic }}?"},
        "approval": {"message": "OK?"},
        "transform": {"template": "{{ inputs.topic }}"},
    }.get(kind, {})
    return {"id": step_id, "kind": kind, **defaults, **fields}


def refusal(steps: Any, schema: Any = SCHEMA, name: Any = "Flow") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        validate_definition(name, schema, steps)
    return caught.value


def test_accepts_a_dag_of_every_kind_and_fills_in_defaults() -> None:
    definition = validate_definition(
        " Research ",
        SCHEMA,
        [
            step("find", "search"),
            step("draft", "generate", depends_on=["find"], prompt="{{ steps.find.text }}"),
            step("check", "ask", depends_on=["find"]),
            step("review", "approval", depends_on=["draft", "check"]),
            step(
                "final",
                depends_on=["review"],
                template="{{ steps.draft.text }} / {{ steps.check.text }}",
            ),
        ],
    )
    assert definition["name"] == "Research"
    draft = definition["steps"][1]
    assert (draft["lane"], draft["retries"], draft["timeout_seconds"]) == ("auto", 2, 300)
    assert (definition["steps"][0]["mode"], definition["steps"][0]["limit"]) == ("hybrid", 5)


def test_a_template_may_read_a_transitive_dependency() -> None:
    validate_definition(
        "Chain",
        SCHEMA,
        [
            step("a"),
            step("b", depends_on=["a"]),
            step("c", depends_on=["b"], template="{{ steps.a.text }}"),
        ],
    )


@pytest.mark.parametrize(
    ("steps", "field", "words"),
    [
        ([], "steps", "at least one step"),
        ([step("a"), step("a")], "steps", "duplicate step ids: a"),
        ([step("a", depends_on=["nope"])], "steps.a.depends_on", "unknown step ids: nope"),
        ([step("a", depends_on=["a"])], "steps.a.depends_on", "itself"),
        (
            [step("a", depends_on=["b"]), step("b", depends_on=["a"])],
            "steps",
            "cycle",
        ),
        ([step("a", "sleep")], "steps.a.kind", "unknown kind 'sleep'"),
        ([{"id": "a", "kind": []}], "steps.a.kind", "unknown kind []"),
        ([step("a", template="{{ 'x'|center(300000000) }}")], "steps.a.template", "center"),
        ([step("a", "generate", lane="TURBO")], "steps.a.lane", "unknown lane 'TURBO'"),
        ([step("a", template="{{ inputs.topic ")], "steps.a.template", "does not parse"),
        (
            [step("a"), step("b", template="{{ steps.a.text }}")],
            "steps.b.template",
            "does not depend on: a",
        ),
        ([step("a", template="{{ cycler.__init__ }}")], "steps.a.template", "refers to cycler"),
        ([step("a", template="{{ steps[inputs.topic] }}")], "steps.a.template", "without naming"),
        ([step("a", template="{{ inputs.other }}")], "steps.a.template", "does not declare"),
        ([step("a", retries=-1)], "steps.a.retries", "integer from 0"),
        ([step("A")], "steps[0].id", "lower-case"),
        ([step("a", run="rm -rf /")], "steps.a", "does not take: run"),
    ],
)
def test_refuses_with_the_reason(steps: Any, field: str, words: str) -> None:
    error = refusal(steps)
    assert error.field == field
    assert words in error.message


def test_refuses_an_inputs_schema_that_is_not_json_schema() -> None:
    error = refusal([step("a")], schema={"type": "nonsense"})
    assert error.field == "inputs_schema"
    assert "not a valid JSON Schema" in error.message


def test_a_cycle_is_named_step_by_step() -> None:
    error = refusal(
        [step("a", depends_on=["c"]), step("b", depends_on=["a"]), step("c", depends_on=["b"])]
    )
    assert "->" in error.message
    assert {"a", "b", "c"} <= set(error.message.replace("->", " ").split())


def test_references_finds_step_ids_in_attribute_and_item_form() -> None:
    found = references("{{ steps.one.text }} {{ steps['two'].text }} {{ inputs.x }}")
    assert (found.steps, found.inputs) == ({"one", "two"}, {"x"})


def test_references_refuses_names_outside_inputs_and_steps() -> None:
    with pytest.raises(TemplateInvalid):
        references("{{ range(10) | list }} {{ lipsum }} {{ os }}")


def test_refuses_remote_refs_in_the_inputs_schema_they_would_never_be_fetched() -> None:
    schema = {"type": "object", "properties": {"x": {"$ref": "https://example.com/x.json"}}}
    error = refusal([step("a", template="{{ inputs.x }}")], schema=schema)
    assert error.field == "inputs_schema"
    assert "only local $refs" in error.message


def test_inputs_are_refused_when_too_large_or_the_schema_never_ends() -> None:
    with pytest.raises(InvalidInput) as endless:
        check_inputs({"$ref": "#"}, {})
    assert endless.value.field == "inputs_schema"
    with pytest.raises(InvalidInput) as large:
        check_inputs({"type": "object"}, {"text": "x" * 1_000_001})
    assert large.value.field == "inputs"
