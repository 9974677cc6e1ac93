"""The User aggregate: who may sign in, with which roles, and whether their tokens still hold.

Invariants: a username is 3-64 characters of a-z, 0-9, '.', '_' or '-'; events hold the password's
hash, never the password; a disabled or locked-out user cannot sign in; bumping the token version
invalidates every token issued before it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate, AggregateCreated, AggregateEvent

from cortex.domain.errors import InvalidInput, InvalidTransition
from cortex.domain.roles import Role

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)


class UserRegistered(AggregateCreated):
    """An account was created."""

    username: str
    password_hash: str
    roles: tuple[str, ...]


class PasswordChanged(AggregateEvent):
    """The password was set anew (by its owner or reset by an admin)."""

    password_hash: str

    def apply(self, aggregate: User) -> None:
        aggregate.password_hash = self.password_hash
        aggregate.failures = ()
        aggregate.locked_until = None


class RoleGranted(AggregateEvent):
    role: str

    def apply(self, aggregate: User) -> None:
        aggregate.roles = (*aggregate.roles, Role(self.role))


class RoleRevoked(AggregateEvent):
    role: str

    def apply(self, aggregate: User) -> None:
        aggregate.roles = tuple(role for role in aggregate.roles if role != self.role)


class UserDisabled(AggregateEvent):
    """The account may no longer sign in; its tokens stop working."""

    def apply(self, aggregate: User) -> None:
        aggregate.disabled = True


class UserEnabled(AggregateEvent):
    def apply(self, aggregate: User) -> None:
        aggregate.disabled = False


class TokenVersionBumped(AggregateEvent):
    """Every token issued before this was revoked (sign out everywhere)."""

    token_version: int

    def apply(self, aggregate: User) -> None:
        aggregate.token_version = self.token_version


class LoginFailed(AggregateEvent):
    """A sign-in with a wrong password (the address it came from, never the password)."""

    client: str

    def apply(self, aggregate: User) -> None:
        recent = tuple(t for t in aggregate.failures if self.timestamp - t < FAILURE_WINDOW)
        aggregate.failures = (*recent, self.timestamp)


class UserLockedOut(AggregateEvent):
    """Too many failed sign-ins: the account refuses sign-ins until `until`."""

    until: datetime

    def apply(self, aggregate: User) -> None:
        aggregate.locked_until = self.until
        aggregate.failures = ()


class User(Aggregate):
    """An account that signs in with a username and password."""

    def __init__(self, username: str, password_hash: str, roles: tuple[str, ...]) -> None:
        self.username = username
        self.password_hash = password_hash
        self.roles = tuple(Role(role) for role in roles)
        self.disabled = False
        self.token_version = 1
        self.failures: tuple[datetime, ...] = ()
        self.locked_until: datetime | None = None

    @classmethod
    def register(
        cls,
        *,
        id: UUID,
        username: str,
        password_hash: str,
        roles: list[Role],
        at: datetime,
    ) -> User:
        return cls._create(
            UserRegistered,
            id=id,
            username=normalise_username(username),
            password_hash=password_hash,
            roles=tuple(dict.fromkeys(str(role) for role in roles)),
            timestamp=at,
        )

    def change_password(self, password_hash: str, *, at: datetime) -> None:
        self.trigger_event(PasswordChanged, password_hash=password_hash, timestamp=at)

    def grant(self, role: Role, *, at: datetime) -> None:
        if role not in self.roles:
            self.trigger_event(RoleGranted, role=str(role), timestamp=at)

    def revoke(self, role: Role, *, at: datetime) -> None:
        if role in self.roles:
            self.trigger_event(RoleRevoked, role=str(role), timestamp=at)

    def disable(self, *, at: datetime) -> None:
        if not self.disabled:
            self.trigger_event(UserDisabled, timestamp=at)

    def enable(self, *, at: datetime) -> None:
        if self.disabled:
            self.trigger_event(UserEnabled, timestamp=at)

    def sign_out_everywhere(self, *, at: datetime) -> None:
        self.trigger_event(TokenVersionBumped, token_version=self.token_version + 1, timestamp=at)

    def check_can_sign_in(self, *, at: datetime) -> None:
        """Raise InvalidTransition when the account is disabled or locked out."""
        if self.disabled:
            raise InvalidTransition("the account is disabled")
        if self.locked_until is not None and at < self.locked_until:
            raise InvalidTransition("the account is locked after too many failed sign-ins")

    def record_failed_login(self, *, client: str, at: datetime) -> None:
        self.trigger_event(LoginFailed, client=client[:64], timestamp=at)
        if len(self.failures) >= MAX_FAILURES:
            self.trigger_event(UserLockedOut, until=at + LOCKOUT, timestamp=at)


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise InvalidInput(
            "username",
            "3-64 characters: a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
        )
    return name
