"""Prometheus metrics Cortex exports (``cortex_<noun>_<unit>``), defined once per process."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

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


class IngestJobsByStatus(Collector):
    """``cortex_ingest_jobs_by_status{status}``: jobs per status, read from the read model at
    scrape time, so every process reports the same truth however many workers there are."""

    def __init__(self) -> None:
        self.source: Callable[[], dict[str, int]] | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "cortex_ingest_jobs_by_status",
            "Ingest jobs by status (from the read model)",
            labels=["status"],
        )
        try:
            counts = self.source() if self.source else {}
        except Exception:  # a read store that is down or closed: report nothing, not an error
            return
        for status in ("queued", "extracted", "chunked", "completed", "failed", "cancelled"):
            gauge.add_metric([status], counts.get(status, 0))
        yield gauge


INGEST_JOBS_BY_STATUS = IngestJobsByStatus()
_registered = False


def report_ingest_jobs(source: Callable[[], dict[str, int]]) -> None:
    """Let the gauge read job counts from this source (the process's read store)."""
    global _registered
    INGEST_JOBS_BY_STATUS.source = source
    if not _registered:
        REGISTRY.register(INGEST_JOBS_BY_STATUS)
        _registered = True
