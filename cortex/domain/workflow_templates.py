"""Workflow templates: a small, bounded subset of Jinja in a sandbox, and the references a
template makes.

A template sees ``inputs.<name>`` and ``steps.<id>.<field>``, nothing else: no globals, no
attribute access to Python internals (the sandbox refuses it), no imports. Undefined names are
errors, not empty strings, so a typo fails the step loudly.

Whoever may define a workflow must not be able to make a worker (or the API, which checks the
definition) build gigabytes or spin for ever, so the language is cut down to what shapes text:
expressions, ``if``, and ``for`` loops that do not nest; filters from a list whose output grows at
most with their input (``join`` and ``replace`` checked); ``+``, ``*``, ``**`` bounded and ``%``
string formatting refused. Left out: ``{% set %}``, macros and calls (``x.center(10**9)``),
nested loops, ``~`` (write ``{{ a }}{{ b }}``), and filters whose argument sets the output's size
(``center``, ``indent``, ``format``, ``wordwrap``, ``batch``, ``slice``). Checking a definition
only parses its templates: nothing in them is evaluated in the API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

NAMES = frozenset({"inputs", "steps"})
# The most characters or items one operation in a template may build.
PRODUCT_MAX = 200_000
EXPONENT_MAX = 64
SAFE_FILTERS = frozenset({
    "abs", "capitalize", "count", "d", "default", "dictsort", "first", "float", "int", "items",
    "join", "last", "length", "list", "lower", "map", "max", "min", "reject", "rejectattr",
    "replace", "reverse", "round", "select", "selectattr", "sort", "string", "striptags", "sum",
    "title", "tojson", "trim", "truncate", "unique", "upper", "wordcount",
})  # fmt: skip
_REFUSED = {
    nodes.Macro: "macros are not allowed",
    nodes.CallBlock: "call blocks are not allowed",
    nodes.Call: "calls are not allowed: use filters (x|upper, not x.upper())",
    nodes.Assign: "{% set %} is not allowed",
    nodes.AssignBlock: "{% set %} is not allowed",
    nodes.Concat: "~ is not allowed: write {{ a }}{{ b }}",
    nodes.FilterBlock: "filter blocks are not allowed",
    nodes.With: "{% with %} is not allowed",
    nodes.Include: "include is not allowed",
    nodes.Import: "import is not allowed",
    nodes.FromImport: "import is not allowed",
    nodes.Extends: "extends is not allowed",
}


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


def _check_size(size: int) -> None:
    if size > PRODUCT_MAX:
        raise SecurityError(f"an operation in the template would build {size} items or characters")


class _BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox, with what one operation may build bounded."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        left_size, right_size = _sized(left), _sized(right)
        if operator == "+" and left_size is not None and right_size is not None:
            _check_size(left_size + right_size)
        elif operator == "*":
            for size, count in ((left_size, right), (right_size, left)):
                if size is not None and isinstance(count, int):
                    _check_size(size * count)
        elif operator == "**" and isinstance(right, int | float) and abs(right) > EXPONENT_MAX:
            raise SecurityError(f"exponents above {EXPONENT_MAX} are not allowed")
        elif operator == "%" and isinstance(left, str):
            raise SecurityError("% string formatting is not allowed")
        return super().call_binop(context, operator, left, right)


def _join(value: Any, separator: str = "", attribute: Any = None) -> str:
    items = [str(item if attribute is None else item[attribute]) for item in value]
    _check_size(sum(map(len, items)) + len(separator) * max(len(items) - 1, 0))
    return separator.join(items)


def _replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    text = str(value)
    occurrences = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:
        occurrences = min(occurrences, count)
    _check_size(len(text) + occurrences * max(len(new) - len(old), 0))
    return text.replace(old, new, -1 if count is None else count)


def _tojson(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@cache
def environment() -> SandboxedEnvironment:
    """The one environment every workflow template is parsed and rendered with."""
    env = _BoundedSandbox(undefined=StrictUndefined, autoescape=False)
    env.globals.clear()  # no range, lipsum, cycler, namespace...
    env.filters = {name: env.filters[name] for name in SAFE_FILTERS}
    env.filters.update(join=_join, replace=_replace, tojson=_tojson)
    return env


@dataclass(frozen=True)
class References:
    steps: frozenset[str]
    inputs: frozenset[str]


class TemplateInvalid(Exception):
    """A template that does not parse, uses what is left out, or reads what it may not."""


def references(source: str) -> References:
    """The step ids and input names a template reads; TemplateInvalid when it cannot be used."""
    try:
        tree = environment().parse(source)
    except Exception as error:  # a syntax error, or a literal Python cannot hold (10**5000)
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        line = getattr(error, "lineno", None)
        where = f" (line {line})" if line else ""
        raise TemplateInvalid(f"does not parse: {message}{where}") from None
    _check_subset(tree)
    loops = list(tree.find_all(nodes.For))
    targets = [node for loop in loops for node in (loop.target, *loop.target.find_all(nodes.Name))]
    loop_names = {node.name for node in targets if isinstance(node, nodes.Name)}
    loop_names |= {"loop"} if loops else set()
    unknown = (
        {name.name for name in tree.find_all(nodes.Name) if name.ctx == "load"} - NAMES - loop_names
    )
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


def _check_subset(tree: nodes.Template) -> None:
    for kind, reason in _REFUSED.items():
        if any(True for _ in tree.find_all(kind)):
            raise TemplateInvalid(reason)
    for loop in tree.find_all(nodes.For):
        inside = [*loop.body, *loop.else_]
        if any(isinstance(node, nodes.For) or any(node.find_all(nodes.For)) for node in inside):
            raise TemplateInvalid("loops may not nest")
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        if isinstance(node, nodes.Filter) and node.name not in SAFE_FILTERS:
            raise TemplateInvalid(f"the filter {node.name!r} is not available")


def _constant(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return node.value
    return None
