"""The lane circuit breaker, driven by a fake clock through every transition."""

from __future__ import annotations

import threading

import pytest

from cortex.lanes.breaker import CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, cooldown_seconds=30.0, clock=clock)


def open_it(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state == "open"


def test_starts_closed_and_allows_calls(breaker: CircuitBreaker) -> None:
    assert breaker.state == "closed"
    assert breaker.allow()
    assert breaker.allow()
    assert breaker.failures == 0
    assert breaker.opened_at is None
    assert breaker.retry_in() == 0.0


def test_stays_closed_below_the_threshold(breaker: CircuitBreaker) -> None:
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed"
    assert breaker.failures == 2
    assert breaker.allow()


def test_a_success_resets_the_consecutive_failures(breaker: CircuitBreaker) -> None:
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    assert breaker.failures == 0
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_opens_at_the_threshold_and_refuses_calls(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_it(breaker)
    assert breaker.failures == 3
    assert breaker.opened_at == clock.now
    assert not breaker.allow()
    assert breaker.retry_in() == pytest.approx(30.0)
    clock.advance(29.9)
    assert not breaker.allow()
    assert breaker.state == "open"
    assert breaker.retry_in() == pytest.approx(0.1)


def test_after_the_cooldown_lets_exactly_one_trial_through(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_it(breaker)
    clock.advance(30.0)
    assert breaker.state == "half_open"
    assert breaker.retry_in() == 0.0
    assert breaker.allow()  # the trial
    assert breaker.state == "half_open"
    assert not breaker.allow()  # a second caller waits for the trial's outcome
    assert not breaker.allow()


def test_a_successful_trial_closes_it(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_it(breaker)
    clock.advance(31.0)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.failures == 0
    assert breaker.opened_at is None
    assert breaker.allow()
    assert breaker.allow()


def test_a_failed_trial_opens_it_again_with_a_fresh_cooldown(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_it(breaker)
    clock.advance(30.0)
    assert breaker.allow()
    clock.advance(2.0)
    breaker.record_failure()
    assert breaker.state == "open"
    assert breaker.opened_at == clock.now
    assert breaker.failures == 4
    assert not breaker.allow()
    assert breaker.retry_in() == pytest.approx(30.0)
    clock.advance(30.0)
    assert breaker.allow()  # the next trial


def test_a_late_failure_while_open_keeps_the_running_cooldown(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_it(breaker)
    opened = breaker.opened_at
    clock.advance(10.0)
    breaker.record_failure()  # a call that started before the breaker opened
    assert breaker.state == "open"
    assert breaker.opened_at == opened
    assert breaker.retry_in() == pytest.approx(20.0)


def test_a_trial_that_never_reports_frees_its_slot_after_a_cooldown(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_it(breaker)
    clock.advance(30.0)
    assert breaker.allow()
    clock.advance(10.0)
    assert not breaker.allow()
    assert breaker.retry_in() == pytest.approx(20.0)
    clock.advance(20.0)
    assert breaker.allow()


def test_snapshot_shows_what_an_operator_needs(breaker: CircuitBreaker, clock: FakeClock) -> None:
    assert breaker.snapshot() == {
        "state": "closed",
        "failures": 0,
        "failure_threshold": 3,
        "cooldown_seconds": 30.0,
        "opened_at": None,
        "retry_in": 0.0,
        "trial_in_flight": False,
    }
    open_it(breaker)
    clock.advance(12.5)
    snapshot = breaker.snapshot()
    assert snapshot["state"] == "open"
    assert snapshot["failures"] == 3
    assert snapshot["opened_at"] == clock.now - 12.5
    assert snapshot["retry_in"] == pytest.approx(17.5)
    clock.advance(17.5)
    breaker.allow()
    assert breaker.snapshot()["trial_in_flight"] is True


def test_threshold_of_one_opens_on_the_first_failure(clock: FakeClock) -> None:
    breaker = CircuitBreaker(1, 5.0, clock=clock)
    breaker.record_failure()
    assert breaker.state == "open"


@pytest.mark.parametrize(("threshold", "cooldown"), [(0, 1.0), (1, -1.0)])
def test_rejects_nonsense_settings(threshold: int, cooldown: float) -> None:
    with pytest.raises(ValueError, match="must"):
        CircuitBreaker(threshold, cooldown)


def test_only_one_of_many_threads_gets_the_trial(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_it(breaker)
    clock.advance(30.0)
    start = threading.Barrier(16)
    granted: list[bool] = []
    lock = threading.Lock()

    def contend() -> None:
        start.wait()
        allowed = breaker.allow()
        with lock:
            granted.append(allowed)

    threads = [threading.Thread(target=contend) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(True) == 1
