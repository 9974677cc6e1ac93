"""The Idea aggregate as a state machine (pure, no database).

Hypothesis drives one idea through random commands, valid and invalid, and checks after every step:

* the status only ever moves proposed -> accepted | rejected -> archived;
* a refused command raises a DomainError of the right kind and leaves the state, the version and the
  pending events exactly as they were;
* votes are the sum of the votes that were accepted; tags stay unique, lower case, trimmed, without
  whitespace and at most TAGS_MAX; links are unique and never point at the idea itself;
* a deleted idea refuses every command;
* the version counts the events, and replaying the events from nothing rebuilds the same state.

The expected outcome of each command is worked out here from the rules in the docstring of
cortex.domain.idea, not from the aggregate's own tables, so that a wrong table is caught too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from cortex.domain.errors import AggregateGone, DomainError, InvalidInput, InvalidTransition
from cortex.domain.idea import TAGS_MAX, Idea, IdeaStatus, LinkRelation

NOW = datetime(2026, 1, 1, tzinfo=UTC)

# The life cycle, written out independently of cortex.domain.idea.ALLOWED_TRANSITIONS.
NEXT = {
    "proposed": {"accepted", "rejected"},
    "accepted": {"archived"},
    "rejected": {"archived"},
    "archived": set(),
}

# (raw input, cleaned value) for valid text; None for input that must be refused.
valid_titles = st.text(alphabet="abcXYZ é-", min_size=1, max_size=12).filter(str.strip)
invalid_titles = st.one_of(
    st.sampled_from(["", "   ", "\t\n", "bad\x00title", " \x07 "]),
    st.integers(201, 210).map(lambda n: "x" * n),  # longer than TITLE_MAX
)
titles = st.one_of(
    valid_titles.map(lambda s: (s, s.strip())), invalid_titles.map(lambda s: (s, None))
)
bodies = st.one_of(
    st.text(alphabet="ab \n", max_size=8).map(lambda s: (s, s.strip())),
    st.one_of(st.just("nul\x00"), st.just(20_001).map(lambda n: "y" * n)).map(lambda s: (s, None)),
)
valid_tags = st.one_of(
    st.sampled_from(["alpha", "Alpha", " beta", "GAMMA ", "d-1", "ünï"]),
    st.text(alphabet="abAB", min_size=1, max_size=2),
)
invalid_tags = st.sampled_from(["", "  ", "two words", "tab\there", "a\x01", "t" + "x" * 40])
tags = st.one_of(
    valid_tags.map(lambda s: (s, s.strip().lower())), invalid_tags.map(lambda s: (s, None))
)
reasons = st.one_of(
    st.text(alphabet="why ", max_size=6).map(lambda s: (s, s.strip())),
    st.just(("\x00", None)),
)
vote_values = st.sampled_from([1, -1, 1, -1, 0, 2, -3])
statuses = st.sampled_from(list(IdeaStatus))
relations = st.sampled_from(list(LinkRelation))
link_targets = st.sampled_from(["other", "foreign", "gone", "self", "archived"])


class IdeaMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = NOW
        self.project_id = uuid4()
        self.idea: Idea
        self.events: list[Any] = []
        self.accepted_votes: list[int] = []
        self.status_path: list[str] = ["proposed"]
        self.others: dict[str, Idea] = {}

    # -- helpers -------------------------------------------------------------------------------

    def _at(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def _snapshot(self) -> dict[str, Any]:
        idea = self.idea
        return {
            "version": idea.version,
            "modified_on": idea.modified_on,
            "title": idea.title,
            "body": idea.body,
            "tags": idea.tags,
            "votes": idea.votes,
            "status": idea.status,
            "links": idea.links,
            "deleted": idea.deleted,
            "project_id": idea.project_id,
        }

    @property
    def editable(self) -> bool:
        return not self.idea.deleted and self.idea.status != IdeaStatus.ARCHIVED

    def _attempt(
        self,
        command: Callable[[], None],
        *,
        refusal: type[DomainError] | None,
        events: int | None = None,
    ) -> bool:
        """Run a command; check it was refused (with that error) or accepted as predicted."""
        before = self._snapshot()
        version = self.idea.version
        error: DomainError | None = None
        try:
            command()
        except DomainError as caught:
            error = caught
        if error is not None:
            assert refusal is not None, f"refused unexpectedly: {error!r}"
            assert isinstance(error, refusal), f"expected {refusal.__name__}, got {error!r}"
            assert self._snapshot() == before, "a refused command changed the idea"
            assert self.idea.collect_events() == [], "a refused command left pending events"
            return False
        assert refusal is None, f"expected {refusal.__name__}, the command was accepted"
        new = list(self.idea.collect_events())
        if events is not None:
            assert len(new) == events, f"expected {events} events, got {new}"
        assert [event.originator_version for event in new] == list(
            range(version + 1, version + 1 + len(new))
        )
        assert self.idea.version == version + len(new)
        self.events.extend(new)
        return True

    def _make_other(self, project_id: Any) -> Idea:
        other = Idea.capture(
            id=uuid4(), project_id=project_id, title="other", body="", tags=[], at=NOW
        )
        other.collect_events()
        return other

    # -- rules -----------------------------------------------------------------------------------

    @initialize(title=titles, body=bodies, tag_inputs=st.lists(tags, max_size=5))
    def capture(
        self,
        title: tuple[str, str | None],
        body: tuple[str, str | None],
        tag_inputs: list[tuple[str, str | None]],
    ) -> None:
        valid = (
            title[1] is not None
            and body[1] is not None
            and all(clean is not None for _, clean in tag_inputs)
        )
        idea_id = uuid4()

        def capture(raw_title: str, raw_body: str, raw_tags: list[str]) -> Idea:
            return Idea.capture(
                id=idea_id,
                project_id=self.project_id,
                title=raw_title,
                body=raw_body,
                tags=raw_tags,
                at=NOW,
            )

        raw_tags = [raw for raw, _ in tag_inputs]
        if not valid:
            try:
                capture(title[0], body[0], raw_tags)
            except InvalidInput:
                pass
            else:
                raise AssertionError(f"capture accepted {title!r} {body!r} {tag_inputs!r}")
            title, body, tag_inputs = ("fallback", "fallback"), ("", ""), []
            raw_tags = []
        self.idea = capture(title[0], body[0], raw_tags)
        assert self.idea.title == title[1]
        assert self.idea.body == body[1]
        assert self.idea.tags == tuple(dict.fromkeys(clean for _, clean in tag_inputs))
        assert (self.idea.version, self.idea.votes, self.idea.status) == (1, 0, "proposed")
        self.events = list(self.idea.collect_events())
        assert len(self.events) == 1

        self.others["other"] = self._make_other(self.project_id)
        self.others["foreign"] = self._make_other(uuid4())
        gone = self._make_other(self.project_id)
        gone.delete(at=NOW)
        self.others["gone"] = gone
        archived = self._make_other(self.project_id)
        archived.change_status(IdeaStatus.REJECTED, reason="", at=NOW)
        archived.change_status(IdeaStatus.ARCHIVED, reason="", at=NOW)
        self.others["archived"] = archived

    @rule(title=st.none() | titles, body=st.none() | bodies)
    def edit(
        self, title: tuple[str, str | None] | None, body: tuple[str, str | None] | None
    ) -> None:
        refusal = self._gone_or_archived()
        if refusal is None and (
            (title is not None and title[1] is None) or (body is not None and body[1] is None)
        ):
            refusal = InvalidInput
        new_title = self.idea.title if title is None else title[1]
        new_body = self.idea.body if body is None else body[1]
        changed = (new_title, new_body) != (self.idea.title, self.idea.body)
        at = self._at()
        if self._attempt(
            lambda: self.idea.edit(
                title=None if title is None else title[0],
                body=None if body is None else body[0],
                at=at,
            ),
            refusal=refusal,
            events=int(changed),
        ):
            assert (self.idea.title, self.idea.body) == (new_title, new_body)

    @rule(tag=tags)
    def tag(self, tag: tuple[str, str | None]) -> None:
        raw, clean = tag
        refusal = self._gone_or_archived()
        if refusal is None and clean is None:
            refusal = InvalidInput
        present = clean in self.idea.tags
        if refusal is None and not present and len(self.idea.tags) >= TAGS_MAX:
            refusal = InvalidInput
        before = self.idea.tags
        at = self._at()
        if self._attempt(
            lambda: self.idea.tag(raw, at=at), refusal=refusal, events=0 if present else 1
        ):
            assert self.idea.tags == (before if present else (*before, clean))

    @rule(tag=tags)
    def untag(self, tag: tuple[str, str | None]) -> None:
        raw, clean = tag
        refusal = self._gone_or_archived()
        if refusal is None and clean is None:
            refusal = InvalidInput
        present = clean in self.idea.tags
        before = self.idea.tags
        at = self._at()
        if self._attempt(lambda: self.idea.untag(raw, at=at), refusal=refusal, events=int(present)):
            assert self.idea.tags == tuple(t for t in before if t != clean)

    @rule(count=st.integers(min_value=1, max_value=TAGS_MAX + 4))
    def tag_many(self, count: int) -> None:
        """Push towards the tag limit: the 33rd distinct tag must be refused."""
        for i in range(count):
            clean = f"many{i}"
            refusal = self._gone_or_archived()
            present = clean in self.idea.tags
            if refusal is None and not present and len(self.idea.tags) >= TAGS_MAX:
                refusal = InvalidInput
            at = self._at()
            self._attempt(
                lambda clean=clean, at=at: self.idea.tag(clean.upper(), at=at),
                refusal=refusal,
                events=0 if present else 1,
            )

    @rule(value=vote_values)
    def vote(self, value: int) -> None:
        refusal = self._gone_or_archived()
        if refusal is None and value not in (-1, 1):
            refusal = InvalidInput
        at = self._at()
        if self._attempt(lambda: self.idea.vote(value, at=at), refusal=refusal, events=1):
            self.accepted_votes.append(value)

    @rule(status=statuses, reason=reasons)
    def change_status(self, status: IdeaStatus, reason: tuple[str, str | None]) -> None:
        current = str(self.idea.status)
        refusal: type[DomainError] | None = None
        if self.idea.deleted:
            refusal = AggregateGone
        elif str(status) not in NEXT[current]:
            refusal = InvalidTransition
        elif reason[1] is None:
            refusal = InvalidInput
        at = self._at()
        if self._attempt(
            lambda: self.idea.change_status(status, reason=reason[0], at=at),
            refusal=refusal,
            events=1,
        ):
            assert self.events[-1].previous_status == current
            assert self.events[-1].reason == reason[1]
            self.status_path.append(str(status))

    @rule(pick=st.integers(min_value=0, max_value=1), reason=reasons)
    def advance_status(self, pick: int, reason: tuple[str, str | None]) -> None:
        """Move to a next status when there is one (random statuses alone rarely get far)."""
        following = sorted(NEXT[str(self.idea.status)])
        self.change_status(
            IdeaStatus(following[pick % len(following)] if following else "proposed"), reason
        )

    @rule(which=link_targets, relation=relations)
    def link(self, which: str, relation: LinkRelation) -> None:
        other = self.idea if which == "self" else self.others[which]
        refusal = self._gone_or_archived()
        if refusal is None and which in ("self", "gone", "foreign"):
            refusal = InvalidInput
        already = (other.id, relation) in self.idea.links
        before = self.idea.links
        at = self._at()
        if self._attempt(
            lambda: self.idea.link(other, relation, at=at),
            refusal=refusal,
            events=0 if already else 1,
        ):
            assert self.idea.links == (before if already else (*before, (other.id, relation)))

    @rule()
    def delete(self) -> None:
        refusal = AggregateGone if self.idea.deleted else None
        at = self._at()
        if self._attempt(lambda: self.idea.delete(at=at), refusal=refusal, events=1):
            assert self.idea.deleted

    @precondition(lambda self: self.idea.deleted)
    @rule(status=statuses, value=st.sampled_from([1, -1]), relation=relations)
    def deleted_refuses_everything(
        self, status: IdeaStatus, value: int, relation: LinkRelation
    ) -> None:
        at = self._at()
        other = self.others["other"]
        commands: list[Callable[[], None]] = [
            lambda: self.idea.edit(title="new title", body="new body", at=at),
            lambda: self.idea.edit(title=None, body=None, at=at),
            lambda: self.idea.tag("fresh", at=at),
            lambda: self.idea.untag(self.idea.tags[0] if self.idea.tags else "x", at=at),
            lambda: self.idea.vote(value, at=at),
            lambda: self.idea.change_status(status, reason="", at=at),
            lambda: self.idea.link(other, relation, at=at),
            lambda: self.idea.delete(at=at),
        ]
        for command in commands:
            self._attempt(command, refusal=AggregateGone)

    def _gone_or_archived(self) -> type[DomainError] | None:
        if self.idea.deleted:
            return AggregateGone
        if self.idea.status == IdeaStatus.ARCHIVED:
            return InvalidTransition
        return None

    # -- invariants -------------------------------------------------------------------------------

    @invariant()
    def status_follows_the_life_cycle(self) -> None:
        for before, after in zip(self.status_path, self.status_path[1:], strict=False):
            assert after in NEXT[before], self.status_path
        assert str(self.idea.status) == self.status_path[-1]

    @invariant()
    def votes_are_the_sum_of_accepted_votes(self) -> None:
        assert self.idea.votes == sum(self.accepted_votes)

    @invariant()
    def tags_are_unique_clean_and_bounded(self) -> None:
        tags = self.idea.tags
        assert len(tags) == len(set(tags)) <= TAGS_MAX
        for tag in tags:
            assert tag == tag.lower() == tag.strip()
            assert tag
            assert not any(char.isspace() for char in tag)

    @invariant()
    def links_are_unique_and_never_to_itself(self) -> None:
        links = self.idea.links
        assert len(links) == len(set(links))
        assert all(target != self.idea.id for target, _ in links)

    @invariant()
    def version_counts_events_and_replay_rebuilds_the_state(self) -> None:
        assert self.idea.version == len(self.events)
        replayed: Any = None
        for event in self.events:
            replayed = event.mutate(replayed)
        assert replayed is not None
        saved, self.idea = self.idea, replayed
        try:
            state = self._snapshot()
        finally:
            self.idea = saved
        assert state == self._snapshot()


IdeaMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_idea_state_machine = IdeaMachine.TestCase
