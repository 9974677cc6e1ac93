from datetime import UTC, datetime
from uuid import uuid4

import pytest

from cortex.domain.errors import InvalidInput, InvalidTransition
from cortex.domain.project import Project, ProjectArchived, ProjectCreated, ProjectRenamed

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def new_project(name: str = "Alpha") -> Project:
    return Project.create(id=uuid4(), name=name, description="", at=NOW)


def test_create_records_a_created_event_with_the_time_from_the_command() -> None:
    project = new_project("  Alpha  ")
    (event,) = project.collect_events()
    assert isinstance(event, ProjectCreated)
    assert event.name == "Alpha"
    assert event.timestamp == NOW
    assert project.version == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 121, "bad\x00name"])
def test_rejects_invalid_names(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        new_project(name)
    assert caught.value.field == "name"


def test_rename_to_the_same_name_records_nothing() -> None:
    project = new_project()
    project.collect_events()
    project.rename("Alpha", at=NOW)
    assert project.collect_events() == []
    project.rename("Beta", at=NOW)
    (event,) = project.collect_events()
    assert isinstance(event, ProjectRenamed)
    assert project.name == "Beta"


def test_archived_project_refuses_changes() -> None:
    project = new_project()
    project.archive(at=NOW)
    assert isinstance(project.collect_events()[-1], ProjectArchived)
    with pytest.raises(InvalidTransition):
        project.rename("Other", at=NOW)
    with pytest.raises(InvalidTransition):
        project.archive(at=NOW)
