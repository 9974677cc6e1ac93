"""A sliding-window limit on failed sign-ins per client address (per process)."""

from __future__ import annotations

import threading
import time
from collections import deque


class AttemptLimiter:
    def __init__(self, limit: int, window_seconds: float) -> None:
        self._limit = limit
        self._window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int:
        """0 when ``key`` may try now, else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(key)
            if not failures:
                return 0
            while failures and now - failures[0] >= self._window:
                failures.popleft()
            if len(failures) < self._limit:
                return 0
            return max(1, int(self._window - (now - failures[0])) + 1)

    def record_failure(self, key: str) -> None:
        with self._lock:
            if len(self._failures) > 100_000:  # bound memory under address spraying
                self._failures = {k: v for k, v in self._failures.items() if v}
            self._failures.setdefault(key, deque()).append(time.monotonic())
