"""Rendering a step's templates over the run's inputs and earlier outputs."""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateError

from cortex.application.workflow_ports import StepContext, StepFailure
from cortex.domain.workflow_templates import environment

# A rendered template becomes a prompt or a step's output, which its event stores.
RENDERED_MAX = 200_000


def render(source: str, context: StepContext) -> str:
    """The text; StepFailure (not retried: it would fail the same way) when it cannot render."""
    variables: dict[str, Any] = {"inputs": context.inputs, "steps": context.outputs}
    pieces: list[str] = []
    length = 0
    try:
        # Piece by piece, so that a template repeating a large value stops at the limit.
        for piece in environment().from_string(source).generate(variables):
            length += len(piece)
            if length > RENDERED_MAX:
                reason = f"renders more than {RENDERED_MAX} characters"
                raise StepFailure("template", reason, retryable=False)
            pieces.append(piece)
    except TemplateError as error:
        raise StepFailure("template", str(error.message or error), retryable=False) from None
    except (ArithmeticError, LookupError, TypeError, ValueError) as error:  # "a" + 1, 1 / 0
        reason = f"{type(error).__name__}: {error}"
        raise StepFailure("template", reason, retryable=False) from None
    return "".join(pieces)
