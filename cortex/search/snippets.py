"""A snippet of a chunk around the first query word it contains."""

from __future__ import annotations

import re

WIDTH = 240


def snippet(text: str, words: list[str], width: int = WIDTH) -> tuple[str, int]:
    """(snippet, its offset in the text): a window around the first match, on word bounds."""
    if len(text) <= width:
        return text, 0
    first = None
    for word in words:
        match = re.search(rf"\b{re.escape(word)}", text, re.IGNORECASE)
        if match and (first is None or match.start() < first):
            first = match.start()
    start = max(0, (first or 0) - width // 3)
    while 0 < start < len(text) and not text[start - 1].isspace():
        start += 1
    end = min(len(text), start + width)
    while start < end < len(text) and not text[end].isspace():
        end -= 1
    return text[start:end].strip(), start
