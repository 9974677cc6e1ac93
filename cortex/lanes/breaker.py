"""A lane's circuit breaker: after enough consecutive failures the lane is skipped for a cooldown,
then one trial call decides whether it closes again or stays open for another cooldown."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Literal

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Closed: every call goes through. Open: none until ``cooldown_seconds`` have passed since it
    opened. Half open: one trial call at a time; its success closes the breaker, its failure opens
    it again with a fresh cooldown. A trial that never reports back (its caller crashed) stops
    holding the slot after another cooldown, so the breaker cannot stay stuck half open."""

    def __init__(
        self,
        failure_threshold: int,
        cooldown_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if cooldown_seconds < 0:
            raise ValueError("cooldown_seconds must not be negative")
        self.failure_threshold = failure_threshold
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_started_at: float | None = None

    # -- reading ------------------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """The state now: an open breaker whose cooldown has passed reads ``half_open``."""
        with self._lock:
            return self._current_state(self._clock())

    @property
    def failures(self) -> int:
        """Consecutive failures since the last success."""
        with self._lock:
            return self._failures

    @property
    def opened_at(self) -> float | None:
        """When (by the breaker's clock) it last opened; None while closed."""
        with self._lock:
            return self._opened_at

    def retry_in(self) -> float:
        """Seconds until a call (a trial, when not closed) would be allowed; 0 if one would now."""
        with self._lock:
            return self._retry_in(self._clock())

    def snapshot(self) -> dict[str, Any]:
        """The breaker as an operator sees it."""
        with self._lock:
            now = self._clock()
            return {
                "state": self._current_state(now),
                "failures": self._failures,
                "failure_threshold": self.failure_threshold,
                "cooldown_seconds": self.cooldown_seconds,
                "opened_at": self._opened_at,
                "retry_in": round(self._retry_in(now), 3),
                "trial_in_flight": self._trial_in_flight(now),
            }

    # -- deciding and recording ---------------------------------------------------------------

    def allow(self) -> bool:
        """Whether a call may go out now; in half open this takes the one trial slot."""
        with self._lock:
            now = self._clock()
            state = self._current_state(now)
            if state == "closed":
                return True
            if state == "open" or self._trial_in_flight(now):
                return False
            self._state = "half_open"
            self._trial_started_at = now
            return True

    def record_success(self) -> None:
        with self._lock:
            self._state = "closed"
            self._failures = 0
            self._opened_at = None
            self._trial_started_at = None

    def record_failure(self) -> None:
        with self._lock:
            now = self._clock()
            self._failures += 1
            if self._state == "half_open":
                self._open(now)  # the trial failed: a fresh cooldown
            elif self._state == "closed" and self._failures >= self.failure_threshold:
                self._open(now)
            # already open (a call that started before it opened): keep the running cooldown

    # -- inside the lock ----------------------------------------------------------------------

    def _open(self, now: float) -> None:
        self._state = "open"
        self._opened_at = now
        self._trial_started_at = None

    def _cooled_down(self, now: float) -> bool:
        return self._opened_at is not None and now - self._opened_at >= self.cooldown_seconds

    def _current_state(self, now: float) -> BreakerState:
        if self._state == "open" and self._cooled_down(now):
            return "half_open"
        return self._state

    def _trial_in_flight(self, now: float) -> bool:
        started = self._trial_started_at
        return started is not None and now - started < self.cooldown_seconds

    def _retry_in(self, now: float) -> float:
        state = self._current_state(now)
        if state == "closed":
            return 0.0
        if state == "open":
            assert self._opened_at is not None
            return max(0.0, self._opened_at + self.cooldown_seconds - now)
        if self._trial_in_flight(now):
            assert self._trial_started_at is not None
            return max(0.0, self._trial_started_at + self.cooldown_seconds - now)
        return 0.0
