from datetime import UTC, datetime
from uuid import uuid4

import pytest

from cortex.domain.errors import AggregateGone, InvalidInput, InvalidTransition
from cortex.domain.idea import TAGS_MAX, Idea, IdeaStatus, LinkRelation

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PROJECT = uuid4()


def new_idea(project_id=PROJECT, tags=("Alpha", "alpha", "beta")) -> Idea:
    return Idea.capture(id=uuid4(), project_id=project_id, title="T", body="B", tags=tags, at=NOW)


def test_capture_normalises_and_deduplicates_tags() -> None:
    assert new_idea().tags == ("alpha", "beta")


def test_rejects_tags_with_whitespace_and_too_many_tags() -> None:
    with pytest.raises(InvalidInput):
        new_idea(tags=("two words",))
    with pytest.raises(InvalidInput):
        new_idea(tags=[f"t{i}" for i in range(TAGS_MAX + 1)])


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ([IdeaStatus.ACCEPTED, IdeaStatus.ARCHIVED], True),
        ([IdeaStatus.REJECTED, IdeaStatus.ARCHIVED], True),
        ([IdeaStatus.ARCHIVED], False),
        ([IdeaStatus.ACCEPTED, IdeaStatus.REJECTED], False),
        ([IdeaStatus.PROPOSED], False),
    ],
)
def test_status_follows_the_life_cycle(path: list[IdeaStatus], allowed: bool) -> None:
    idea = new_idea()
    if allowed:
        for status in path:
            idea.change_status(status, reason="", at=NOW)
        assert idea.status == path[-1]
        return
    *before, refused = path
    for status in before:
        idea.change_status(status, reason="", at=NOW)
    with pytest.raises(InvalidTransition) as caught:
        idea.change_status(refused, reason="", at=NOW)
    assert "cannot become" in caught.value.reason


def test_archived_idea_accepts_no_edits_tags_or_votes() -> None:
    idea = new_idea()
    idea.change_status(IdeaStatus.ACCEPTED, reason="", at=NOW)
    idea.change_status(IdeaStatus.ARCHIVED, reason="done", at=NOW)
    for command in (
        lambda: idea.edit(title="new", body=None, at=NOW),
        lambda: idea.tag("x", at=NOW),
        lambda: idea.vote(1, at=NOW),
    ):
        with pytest.raises(InvalidTransition):
            command()


def test_votes_are_plus_or_minus_one() -> None:
    idea = new_idea()
    idea.vote(1, at=NOW)
    idea.vote(1, at=NOW)
    idea.vote(-1, at=NOW)
    assert idea.votes == 1
    with pytest.raises(InvalidInput):
        idea.vote(5, at=NOW)


def test_links_stay_within_a_project_and_never_to_itself() -> None:
    idea, other = new_idea(), new_idea()
    idea.link(other, LinkRelation.DEPENDS_ON, at=NOW)
    idea.link(other, LinkRelation.DEPENDS_ON, at=NOW)  # the same link twice is one link
    assert idea.links == ((other.id, LinkRelation.DEPENDS_ON),)
    with pytest.raises(InvalidInput):
        idea.link(idea, LinkRelation.RELATES_TO, at=NOW)
    with pytest.raises(InvalidInput):
        idea.link(new_idea(project_id=uuid4()), LinkRelation.RELATES_TO, at=NOW)


def test_deleted_idea_refuses_everything() -> None:
    idea = new_idea()
    idea.delete(at=NOW)
    with pytest.raises(AggregateGone):
        idea.vote(1, at=NOW)
    with pytest.raises(AggregateGone):
        idea.delete(at=NOW)
