"""Zip archives expanded into their member files, within limits that stop zip bombs.

The limits are checked against the declared sizes first and again against the bytes actually
inflated, so a lying central directory does not get past them.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from cortex.ingest.errors import RejectedUpload
from cortex.ingest.filenames import check_member_path
from cortex.ingest.sniff import ARCHIVE
from cortex.ingest.staging import StagedFile, Stager

MAX_RATIO = 200
_READ = 256 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int
    max_total_bytes: int
    max_member_bytes: int


@dataclass
class Expanded:
    files: list[StagedFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def expand_zip(archive: StagedFile, folder: Path, limits: ArchiveLimits) -> Expanded:
    """Every accepted member as a staged file; unsupported members are listed as skipped."""
    name = archive.filename
    try:
        with zipfile.ZipFile(archive.path) as bundle:
            members = [info for info in bundle.infolist() if not info.is_dir()]
            _check_declared(members, limits, name)
            return _expand(bundle, members, folder, limits, name)
    except zipfile.BadZipFile as error:
        raise RejectedUpload(422, f"not a readable zip archive: {error}", file=name) from None


def _check_declared(members: list[zipfile.ZipInfo], limits: ArchiveLimits, name: str) -> None:
    if not members:
        raise RejectedUpload(422, "the archive holds no files", file=name)
    if len(members) > limits.max_members:
        raise RejectedUpload(
            413, f"the archive holds more than {limits.max_members} files", file=name
        )
    total = sum(info.file_size for info in members)
    if total > limits.max_total_bytes:
        raise RejectedUpload(
            413, f"the archive expands beyond {limits.max_total_bytes} bytes", file=name
        )
    for info in members:
        check_member_path(info.filename)
        if info.flag_bits & 0x1:
            raise RejectedUpload(422, f"{info.filename} is encrypted", file=name)
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            raise RejectedUpload(
                413, f"{info.filename} is compressed more than {MAX_RATIO}:1", file=name
            )


def _expand(
    bundle: zipfile.ZipFile,
    members: list[zipfile.ZipInfo],
    folder: Path,
    limits: ArchiveLimits,
    name: str,
) -> Expanded:
    expanded = Expanded()
    inflated = 0
    try:
        for info in members:
            stager = Stager(info.filename, folder, limits.max_member_bytes)
            try:
                inflated = _inflate(bundle, info, stager, inflated, limits, name)
            except BaseException:
                stager.abort()
                raise
            try:
                staged = stager.finish()
            except RejectedUpload as refused:
                if refused.status == 413:
                    raise
                expanded.skipped.append((info.filename, refused.message))
                continue
            if staged.sniffed == ARCHIVE:
                staged.discard()
                expanded.skipped.append((info.filename, "archives inside archives are skipped"))
                continue
            staged.title = str(PurePosixPath(info.filename))
            staged.filename = PurePosixPath(info.filename).name
            expanded.files.append(staged)
    except BaseException:
        for staged in expanded.files:
            staged.discard()
        raise
    return expanded


def _inflate(
    bundle: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    stager: Stager,
    inflated: int,
    limits: ArchiveLimits,
    name: str,
) -> int:
    """Inflate one member into its stager; returns the archive's inflated total so far."""
    try:
        with bundle.open(info) as member:
            while data := member.read(_READ):
                inflated += len(data)
                if inflated > limits.max_total_bytes:
                    raise RejectedUpload(
                        413, f"the archive expands beyond {limits.max_total_bytes} bytes", file=name
                    )
                stager.write(data)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, ValueError) as error:
        raise RejectedUpload(
            422, f"{info.filename} cannot be read from the archive: {error}", file=name
        ) from None
    return inflated
