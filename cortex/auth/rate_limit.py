"""A sliding-window limit on sign-in attempts per client address (per process)."""

from __future__ import annotations

import threading
import time
from collections import deque


class AttemptLimiter:
    def __init__(self, limit: int, window_seconds: float) -> None:
        self._limit = limit
        self._window = window_seconds
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int:
        """0 when an attempt from ``key`` may go ahead (and counts it), else seconds to wait."""
        now = time.monotonic()
        with self._lock:
            attempts = self._attempts.setdefault(key, deque())
            while attempts and now - attempts[0] >= self._window:
                attempts.popleft()
            if len(attempts) >= self._limit:
                return max(1, int(self._window - (now - attempts[0])) + 1)
            attempts.append(now)
            if len(self._attempts) > 100_000:  # bound memory under address spraying
                self._attempts = {k: v for k, v in self._attempts.items() if v}
            return 0
