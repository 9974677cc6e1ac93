"""/api/events: an aggregate's history, for audit."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from cortex.api.problems import QUERY_PROBLEMS
from cortex.api.schemas.events import EventList, EventRead
from cortex.bootstrap import Cortex


class EventController(Controller):
    path = "/api/events"
    tags = ["events"]

    @get("/", operation_id="listAggregateEvents", sync_to_thread=True, responses=QUERY_PROBLEMS)
    def list_events(
        self, cortex: NamedDependency[Cortex], aggregate_id: FromQuery[UUID]
    ) -> EventList:
        records = cortex.history.aggregate_events(aggregate_id)
        return EventList(
            items=[
                EventRead(
                    aggregate_id=record.aggregate_id,
                    version=record.version,
                    type=record.type,
                    timestamp=record.timestamp,
                    payload=_redacted(msgspec.to_builtins(record.payload)),
                )
                for record in records
            ]
        )


def _redacted(payload: dict[str, Any]) -> dict[str, Any]:
    """Hashes of passwords and secrets stay in the log, not in API answers."""
    return {key: "[redacted]" if key.endswith("_hash") else value for key, value in payload.items()}
