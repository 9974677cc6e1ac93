"""The user directory: who holds which username, and whether any user exists yet.

Invariants: a username belongs to one user (a ``UsernameClaim`` per username, whose id derives from
the name, so a second claim conflicts on save); the first admin can be bootstrapped only while the
directory is empty.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, AggregateCreated, AggregateEvent

from cortex.domain.errors import InvalidTransition

DIRECTORY_ID = uuid5(NAMESPACE_URL, "cortex:user-directory")


def username_claim_id(username: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"cortex:username:{username}")


class UsernameClaimed(AggregateCreated):
    """A username was taken by a user."""

    user_id: UUID


class UsernameClaim(Aggregate):
    """Holds one username for one user."""

    def __init__(self, user_id: UUID) -> None:
        self.user_id = user_id

    @classmethod
    def claim(cls, username: str, *, user_id: UUID, at: datetime) -> UsernameClaim:
        return cls._create(
            UsernameClaimed, id=username_claim_id(username), user_id=user_id, timestamp=at
        )


class UserDirectoryOpened(AggregateCreated):
    """The first user was registered."""


class UserAddedToDirectory(AggregateEvent):
    user_id: UUID

    def apply(self, aggregate: UserDirectory) -> None:
        aggregate.user_count += 1


class UserDirectory(Aggregate):
    """Counts users, so that bootstrapping an admin is possible exactly once, on an empty system."""

    def __init__(self) -> None:
        self.user_count = 0

    @classmethod
    def open(cls, *, at: datetime) -> UserDirectory:
        return cls._create(UserDirectoryOpened, id=DIRECTORY_ID, timestamp=at)

    def add(self, user_id: UUID, *, at: datetime, bootstrap: bool = False) -> None:
        if bootstrap and self.user_count:
            raise InvalidTransition("users exist already; sign in as an admin instead")
        self.trigger_event(UserAddedToDirectory, user_id=user_id, timestamp=at)
