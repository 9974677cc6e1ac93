"""Following, rebuilding and replaying agree, for any sequence of idea commands, on both backends.

Hypothesis generates a scenario: ideas captured in two projects, then edits, tags, votes (some with
the caller's expected version, some stale), status changes (valid and invalid), links, deletes and
project archiving, interleaved with a few small projection batches. A model worked out here from
the domain's documented rules says which commands must be refused and how many events each accepted
one appends. At the end:

(a) the read model followed in small batches equals a rebuild from position 0;
(b) replaying every aggregate from its events gives the same state as loading it;
(c) the read model agrees with the aggregates (and the model) for every live idea, deleted ideas
    are gone from every table, and the projects read model agrees too.

SQLite gets a fresh Cortex per example. PostgreSQL shares one database across a few examples (a
fresh one per example is too slow): each example works in new projects, following carries on from
where the previous example left it, and rebuild and the comparison cover the whole log.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cortex.application.errors import ApplicationError, NotFound, VersionConflict
from cortex.bootstrap import Cortex, bootstrap
from cortex.domain.errors import DomainError
from cortex.domain.idea import TAGS_MAX, Idea, IdeaStatus, LinkRelation
from cortex.settings import Settings
from projections.idea_queries import IdeaFilter, Page, get_idea, list_ideas
from projections.projects import get_project
from projections.rebuild import rebuild
from projections.registry import PROJECTIONS
from projections.store import ReadStore
from projections.vectors import VectorsProjection
from tests.conftest import make_settings

NOW = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = [status.value for status in IdeaStatus]
RELATIONS = [relation.value for relation in LinkRelation]
NEXT = {
    "proposed": ["accepted", "rejected"],
    "accepted": ["archived"],
    "rejected": ["archived"],
    "archived": [],
}
ALL_TABLES = tuple(table for projection in PROJECTIONS.values() for table in projection.tables)
REFUSALS = (DomainError, ApplicationError)

# -- strategies ---------------------------------------------------------------------------------

# Mostly valid input, with some that the domain must refuse.
valid_titles = st.text(alphabet="abc XYZé-", min_size=1, max_size=8).filter(str.strip)
titles = st.one_of(valid_titles, valid_titles, st.sampled_from(["", "  ", "bad\x00"]))
valid_bodies = st.text(alphabet="ab \n", max_size=6)
bodies = st.one_of(valid_bodies, valid_bodies, st.just("nul\x00"))
valid_tags = st.sampled_from(["alpha", "Alpha", " beta ", "gamma", "ünï", "delta"])
tag_inputs = st.one_of(valid_tags, valid_tags, st.sampled_from(["two words", "", "  "]))


# -- the model ----------------------------------------------------------------------------------


def clean(value: str, *, allow_empty: bool = False) -> str | None:
    """Trimmed text, or None when the domain must refuse it (for the inputs generated above)."""
    text = value.strip()
    if (not text and not allow_empty) or "\x00" in text:
        return None
    return text


def clean_tag(value: str) -> str | None:
    text = clean(value)
    if text is None or any(char.isspace() for char in text):
        return None
    return text.lower()


@dataclass
class IdeaModel:
    id: UUID
    project: int
    title: str
    body: str
    tags: list[str]
    votes: int = 0
    status: str = "proposed"
    version: int = 1
    deleted: bool = False
    links: list[tuple[UUID, str]] = field(default_factory=list)


@dataclass
class ProjectModel:
    id: UUID
    archived: bool = False
    version: int = 1


project_index = st.sampled_from([0, 0, 0, 1])  # mostly one project, so that links are possible


def capture_with(
    title: st.SearchStrategy[str], body: st.SearchStrategy[str], tag: st.SearchStrategy[str]
) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.tuples(st.just("capture"), project_index, title, body, st.lists(tag, max_size=3))


def edit_args(
    title: st.SearchStrategy[str], body: st.SearchStrategy[str], tag: st.SearchStrategy[str]
) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.tuples(
        st.none() | title,
        st.none() | body,
        st.lists(tag, max_size=2),
        st.lists(tag, max_size=2),
    )


valid_capture = capture_with(valid_titles, valid_bodies, valid_tags)
captures = st.one_of(valid_capture, valid_capture, capture_with(titles, bodies, tag_inputs))
edits = st.one_of(
    edit_args(valid_titles, valid_bodies, valid_tags), edit_args(titles, bodies, tag_inputs)
)
# Repeats weight the choice towards commands that build state.
kinds = st.sampled_from(
    [
        *("capture", "capture", "edit", "edit", "vote", "vote", "vote", "stale", "status"),
        *("advance", "advance", "link", "link", "link", "delete", "archive_project"),
        *("follow", "follow"),
    ]
)


def draw_command(data: st.DataObject, ideas: list[IdeaModel]) -> tuple[Any, ...]:
    """One command, aimed mostly at live ideas (and links mostly within a project)."""
    kind = data.draw(kinds, label="kind")
    if kind == "capture" or (not ideas and kind != "follow"):
        return data.draw(captures)
    if kind == "archive_project":
        return ("archive_project", 1)  # project 0 stays open for captures
    if kind == "follow":
        return ("follow", data.draw(st.integers(min_value=1, max_value=3)))
    index = pick(data, ideas, lambda other: not other.deleted)
    if kind == "edit":
        return ("edit", index, *data.draw(edits))
    if kind == "vote":
        value = data.draw(st.sampled_from([1, -1, 1, -1, 0, 2]))
        return ("vote", index, value, data.draw(st.booleans()))
    if kind == "status":
        return ("status", index, data.draw(st.sampled_from([*STATUSES, "bogus"])))
    if kind == "advance":
        return ("advance", index, data.draw(st.integers(min_value=0, max_value=1)))
    if kind == "link":
        source = ideas[index]
        target = pick(
            data,
            ideas,
            lambda other: (
                not other.deleted and other.project == source.project and other is not source
            ),
        )
        relation = data.draw(st.sampled_from([*RELATIONS, RELATIONS[0], "bogus"]))
        return ("link", index, target, relation)
    return (kind, index)  # stale, delete


def pick(data: st.DataObject, ideas: list[IdeaModel], likely: Callable[[IdeaModel], bool]) -> int:
    """An index into ideas: four times in five one that satisfies ``likely`` (when there is one)."""
    preferred = [number for number, idea in enumerate(ideas) if likely(idea)]
    if preferred and data.draw(st.integers(min_value=0, max_value=4)):
        return data.draw(st.sampled_from(preferred))
    return data.draw(st.integers(min_value=0, max_value=len(ideas) - 1))


class World:
    """Runs one scenario against Cortex and the model side by side."""

    def __init__(self, cortex: Cortex, batch_size: int) -> None:
        self.cortex = cortex
        self.batch_size = batch_size
        for runner in cortex.runners.values():
            runner.batch_size = batch_size
        self.projects: list[ProjectModel] = []
        for name in ("P0", "P1"):
            result = cortex.projects.create_project(
                project_id=uuid4(), name=name, description="", at=NOW
            )
            self.projects.append(ProjectModel(result.id))
        self.ideas: list[IdeaModel] = []
        self.at = NOW
        self.current: tuple[Any, ...] = ()

    # -- running commands -----------------------------------------------------------------------

    def run(self, data: st.DataObject, steps: int) -> None:
        for step in range(steps):
            command = draw_command(data, self.ideas)
            self.current = command
            self.at = NOW + timedelta(seconds=step + 1)
            kind, *args = command
            getattr(self, kind)(*args)

    def expect(
        self,
        accepted: bool,
        events: int,
        command: Callable[[], object],
        refusal: type[Exception] | None = None,
    ) -> bool:
        """Run a command; check Cortex accepted or refused it as the model says."""
        head = self.cortex.log.head()
        error: Exception | None = None
        try:
            command()
        except REFUSALS as caught:
            error = caught
        if error is not None:
            assert not accepted, f"{self.current!r} was refused: {error!r}"
            if refusal is not None:
                assert isinstance(error, refusal), f"{self.current!r}: {error!r}"
            assert self._appended_since(head) == [], f"{self.current!r} refused but appended"
            return False
        assert accepted, f"{self.current!r} was accepted; the model says it must be refused"
        appended = self._appended_since(head)
        assert len(appended) == events, f"{self.current!r}: {len(appended)} events, not {events}"
        return True

    def _appended_since(self, head: int) -> list[Any]:
        return list(
            self.cortex.log.recorder.select_notifications(
                start=head, limit=1000, inclusive_of_start=False
            )
        )

    def idea(self, index: int) -> IdeaModel:
        return self.ideas[index % len(self.ideas)]

    def follow(self, batches: int) -> None:
        for _ in range(batches):
            for runner in self.cortex.runners.values():
                result = runner.run_batch()
                assert result.events <= self.batch_size

    def capture(self, project: int, title: str, body: str, tags: list[str]) -> None:
        idea_id = uuid4()
        clean_title, clean_body = clean(title), clean(body, allow_empty=True)
        clean_tags = [clean_tag(tag) for tag in tags]
        accepted = (
            not self.projects[project].archived
            and clean_title is not None
            and clean_body is not None
            and None not in clean_tags
        )
        if self.expect(
            accepted,
            1,
            lambda: self.cortex.ideas.capture_idea(
                idea_id=idea_id,
                project_id=self.projects[project].id,
                title=title,
                body=body,
                tags=tags,
                at=self.at,
            ),
        ):
            assert clean_title is not None
            assert clean_body is not None
            self.ideas.append(
                IdeaModel(
                    id=idea_id,
                    project=project,
                    title=clean_title,
                    body=clean_body,
                    tags=[tag for tag in dict.fromkeys(clean_tags) if tag is not None],
                )
            )

    def edit(
        self,
        index: int,
        title: str | None,
        body: str | None,
        add: list[str],
        remove: list[str],
    ) -> None:
        idea = self.idea(index)
        accepted = not idea.deleted and idea.status != "archived"
        new_title = idea.title if title is None else clean(title)
        new_body = idea.body if body is None else clean(body, allow_empty=True)
        accepted = accepted and new_title is not None and new_body is not None
        events = int((new_title, new_body) != (idea.title, idea.body))
        tags = list(idea.tags)
        for raw in remove:
            tag = clean_tag(raw)
            accepted = accepted and tag is not None
            if tag in tags:
                tags.remove(tag)
                events += 1
        for raw in add:
            tag = clean_tag(raw)
            accepted = accepted and tag is not None
            if tag is not None and tag not in tags:
                accepted = accepted and len(tags) < TAGS_MAX
                tags.append(tag)
                events += 1
        if self.expect(
            accepted,
            events,
            lambda: self.cortex.ideas.edit_idea(
                idea.id,
                title=title,
                body=body,
                add_tags=add,
                remove_tags=remove,
                expected_version=None,
                at=self.at,
            ),
        ):
            assert new_title is not None
            assert new_body is not None
            idea.title, idea.body, idea.tags = new_title, new_body, tags
            idea.version += events

    def vote(self, index: int, value: int, with_version: bool) -> None:
        idea = self.idea(index)
        accepted = not idea.deleted and idea.status != "archived" and value in (-1, 1)
        if self.expect(
            accepted,
            1,
            lambda: self.cortex.ideas.vote_on_idea(
                idea.id,
                value=value,
                expected_version=idea.version if with_version else None,
                at=self.at,
            ),
        ):
            idea.votes += value
            idea.version += 1

    def stale(self, index: int) -> None:
        idea = self.idea(index)
        self.expect(
            False,
            0,
            lambda: self.cortex.ideas.vote_on_idea(
                idea.id, value=1, expected_version=idea.version + 1, at=self.at
            ),
            refusal=NotFound if idea.deleted else VersionConflict,
        )

    def status(self, index: int, status: str) -> None:
        idea = self.idea(index)
        accepted = not idea.deleted and status in NEXT[idea.status]
        if self.expect(
            accepted,
            1,
            lambda: self.cortex.ideas.change_idea_status(
                idea.id, status=status, reason="because", expected_version=None, at=self.at
            ),
        ):
            idea.status = status
            idea.version += 1

    def advance(self, index: int, pick: int) -> None:
        following = NEXT[self.idea(index).status]
        self.status(index, following[pick % len(following)] if following else "proposed")

    def link(self, index: int, target_index: int, relation: str) -> None:
        idea, target = self.idea(index), self.idea(target_index)
        accepted = (
            relation in RELATIONS
            and not idea.deleted
            and idea is not target
            and not target.deleted
            and idea.status != "archived"
            and idea.project == target.project
        )
        events = 0 if (target.id, relation) in idea.links else 1
        if (
            self.expect(
                accepted,
                events,
                lambda: self.cortex.ideas.link_ideas(
                    idea.id,
                    target_id=target.id,
                    relation=relation,
                    expected_version=None,
                    at=self.at,
                ),
            )
            and events
        ):
            idea.links.append((target.id, relation))
            idea.version += 1

    def delete(self, index: int) -> None:
        idea = self.idea(index)
        if self.expect(
            not idea.deleted,
            1,
            lambda: self.cortex.ideas.delete_idea(idea.id, expected_version=None, at=self.at),
        ):
            idea.deleted = True
            idea.version += 1

    def archive_project(self, index: int) -> None:
        project = self.projects[index]
        if self.expect(
            not project.archived,
            1,
            lambda: self.cortex.projects.archive_project(
                project.id, expected_version=None, at=self.at
            ),
        ):
            project.archived = True
            project.version += 1

    # -- the properties -------------------------------------------------------------------------

    def check(self) -> None:
        cortex, store = self.cortex, self.cortex.read_store
        for runner in cortex.runners.values():
            runner.catch_up()
            assert runner.position() == cortex.log.head()
        followed = dump(store)
        self.check_read_model_against_aggregates()
        # (a) following in small batches == rebuilding from the start.
        for projection in PROJECTIONS.values():
            build = (
                (lambda names: VectorsProjection(names, index=cortex.vectors))
                if projection is VectorsProjection
                else None
            )
            rebuild(
                projection,
                feed=cortex.log,
                store=store,
                batch_size=self.batch_size + 2,
                build=build,
            )
        assert dump(store) == followed
        for runner in cortex.runners.values():
            assert runner.position() == cortex.log.head()
        self.check_replay_against_load()

    def check_replay_against_load(self) -> None:
        """(b) every aggregate replayed from its events == the same aggregate loaded."""
        for aggregate_id in [p.id for p in self.projects] + [i.id for i in self.ideas]:
            records, replayed = self.cortex.history.replay(aggregate_id)
            loaded = self.cortex.log.repository.get(aggregate_id)
            assert state(replayed) == state(loaded)
            assert [record.version for record in records] == list(range(1, loaded.version + 1))
        for idea in self.ideas:
            if idea.deleted:
                try:
                    self.cortex.log.load(idea.id, Idea)
                except NotFound:
                    continue
                raise AssertionError(f"deleted idea {idea.id} still loads")
            assert state(self.cortex.log.load(idea.id, Idea)) == state(
                self.cortex.history.replay(idea.id)[1]
            )

    def check_read_model_against_aggregates(self) -> None:
        """(c) the read model, the aggregates and the model agree; deleted ideas are gone."""
        store = self.cortex.read_store
        live = {idea.id for idea in self.ideas if not idea.deleted}
        for idea in self.ideas:
            aggregate: Idea = self.cortex.log.repository.get(idea.id)
            assert (
                aggregate.title,
                aggregate.body,
                str(aggregate.status),
                aggregate.votes,
                aggregate.version,
                aggregate.deleted,
                list(aggregate.tags),
                [(target, str(relation)) for target, relation in aggregate.links],
            ) == (
                idea.title,
                idea.body,
                idea.status,
                idea.votes,
                idea.version,
                idea.deleted,
                idea.tags,
                idea.links,
            ), f"aggregate {idea.id} disagrees with the model"
            row = get_idea(store, str(idea.id))
            if idea.deleted:
                assert row is None, f"deleted idea {idea.id} is still in the read model"
                assert rows_mentioning(store, str(idea.id)) == 0
                continue
            assert row is not None, f"live idea {idea.id} is missing from the read model"
            assert (
                row["project_id"],
                row["title"],
                row["body"],
                row["status"],
                row["votes"],
                row["version"],
            ) == (
                str(self.projects[idea.project].id),
                aggregate.title,
                aggregate.body,
                str(aggregate.status),
                aggregate.votes,
                aggregate.version,
            )
            assert sorted(row["tags"]) == sorted(aggregate.tags)
            assert sorted((link["target_id"], link["relation"]) for link in row["links"]) == sorted(
                (str(target), str(relation))
                for target, relation in aggregate.links
                if target in live
            )
        for number, project in enumerate(self.projects):
            row = get_project(store, str(project.id))
            assert row is not None
            assert (row["archived"], row["version"]) == (project.archived, project.version)
            listed = list_ideas(store, IdeaFilter(project_id=str(project.id)), Page(limit=1000))
            assert {item["id"] for item in listed} == {
                str(idea.id) for idea in self.ideas if idea.project == number and not idea.deleted
            }


def state(aggregate: Any) -> dict[str, Any]:
    return {key: value for key, value in vars(aggregate).items() if key != "_pending_events"}


def dump(store: ReadStore, tables: tuple[str, ...] = ALL_TABLES) -> dict[str, list[Any]]:
    result = {}
    with store.reading() as cur:
        for table in tables:
            cur.execute(f"SELECT * FROM {table}")
            result[table] = sorted(tuple(sorted(row.items())) for row in cur.fetchall())
    return result


def rows_mentioning(store: ReadStore, idea_id: str) -> int:
    with store.reading() as cur:
        cur.execute("SELECT COUNT(*) AS n FROM idea_tags WHERE idea_id = ?", (idea_id,))
        tags = cur.fetchone()
        cur.execute(
            "SELECT COUNT(*) AS n FROM idea_links WHERE idea_id = ? OR target_id = ?",
            (idea_id, idea_id),
        )
        links = cur.fetchone()
    assert tags is not None
    assert links is not None
    return int(tags["n"]) + int(links["n"])


# -- the test -------------------------------------------------------------------------------------


def run_examples(
    open_cortex: Callable[[], AbstractContextManager[Cortex]], *, max_examples: int
) -> None:
    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        batch_size=st.integers(min_value=1, max_value=5),
        steps=st.integers(min_value=15, max_value=50),
        data=st.data(),
    )
    def check(batch_size: int, steps: int, data: st.DataObject) -> None:
        with open_cortex() as cortex:
            world = World(cortex, batch_size)
            world.run(data, steps)
            world.check()

    check()


def test_following_rebuilding_and_replaying_agree(
    backend_settings: Settings, tmp_path: Path
) -> None:
    if backend_settings.uses_postgres:
        shared = bootstrap(backend_settings, migrate_read_store=True)

        @contextmanager
        def reuse() -> Iterator[Cortex]:
            yield shared

        try:
            run_examples(reuse, max_examples=25)
        finally:
            shared.close()
        return

    @contextmanager
    def fresh() -> Iterator[Cortex]:
        with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
            cortex = bootstrap(make_settings(Path(folder)), migrate_read_store=True)
            try:
                yield cortex
            finally:
                cortex.close()

    run_examples(fresh, max_examples=150)
