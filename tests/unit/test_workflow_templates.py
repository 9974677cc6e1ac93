"""Workflow templates: a bounded subset of Jinja. Checking a definition only parses; rendering
bounds what one operation and the whole text may build; whatever goes wrong in a template is a
step failure that is not retried (it would fail the same way again)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from cortex.application.workflow_ports import StepContext, StepFailure
from cortex.domain.workflow_templates import TemplateInvalid, references
from cortex.workflows.templates import RENDERED_MAX, render


def _context(**inputs: Any) -> StepContext:
    outputs = {"draft": {"text": "Hello"}, "search": {"hits": [{"title": "A"}, {"title": "B"}]}}
    return StepContext(uuid.uuid4(), uuid.uuid4(), None, inputs, outputs)


def test_renders_inputs_outputs_filters_and_a_loop() -> None:
    source = (
        "{{ steps.draft.text }}, {{ inputs.name|upper }}! {{ '-' * 3 }}"
        "{% for hit in steps.search.hits %} {{ loop.index }}.{{ hit.title }}{% endfor %}"
        " {{ steps.search.hits|map(attribute='title')|join('+') }} {{ inputs.tags|tojson }}"
    )
    rendered = render(source, _context(name="Ada", tags=["x"]))
    assert rendered == 'Hello, ADA! --- 1.A 2.B A+B ["x"]'


@pytest.mark.parametrize(
    ("source", "inputs", "words"),
    [
        ('{{ "ab" * 50000000 }}', {}, "would build 100000000"),
        ("{{ inputs.rows * 1000 }}", {"rows": list(range(1000))}, "would build 1000000"),
        ("{{ inputs.s + inputs.s }}", {"s": "x" * 150_000}, "would build 300000"),
        ("{{ inputs.s|replace('x', inputs.s) }}", {"s": "x" * 1000}, "would build"),
        ("{{ [inputs.s, inputs.s, inputs.s]|join }}", {"s": "x" * 100_000}, "would build"),
        ("{{ inputs.n ** inputs.n }}", {"n": 99999}, "exponents above 64"),
        ("{{ '%200000000d' % 1 }}", {}, "% string formatting"),
        ("{{ inputs.n / 0 }}", {"n": 1}, "ZeroDivisionError"),
        ("{{ inputs.name + 1 }}", {"name": "Ada"}, "TypeError"),
        ("{{ inputs.missing }}", {}, "missing"),
        ("{{ inputs.__class__.__mro__ }}", {}, "__class__"),
        ("{{ [1]|map('center', 100000000)|list }}", {}, "center"),
    ],
)
def test_a_template_that_cannot_render_fails_the_step_without_retry(
    source: str, inputs: dict[str, Any], words: str
) -> None:
    with pytest.raises(StepFailure) as failure:
        render(source, _context(**inputs))
    assert failure.value.kind == "template"
    assert not failure.value.retryable
    assert words in failure.value.reason


def test_a_rendering_longer_than_the_limit_stops_there() -> None:
    many = "{{ inputs.t }}" * 1000  # 1000 x 50,000 characters: stopped after the fifth
    started = time.perf_counter()
    with pytest.raises(StepFailure) as failure:
        render(many, _context(t="x" * 50_000))
    assert f"more than {RENDERED_MAX}" in failure.value.reason
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("{{ 'x'|center(300000000) }}", "'center' is not available"),
        ("{{ 'x'|indent(300000000) }}", "'indent' is not available"),
        ("{{ '%s'|format(1) }}", "'format' is not available"),
        ("{{ 'x'.center(300000000) }}", "calls are not allowed"),
        ("{{ inputs.a ~ inputs.b }}", "~ is not allowed"),
        ("{% set x = inputs.a %}{{ x }}", "set"),
        ("{% macro m() %}x{% endmacro %}", "macros"),
        ("{% for a in inputs.x %}{% for b in inputs.x %}.{% endfor %}{% endfor %}", "nest"),
        ("{{ 1" + "0" * 5000 + " }}", "does not parse"),
        ("{% include 'x' %}", "include"),
    ],
)
def test_checking_a_definition_refuses_what_is_left_out_without_evaluating_it(
    source: str, words: str
) -> None:
    started = time.perf_counter()
    with pytest.raises(TemplateInvalid) as refused:
        references(source)
    assert words in str(refused.value)
    assert time.perf_counter() - started < 1


def test_loop_variables_are_not_unknown_names() -> None:
    found = references("{% for hit in steps.search.hits %}{{ loop.index }}{{ hit }}{% endfor %}")
    assert found.steps == frozenset({"search"})
