"""Words for search: cut and case-folded the same way when ideas are written and when queried.

A word is a run of letters or digits (any script); underscores, dots, slashes and other marks
separate words, so ``example.com`` holds ``example`` and ``com``.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The distinct words of ``text``, case-folded, in first-seen order."""
    return list(dict.fromkeys(match.casefold() for match in _WORD.findall(text)))


def search_words(*texts: str) -> str:
    """The stored form: distinct words joined and padded with single spaces (" a b ")."""
    joined = " ".join(words(" ".join(texts)))
    return f" {joined} " if joined else ""
