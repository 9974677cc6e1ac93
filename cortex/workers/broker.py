"""The Dramatiq broker: Redis when CORTEX_REDIS_URL is set, else an in-process one.

The in-process broker keeps messages in memory, which is enough because a message is only
transport: the events record what is owed and the reconciler re-sends it after a restart.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from cortex.settings import WORK_QUEUES, Settings
from cortex.workers.tracing import TraceContextMiddleware

QUEUES = WORK_QUEUES


def build_broker(settings: Settings) -> dramatiq.Broker:
    url = settings.workers.redis_url
    broker: dramatiq.Broker
    if url:
        # Messages a dead worker held go back to the queue after the heartbeat timeout.
        broker = RedisBroker(  # type: ignore[no-untyped-call]
            url=url, namespace="cortex", heartbeat_timeout=30_000
        )
    else:
        broker = StubBroker()
    broker.add_middleware(TraceContextMiddleware())
    for queue in QUEUES:
        broker.declare_queue(queue)
    return broker


def is_in_memory(broker: dramatiq.Broker) -> bool:
    return isinstance(broker, StubBroker)
