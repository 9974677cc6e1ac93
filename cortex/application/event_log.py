"""The event log every bounded context appends to: one eventsourcing Application, "cortex".

One log gives every event one global position: what projections track, what read-your-writes
waits for, and what `cortex events export --since` pages through.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import Environment

from cortex.application.errors import NotFound, VersionConflict
from cortex.observability import metrics
from cortex.observability.tracing import tracer

A = TypeVar("A", bound=Aggregate)


class CommandResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a command reports: the aggregate, its new version and the log position of its events."""

    id: UUID
    version: int
    position: int


class EventLog(Application[UUID]):
    """The shared event-sourced application; contexts use it through their services."""

    name = "cortex"
    is_snapshotting_enabled = False

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        self._listeners: list[Callable[[int], None]] = []

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        """Only what bootstrap derived from Cortex's settings, never stray process variables.

        The library merges os.environ in; a stray POSTGRES_ENABLE_DB_FUNCTIONS=y would append
        without the table lock that keeps followers from skipping events.
        """
        return Environment(name, dict(env or {}))

    def on_appended(self, listener: Callable[[int], None]) -> None:
        """Call listener with the last position after every successful append (in this process)."""
        self._listeners.append(listener)

    def load(self, aggregate_id: UUID, kind: type[A], *, expected_version: int | None = None) -> A:
        """Load a live aggregate of the given kind, checking the caller's expected version."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(kind.__name__.lower(), aggregate_id) from None
        if not isinstance(aggregate, kind) or getattr(aggregate, "deleted", False):
            raise NotFound(kind.__name__.lower(), aggregate_id)
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionConflict(aggregate_id, expected_version, aggregate.version)
        return aggregate

    def commit(self, aggregate: Aggregate, *others: Aggregate) -> CommandResult:
        """Append the aggregates' pending events atomically; a concurrent append is a conflict.

        The result describes the first aggregate.
        """
        events = sum(len(pending.pending_events) for pending in (aggregate, *others))
        with tracer().start_as_current_span(
            "event_store.append",
            attributes={
                "cortex.aggregate.type": type(aggregate).__name__,
                "cortex.aggregate.id": str(aggregate.id),
                "cortex.event_store.events": events,
            },
        ) as span:
            result = self._append(aggregate, *others)
            span.set_attribute("cortex.event_store.position", result.position)
            return result

    def _append(self, aggregate: Aggregate, *others: Aggregate) -> CommandResult:
        try:
            recordings = self.save(aggregate, *others)
        except IntegrityError:
            try:
                current: int = self.repository.get(aggregate.id).version
            except AggregateNotFoundError:
                current = 0
            raise VersionConflict(aggregate.id, None, current) from None
        if recordings:
            metrics.count_appended(type(r.domain_event).__name__ for r in recordings)
            position = recordings[-1].notification.id
            for listener in self._listeners:
                listener(position)
        else:
            position = self.recorder.max_notification_id() or 0
        return CommandResult(id=aggregate.id, version=aggregate.version, position=position)

    def head(self) -> int:
        """The position of the last event in the log (0 when empty)."""
        return self.recorder.max_notification_id() or 0
