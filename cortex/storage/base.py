"""The object store port: what ingest needs from storage, whatever backs it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol


class StorageUnavailable(Exception):
    """The store could not be reached or refused the operation; retrying later may help."""


class ObjectMissing(StorageUnavailable):
    """No object under the key."""


def content_key(sha256: str) -> str:
    """Objects are keyed by the hex sha256 of their bytes."""
    return f"objects/{sha256[:2]}/{sha256}"


class ObjectStore(Protocol):
    """Content-addressed object storage, used from worker threads (synchronous)."""

    description: str

    def staging_dir(self) -> Path:
        """A folder for upload temp files (on the same file system where that matters)."""

    def put_file(self, key: str, path: Path) -> None:
        """Store the file under key (the file is consumed); storing again refreshes its time."""

    def read_bytes(self, key: str) -> bytes: ...

    def iter_bytes(self, key: str, chunk_size: int = 256 * 1024) -> Iterator[bytes]: ...

    def modified_at(self, key: str) -> datetime | None:
        """When the object was last stored, or None when there is none."""

    def delete(self, key: str) -> None: ...

    def check(self) -> None:
        """Raise StorageUnavailable when the store cannot be used."""

    def close(self) -> None: ...
