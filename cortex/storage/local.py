"""Objects as files under a folder: ``objects/ab/abcdef...``, written by atomic rename."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from cortex.storage.base import ObjectMissing, StorageUnavailable


class LocalObjectStore:
    """The embedded default: a folder on this machine."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.description = f"local folder {self.root}"
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    def staging_dir(self) -> Path:
        return self.root / "tmp"

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"object key outside the store: {key!r}")
        return path

    def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)  # same bytes under the same key: replacing is harmless
        except OSError as error:
            raise StorageUnavailable(f"cannot store {key}: {error.strerror}") from error

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectMissing(f"no object {key}") from None
        except OSError as error:
            raise StorageUnavailable(f"cannot read {key}: {error.strerror}") from error

    def iter_bytes(self, key: str, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise ObjectMissing(f"no object {key}") from None
        with handle:
            while chunk := handle.read(chunk_size):
                yield chunk

    def modified_at(self, key: str) -> datetime | None:
        try:
            return datetime.fromtimestamp(self._path(key).stat().st_mtime, UTC)
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def check(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise StorageUnavailable(f"{self.root} is not writable")

    def close(self) -> None:
        """Nothing to release."""
