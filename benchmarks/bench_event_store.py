"""Event store benchmark: Cortex's append path against the raw eventsourcing library.

Run:  .venv/bin/python benchmarks/bench_event_store.py [--events N] [--backend sqlite|postgres|both]
      [--single-events M] [--rounds R] [--pg-admin-url URL]

For each backend, in one run, every case gets a fresh database (PostgreSQL: a throw-away
``cortex_bench_<random>`` database created through the ``postgres`` admin database and dropped at
the end; SQLite: a file in a temporary directory):

a. append, one event per save
   - ours, IdeaService: capture an idea, then vote on it 9 times; every command loads the aggregate
     from the store (ideas of 10 events, so a load replays at most 9 events), as the API does;
   - raw library, repository.get + save: the like-for-like comparator of that row (a capture
     loads the project first, a vote loads the idea, as IdeaService does);
   - ours, held aggregate: the same events, but the Idea is kept in memory and committed through
     EventLog.commit after each vote (no load), which is like-for-like with:
   - raw library, held aggregate: a plain eventsourcing Application with default settings (its
     JSONTranscoder with the default transcodings) and an equivalent simple aggregate;
   - PostgreSQL only, a diagnostic: ours, held aggregate, with POSTGRES_PRE_PING=n.
b. append, ten events per save: the same shapes (load + save: IdeaService.edit_idea adding 10
   tags to an idea captured beforehand, untimed; held: capture + 9 votes committed at once).
c. physical reference: raw driver inserts of the same stored rows into a table shaped like the
   library's (psycopg COPY / executemany in one transaction, and one INSERT per transaction).
d. rebuild of the ``ideas`` projection (projections.rebuild, batch size 1000) over the log written
   by case b (ours, held), which holds N events plus the warm-ups (100 per round).

Cases with one event per save, and the load + save cases, use min(N, 20000) events
(--single-events); the count is printed. Each append case is split into R interleaved rounds
(default 2, alternating order) over its own database, each round after a 100-event warm-up.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import math
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import psycopg
import structlog
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from cortex.application.event_log import EventLog
from cortex.bootstrap import Cortex, bootstrap
from cortex.domain.idea import Idea
from cortex.eventstore.environment import event_store_env
from cortex.settings import load_settings
from projections.ideas import IdeasProjection
from projections.rebuild import rebuild

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
WARMUP_EVENTS = 100
GROUP = 10  # events per idea: one capture, nine votes
TAGS_PER_EDIT = 10
EDITS_PER_IDEA = 3  # 30 tags; an idea holds at most 32
TITLE = "Benchmark idea: cache the projection positions"
BODY = (
    "Keep the last applied position of each projector in memory and write it once per batch, "
    "so that a rebuild of a large log spends its time applying events rather than updating a "
    "single row over and over. Measure before and after."
)
TAGS = ("performance", "projections")


def now() -> datetime:
    return datetime.now(UTC)


# --- the raw library's side: an aggregate equivalent to Idea, with the library's defaults -------


class RawIdea(Aggregate):
    """The same state and events as cortex.domain.idea.Idea, in plain eventsourcing style."""

    class Captured(Aggregate.Created):
        project_id: UUID
        title: str
        body: str
        tags: tuple[str, ...]

    class Voted(Aggregate.Event):
        value: int

        def apply(self, aggregate: Any) -> None:
            aggregate.votes += self.value

    class Tagged(Aggregate.Event):
        tag: str

        def apply(self, aggregate: Any) -> None:
            aggregate.tags = (*aggregate.tags, self.tag)

    def __init__(self, project_id: UUID, title: str, body: str, tags: tuple[str, ...]) -> None:
        self.project_id = project_id
        self.title = title
        self.body = body
        self.tags = tuple(tags)
        self.votes = 0

    @classmethod
    def capture(
        cls, *, project_id: UUID, title: str, body: str, tags: tuple[str, ...], at: datetime
    ) -> RawIdea:
        return cls._create(
            cls.Captured,
            id=uuid4(),
            project_id=project_id,
            title=title,
            body=body,
            tags=tags,
            timestamp=at,
        )

    def vote(self, value: int, *, at: datetime) -> None:
        self.trigger_event(self.Voted, value=value, timestamp=at)

    def tag(self, tag: str, *, at: datetime) -> None:
        self.trigger_event(self.Tagged, tag=tag, timestamp=at)


class RawProject(Aggregate):
    """What IdeaService.capture_idea loads first: the idea's project."""

    class Created(Aggregate.Created):
        name: str

    def __init__(self, name: str) -> None:
        self.name = name
        self.archived = False

    @classmethod
    def create(cls, name: str) -> RawProject:
        return cls._create(cls.Created, id=uuid4(), name=name, timestamp=now())


class RawApp(Application[UUID]):
    """An eventsourcing Application with default settings (mapper, JSONTranscoder, pool)."""


# --- where the data goes ------------------------------------------------------------------------


class Backend:
    name: str

    def fresh_url(self) -> str:
        raise NotImplementedError

    def raw_env(self, url: str) -> dict[str, str]:
        raise NotImplementedError

    def cleanup(self) -> None:
        raise NotImplementedError


class SQLiteBackend(Backend):
    name = "SQLite"

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="cortex_bench_")
        self._count = 0

    def fresh_url(self) -> str:
        self._count += 1
        return f"sqlite:///{self._dir.name}/case{self._count}.sqlite3"

    def raw_env(self, url: str) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": url.removeprefix("sqlite:///"),
        }

    def cleanup(self) -> None:
        self._dir.cleanup()


class PostgresBackend(Backend):
    name = "PostgreSQL"

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.databases: list[str] = []

    def fresh_url(self) -> str:
        dbname = f"cortex_bench_{secrets.token_hex(6)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        self.databases.append(dbname)
        params = conninfo_to_dict(self.admin_url)
        params["dbname"] = dbname
        return "postgresql://{user}@{host}:{port}/{dbname}".format(
            user=params.get("user", "postgres"),
            host=params.get("host", "127.0.0.1"),
            port=params.get("port", 5432),
            dbname=dbname,
        )

    def raw_env(self, url: str) -> dict[str, str]:
        params = conninfo_to_dict(url)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": str(params["dbname"]),
            "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
            "POSTGRES_PORT": str(params.get("port", "5432")),
            "POSTGRES_USER": str(params.get("user", "postgres")),
            "POSTGRES_PASSWORD": str(params.get("password", "")),
        }

    def cleanup(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for dbname in self.databases:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(dbname)
                    )
                )
        self.databases.clear()


@contextlib.contextmanager
def open_cortex(url: str, var_dir: str) -> Iterator[Cortex]:
    settings = load_settings({"CORTEX_DATABASE_URL": url, "CORTEX_VAR_DIR": var_dir})
    cortex = bootstrap(settings, migrate_read_store=True)
    try:
        yield cortex
    finally:
        cortex.close()


@contextlib.contextmanager
def open_raw(backend: Backend, url: str) -> Iterator[RawApp]:
    app = RawApp(env=backend.raw_env(url))
    try:
        yield app
    finally:
        app.close()


# --- the append cases: prepare(context, events) -> the operation to time -------------------------

Op = Callable[[], None]


def ours_service_single(cortex: Cortex, events: int) -> Op:
    project_id = uuid4()
    cortex.projects.create_project(project_id=project_id, name="Bench", description="", at=now())
    ideas = cortex.ideas

    def op() -> None:
        idea_id = project_id
        for i in range(events):
            if i % GROUP == 0:
                idea_id = uuid4()
                ideas.capture_idea(
                    idea_id=idea_id,
                    project_id=project_id,
                    title=TITLE,
                    body=BODY,
                    tags=list(TAGS),
                    at=now(),
                )
            else:
                ideas.vote_on_idea(idea_id, value=1, expected_version=None, at=now())

    return op


def ours_held_single(cortex: Cortex, events: int) -> Op:
    log = cortex.log
    project_id = uuid4()

    def op() -> None:
        idea: Idea | None = None
        for i in range(events):
            if idea is None or i % GROUP == 0:
                idea = Idea.capture(
                    id=uuid4(), project_id=project_id, title=TITLE, body=BODY, tags=TAGS, at=now()
                )
            else:
                idea.vote(1, at=now())
            log.commit(idea)

    return op


def raw_held_single(app: RawApp, events: int) -> Op:
    project_id = uuid4()

    def op() -> None:
        idea: RawIdea | None = None
        for i in range(events):
            if idea is None or i % GROUP == 0:
                idea = RawIdea.capture(
                    project_id=project_id, title=TITLE, body=BODY, tags=TAGS, at=now()
                )
            else:
                idea.vote(1, at=now())
            app.save(idea)

    return op


def raw_load_single(app: RawApp, events: int) -> Op:
    project = RawProject.create("Bench")
    app.save(project)
    project_id = project.id
    get = app.repository.get

    def op() -> None:
        idea_id = project_id
        for i in range(events):
            if i % GROUP == 0:
                if get(project_id).archived:  # as capture_idea checks the project
                    raise RuntimeError("archived")
                idea = RawIdea.capture(
                    project_id=project_id, title=TITLE, body=BODY, tags=TAGS, at=now()
                )
                idea_id = idea.id
            else:
                idea = get(idea_id)
                idea.vote(1, at=now())
            app.save(idea)

    return op


def ours_held_batch(cortex: Cortex, events: int) -> Op:
    log = cortex.log
    project_id = uuid4()

    def op() -> None:
        for _ in range(events // GROUP):
            idea = Idea.capture(
                id=uuid4(), project_id=project_id, title=TITLE, body=BODY, tags=TAGS, at=now()
            )
            for _ in range(GROUP - 1):
                idea.vote(1, at=now())
            log.commit(idea)

    return op


def raw_held_batch(app: RawApp, events: int) -> Op:
    project_id = uuid4()

    def op() -> None:
        for _ in range(events // GROUP):
            idea = RawIdea.capture(
                project_id=project_id, title=TITLE, body=BODY, tags=TAGS, at=now()
            )
            for _ in range(GROUP - 1):
                idea.vote(1, at=now())
            app.save(idea)

    return op


def _edit_plan(events: int) -> list[int]:
    """Edits per idea: 3 edits of 10 tags each, the last idea maybe fewer."""
    edits = events // TAGS_PER_EDIT
    return [min(EDITS_PER_IDEA, edits - start) for start in range(0, edits, EDITS_PER_IDEA)]


def _tags(edit: int) -> list[str]:
    return [f"tag-{edit}-{j}" for j in range(TAGS_PER_EDIT)]


def ours_service_batch(cortex: Cortex, events: int) -> Op:
    project_id = uuid4()
    cortex.projects.create_project(project_id=project_id, name="Bench", description="", at=now())
    plan = _edit_plan(events)
    idea_ids = []
    for _ in plan:  # captured beforehand, not timed
        idea = Idea.capture(
            id=uuid4(), project_id=project_id, title=TITLE, body=BODY, tags=(), at=now()
        )
        cortex.log.commit(idea)
        idea_ids.append(idea.id)
    ideas = cortex.ideas

    def op() -> None:
        for idea_id, edits in zip(idea_ids, plan, strict=True):
            for edit in range(edits):
                ideas.edit_idea(idea_id, add_tags=_tags(edit), expected_version=None, at=now())

    return op


def raw_load_batch(app: RawApp, events: int) -> Op:
    project_id = uuid4()
    plan = _edit_plan(events)
    idea_ids = []
    for _ in plan:
        idea = RawIdea.capture(project_id=project_id, title=TITLE, body=BODY, tags=(), at=now())
        app.save(idea)
        idea_ids.append(idea.id)
    get = app.repository.get

    def op() -> None:
        for idea_id, edits in zip(idea_ids, plan, strict=True):
            for edit in range(edits):
                idea = get(idea_id)
                at = now()
                for tag in _tags(edit):
                    idea.tag(tag, at=at)
                app.save(idea)

    return op


def timed(prepare: Callable[[Any, int], Op], context: Any, events: int) -> float:
    prepare(context, WARMUP_EVENTS)()
    op = prepare(context, events)
    gc.collect()
    started = time.perf_counter()
    op()
    return time.perf_counter() - started


# --- physical reference ---------------------------------------------------------------------------


def stored_rows(events: int) -> list[tuple[UUID, int, str, bytes]]:
    """The rows case b writes: ideas of one capture and nine votes, encoded by our mapper."""
    from cortex.eventstore.codec import MsgspecMapper, MsgspecTranscoder

    mapper = MsgspecMapper(MsgspecTranscoder())
    rows = []
    project_id = uuid4()
    for _ in range(math.ceil(events / GROUP)):
        idea = Idea.capture(
            id=uuid4(), project_id=project_id, title=TITLE, body=BODY, tags=TAGS, at=now()
        )
        for _ in range(GROUP - 1):
            idea.vote(1, at=now())
        for event in idea.collect_events():
            stored = mapper.to_stored_event(event)
            rows.append(
                (stored.originator_id, stored.originator_version, stored.topic, stored.state)
            )
    return rows[:events]


PG_TABLE = (
    "CREATE TABLE bench_events (originator_id uuid NOT NULL, originator_version bigint NOT NULL,"
    " topic text, state bytea, notification_id bigserial,"
    " PRIMARY KEY (originator_id, originator_version));"
    " CREATE UNIQUE INDEX bench_events_nid ON bench_events (notification_id)"
)
INSERT = (
    "INSERT INTO bench_events (originator_id, originator_version, topic, state)"
    " VALUES (%s, %s, %s, %s)"
)


def pg_copy(url: str, rows: list[tuple[UUID, int, str, bytes]]) -> float:
    with psycopg.connect(url) as conn:
        conn.execute(PG_TABLE)
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY bench_events (originator_id, originator_version, topic, state) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


def pg_executemany(url: str, rows: list[tuple[UUID, int, str, bytes]]) -> float:
    with psycopg.connect(url) as conn:
        conn.execute(PG_TABLE)
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany(INSERT, rows)
        conn.commit()
        return time.perf_counter() - started


def pg_insert_per_commit(url: str, rows: list[tuple[UUID, int, str, bytes]]) -> float:
    with psycopg.connect(url) as conn:
        conn.execute(PG_TABLE)
        conn.commit()
        statement = INSERT + " RETURNING notification_id"
        started = time.perf_counter()
        with conn.cursor() as cur:
            for row in rows:
                cur.execute(statement, row, prepare=True)
                cur.fetchone()
                conn.commit()
        return time.perf_counter() - started


SQLITE_TABLE = (
    "CREATE TABLE bench_events (originator_id TEXT, originator_version INTEGER, topic TEXT,"
    " state BLOB, notification_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " UNIQUE (originator_id, originator_version))"
)
SQLITE_INSERT = (
    "INSERT INTO bench_events (originator_id, originator_version, topic, state) VALUES (?,?,?,?)"
)


def _sqlite_connect(url: str) -> sqlite3.Connection:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")  # as the library's recorder sets it
    conn.execute(SQLITE_TABLE)
    return conn


def sqlite_executemany(url: str, rows: list[tuple[UUID, int, str, bytes]]) -> float:
    conn = _sqlite_connect(url)
    params = [(row[0].hex, row[1], row[2], row[3]) for row in rows]
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(SQLITE_INSERT, params)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def sqlite_insert_per_commit(url: str, rows: list[tuple[UUID, int, str, bytes]]) -> float:
    conn = _sqlite_connect(url)
    params = [(row[0].hex, row[1], row[2], row[3]) for row in rows]
    started = time.perf_counter()
    for param in params:
        conn.execute("BEGIN")
        conn.execute(SQLITE_INSERT, param)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


# --- reporting ------------------------------------------------------------------------------------


@dataclass
class Row:
    key: str
    label: str
    per_save: str
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else float("inf")


@dataclass
class Report:
    backend: str
    rows: list[Row] = field(default_factory=list)

    def add(self, key: str, label: str, per_save: str, events: int, seconds: float) -> None:
        row = Row(key, label, per_save, events, seconds)
        self.rows.append(row)
        print(
            f"  .. {label} ({per_save} per save): {events} events in {seconds:.2f} s"
            f" = {row.rate:,.0f} events/s",
            flush=True,
        )

    def rate(self, key: str) -> float | None:
        for row in self.rows:
            if row.key == key:
                return row.rate
        return None

    def print(self) -> None:
        width = max(len(row.label) for row in self.rows)
        print()
        print(f"== {self.backend} ==")
        print(f"{'case':<{width}}  {'ev/save':>7}  {'events':>8}  {'seconds':>8}  {'events/s':>10}")
        for row in self.rows:
            print(
                f"{row.label:<{width}}  {row.per_save:>7}  {row.events:>8}  "
                f"{row.seconds:>8.2f}  {row.rate:>10,.0f}"
            )
        print()
        print(f"ratios ({self.backend}), ours / raw library:")
        ratios = (
            ("1 event/save, held aggregate  (like-for-like)", "ours_held_1", "raw_held_1", 0.8),
            ("1 event/save, load + save     (like-for-like)", "ours_svc_1", "raw_load_1", 0.8),
            ("1 event/save, IdeaService vs raw held         ", "ours_svc_1", "raw_held_1", None),
            ("10 events/save, held aggregate (like-for-like)", "ours_held_10", "raw_held_10", 0.8),
            ("10 events/save, load + save   (like-for-like)", "ours_svc_10", "raw_load_10", 0.8),
            ("10 events/save, IdeaService vs raw held       ", "ours_svc_10", "raw_held_10", None),
            ("diagnostic: held, 1/save, pre-ping off vs raw ", "diag_noping_1", "raw_held_1", None),
            (
                "diagnostic: held, 1/save, pre-ping on vs off  ",
                "ours_held_1",
                "diag_noping_1",
                None,
            ),
        )
        for label, ours, raw, target in ratios:
            a, b = self.rate(ours), self.rate(raw)
            if a is None or b is None:
                continue
            ratio = a / b
            verdict = ""
            if target is not None:
                verdict = f"  target >= {target:.1f}x: {'PASS' if ratio >= target else 'FAIL'}"
            print(f"  {label}  {ratio:5.2f}x{verdict}")
        rebuild_rate = self.rate("rebuild")
        if rebuild_rate is not None:
            target = "  target >= 20,000 events/s: " + (
                "PASS" if rebuild_rate >= 20_000 else "FAIL"
            )
            suffix = target if self.backend == "PostgreSQL" else "  (target is for PostgreSQL)"
            print(f"  rebuild of the ideas projection: {rebuild_rate:,.0f} events/s{suffix}")


# --- one backend ----------------------------------------------------------------------------------


@dataclass
class Case:
    key: str
    label: str
    per_save: str
    side: str  # "ours", "raw" or "ours-no-preping"
    prepare: Callable[[Any, int], Op]
    events: int  # in all rounds together
    url: str = ""
    done: int = 0
    seconds: float = 0.0


@contextlib.contextmanager
def open_side(case: Case, backend: Backend, var_dir: str) -> Iterator[Any]:
    if case.side == "raw":
        with open_raw(backend, case.url) as app:
            yield app
    elif case.side == "ours":
        with open_cortex(case.url, var_dir) as cortex:
            yield cortex
    else:  # diagnostic: Cortex's event store environment, less the pool's pre-ping
        settings = load_settings({"CORTEX_DATABASE_URL": case.url, "CORTEX_VAR_DIR": var_dir})
        log = EventLog(env=event_store_env(settings) | {"POSTGRES_PRE_PING": "n"})
        try:
            yield SimpleNamespace(log=log)
        finally:
            log.close()


def bench_backend(backend: Backend, events: int, single: int, rounds: int, var_dir: str) -> Report:
    report = Report(backend.name)
    batch = events - events % GROUP
    print(
        f"\n## {backend.name}: {single} events one per save, {batch} ten per save, {rounds} rounds",
        flush=True,
    )
    cases = [
        # a. one event per save
        Case(
            "ours_svc_1",
            "ours: IdeaService capture/vote (load+commit)",
            "1",
            "ours",
            ours_service_single,
            single,
        ),
        Case(
            "raw_load_1",
            "raw eventsourcing: repository.get + save",
            "1",
            "raw",
            raw_load_single,
            single,
        ),
        Case(
            "ours_held_1", "ours: EventLog.commit, held Idea", "1", "ours", ours_held_single, single
        ),
        Case(
            "raw_held_1",
            "raw eventsourcing: save, held aggregate",
            "1",
            "raw",
            raw_held_single,
            single,
        ),
        # b. ten events per save
        Case(
            "ours_svc_10",
            "ours: IdeaService edit_idea +10 tags (load+commit)",
            "10",
            "ours",
            ours_service_batch,
            single,
        ),
        Case(
            "raw_load_10",
            "raw eventsourcing: repository.get + 10 tags + save",
            "10",
            "raw",
            raw_load_batch,
            single,
        ),
        Case(
            "ours_held_10", "ours: EventLog.commit, held Idea", "10", "ours", ours_held_batch, batch
        ),
        Case(
            "raw_held_10",
            "raw eventsourcing: save, held aggregate",
            "10",
            "raw",
            raw_held_batch,
            batch,
        ),
    ]
    if isinstance(backend, PostgresBackend):
        cases.insert(
            4,
            Case(
                "diag_noping_1",
                "diagnostic: ours held Idea, POSTGRES_PRE_PING=n",
                "1",
                "ours-no-preping",
                ours_held_single,
                single,
            ),
        )
    # Each case has its own fresh database, used by all its rounds. The rounds interleave the
    # cases in time, in alternating order, so that drift (checkpoints, autovacuum, a busy
    # neighbour) does not land on one side of a comparison.
    for case in cases:
        case.url = backend.fresh_url()
    for round_no in range(rounds):
        for case in cases if round_no % 2 == 0 else reversed(cases):
            remaining_rounds = rounds - round_no
            share = (case.events - case.done) // remaining_rounds
            share -= share % (GROUP if case.per_save == "1" else TAGS_PER_EDIT)
            if round_no == rounds - 1:
                share = case.events - case.done
            with open_side(case, backend, var_dir) as context:
                case.seconds += timed(case.prepare, context, share)
            case.done += share
            print(
                f"  round {round_no + 1}/{rounds}: {case.label} [{case.per_save}/save]: "
                f"{share} events",
                flush=True,
            )
    for case in cases:
        report.add(case.key, case.label, case.per_save, case.done, case.seconds)

    # d. rebuild over the log that "ours, held Idea, 10 per save" wrote (plus its warm-ups)
    rebuild_url = next(case.url for case in cases if case.key == "ours_held_10")
    with open_cortex(rebuild_url, var_dir) as cortex:
        gc.collect()
        started = time.perf_counter()
        applied = rebuild(
            IdeasProjection, feed=cortex.log, store=cortex.read_store, batch_size=1000
        )
        seconds = time.perf_counter() - started
    report.add("rebuild", "rebuild ideas projection (batch 1000)", "-", applied, seconds)

    # c. physical reference: the same stored rows, straight through the driver
    rows = stored_rows(batch)
    if isinstance(backend, PostgresBackend):
        report.add(
            "pg_copy",
            "physical: psycopg COPY, one transaction",
            "all",
            len(rows),
            pg_copy(backend.fresh_url(), rows),
        )
        report.add(
            "pg_many",
            "physical: psycopg executemany, one transaction",
            "all",
            len(rows),
            pg_executemany(backend.fresh_url(), rows),
        )
        report.add(
            "pg_each",
            "physical: psycopg INSERT, one per commit",
            "1",
            single,
            pg_insert_per_commit(backend.fresh_url(), rows[:single]),
        )
    else:
        report.add(
            "sq_many",
            "physical: sqlite3 executemany, one transaction",
            "all",
            len(rows),
            sqlite_executemany(backend.fresh_url(), rows),
        )
        report.add(
            "sq_each",
            "physical: sqlite3 INSERT, one per commit",
            "1",
            single,
            sqlite_insert_per_commit(backend.fresh_url(), rows[:single]),
        )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events per bulk case")
    parser.add_argument(
        "--single-events",
        type=int,
        default=20_000,
        help="cap on events for the one-event-per-save and load+save cases (default 20000)",
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="split each append case into this many interleaved rounds (default 2)",
    )
    parser.add_argument("--pg-admin-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args(argv)
    if args.events < GROUP * 10:
        parser.error(f"--events must be at least {GROUP * 10}")
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds must be from 1 to 10")
    single = min(args.events, args.single_events)
    single -= single % GROUP

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    started = time.perf_counter()
    reports = []
    with tempfile.TemporaryDirectory(prefix="cortex_bench_var_") as var_dir:
        if args.backend in ("sqlite", "both"):
            sqlite_backend = SQLiteBackend()
            try:
                reports.append(
                    bench_backend(sqlite_backend, args.events, single, args.rounds, var_dir)
                )
            finally:
                sqlite_backend.cleanup()
        if args.backend in ("postgres", "both"):
            pg_backend = PostgresBackend(args.pg_admin_url)
            try:
                reports.append(bench_backend(pg_backend, args.events, single, args.rounds, var_dir))
            finally:
                pg_backend.cleanup()
    for report in reports:
        report.print()
    print(f"\ntotal runtime: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
