"""The User and AuthSession aggregates against simple models (pure domain, no storage)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from cortex.domain.auth_session import AuthSession, RefreshTokenReused, SessionRevoked
from cortex.domain.errors import InvalidInput, InvalidTransition
from cortex.domain.roles import Role
from cortex.domain.user import (
    FAILURE_WINDOW,
    LOCKOUT,
    MAX_FAILURES,
    LoginFailed,
    User,
    UserLockedOut,
    normalise_username,
)

START = datetime(2030, 1, 1, tzinfo=UTC)
ROLES = st.sampled_from(list(Role))
# Steps between events: often seconds, sometimes beyond the failure window or the lockout.
STEPS = st.one_of(
    st.integers(min_value=0, max_value=120),
    st.integers(min_value=0, max_value=int(FAILURE_WINDOW.total_seconds()) * 2),
).map(lambda seconds: timedelta(seconds=seconds))
MACHINE_SETTINGS = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def replay(events: list[Any]) -> Any:
    """An aggregate rebuilt from all its events."""
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert rebuilt is not None
    return rebuilt


class UserMachine(RuleBasedStateMachine):
    """Model: roles, disabled, version, the recent failures and the lockout end."""

    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.events: list[Any] = []

    @initialize(roles=st.lists(ROLES, max_size=4))
    def register(self, roles: list[Role]) -> None:
        self.user = User.register(
            id=uuid4(), username="Someone", password_hash="hash-0", roles=roles, at=self.now
        )
        self.roles = list(dict.fromkeys(roles))
        self.password_hash = "hash-0"
        self.disabled = False
        self.version = 1
        self.failures: list[datetime] = []
        self.locked_until: datetime | None = None
        self.hashes = 0

    def tick(self, step: timedelta) -> None:
        self.now += step

    @rule(step=STEPS)
    def change_password(self, step: timedelta) -> None:
        self.tick(step)
        self.hashes += 1
        self.password_hash = f"hash-{self.hashes}"
        self.user.change_password(self.password_hash, at=self.now)
        self.failures = []
        self.locked_until = None

    @rule(role=ROLES, step=STEPS)
    def grant(self, role: Role, step: timedelta) -> None:
        self.tick(step)
        self.user.grant(role, at=self.now)
        if role not in self.roles:
            self.roles.append(role)

    @rule(role=ROLES, step=STEPS)
    def revoke(self, role: Role, step: timedelta) -> None:
        self.tick(step)
        self.user.revoke(role, at=self.now)
        self.roles = [held for held in self.roles if held != role]

    @rule(step=STEPS)
    def disable(self, step: timedelta) -> None:
        self.tick(step)
        self.user.disable(at=self.now)
        self.disabled = True

    @rule(step=STEPS)
    def enable(self, step: timedelta) -> None:
        self.tick(step)
        self.user.enable(at=self.now)
        self.disabled = False

    @rule(step=STEPS)
    def sign_out_everywhere(self, step: timedelta) -> None:
        self.tick(step)
        before = self.user.token_version
        self.user.sign_out_everywhere(at=self.now)
        assert self.user.token_version > before
        self.version += 1

    @rule(step=STEPS, client=st.text(max_size=100))
    def fail_to_sign_in(self, step: timedelta, client: str) -> None:
        self.fail(step, client)

    @rule(
        count=st.integers(min_value=1, max_value=MAX_FAILURES + 2),
        gap=st.integers(min_value=0, max_value=int(FAILURE_WINDOW.total_seconds()) // 3),
    )
    def fail_several_times(self, count: int, gap: int) -> None:
        """A burst of failures (a guessing attack), near the window's edge or well inside it."""
        for _ in range(count):
            self.fail(timedelta(seconds=gap), "203.0.113.9")

    def fail(self, step: timedelta, client: str) -> None:
        self.tick(step)
        pending = len(self.user.pending_events)
        self.user.record_failed_login(client=client, at=self.now)
        new = self.user.pending_events[pending:]
        assert isinstance(new[0], LoginFailed)
        assert len(new[0].client) <= 64
        self.failures = [t for t in self.failures if self.now - t < FAILURE_WINDOW] + [self.now]
        if len(self.failures) >= MAX_FAILURES:
            assert [type(e) for e in new] == [LoginFailed, UserLockedOut]
            assert new[1].until == self.now + LOCKOUT
            self.locked_until = self.now + LOCKOUT
            self.failures = []
        else:
            assert len(new) == 1, "locked out before MAX_FAILURES failures within the window"

    @precondition(lambda self: self.locked_until is not None)
    @rule()
    def wait_for_the_lockout_to_end(self) -> None:
        assert self.locked_until is not None
        self.now = max(self.now, self.locked_until)

    @invariant()
    def agrees_with_the_model(self) -> None:
        user = self.user
        assert list(user.roles) == self.roles
        assert user.disabled is self.disabled
        assert user.token_version == self.version
        assert user.password_hash == self.password_hash
        assert list(user.failures) == self.failures
        assert user.locked_until == self.locked_until

    @invariant()
    def may_sign_in_exactly_when_the_model_says(self) -> None:
        for moment in (self.now, self.now + timedelta(seconds=1), self.now + LOCKOUT):
            allowed = not self.disabled and (
                self.locked_until is None or moment >= self.locked_until
            )
            try:
                self.user.check_can_sign_in(at=moment)
            except InvalidTransition:
                assert not allowed
            else:
                assert allowed

    @invariant()
    def replaying_the_events_gives_the_same_user(self) -> None:
        self.events.extend(self.user.collect_events())
        rebuilt = replay(self.events)
        assert isinstance(rebuilt, User)
        for name in (
            "username",
            "password_hash",
            "roles",
            "disabled",
            "token_version",
            "failures",
            "locked_until",
            "version",
        ):
            assert getattr(rebuilt, name) == getattr(self.user, name), name


UserMachine.TestCase.settings = MACHINE_SETTINGS
TestUser = UserMachine.TestCase


class SessionMachine(RuleBasedStateMachine):
    """Model: the newest refresh token, the rotated ones, revoked, the expiry."""

    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.counter = 0
        self.events: list[Any] = []

    def token(self) -> str:
        self.counter += 1
        return f"token-{self.counter}"

    @initialize()
    def start(self) -> None:
        self.current = self.token()
        self.used: list[str] = []
        self.revoked = False
        self.expires_at = self.now + timedelta(days=7)
        self.session = AuthSession.start(
            id=uuid4(),
            user_id=uuid4(),
            refresh_hash=self.current,
            expires_at=self.expires_at,
            client="x" * 100,
            token_version=1,
            at=self.now,
        )
        assert len(self.session.pending_events[0].client) == 64

    @rule(step=st.integers(min_value=0, max_value=10 * 24 * 3600))
    def rotate_the_newest(self, step: int) -> None:
        self.now += timedelta(seconds=step)
        new = self.token()
        expires_at = self.now + timedelta(days=7)
        if self.revoked or self.now >= self.expires_at:
            with pytest.raises(InvalidTransition) as refused:
                self.session.rotate(self.current, new, expires_at=expires_at, at=self.now)
            assert not isinstance(refused.value, RefreshTokenReused)
            return
        self.session.rotate(self.current, new, expires_at=expires_at, at=self.now)
        self.used.append(self.current)
        self.current = new
        self.expires_at = expires_at

    @precondition(lambda self: bool(self.used))
    @rule(data=st.data())
    def reuse_a_rotated_one(self, data: st.DataObject) -> None:
        old = data.draw(st.sampled_from(self.used))
        with pytest.raises(InvalidTransition) as refused:
            self.session.rotate(old, self.token(), expires_at=self.expires_at, at=self.now)
        if not self.revoked:
            assert isinstance(refused.value, RefreshTokenReused)
            assert isinstance(self.session.pending_events[-1], SessionRevoked)
        self.revoked = True

    @rule()
    def present_an_unknown_one(self) -> None:
        pending = len(self.session.pending_events)
        with pytest.raises(InvalidTransition) as refused:
            self.session.rotate("never-issued", self.token(), expires_at=self.now, at=self.now)
        assert not isinstance(refused.value, RefreshTokenReused)
        assert len(self.session.pending_events) == pending, "a guess must not end the session"

    @rule(jti=st.one_of(st.none(), st.text(min_size=1, max_size=22)))
    def log_out(self, jti: str | None) -> None:
        self.session.log_out(
            jti=jti, access_expires_at=self.now + timedelta(minutes=15), at=self.now
        )
        self.revoked = True

    @invariant()
    def agrees_with_the_model(self) -> None:
        assert self.session.revoked is self.revoked
        assert self.session.refresh_hash == self.current
        assert list(self.session.used_hashes) == self.used
        assert self.session.expires_at == self.expires_at

    @invariant()
    def replay_agrees(self) -> None:
        self.events.extend(self.session.collect_events())
        rebuilt = replay(self.events)
        assert isinstance(rebuilt, AuthSession)
        for name in ("revoked", "refresh_hash", "used_hashes", "expires_at", "version"):
            assert getattr(rebuilt, name) == getattr(self.session, name), name


SessionMachine.TestCase.settings = MACHINE_SETTINGS
TestSession = SessionMachine.TestCase


@pytest.mark.parametrize(
    "name", ["ab", "-abc", "Has Space", "x" * 65, "ümlaut", "semi;colon", "", "a/b"]
)
def test_bad_usernames_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_username(name)


def test_usernames_are_trimmed_and_lowercased() -> None:
    assert normalise_username("  Alice.B_c-1 ") == "alice.b_c-1"
