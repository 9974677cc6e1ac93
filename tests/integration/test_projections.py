"""Projections on SQLite and PostgreSQL: exactly once, crash safety, rebuild equals following."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from cortex.bootstrap import Cortex
from cortex.domain.idea import IdeaVoted
from projections.ideas import IdeasProjection
from projections.rebuild import rebuild
from projections.runner import ProjectionRunner
from projections.store import Cursor, ReadStore
from tests.conftest import catch_up

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def seed(cortex: Cortex, ideas: int = 20, votes: int = 3) -> list[Any]:
    project = cortex.projects.create_project(project_id=uuid4(), name="P", description="", at=NOW)
    ids = []
    for i in range(ideas):
        idea = cortex.ideas.capture_idea(
            idea_id=uuid4(),
            project_id=project.id,
            title=f"Idea {i}",
            body="words here",
            tags=["t", f"n{i % 3}"],
            at=NOW,
        )
        for _ in range(votes):
            cortex.ideas.vote_on_idea(idea.id, value=1, expected_version=None, at=NOW)
        ids.append(idea.id)
    if ideas < 5:
        return ids
    cortex.ideas.change_idea_status(
        ids[0], status="accepted", reason="", expected_version=None, at=NOW
    )
    cortex.ideas.link_ideas(
        ids[1], target_id=ids[2], relation="depends_on", expected_version=None, at=NOW
    )
    cortex.ideas.edit_idea(
        ids[3], title="Edited", add_tags=["new"], remove_tags=["t"], expected_version=None, at=NOW
    )
    cortex.ideas.delete_idea(ids[4], expected_version=None, at=NOW)
    return ids


def dump(store: ReadStore, tables: tuple[str, ...] = IdeasProjection.tables) -> dict[str, list]:
    result = {}
    with store.reading() as cur:
        for table in tables:
            cur.execute(f"SELECT * FROM {table}")
            result[table] = sorted(tuple(sorted(row.items())) for row in cur.fetchall())
    return result


def test_following_in_small_batches_and_rebuilding_give_the_same_read_model(cortex: Cortex) -> None:
    seed(cortex)
    runner = cortex.runners["ideas"]
    runner.batch_size = 7
    runner.catch_up()
    followed = dump(cortex.read_store)
    assert len(followed["ideas"]) == 19
    applied = rebuild(IdeasProjection, feed=cortex.log, store=cortex.read_store, batch_size=5)
    assert applied == cortex.log.head()
    assert dump(cortex.read_store) == followed
    assert runner.position() == cortex.log.head()
    # The rebuilt tables keep following.
    seed(cortex, ideas=2, votes=0)
    runner.catch_up()
    assert len(dump(cortex.read_store)["ideas"]) == 21


class Crash(Exception):
    pass


def test_a_crash_mid_batch_rolls_back_rows_and_position_together(cortex: Cortex) -> None:
    seed(cortex, ideas=5, votes=2)
    runner = cortex.runners["ideas"]
    seen = {"votes": 0}

    class CrashingIdeas(IdeasProjection):
        def handle(self, event: Any, cur: Cursor) -> None:
            if isinstance(event, IdeaVoted):
                seen["votes"] += 1
                if seen["votes"] == 4:
                    raise Crash
            super().handle(event, cur)

    crashing = ProjectionRunner(
        CrashingIdeas(), feed=cortex.log, store=cortex.read_store, batch_size=1000
    )
    with pytest.raises(Crash):
        crashing.run_batch()
    assert runner.position() == 0
    assert dump(cortex.read_store)["ideas"] == []
    runner.catch_up()
    with cortex.read_store.reading() as cur:
        cur.execute("SELECT SUM(votes) AS total FROM ideas")
        assert cur.fetchone()["total"] == 4 * 2  # idea 4 deleted; 4 ideas x 2 votes, once each


def test_two_runners_of_one_projection_never_apply_an_event_twice(cortex: Cortex) -> None:
    seed(cortex, ideas=30, votes=4)
    runners = [
        ProjectionRunner(IdeasProjection(), feed=cortex.log, store=cortex.read_store, batch_size=9)
        for _ in range(3)
    ]
    threads = [threading.Thread(target=r.catch_up) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with cortex.read_store.reading() as cur:
        cur.execute("SELECT COUNT(*) AS n, SUM(votes) AS total FROM ideas")
        row = cur.fetchone()
    assert (row["n"], row["total"]) == (29, 29 * 4)


def test_queries_keep_answering_during_a_rebuild(cortex: Cortex) -> None:
    seed(cortex, ideas=40, votes=1)
    catch_up(cortex)
    answers: list[int] = []
    stop = threading.Event()

    def query() -> None:
        while not stop.is_set():
            with cortex.read_store.reading() as cur:
                cur.execute("SELECT COUNT(*) AS n FROM ideas")
                answers.append(cur.fetchone()["n"])

    reader = threading.Thread(target=query)
    reader.start()
    try:
        rebuild(IdeasProjection, feed=cortex.log, store=cortex.read_store, batch_size=10)
    finally:
        stop.set()
        reader.join()
    assert answers
    assert set(answers) == {39}


def test_in_process_following_reaches_new_events(cortex: Cortex) -> None:
    cortex.start_projections()
    result = seed(cortex, ideas=3, votes=1)
    head = cortex.log.head()
    for runner in cortex.runners.values():
        deadline = threading.Event()
        for _ in range(200):
            if runner.position() >= head:
                break
            deadline.wait(0.05)
        assert runner.position() == head
    assert len(result) == 3


def index_names(store: ReadStore, table: str) -> set[str]:
    with store.reading() as cur:
        if store.dialect == "postgresql":
            cur.execute("SELECT indexname AS name FROM pg_indexes WHERE tablename = ?", (table,))
        else:
            cur.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,)
            )
        return {row["name"] for row in cur.fetchall()}


def test_a_rebuild_keeps_the_index_names_the_migrations_gave(cortex: Cortex) -> None:
    seed(cortex, ideas=6, votes=1)
    before = {table: index_names(cortex.read_store, table) for table in IdeasProjection.tables}
    assert "ideas_status_idx" in before["ideas"]
    for _ in range(2):
        rebuild(IdeasProjection, feed=cortex.log, store=cortex.read_store)
    after = {table: index_names(cortex.read_store, table) for table in IdeasProjection.tables}
    assert after == before
