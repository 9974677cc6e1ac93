"""History and replay: an aggregate's events, its state as it was, and the log as records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from cortex.application.errors import NotFound
from cortex.application.event_log import EventLog

_ENVELOPE = ("originator_id", "originator_version", "timestamp", "originator_topic")


class EventRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One event as auditors and exports see it."""

    position: int | None
    aggregate_id: UUID
    version: int
    type: str
    timestamp: datetime
    payload: dict[str, Any]


def _payload(event: Any) -> dict[str, Any]:
    return {key: value for key, value in vars(event).items() if key not in _ENVELOPE}


def _record(event: Any, position: int | None) -> EventRecord:
    return EventRecord(
        position=position,
        aggregate_id=event.originator_id,
        version=event.originator_version,
        type=type(event).__name__,
        timestamp=event.timestamp,
        payload=_payload(event),
    )


class HistoryService:
    """Reads the log for audit, replay and export."""

    def __init__(self, log: EventLog) -> None:
        self._log = log

    def aggregate_events(self, aggregate_id: UUID) -> list[EventRecord]:
        stored = self._log.recorder.select_events(aggregate_id)
        if not stored:
            raise NotFound("aggregate", aggregate_id)
        return [_record(self._log.mapper.to_domain_event(s), None) for s in stored]

    def replay(
        self,
        aggregate_id: UUID,
        *,
        until_version: int | None = None,
        until_time: datetime | None = None,
    ) -> tuple[list[EventRecord], Aggregate | None]:
        """The aggregate's events up to a version or a time, and the state they produce."""
        stored = self._log.recorder.select_events(aggregate_id, lte=until_version)
        if not stored:
            raise NotFound("aggregate", aggregate_id)
        events: list[Any] = [self._log.mapper.to_domain_event(s) for s in stored]
        if until_time is not None:
            events = [event for event in events if event.timestamp <= until_time]
        aggregate: Any = None
        for event in events:
            aggregate = event.mutate(aggregate)
        return [_record(event, None) for event in events], aggregate

    def export(self, *, since: int = 0, page_size: int = 1000) -> Iterator[EventRecord]:
        """Every event after position `since`, in log order."""
        position = since
        while True:
            notifications = self._log.recorder.select_notifications(
                start=position, limit=page_size, inclusive_of_start=False
            )
            for notification in notifications:
                yield _record(self._log.mapper.to_domain_event(notification), notification.id)
            if len(notifications) < page_size:
                return
            position = notifications[-1].id
