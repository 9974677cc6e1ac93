"""Errors the application layer raises for the edges to translate (HTTP 404/409, CLI exit codes)."""

from __future__ import annotations

from uuid import UUID


class ApplicationError(Exception):
    """Base of the application's own errors."""


class NotFound(ApplicationError):
    """No live aggregate of that kind has this id."""

    def __init__(self, kind: str, aggregate_id: UUID) -> None:
        super().__init__(f"{kind} {aggregate_id} not found")
        self.kind = kind
        self.aggregate_id = aggregate_id


class VersionConflict(ApplicationError):
    """The aggregate changed since the version the caller saw."""

    def __init__(self, aggregate_id: UUID, expected: int | None, current: int) -> None:
        super().__init__(
            f"{aggregate_id} is at version {current}"
            + (f", not {expected}" if expected is not None else " (changed concurrently)")
        )
        self.aggregate_id = aggregate_id
        self.expected = expected
        self.current = current
