"""Near-duplicates: an item whose word 3-grams (shingles) are mostly in an item already kept adds
nothing worth its tokens (the same passage uploaded twice, a copy with a word changed, an idea
pasted from a document, the tail of a chunk that the previous chunk's overlap already holds)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
SHINGLE_WORDS = 3
# The share of a candidate's shingles that one kept item holds at which it is a near-duplicate.
# A changed word in a 100-word passage leaves ~97% shared; adjacent chunks of one document share
# only their overlap (10-20%); 0.8 sits well between the two.
NEAR_DUPLICATE = 0.8
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str) -> frozenset[tuple[str, ...]]:
    words = [word.casefold() for word in _WORD.findall(text)]
    if len(words) <= SHINGLE_WORDS:
        return frozenset({tuple(words)}) if words else frozenset()
    return frozenset(
        tuple(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)
    )


def covered(candidate: frozenset[tuple[str, ...]], kept: frozenset[tuple[str, ...]]) -> float:
    """The share of the candidate's shingles that the kept item holds."""
    return len(candidate & kept) / len(candidate) if candidate else 1.0


def drop_near_duplicates(items: Sequence[T], text: Callable[[T], str]) -> tuple[list[T], int]:
    """The items (best first) without near-duplicates of better ones; how many were dropped."""
    kept: list[T] = []
    kept_shingles: list[frozenset[tuple[str, ...]]] = []
    dropped = 0
    for item in items:
        own = shingles(text(item))
        if any(covered(own, other) >= NEAR_DUPLICATE for other in kept_shingles):
            dropped += 1
            continue
        kept.append(item)
        kept_shingles.append(own)
    return kept, dropped
