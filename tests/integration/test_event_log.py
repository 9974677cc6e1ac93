"""The event log and application services, on SQLite and on PostgreSQL."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from cortex.application.errors import NotFound, VersionConflict
from cortex.bootstrap import Cortex
from cortex.domain.idea import Idea

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_commands_return_increasing_log_positions(cortex: Cortex) -> None:
    project = cortex.projects.create_project(project_id=uuid4(), name="P", description="", at=NOW)
    idea = cortex.ideas.capture_idea(
        idea_id=uuid4(), project_id=project.id, title="I", body="", tags=[], at=NOW
    )
    assert idea.position > project.position > 0
    assert cortex.log.head() == idea.position


def test_stale_expected_version_is_a_conflict_with_the_current_version(cortex: Cortex) -> None:
    project = cortex.projects.create_project(project_id=uuid4(), name="P", description="", at=NOW)
    cortex.projects.update_project(
        project.id, name="Q", description=None, expected_version=1, at=NOW
    )
    with pytest.raises(VersionConflict) as caught:
        cortex.projects.update_project(
            project.id, name="R", description=None, expected_version=1, at=NOW
        )
    assert caught.value.current == 2


def test_concurrent_save_of_the_same_version_is_a_conflict(cortex: Cortex) -> None:
    project = cortex.projects.create_project(project_id=uuid4(), name="P", description="", at=NOW)
    idea_id = cortex.ideas.capture_idea(
        idea_id=uuid4(), project_id=project.id, title="I", body="", tags=[], at=NOW
    ).id
    first = cortex.log.load(idea_id, Idea)
    second = cortex.log.load(idea_id, Idea)
    first.vote(1, at=NOW)
    second.vote(-1, at=NOW)
    cortex.log.commit(first)
    with pytest.raises(VersionConflict) as caught:
        cortex.log.commit(second)
    assert caught.value.current == 2
    assert cortex.log.load(idea_id, Idea).votes == 1


def test_ideas_need_a_live_project(cortex: Cortex) -> None:
    with pytest.raises(NotFound):
        cortex.ideas.capture_idea(
            idea_id=uuid4(), project_id=uuid4(), title="I", body="", tags=[], at=NOW
        )


def test_deleted_idea_is_not_found_but_its_history_remains(cortex: Cortex) -> None:
    project = cortex.projects.create_project(project_id=uuid4(), name="P", description="", at=NOW)
    idea = cortex.ideas.capture_idea(
        idea_id=uuid4(), project_id=project.id, title="I", body="", tags=["x"], at=NOW
    )
    cortex.ideas.delete_idea(idea.id, expected_version=None, at=NOW)
    with pytest.raises(NotFound):
        cortex.ideas.vote_on_idea(idea.id, value=1, expected_version=None, at=NOW)
    history = cortex.history.aggregate_events(idea.id)
    assert [record.type for record in history] == ["IdeaCaptured", "IdeaDeleted"]


def test_replay_until_a_version_gives_the_state_then(cortex: Cortex) -> None:
    project = cortex.projects.create_project(project_id=uuid4(), name="v1", description="", at=NOW)
    for name in ("v2", "v3"):
        cortex.projects.update_project(
            project.id, name=name, description=None, expected_version=None, at=NOW
        )
    records, state = cortex.history.replay(project.id, until_version=2)
    assert [record.version for record in records] == [1, 2]
    assert state is not None
    assert state.name == "v2"
    _, current = cortex.history.replay(project.id)
    assert current is not None
    assert current.name == "v3"


def test_export_pages_through_the_log_in_order(cortex: Cortex) -> None:
    project = cortex.projects.create_project(project_id=uuid4(), name="P", description="", at=NOW)
    for i in range(7):
        cortex.ideas.capture_idea(
            idea_id=uuid4(), project_id=project.id, title=f"I{i}", body="", tags=[], at=NOW
        )
    records = list(cortex.history.export(since=2, page_size=3))
    assert [record.position for record in records] == list(range(3, 9))
    assert all(record.type == "IdeaCaptured" for record in records)
