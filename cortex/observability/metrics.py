"""Prometheus metrics Cortex exports (``cortex_<noun>_<unit>``), defined once per process."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
