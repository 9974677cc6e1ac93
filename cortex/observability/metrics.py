"""Prometheus metrics Cortex exports (``cortex_<noun>_<unit>``), defined once per process.

Counters and histograms count what this process did; with ``PROMETHEUS_MULTIPROC_DIR`` set
(before the process starts) prometheus_client writes them to files there and a scrape sums every
process's files. The scrape-time gauges (ingest jobs by status, projection lag, queue depth) read
shared state (the read store, the event store, the broker), so the scraped process reports them
once, for everyone. See docs/metrics.md.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from threading import Lock, Thread
from typing import Generic, NamedTuple, TypeVar
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = structlog.get_logger("cortex.metrics")

T = TypeVar("T")

INGEST_JOBS = Counter(
    "cortex_ingest_jobs_total",
    "Ingest job runs by outcome (completed, failed, skipped; retry when an attempt will repeat)",
    ["status"],
)
INGEST_STAGE_SECONDS = Histogram(
    "cortex_ingest_stage_seconds",
    "Time spent in each ingest stage",
    ["stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)

EMBEDDED_CHUNKS = Counter("cortex_embedded_chunks_total", "Chunks embedded into the vector index")

EMBEDDING_CALLS = Counter(
    "cortex_embedding_calls_total",
    "Embedding model calls by kind (passages, query) and outcome (ok, error)",
    ["kind", "outcome"],
)
EMBEDDING_ERRORS = Counter(
    "cortex_embedding_errors_total",
    "Failed embedding model calls by kind and error (the exception's class name)",
    ["kind", "error"],
)
EMBEDDING_SECONDS = Histogram(
    "cortex_embedding_seconds",
    "Time an embedding model call took",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

EVENTS_APPENDED = Counter(
    "cortex_events_appended_total", "Events appended to the event log, by event type", ["type"]
)

LANE_CALLS = Counter(
    "cortex_lane_calls_total",
    "Model lane calls by outcome (ok, error after retries, fallback: another lane answered)",
    ["lane", "outcome"],
)
LANE_ERRORS = Counter(
    "cortex_lane_errors_total",
    "Failed model lane attempts by kind (timeout, connect, server, client, protocol)",
    ["lane", "kind"],
)
LANE_LATENCY = Histogram(
    "cortex_lane_latency_seconds",
    "Time to a model lane's answer (to the first piece when streaming)",
    ["lane"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
LANE_TOKENS = Counter(
    "cortex_lane_tokens_total", "Tokens through model lanes (prompt, completion)", ["lane", "kind"]
)
ROUTING_DECISIONS = Counter(
    "cortex_routing_decisions_total", "Lanes the router chose, by method", ["lane", "method"]
)


@contextmanager
def embedding_call(kind: str) -> Iterator[None]:
    """Count one embedding model call of this kind (passages, query), its time and its error."""
    started = time.perf_counter()
    try:
        yield
    except Exception as error:
        EMBEDDING_CALLS.labels(kind, "error").inc()
        EMBEDDING_ERRORS.labels(kind, type(error).__name__).inc()
        raise
    finally:
        EMBEDDING_SECONDS.labels(kind).observe(time.perf_counter() - started)
    EMBEDDING_CALLS.labels(kind, "ok").inc()


def count_appended(event_types: Iterable[str]) -> None:
    for event_type in event_types:
        EVENTS_APPENDED.labels(event_type).inc()


# Scrape-time gauges ------------------------------------------------------------------------------


class Lag(NamedTuple):
    """How far a projector is behind the log: events, and the age of the oldest it has not
    applied (0 when caught up)."""

    events: int
    seconds: float


class ScrapeTimeGauges(Collector, Generic[T]):
    """Gauges read from a source at scrape time. A process registers each once; every bootstrap
    points it at its own source (the latest wins), so tests may wire many Cortex instances. A
    source that fails leaves its gauges out of the scrape and logs a warning, never an error."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.source: Callable[[], T] | None = None
        self._registered = False
        self._lock = Lock()

    def report(self, source: Callable[[], T]) -> None:
        with self._lock:
            self.source = source
            if not self._registered:
                REGISTRY.register(self)
                self._registered = True

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return self.families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        source = self.source
        if source is None:
            return
        try:
            reading = source()
        except Exception as error:  # a store or broker that is down or closed: no gauges
            logger.warning("metrics_source_failed", metrics=self.name, error=repr(error)[:300])
            return
        families = self.families()
        self.fill(families, reading)
        yield from families

    def families(self) -> list[GaugeMetricFamily]:
        raise NotImplementedError

    def fill(self, families: list[GaugeMetricFamily], reading: T) -> None:
        raise NotImplementedError


class IngestJobsByStatus(ScrapeTimeGauges[Mapping[str, int]]):
    """``cortex_ingest_jobs_by_status{status}``: jobs per status, from the read model."""

    def families(self) -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "cortex_ingest_jobs_by_status",
                "Ingest jobs by status (from the read model)",
                labels=["status"],
            )
        ]

    def fill(self, families: list[GaugeMetricFamily], reading: Mapping[str, int]) -> None:
        for status in ("queued", "extracted", "chunked", "completed", "failed", "cancelled"):
            families[0].add_metric([status], reading.get(status, 0))


class ProjectionLag(ScrapeTimeGauges[Mapping[str, Lag]]):
    """``cortex_projection_lag_events{projection}`` and ``cortex_projection_lag_seconds``."""

    def families(self) -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "cortex_projection_lag_events",
                "Events in the log the projector has not applied yet",
                labels=["projection"],
            ),
            GaugeMetricFamily(
                "cortex_projection_lag_seconds",
                "Age of the oldest event the projector has not applied (0 when caught up)",
                labels=["projection"],
            ),
        ]

    def fill(self, families: list[GaugeMetricFamily], reading: Mapping[str, Lag]) -> None:
        events, seconds = families
        for projection, lag in sorted(reading.items()):
            events.add_metric([projection], lag.events)
            seconds.add_metric([projection], lag.seconds)


class QueueDepth(ScrapeTimeGauges[Mapping[str, int]]):
    """``cortex_queue_depth{queue}``: messages per Dramatiq queue, from the broker."""

    def families(self) -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "cortex_queue_depth",
                "Messages in each Dramatiq queue: waiting (QUEUE), delayed (QUEUE.DQ), "
                "dead-lettered (QUEUE.XQ)",
                labels=["queue"],
            )
        ]

    def fill(self, families: list[GaugeMetricFamily], reading: Mapping[str, int]) -> None:
        for queue, depth in sorted(reading.items()):
            families[0].add_metric([queue], depth)


INGEST_JOBS_BY_STATUS = IngestJobsByStatus("ingest_jobs_by_status")
PROJECTION_LAG = ProjectionLag("projection_lag")
QUEUE_DEPTH = QueueDepth("queue_depth")
SCRAPE_TIME: tuple[Collector, ...] = (INGEST_JOBS_BY_STATUS, PROJECTION_LAG, QUEUE_DEPTH)


def report_ingest_jobs(source: Callable[[], Mapping[str, int]]) -> None:
    """Let the gauge read job counts from this source (the process's read store)."""
    INGEST_JOBS_BY_STATUS.report(source)


def report_projection_lag(source: Callable[[], Mapping[str, Lag]]) -> None:
    PROJECTION_LAG.report(source)


def report_queue_depth(source: Callable[[], Mapping[str, int]]) -> None:
    QUEUE_DEPTH.report(source)


# Exposition --------------------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def scrape_registry() -> CollectorRegistry:
    """What a scrape reports: this process's registry, or, in multiprocess mode, every
    process's counters and histograms from the shared folder plus the scrape-time gauges."""
    path = multiprocess_dir()
    if path is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    for gauges in SCRAPE_TIME:
        registry.register(gauges)
    return registry


def exposition() -> tuple[bytes, str]:
    """The scrape's body in Prometheus text format, and its content type."""
    return generate_latest(scrape_registry()), CONTENT_TYPE_LATEST


def serve_metrics(port: int, addr: str) -> tuple[WSGIServer, Thread]:
    """Serve the same scrape on a port of its own, in a daemon thread: for a process without
    the API (a `cortex worker` on a host of its own). Port 0 picks a free one."""
    return start_http_server(port, addr=addr, registry=scrape_registry())
