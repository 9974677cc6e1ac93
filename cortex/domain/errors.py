"""Domain errors: broken invariants, said in words a user can act on."""

from __future__ import annotations


class DomainError(Exception):
    """A command that the domain refuses."""


class InvalidInput(DomainError):
    """A command whose values break an invariant (an empty name, too many tags)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidTransition(DomainError):
    """A command that does not fit the aggregate's current state."""

    def __init__(self, reason: str, *, current_status: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.current_status = current_status


class AggregateGone(DomainError):
    """A command on an aggregate that has been deleted."""
