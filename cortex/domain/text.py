"""Normalisation rules shared by aggregates: trimmed, bounded, printable text."""

from __future__ import annotations

import unicodedata

from cortex.domain.errors import InvalidInput


def clean_text(field: str, value: str, *, max_length: int, allow_empty: bool = False) -> str:
    """Strip surrounding whitespace, refuse control characters and enforce the bounds."""
    cleaned = value.strip()
    if not cleaned and not allow_empty:
        raise InvalidInput(field, "must not be empty")
    if len(cleaned) > max_length:
        raise InvalidInput(field, f"must be at most {max_length} characters")
    for char in cleaned:
        if unicodedata.category(char) == "Cc" and char not in "\n\t\r":
            raise InvalidInput(field, "must not contain control characters")
    return cleaned


def clean_tag(value: str) -> str:
    """Tags are lower case, without spaces, at most 40 characters."""
    tag = clean_text("tags", value, max_length=40).lower()
    if any(char.isspace() for char in tag):
        raise InvalidInput("tags", f"tag {tag!r} must not contain whitespace")
    return tag
