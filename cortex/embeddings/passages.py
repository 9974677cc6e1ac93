"""What is embedded for a chunk: the same text whether embedded by a worker or a rebuild."""

from __future__ import annotations


def passage_text(body: str, heading: str) -> str:
    """The chunk's text, led by its heading path when the text does not start with it."""
    last = heading.rsplit(" > ", 1)[-1]
    return body if not last or last in body[:200] else f"{heading}\n\n{body}"
