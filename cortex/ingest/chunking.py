"""Token-aware chunking: units packed into chunks of at most N tokens, with overlap.

Chunks are character spans of the extracted text (its text is ``text[start:end]``). A chunk never
exceeds the token budget; a new section or definition starts a new chunk once the current one
has a quarter of the budget; consecutive chunks of one section overlap by about M tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cortex.ingest.segments import Unit, segment
from cortex.ingest.tokenizer import TokenCounter

# Where an oversized unit may be cut, best first.
_SEPARATORS = (
    re.compile(r"\n[ \t]*\n"),
    re.compile(r"\n(?=[ \t]*(?:async\s+)?(?:def|class|func|fn|function|public|private)\b)"),
    re.compile(r"\n"),
    re.compile(r"(?<=[.!?;:])\s+"),
    re.compile(r"\s+"),
)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    heading: str
    tokens: int


def chunk_text(
    text: str, kind: str, counter: TokenCounter, *, max_tokens: int, overlap_tokens: int
) -> list[Span]:
    """The text's chunks, in order."""
    pieces: list[Unit] = []
    # Pieces of an oversized unit leave room for the overlap and for the heading line before them.
    budget = max_tokens - overlap_tokens
    previous: Unit | None = None
    for unit in segment(text, kind):
        reserve = 0
        if previous is not None and previous.section_start and kind in ("markdown", "html"):
            reserve = min(counter.count(previous.start, previous.end), budget // 4)
        fitted = _fit(text, counter, unit.start, unit.end, budget - reserve)
        for number, (start, end) in enumerate(fitted):
            pieces.append(Unit(start, end, unit.heading, unit.section_start and number == 0))
        previous = unit
    by_line = kind in ("code", "csv")
    return _pack(text, pieces, counter, max_tokens, overlap_tokens, by_line=by_line)


def _fit(
    text: str, counter: TokenCounter, start: int, end: int, max_tokens: int, level: int = 0
) -> list[tuple[int, int]]:
    """Cut [start, end) into spans of at most max_tokens, at the best separators available."""
    if counter.count(start, end) <= max_tokens:
        return [(start, end)]
    if level == len(_SEPARATORS):
        return _token_windows(counter, start, end, max_tokens)
    cuts = [m.end() for m in _SEPARATORS[level].finditer(text, start, end) if m.end() < end]
    if not cuts:
        return _fit(text, counter, start, end, max_tokens, level + 1)
    spans: list[tuple[int, int]] = []
    begin = start
    last_fit = start
    for cut in [*cuts, end]:
        if counter.count(begin, cut) <= max_tokens:
            last_fit = cut
            continue
        if last_fit > begin:
            spans.append((begin, last_fit))
            begin = last_fit
        if counter.count(begin, cut) > max_tokens:
            spans.extend(_fit(text, counter, begin, cut, max_tokens, level + 1))
            begin = cut
        last_fit = cut
    if begin < end:
        spans.append((begin, end))
    return [(s, e) for s, e in (_trim(text, s, e) for s, e in spans) if e > s]


def _token_windows(
    counter: TokenCounter, start: int, end: int, max_tokens: int
) -> list[tuple[int, int]]:
    spans = []
    while start < end:
        stop = min(counter.offset_after(start, max_tokens), end)
        if stop <= start:
            stop = end
        spans.append((start, stop))
        start = stop
    return spans


def _pack(
    text: str,
    pieces: list[Unit],
    counter: TokenCounter,
    max_tokens: int,
    overlap: int,
    *,
    by_line: bool,
) -> list[Span]:
    spans: list[Span] = []
    start: int | None = None
    end = 0
    heading = ""
    min_tokens = max_tokens // 4

    def flush() -> None:
        s, e = _trim(text, start or 0, end)
        if e > s:
            spans.append(Span(s, e, heading, counter.count(s, e)))

    last: Unit | None = None  # the piece added last to the current chunk
    for piece in pieces:
        if start is not None:
            if piece.section_start and counter.count(start, end) >= min_tokens:
                flush()
                start = None
            elif counter.count(start, piece.end) > max_tokens:
                if (
                    last is not None
                    and last.section_start
                    and start < last.start
                    and counter.count(last.start, piece.end) <= max_tokens
                ):
                    # Never end a chunk on the heading that opens the next piece's section.
                    end = last.start
                    flush()
                    start, heading = last.start, last.heading
                else:
                    flush()
                    carry = _overlap_start(text, counter, start, end, overlap, by_line=by_line)
                    start = None
                    if carry is not None and counter.count(carry, piece.end) <= max_tokens:
                        start, heading = carry, piece.heading
        if start is None:
            start, heading = piece.start, piece.heading
        end = piece.end
        last = piece
    if start is not None:
        flush()
    return spans


def _overlap_start(
    text: str, counter: TokenCounter, start: int, end: int, overlap: int, *, by_line: bool
) -> int | None:
    """Where the next chunk starts to repeat about ``overlap`` tokens: at a word's start, or at
    a line's start for code and tables."""
    if overlap <= 0:
        return None
    position = counter.offset_before(end, overlap)
    boundary = "\n" if by_line else None
    while start < position < end and not _boundary(text[position - 1], boundary):
        position += 1
    return position if start < position < end else None


def _boundary(char: str, boundary: str | None) -> bool:
    return char == boundary if boundary else char.isspace()


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
