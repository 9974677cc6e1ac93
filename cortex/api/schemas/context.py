"""Context pack and knowledge answer wire types."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec

Question = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
ItemKind = Literal["chunk", "idea"]


class BuildContext(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``token_budget``: the most tokens the items may take together, counted by the FAST_RAG
    lane's tokenizer."""

    project_id: UUID
    question: Question
    token_budget: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]


class ContextItemRead(msgspec.Struct, frozen=True, kw_only=True):
    """A chunk (document id, chunk id, position, character offsets into the document's text) or
    an idea (idea id, status); ``tokens`` counts the item as a prompt carries it (``source``:
    a header line with its citation id, then its text)."""

    citation: str
    kind: ItemKind
    title: str
    text: str
    source: str
    tokens: int
    score: float
    retrievers: list[str]
    document_id: UUID | None = None
    chunk_id: UUID | None = None
    position: int | None = None
    heading: str | None = None
    start_offset: int | None = None
    end_offset: int | None = None
    idea_id: UUID | None = None
    status: str | None = None


class ContextPackRead(msgspec.Struct, frozen=True, kw_only=True):
    """``tokenizer`` says whose tokenizer counted; ``candidates`` were retrieved, ``relevant``
    passed the relevance rule, then near-duplicates and what did not fit were dropped."""

    question: str
    items: list[ContextItemRead]
    token_budget: int
    tokens: int
    overhead_tokens: int
    tokenizer: str
    candidates: int
    relevant: int
    dropped_duplicates: int
    dropped_over_budget: int
    unavailable: dict[str, str]


class AskKnowledge(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    project_id: UUID
    question: Question


class Citation(msgspec.Struct, frozen=True, kw_only=True):
    citation: str
    kind: ItemKind
    title: str
    document_id: UUID | None = None
    chunk_id: UUID | None = None
    position: int | None = None
    start_offset: int | None = None
    end_offset: int | None = None
    idea_id: UUID | None = None


class UsedSource(msgspec.Struct, frozen=True, kw_only=True):
    citation: str
    kind: ItemKind
    id: UUID  # the chunk's or the idea's
    tokens: int


class ContextUsed(msgspec.Struct, frozen=True, kw_only=True):
    """The sources the prompt carried, and how the pack was counted and trimmed."""

    items: list[UsedSource]
    tokens: int
    token_budget: int
    overhead_tokens: int
    tokenizer: str
    dropped_duplicates: int
    dropped_over_budget: int


class KnowledgeAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """``found: false`` with ``model_call_id: null``: nothing relevant was retrieved and no model
    was called. ``position`` reads the model call back (``GET /api/model-calls/{id}?after=``)."""

    answer: str
    found: bool
    citations: list[Citation]
    unknown_citations: list[str]
    model_call_id: UUID | None
    lane: str | None
    model: str | None
    context: ContextUsed
    position: int | None
