"""Wire types shared by every resource."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec


class CommandAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """A command's result: the aggregate, its new version and the log position of its events.

    Pass ``position`` as ``?after=`` to a query to read your own write.
    """

    id: UUID
    version: int
    position: int


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    instance: str = ""
    errors: list[dict[str, Any]] = msgspec.field(default_factory=list)
    current_version: int | None = None
    current_status: str | None = None
