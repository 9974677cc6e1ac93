"""Knowledge search wire types."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec

Mode = Literal["dense", "keyword", "hybrid"]
Tags = Annotated[list[Annotated[str, msgspec.Meta(max_length=40)]], msgspec.Meta(max_length=32)]


class SearchFilters(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    document_id: UUID | None = None
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    tags: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=40)]], msgspec.Meta(max_length=32)
    ] = msgspec.field(default_factory=list)


class SearchKnowledge(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``project_id`` narrows the search to one project; without it, every project you read."""

    query: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    project_id: UUID | None = None
    mode: Mode = "hybrid"
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    filters: SearchFilters = msgspec.field(default_factory=SearchFilters)
    rerank: bool = False


class SearchHit(msgspec.Struct, frozen=True, kw_only=True):
    chunk_id: UUID
    document_id: UUID
    title: str
    type: str
    document_version: int
    position: int
    heading: str
    snippet: str
    snippet_offset: int
    start_offset: int
    end_offset: int
    score: float
    retrievers: list[str]


class SearchResults(msgspec.Struct, frozen=True, kw_only=True):
    """``unavailable`` names each retriever (or the reranker) that could not take part, and why."""

    hits: list[SearchHit]
    mode: Mode
    model: str | None
    unavailable: dict[str, str]
    reranked: bool
