"""Event history wire types."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class EventRead(msgspec.Struct, frozen=True, kw_only=True):
    aggregate_id: UUID
    version: int
    type: str
    timestamp: datetime
    payload: dict[str, Any]


class EventList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[EventRead]
