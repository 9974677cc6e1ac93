"""File names from uploads and archives: refused when they could escape a folder or hide text."""

from __future__ import annotations

import re
import unicodedata

from cortex.ingest.errors import RejectedUpload

MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 1024
_DRIVE = re.compile(r"^[A-Za-z]:")  # C:/x and the drive-relative C:x
# Control, invisible formatting, and line or paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def check_filename(name: str) -> str:
    """A plain file name (no folders): returned unchanged, or 422."""
    if "/" in name or "\\" in name:
        raise _bad(name, "must not contain / or \\ (a path)")
    return _check_part(name, name)


def check_member_path(path: str) -> str:
    """A path inside an archive: relative, no '..', every part a valid name."""
    if path.startswith(("/", "\\")) or "\\" in path or _DRIVE.match(path):
        raise _bad(path, "must be a relative path inside the archive")
    if len(path.encode()) > MAX_PATH_BYTES:
        raise _bad(path, f"is longer than {MAX_PATH_BYTES} bytes")
    for part in path.split("/"):
        _check_part(part, path)
    return path


def _check_part(part: str, whole: str) -> str:
    if part in ("", ".", ".."):
        raise _bad(whole, "must not be empty, '.' or '..'")
    if len(part.encode()) > MAX_NAME_BYTES:
        raise _bad(whole, f"is longer than {MAX_NAME_BYTES} bytes")
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in part):
        raise _bad(whole, "must not contain control or invisible formatting characters")
    return part


def _bad(name: str, reason: str) -> RejectedUpload:
    shown = name.encode("unicode_escape").decode()[:120]
    return RejectedUpload(422, f"file name {shown!r} {reason}", file=shown)
