"""A context pack: the items retrieved for a question, each with its citation id, as the prompt
carries them (a source block: a header line naming the source, then its text)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["chunk", "idea"]


@dataclass(frozen=True)
class ContextItem:
    """A chunk of a document or an idea; ``tokens`` counts its whole source block."""

    kind: Kind
    title: str
    text: str
    score: float
    retrievers: tuple[str, ...]
    citation: str = ""  # "c1", "c2"... in the pack's order
    tokens: int = 0
    document_id: str | None = None
    chunk_id: str | None = None
    position: int | None = None
    heading: str = ""
    start_offset: int | None = None
    end_offset: int | None = None
    idea_id: str | None = None
    status: str | None = None  # the idea's

    @property
    def source_id(self) -> str:
        return str(self.chunk_id if self.kind == "chunk" else self.idea_id)

    def source(self) -> str:
        """The item as the prompt carries it."""
        if self.kind == "chunk":
            where = f"part {self.position}" + (f", {self.heading}" if self.heading else "")
            header = f'[{self.citation}] document "{self.title}" ({where})'
        else:
            header = f'[{self.citation}] idea "{self.title}" ({self.status})'
        return f"{header}\n{self.text.strip()}\n\n"


@dataclass(frozen=True)
class ContextPack:
    """What was retrieved, what was kept and why the rest was left out."""

    question: str
    items: list[ContextItem]
    token_budget: int
    tokens: int  # the items' source blocks together
    overhead_tokens: int  # the prompt's own text, counted against the same budget
    tokenizer: str  # whose tokenizer counted, in words
    candidates: int  # chunks and ideas retrieved
    relevant: int  # of those, the ones that passed the relevance rule
    dropped_duplicates: int
    dropped_over_budget: int
    unavailable: dict[str, str] = field(default_factory=dict)

    def sources(self) -> str:
        return "".join(item.source() for item in self.items)

    def item(self, citation: str) -> ContextItem | None:
        return next((item for item in self.items if item.citation == citation), None)
