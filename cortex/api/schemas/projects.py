"""Project wire types."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Description = Annotated[str, msgspec.Meta(max_length=4000)]


class CreateProject(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name
    description: Description = ""


class UpdateProject(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Only the fields given change."""

    name: Name | None = None
    description: Description | None = None


class ProjectRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    description: str
    archived: bool
    version: int
    created_at: str
    updated_at: str


class ProjectPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ProjectRead]
    next_cursor: str | None
