"""Concurrent writers and a live follower on PostgreSQL: every event reaches the read model once.

Four writer threads in this process and two writer processes (spawned, each with its own
bootstrap) capture ideas and vote on them, some on the same few "hot" ideas so that appends
conflict and are retried (rolled-back inserts leave gaps in the notification ids). Meanwhile this
process follows the log live (``Cortex.start_projections()``, woken by LISTEN/NOTIFY) in small
batches, and so does an extra projector that records the notification id of every event it applies
in a table with no unique key.

Once the writers are done and the followers have reached the head, the read model must hold every
idea and every vote exactly once, and the extra projector must have seen exactly the log's
notification ids, in order, with no gaps and no repeats. This is the guard against a follower
reading past an id whose transaction has not committed yet (it would skip that event for good).
One writer thread and one writer process hold each append's transaction open a moment before
committing (see slow_commits), which makes that failure show reliably when appends are not
serialised (checked by removing the recorder's table lock: dozens of events went missing).

Two smaller tests guard what the guarantee rests on: processes starting together all start, and
stray environment variables cannot switch the event store to unserialised appends.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from cortex.application.errors import VersionConflict
from cortex.bootstrap import Cortex, bootstrap
from projections.base import SqlProjection
from projections.follow import PostgresWakeup
from projections.runner import ProjectionRunner
from projections.store import Cursor
from tests.conftest import make_settings

WRITER_THREADS = 4
WRITER_PROCESSES = 2
IDEAS_PER_WRITER = 20
HOT_IDEAS = 3
BATCH_SIZE = "5"  # small batches: many more chances to read while others append
SLOW_COMMIT_SECONDS = 0.01
START_TIMEOUT = 60.0
WRITE_TIMEOUT = 60.0
CATCH_UP_TIMEOUT = 30.0
STARTERS = 6
START_ROUNDS = 3


# -- writers (module level, so that spawned processes can import them) ---------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def slow_commits(cortex: Cortex, seconds: float = SLOW_COMMIT_SECONDS) -> None:
    """Hold each append's transaction open a moment after its insert, before its commit.

    A slow network or a paused process does this in production. It widens the window in which
    a notification id has been taken but not committed: a follower that can read past such an id
    (because appends are not serialised) would then skip that event for good, and this test would
    see it missing. The hook is eventsourcing's own step that fetches the new ids inside the insert
    transaction (PostgreSQL recorder, eventsourcing 9.5).
    """
    recorder = cortex.log.recorder
    fetch = recorder._fetch_ids_after_insert_events

    def fetch_then_wait(*args: Any, **kwargs: Any) -> Any:
        ids = fetch(*args, **kwargs)
        time.sleep(seconds)
        return ids

    recorder._fetch_ids_after_insert_events = fetch_then_wait


def _vote(cortex: Cortex, idea_id: UUID, value: int) -> int:
    """Vote, retrying concurrent-append conflicts; return how many conflicts there were."""
    for conflicts in range(100):
        try:
            cortex.ideas.vote_on_idea(idea_id, value=value, expected_version=None, at=_now())
        except VersionConflict:
            time.sleep(random.uniform(0, 0.005))
            continue
        return conflicts
    raise AssertionError(f"a vote on {idea_id} conflicted 100 times")


def write(cortex: Cortex, project_id: str, hot_ids: list[str], writer: str) -> dict[str, Any]:
    """A bounded burst of commands; report exactly what was accepted."""
    rng = random.Random(writer)
    captured: list[str] = []
    votes: Counter[str] = Counter()
    conflicts = 0
    for n in range(IDEAS_PER_WRITER):
        idea = cortex.ideas.capture_idea(
            idea_id=uuid4(),
            project_id=UUID(project_id),
            title=f"{writer} idea {n}",
            body="written concurrently",
            tags=[writer],
            at=_now(),
        )
        captured.append(str(idea.id))
        conflicts += _vote(cortex, idea.id, 1)
        votes[str(idea.id)] += 1
        hot, value = rng.choice(hot_ids), rng.choice([1, 1, -1])
        conflicts += _vote(cortex, UUID(hot), value)
        votes[hot] += value
    return {
        "writer": writer,
        "captured": captured,
        "votes": dict(votes),
        "votes_cast": IDEAS_PER_WRITER * 2,
        "conflicts": conflicts,
    }


def _child_writer(
    database_url: str,
    var_dir: str,
    project_id: str,
    hot_ids: list[str],
    writer: str,
    slow: bool,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """Entry point of a writer process: its own bootstrap, then the same burst as a thread."""
    try:
        settings = make_settings(Path(var_dir), database_url)
        cortex = bootstrap(settings, migrate_read_store=False)
        try:
            if slow:
                slow_commits(cortex)
            ready.put(writer)
            if not go.wait(START_TIMEOUT):
                raise RuntimeError("no start signal")
            results.put(("ok", write(cortex, project_id, hot_ids, writer)))
        finally:
            cortex.close()
    except BaseException:
        results.put(("error", f"{writer}:\n{traceback.format_exc()}"))


def _child_bootstrap(
    database_url: str, var_dir: str, ready: Any, rounds: list[Any], stop: Any, results: Any
) -> None:
    """A process that only starts Cortex (as a replica or worker would), once per round."""
    for start in rounds:
        ready.put(var_dir)
        if not start.wait(START_TIMEOUT) or stop.is_set():
            return
        try:
            settings = make_settings(Path(var_dir), database_url)
            bootstrap(settings, migrate_read_store=True).close()
            results.put(("ok", ""))
        except BaseException:
            results.put(("error", traceback.format_exc()))


# -- an independent count of what a projector sees ---------------------------------------------


class SeenEvents(SqlProjection):
    """Records (notification id, aggregate, version, type) for every event it is given."""

    name = "test_seen_events"
    tables = ("test_seen_events",)

    def __init__(self) -> None:
        super().__init__()
        self.notification_id = 0

    def handle(self, event: Any, cur: Cursor) -> None:
        cur.execute(
            self.sql(
                "INSERT INTO {test_seen_events} (notification_id, originator_id,"
                " originator_version, topic) VALUES (?, ?, ?, ?)"
            ),
            (
                self.notification_id,
                str(event.originator_id),
                event.originator_version,
                type(event).__name__,
            ),
        )


class NotingFeed:
    """The log as a runner reads it, telling the projector each event's notification id."""

    def __init__(self, cortex: Cortex, projection: SeenEvents) -> None:
        self.recorder = cortex.log.recorder
        self._mapper = cortex.log.mapper
        self._projection = projection

    @property
    def mapper(self) -> NotingFeed:
        return self

    def to_domain_event(self, notification: Any) -> Any:
        self._projection.notification_id = notification.id
        return self._mapper.to_domain_event(notification)


# -- the test -------------------------------------------------------------------------------------


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _rows(cortex: Cortex, sql: str) -> list[dict[str, Any]]:
    with cortex.read_store.reading() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_concurrent_writers_reach_a_live_follower_exactly_once(
    postgres_url: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, postgres_url, CORTEX_PROJECTION_BATCH_SIZE=BATCH_SIZE)
    cortex = bootstrap(settings, migrate_read_store=True)
    with cortex.read_store.transaction() as cur:
        cur.execute(
            "CREATE TABLE test_seen_events (notification_id BIGINT NOT NULL,"
            " originator_id TEXT NOT NULL, originator_version BIGINT NOT NULL,"
            " topic TEXT NOT NULL)"
        )
    seen = SeenEvents()
    counter = ProjectionRunner(
        seen, feed=NotingFeed(cortex, seen), store=cortex.read_store, batch_size=7
    )
    counter_stop = threading.Event()
    counter_wakeup = PostgresWakeup(postgres_url, cortex.log.recorder.channel_name)
    counter_errors: list[BaseException] = []

    def follow_counter() -> None:
        try:
            counter.follow(counter_stop, counter_wakeup, poll_seconds=0.05)
        except BaseException as error:
            counter_errors.append(error)

    counter_thread = threading.Thread(target=follow_counter, name="seen-events", daemon=True)
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    processes: list[Any] = []

    # One writer thread commits slowly, through a Cortex of its own (its own recorder and pool).
    slow_cortex: Cortex | None = None

    def thread_writer(writer: str) -> dict[str, Any]:
        if not go.wait(START_TIMEOUT):
            raise RuntimeError("no start signal")
        writing = slow_cortex if writer == "thread-0" and slow_cortex is not None else cortex
        return write(writing, str(project.id), hot_ids, writer)

    try:
        slow_cortex = bootstrap(settings, migrate_read_store=False)
        slow_commits(slow_cortex)
        project = cortex.projects.create_project(
            project_id=uuid4(), name="Concurrency", description="", at=_now()
        )
        hot_ids = [
            str(
                cortex.ideas.capture_idea(
                    idea_id=uuid4(),
                    project_id=project.id,
                    title=f"hot {n}",
                    body="",
                    tags=[],
                    at=_now(),
                ).id
            )
            for n in range(HOT_IDEAS)
        ]
        cortex.start_projections()
        counter_thread.start()

        # Started one after another: simultaneous start-ups are a separate problem (see
        # test_processes_starting_together_all_start); here they write together.
        for n in range(WRITER_PROCESSES):
            process = context.Process(
                target=_child_writer,
                args=(
                    postgres_url,
                    str(tmp_path / f"process-{n}"),
                    str(project.id),
                    hot_ids,
                    f"process-{n}",
                    n == 0,  # one writer process commits slowly
                    ready,
                    go,
                    results,
                ),
                name=f"writer-process-{n}",
            )
            process.start()
            processes.append(process)
            try:
                ready.get(timeout=START_TIMEOUT)
            except queue.Empty:
                problem = results.get_nowait() if not results.empty() else "no report"
                raise AssertionError(f"writer process {n} did not start: {problem}") from None

        start_position = cortex.runners["ideas"].position()
        with ThreadPoolExecutor(max_workers=WRITER_THREADS) as pool:
            futures = [pool.submit(thread_writer, f"thread-{n}") for n in range(WRITER_THREADS)]
            go.set()
            reports = [future.result(timeout=WRITE_TIMEOUT) for future in futures]
        for _ in processes:
            status, report = results.get(timeout=WRITE_TIMEOUT)
            assert status == "ok", report
            reports.append(report)
        for process in processes:
            process.join(timeout=30)
            assert process.exitcode == 0, f"{process.name} exited with {process.exitcode}"
        position_when_written = cortex.runners["ideas"].position()

        head = cortex.log.head()
        followers = [*cortex.runners.values(), counter]
        caught_up = _wait_for(
            lambda: all(runner.position() >= head for runner in followers), CATCH_UP_TIMEOUT
        )
        assert not counter_errors, counter_errors
        assert caught_up, {runner.position_name: runner.position() for runner in followers}
        assert cortex.log.head() == head, "something appended after the writers finished"

        # What the writers say they did.
        assert len(reports) == WRITER_THREADS + WRITER_PROCESSES
        captured = set(hot_ids)
        expected_votes: Counter[str] = Counter()
        for report in reports:
            assert len(report["captured"]) == IDEAS_PER_WRITER
            captured.update(report["captured"])
            expected_votes.update(report["votes"])
        votes_cast = sum(report["votes_cast"] for report in reports)
        assert len(captured) == HOT_IDEAS + IDEAS_PER_WRITER * len(reports)

        # What the log holds: each accepted command once (the write side is exactly once too).
        log = list(cortex.log.recorder.select_notifications(start=0, limit=1_000_000))
        log_ids = [notification.id for notification in log]
        assert log_ids == sorted(set(log_ids))
        assert log_ids[-1] == head
        log_types = Counter(notification.topic.rpartition(":")[2] for notification in log)
        assert log_types == Counter(
            {"ProjectCreated": 1, "IdeaCaptured": len(captured), "IdeaVoted": votes_cast}
        )

        # The extra projector saw exactly the log: every id once, in order, nothing else.
        seen_rows = _rows(
            cortex,
            "SELECT notification_id, originator_id, originator_version, topic"
            " FROM test_seen_events ORDER BY notification_id",
        )
        seen_ids = [row["notification_id"] for row in seen_rows]
        duplicates = [n for n, count in Counter(seen_ids).items() if count > 1]
        missing = sorted(set(log_ids) - set(seen_ids))
        assert not duplicates, f"events applied twice: {duplicates[:20]}"
        assert not missing, f"events never applied (read past before they committed): {missing}"
        assert seen_ids == log_ids
        assert [
            (row["originator_id"], row["originator_version"], row["topic"]) for row in seen_rows
        ] == [(str(n.originator_id), n.originator_version, n.topic.rpartition(":")[2]) for n in log]

        # The ideas read model: every idea once, every vote once.
        ideas = {row["id"]: row for row in _rows(cortex, "SELECT id, votes, version FROM ideas")}
        assert set(ideas) == captured
        assert {idea_id: row["votes"] for idea_id, row in ideas.items()} == {
            idea_id: expected_votes.get(idea_id, 0) for idea_id in captured
        }
        total = _rows(cortex, "SELECT SUM(votes) AS total, COUNT(*) AS n FROM ideas")[0]
        assert (total["n"], total["total"]) == (len(captured), sum(expected_votes.values()))
        versions = Counter(str(n.originator_id) for n in log)
        assert {idea_id: row["version"] for idea_id, row in ideas.items()} == {
            idea_id: versions[idea_id] for idea_id in captured
        }
        tags = _rows(cortex, "SELECT tag, COUNT(*) AS n FROM idea_tags GROUP BY tag")
        assert {row["tag"]: row["n"] for row in tags} == {
            report["writer"]: IDEAS_PER_WRITER for report in reports
        }

        print(
            "DEBUG",
            head,
            len(log),
            sum(r["conflicts"] for r in reports),
            start_position,
            position_when_written,
        )
        # The follower really followed while the writers wrote (not only at the end).
        assert position_when_written > start_position
    finally:
        go.set()  # never leave a writer process waiting
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
        counter_stop.set()
        counter_wakeup.close()
        counter_thread.join(timeout=10)
        if slow_cortex is not None:
            slow_cortex.close()
        cortex.close()


def _error_line(report: str) -> str:
    lines = [line for line in report.splitlines() if "Error" in line or "error" in line]
    return lines[-1].strip() if lines else report.strip()[-300:]


@pytest.mark.parametrize("database", ["fresh", "initialised"])
def test_processes_starting_together_all_start(
    postgres_url: str, tmp_path: Path, database: str
) -> None:
    """Replicas or workers deployed at once must all come up, on a new or an existing database.

    bootstrap() runs the event store's schema statements (eventsourcing's create_table) on every
    start: CREATE TABLE/TYPE/INDEX on a new database, and CREATE OR REPLACE FUNCTION every time.
    Unserialised, simultaneous starts fail ("duplicate key value violates unique constraint
    pg_type_typname_nsp_index", "relation cortex_events already exists", "tuple concurrently
    updated"). Each round starts every process at once; three rounds make a race very likely to
    show.
    """
    if database == "initialised":
        bootstrap(make_settings(tmp_path, postgres_url), migrate_read_store=True).close()
    context = multiprocessing.get_context("spawn")
    ready, results, stop = context.Queue(), context.Queue(), context.Event()
    rounds = [context.Event() for _ in range(START_ROUNDS)]
    processes = [
        context.Process(
            target=_child_bootstrap,
            args=(postgres_url, str(tmp_path / f"starter-{n}"), ready, rounds, stop, results),
            name=f"starter-{n}",
        )
        for n in range(STARTERS)
    ]
    for process in processes:
        process.start()
    failures: list[str] = []
    number = 0
    try:
        for start in rounds:
            number += 1
            for _ in processes:
                ready.get(timeout=START_TIMEOUT)  # all imported and waiting: start together
            start.set()
            outcomes = [results.get(timeout=START_TIMEOUT) for _ in processes]
            failures = [_error_line(report) for status, report in outcomes if status != "ok"]
            if failures:
                break
    finally:
        stop.set()
        for start in rounds:
            start.set()
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
    assert not failures, (
        f"round {number}: {len(failures)} of {STARTERS} processes failed to start: {failures}"
    )


def test_the_environment_cannot_turn_off_serialised_appends(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Followers rely on the recorder's table lock, which orders ids by commit (see runner.py).

    eventsourcing merges os.environ into an application's environment by default, and with
    POSTGRES_ENABLE_DB_FUNCTIONS=y (or CORTEX_POSTGRES_ENABLE_DB_FUNCTIONS=y) it appends through a
    database function that takes no table lock: a live follower can then read past an id that
    commits later and skip that event for good (seen with the concurrent-writers test above run
    under that variable). Cortex's settings, not stray variables, must decide this.
    """
    for variable in ("POSTGRES_ENABLE_DB_FUNCTIONS", "CORTEX_POSTGRES_ENABLE_DB_FUNCTIONS"):
        monkeypatch.setenv(variable, "y")
    cortex = bootstrap(make_settings(tmp_path, postgres_url), migrate_read_store=True)
    try:
        assert cortex.log.recorder.datastore.enable_db_functions is False
    finally:
        cortex.close()
