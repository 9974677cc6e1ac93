"""The port through which commands hand owed work to workers (Dramatiq, wired by bootstrap).

Sending is transport only: the events already record that the work is owed, so a message lost
here is re-sent by the reconciler.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID


class JobQueue(Protocol):
    def ingest(self, document_id: UUID, job_id: UUID) -> None: ...

    def embed(self, document_id: UUID, job_id: UUID) -> None: ...

    def purge(self, document_id: UUID) -> None: ...


class NoQueue:
    """For processes that only record commands (the CLI): the reconciler sends the work."""

    def ingest(self, document_id: UUID, job_id: UUID) -> None:
        """Nothing to send."""

    def embed(self, document_id: UUID, job_id: UUID) -> None:
        """Nothing to send."""

    def purge(self, document_id: UUID) -> None:
        """Nothing to send."""
