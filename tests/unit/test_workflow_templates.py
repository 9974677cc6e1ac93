"""Rendering workflow templates: what a template may build is bounded, and whatever goes wrong
in one is a step failure that is not retried (it would fail the same way again)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from cortex.application.workflow_ports import StepContext, StepFailure
from cortex.workflows.templates import RENDERED_MAX, render


def _context(**inputs: Any) -> StepContext:
    return StepContext(uuid.uuid4(), uuid.uuid4(), None, inputs, {"draft": {"text": "Hello"}})


def test_renders_inputs_and_earlier_outputs() -> None:
    rendered = render(
        "{{ steps.draft.text }}, {{ inputs.name }}! {{ '-' * 3 }}", _context(name="Ada")
    )
    assert rendered == "Hello, Ada! ---"


@pytest.mark.parametrize(
    ("source", "inputs", "words"),
    [
        ('{{ "ab" * 50000000 }}', {}, "at most 100000"),
        ("{{ inputs.rows * 1000 }}", {"rows": list(range(1000))}, "at most 100000"),
        ("{{ inputs.n ** inputs.n }}", {"n": 99999}, "exponents above 64"),
        ("{{ inputs.n / 0 }}", {"n": 1}, "ZeroDivisionError"),
        ("{{ inputs.name + 1 }}", {"name": "Ada"}, "TypeError"),
        ("{{ inputs.missing }}", {}, "missing"),
        ("{{ inputs.__class__.__mro__ }}", {}, "__class__"),
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


def test_a_rendering_longer_than_the_limit_fails() -> None:
    text = "x" * 50_000
    with pytest.raises(StepFailure) as failure:
        render(
            "{{ inputs.t }}{{ inputs.t }}{{ inputs.t }}{{ inputs.t }}{{ inputs.t }}",
            _context(t=text),
        )
    assert f"at most {RENDERED_MAX}" in failure.value.reason
