"""Workflow templates: Jinja in a sandbox, and the references a template makes.

A template sees ``inputs.<name>`` and ``steps.<id>.<field>``, nothing else: no globals beyond
Jinja's harmless ones, no attribute access to Python internals (the sandbox refuses it), no
imports. Undefined names are errors, not empty strings, so a typo fails the step loudly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

NAMES = frozenset({"inputs", "steps"})
# What one multiplication in a template may build (characters or items), and the largest power:
# the sandbox alone would let ``{{ "ab" * 50000000 }}`` allocate 100 MB in a worker.
PRODUCT_MAX = 100_000
EXPONENT_MAX = 64


class _BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox, with repetition and powers bounded."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > EXPONENT_MAX:
            raise SecurityError(f"exponents above {EXPONENT_MAX} are not allowed")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if (
                    isinstance(sequence, str | list | tuple)
                    and isinstance(count, int)
                    and len(sequence) * count > PRODUCT_MAX
                ):
                    raise SecurityError(f"a repetition may build at most {PRODUCT_MAX} items")
        return super().call_binop(context, operator, left, right)


@cache
def environment() -> SandboxedEnvironment:
    """The one environment every workflow template is parsed and rendered with."""
    env = _BoundedSandbox(undefined=StrictUndefined, autoescape=False)
    env.globals.clear()  # no range, cycler, namespace...: a template reads inputs and steps only
    return env


@dataclass(frozen=True)
class References:
    steps: frozenset[str]
    inputs: frozenset[str]


class TemplateInvalid(Exception):
    """A template that does not parse, or reads something it may not."""


def references(source: str) -> References:
    """The step ids and input names a template reads; TemplateInvalid when it cannot be used."""
    try:
        tree = environment().parse(source)
    except TemplateSyntaxError as error:
        raise TemplateInvalid(f"does not parse: {error.message} (line {error.lineno})") from None
    unknown = meta.find_undeclared_variables(tree) - NAMES
    if unknown:
        names = ", ".join(sorted(unknown))
        raise TemplateInvalid(f"refers to {names}; templates see only inputs and steps")
    found: dict[str, set[str]] = {"inputs": set(), "steps": set()}
    named = 0
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        target = node.node
        if not isinstance(target, nodes.Name) or target.name not in NAMES:
            continue
        key = node.attr if isinstance(node, nodes.Getattr) else _constant(node.arg)
        if key is not None:
            found[target.name].add(key)
            named += 1 if target.name == "steps" else 0
    uses = sum(1 for name in tree.find_all(nodes.Name) if name.name == "steps")
    if uses > named:
        raise TemplateInvalid("refers to steps without naming one: write steps.<id>.<field>")
    return References(frozenset(found["steps"]), frozenset(found["inputs"]))


def _constant(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return node.value
    return None
