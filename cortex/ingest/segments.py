"""Structure of extracted text: the units chunking packs (paragraphs, sections, definitions, rows).

A unit never straddles a heading or a top-level definition; ``section_start`` marks units where
a chunk should rather begin, ``heading`` is the section (or definition) the unit belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_DEFINITION = re.compile(
    r"^(?:export\s+|pub(?:\(\w+\))?\s+|public\s+|private\s+|protected\s+|static\s+"
    r"|async\s+|default\s+|abstract\s+|final\s+)*"
    r"(?:def|class|function|func|fn|impl|struct|enum|interface|trait|type|module)\b"
    r"|^(?:export\s+)?const\s+\w+\s*=\s*(?:async\s*)?\("
)
_ATTACHED = re.compile(r"^(?:@|#|//|/\*|\*|--)")
HEADING_MAX = 200


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    heading: str = ""
    section_start: bool = False


def _lines(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end without newline, line) for every line."""
    start = 0
    for line in text.split("\n"):
        yield start, start + len(line), line
        start += len(line) + 1


def segment(text: str, kind: str) -> list[Unit]:
    if kind in ("markdown", "html"):
        return _markdown(text)
    if kind == "code":
        return _code(text)
    if kind == "csv":
        return _rows(text)
    return _paragraphs(text)


def _paragraphs(text: str, heading: str = "") -> list[Unit]:
    units: list[Unit] = []
    begin: int | None = None
    last = 0
    for start, end, line in _lines(text):
        if line.strip():
            begin = start if begin is None else begin
            last = end
        elif begin is not None:
            units.append(Unit(begin, last, heading))
            begin = None
    if begin is not None:
        units.append(Unit(begin, last, heading))
    return units


def _markdown(text: str) -> list[Unit]:
    units: list[Unit] = []
    stack: list[tuple[int, str]] = []
    begin: int | None = None
    last = 0
    fenced = False

    def path() -> str:
        return " > ".join(title for _, title in stack)[:HEADING_MAX]

    for start, end, line in _lines(text):
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading or (not line.strip() and not fenced):
            if begin is not None:
                units.append(Unit(begin, last, path()))
                begin = None
            if heading:
                level = len(heading.group(1))
                stack = [(lvl, title) for lvl, title in stack if lvl < level]
                stack.append((level, heading.group(2)))
                units.append(Unit(start, end, path(), section_start=True))
            continue
        begin = start if begin is None else begin
        last = end
    if begin is not None:
        units.append(Unit(begin, last, path()))
    return units


def _code(text: str) -> list[Unit]:
    lines = list(_lines(text))
    cuts = [0]
    for index, (_, _, line) in enumerate(lines):
        if index and _DEFINITION.match(line):
            first = index
            while first > 0 and _ATTACHED.match(lines[first - 1][2]):
                first -= 1
            if first > cuts[-1]:
                cuts.append(first)
    units = []
    for number, first in enumerate(cuts):
        stop = cuts[number + 1] if number + 1 < len(cuts) else len(lines)
        block = lines[first:stop]
        while block and not block[-1][2].strip():
            block.pop()
        if not block:
            continue
        title = next((line for _, _, line in block if _DEFINITION.match(line)), "")
        units.append(
            Unit(block[0][0], block[-1][1], title.strip()[:HEADING_MAX], section_start=number > 0)
        )
    return units


def _rows(text: str) -> list[Unit]:
    lines = [(start, end) for start, end, line in _lines(text) if line.strip()]
    if not lines:
        return []
    header = text[lines[0][0] : lines[0][1]][:HEADING_MAX]
    return [Unit(start, end, header) for start, end in lines]
