"""Uploads written to temp files as they arrive: hashed, measured and sniffed on the way."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cortex.ingest.errors import RejectedUpload
from cortex.ingest.sniff import SNIFF_BYTES, Sniffed, sniff


@dataclass
class StagedFile:
    """A file on its way into storage: its bytes are in ``path`` until stored or discarded."""

    filename: str
    path: Path
    size: int = 0
    sha256: str = ""
    head: bytes = b""
    sniffed: Sniffed | None = None
    title: str = ""

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass
class Stager:
    """Writes one file's chunks to a temp file, refusing it past ``max_bytes`` (413)."""

    filename: str
    folder: Path
    max_bytes: int
    _hash: hashlib._Hash = field(default_factory=hashlib.sha256)
    _head: bytearray = field(default_factory=bytearray)
    _size: int = 0

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(prefix="upload-", dir=self.folder)
        self._file = os.fdopen(descriptor, "wb")
        self.path = Path(name)

    def write(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self.max_bytes:
            self.abort()
            raise RejectedUpload(
                413, f"the file is larger than {self.max_bytes} bytes", file=self.filename
            )
        if len(self._head) < SNIFF_BYTES:
            self._head += data[: SNIFF_BYTES - len(self._head)]
        self._hash.update(data)
        self._file.write(data)

    def finish(self) -> StagedFile:
        """Close the temp file and classify its content (4xx when it is not accepted)."""
        self._file.close()
        staged = StagedFile(
            filename=self.filename,
            path=self.path,
            size=self._size,
            sha256=self._hash.hexdigest(),
            head=bytes(self._head),
        )
        try:
            staged.sniffed = sniff(staged.head, self.filename, self._size)
        except RejectedUpload:
            staged.discard()
            raise
        return staged

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


def stage_bytes(filename: str, data: bytes, folder: Path, max_bytes: int) -> StagedFile:
    stager = Stager(filename, folder, max_bytes)
    try:
        stager.write(data)
    except BaseException:
        stager.abort()
        raise
    return stager.finish()
