"""Re-sends owed work: jobs whose last event is not terminal, deletions not yet purged.

Runs at start-up and then periodically. It reads the read models (derived from the events), so
it may re-send a job that has just finished; the actors are idempotent and do nothing then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from uuid import UUID

import structlog

from cortex.application.jobs import JobQueue

logger = structlog.get_logger("cortex.reconciler")

OwedJobs = Callable[[float], list[tuple[UUID, UUID, str]]]
OwedPurges = Callable[[float], list[UUID]]
# Other owed work (workflow runs, agent runs): re-sends what is owed, untouched for the given
# seconds, and says how many messages it sent. ``restarted``: the queue started empty (the
# in-memory broker after a restart), so no live worker holds anything.
Resume = Callable[[float, bool], int]


class Reconciler:
    def __init__(
        self,
        owed_jobs: OwedJobs,
        owed_purges: OwedPurges,
        queue: JobQueue,
        resumers: Sequence[Resume] = (),
    ) -> None:
        self._owed_jobs = owed_jobs
        self._owed_purges = owed_purges
        self._queue = queue
        self.resumers = list(resumers)

    def run_once(self, stale_seconds: float, *, restarted: bool = False) -> int:
        """Re-send what has been owed, untouched, for at least ``stale_seconds``; with
        ``restarted`` (only this process's in-memory queue held the messages, and it started
        empty) work in progress is presumed dead too."""
        sent = 0
        for document_id, job_id, status in self._owed_jobs(stale_seconds):
            if status in ("chunked", "embedded"):
                self._queue.embed(document_id, job_id)
            else:
                self._queue.ingest(document_id, job_id)
            sent += 1
        for document_id in self._owed_purges(stale_seconds):
            self._queue.purge(document_id)
            sent += 1
        for resume in self.resumers:
            sent += resume(stale_seconds, restarted)
        if sent:
            logger.info("owed_work_resent", messages=sent, stale_seconds=stale_seconds)
        return sent

    def run_forever(
        self, stop: threading.Event, *, first_stale: float, period: float, restarted: bool = False
    ) -> None:
        """Reconcile now and every ``period`` seconds; ``restarted`` applies to the first pass."""
        stale = first_stale
        while not stop.is_set():
            try:
                self.run_once(stale, restarted=restarted)
            except Exception:
                logger.exception("reconcile_failed")
            stale, restarted = period, False
            stop.wait(period)
