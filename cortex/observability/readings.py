"""What the scrape-time gauges read: projection lag from the log and the projectors' positions,
queue depth from the Dramatiq broker. Bootstrap points the gauges in metrics at these."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from cortex.observability.metrics import Lag


class EventSource(Protocol):
    """The parts of the event log the lag reads (cortex's EventLog fits)."""

    @property
    def recorder(self) -> Any: ...

    @property
    def mapper(self) -> Any: ...

    def head(self) -> int: ...


def projection_lags(
    log: EventSource,
    positions: Mapping[str, Callable[[], int]],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Lag]:
    """Each projector's lag: events between its position and the head, and the age of the first
    event after its position (the oldest it has not applied)."""
    head = log.head()
    at = now()
    ages: dict[int, float] = {}  # projectors at the same position share one read
    lags: dict[str, Lag] = {}
    for name, position_of in positions.items():
        position = position_of()
        if position >= head:
            lags[name] = Lag(0, 0.0)
            continue
        if position not in ages:
            ages[position] = _age_after(log, position, at)
        lags[name] = Lag(head - position, ages[position])
    return lags


def _age_after(log: EventSource, position: int, at: datetime) -> float:
    notifications = log.recorder.select_notifications(
        start=position, limit=1, inclusive_of_start=False
    )
    if not notifications:
        return 0.0
    timestamp: datetime = log.mapper.to_domain_event(notifications[0]).timestamp
    return max(0.0, (at - timestamp).total_seconds())


def queue_depths(broker: dramatiq.Broker) -> dict[str, int]:
    """Messages per declared queue: ``QUEUE`` waiting for a worker, ``QUEUE.DQ`` delayed (a
    retry's backoff), ``QUEUE.XQ`` dead-lettered.

    Redis: the queue's list, the delay queue's message hash (workers hold delayed messages until
    they are due, so its list is mostly empty) and the dead-letter set. In memory: the queues not
    yet taken by a worker thread, and the dead letters.
    """
    queues = sorted(q for q in broker.get_declared_queues() if not q.endswith(".DQ"))
    if isinstance(broker, RedisBroker):
        return _redis_depths(broker, queues)
    if isinstance(broker, StubBroker):
        dead = broker.dead_letters_by_queue
        depths: dict[str, int] = {}
        for queue in queues:
            depths[queue] = broker.queues[queue].qsize()
            depths[f"{queue}.DQ"] = broker.queues[f"{queue}.DQ"].qsize()
            depths[f"{queue}.XQ"] = len(dead.get(queue, ())) + len(dead.get(f"{queue}.DQ", ()))
        return depths
    raise TypeError(f"no queue depth for {type(broker).__name__}")


def _redis_depths(broker: RedisBroker, queues: list[str]) -> dict[str, int]:
    """The key names are dramatiq's (dramatiq/brokers/redis/dispatch.lua)."""
    prefix = f"{broker.namespace}:"
    pipe = broker.client.pipeline(transaction=False)
    for queue in queues:
        pipe.llen(f"{prefix}{queue}")
        pipe.hlen(f"{prefix}{queue}.DQ.msgs")
        pipe.zcard(f"{prefix}{queue}.XQ")
    counts = iter(pipe.execute())
    depths: dict[str, int] = {}
    for queue in queues:
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            depths[name] = int(next(counts))
    return depths
