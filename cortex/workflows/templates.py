"""Rendering a step's templates over the run's inputs and earlier outputs."""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateError

from cortex.application.workflow_ports import StepContext, StepFailure
from cortex.domain.workflow_templates import environment


def render(source: str, context: StepContext) -> str:
    """The text; StepFailure (not retried: it would fail the same way) when it cannot render."""
    variables: dict[str, Any] = {"inputs": context.inputs, "steps": context.outputs}
    try:
        return environment().from_string(source).render(variables)
    except TemplateError as error:
        raise StepFailure("template", str(error.message or error), retryable=False) from None
