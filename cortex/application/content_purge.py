"""Purging a deleted document's stored bytes, when no live document still uses them."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from uuid import UUID

from cortex.application.documents import DocumentService
from cortex.application.errors import NotFound
from cortex.application.ingest_pipeline import RetryLater
from cortex.domain.errors import InvalidTransition
from cortex.storage.base import ObjectStore


class ContentPurger:
    """Removes a deleted document's stored bytes that no live document uses any more."""

    def __init__(
        self,
        documents: DocumentService,
        store: ObjectStore,
        still_used: Callable[[str, UUID], bool],
        *,
        grace: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._documents = documents
        self._store = store
        self._still_used = still_used
        self._grace = grace
        self._clock = clock

    def purge(self, document_id: UUID) -> bool:
        """True when done (or nothing to do); RetryLater while an object was stored too recently.

        Objects are shared by content hash; an upload stores its object before its event is
        projected, so an object touched within the grace period may be about to be used again.
        """
        try:
            document = self._documents.document(document_id, include_deleted=True)
        except NotFound:
            return True
        if not document.deleted or document.purged:
            return True
        removed: list[str] = []
        for key in sorted({content.storage_key for content in document.versions}):
            if self._still_used(key, document_id):
                continue
            modified = self._store.modified_at(key)
            if modified is None:
                continue
            age = self._clock() - modified
            if age < self._grace:
                raise RetryLater(
                    f"{key} was stored less than {self._grace} ago",
                    delay_seconds=(self._grace - age).total_seconds(),
                )
            self._store.delete(key)
            removed.append(key)
        with suppress(InvalidTransition):  # purged by another delivery meanwhile
            self._documents.record_purge(document_id, tuple(removed), at=self._clock())
        return True
