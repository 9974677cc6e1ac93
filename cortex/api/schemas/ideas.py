"""Idea wire types."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Body = Annotated[str, msgspec.Meta(max_length=20_000)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=32)]
Status = Literal["proposed", "accepted", "rejected", "archived"]
Relation = Literal["relates_to", "depends_on", "duplicates", "supersedes"]


class CaptureIdea(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    project_id: UUID
    title: Title
    body: Body = ""
    tags: Tags = msgspec.field(default_factory=list)


class UpdateIdea(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Only the fields given change; tags are added and removed, not replaced."""

    title: Title | None = None
    body: Body | None = None
    add_tags: Tags = msgspec.field(default_factory=list)
    remove_tags: Tags = msgspec.field(default_factory=list)


class ChangeIdeaStatus(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    status: Status
    reason: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class VoteOnIdea(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    value: Literal[1, -1]


class LinkIdea(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    target_id: UUID
    relation: Relation = "relates_to"


class IdeaLinkRead(msgspec.Struct, frozen=True, kw_only=True):
    target_id: UUID
    relation: str


class IdeaRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    project_id: UUID
    title: str
    body: str
    status: str
    votes: int
    tags: list[str]
    version: int
    created_at: str
    updated_at: str
    links: list[IdeaLinkRead] | None = None


class IdeaPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[IdeaRead]
    next_cursor: str | None
