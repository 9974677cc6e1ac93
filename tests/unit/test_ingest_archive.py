"""expand_zip: members of real zip archives staged one by one, within limits that stop zip bombs."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from cortex.ingest.archive import ArchiveLimits, expand_zip
from cortex.ingest.errors import RejectedUpload
from cortex.ingest.staging import StagedFile, stage_bytes

LIMITS = ArchiveLimits(max_members=20, max_total_bytes=1_000_000, max_member_bytes=500_000)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


def zip_bytes(
    members: list[tuple[str, bytes | str]], compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as bundle:
        for name, data in members:
            bundle.writestr(name, data)
    return buffer.getvalue()


def staged_zip(tmp_path: Path, data: bytes) -> StagedFile:
    staged = stage_bytes("bundle.zip", data, tmp_path / "uploads", max_bytes=100_000_000)
    assert staged.sniffed is not None
    assert staged.sniffed.kind == "archive"
    return staged


def refused(tmp_path: Path, data: bytes, limits: ArchiveLimits = LIMITS) -> RejectedUpload:
    archive = staged_zip(tmp_path, data)
    with pytest.raises(RejectedUpload) as caught:
        expand_zip(archive, tmp_path / "members", limits)
    return caught.value


def leftovers(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "members"
    return sorted(folder.iterdir()) if folder.exists() else []


def set_member_header_field(
    data: bytes, local_offset: int, central_offset: int, value: int
) -> bytes:
    """Patch a 2-byte field of the (single) member in both its local and central headers."""
    patched = bytearray(data)
    assert patched[:4] == b"PK\x03\x04"
    patched[local_offset : local_offset + 2] = value.to_bytes(2, "little")
    central = patched.find(b"PK\x01\x02")
    patched[central + central_offset : central + central_offset + 2] = value.to_bytes(2, "little")
    return bytes(patched)


def test_expands_supported_members_with_their_paths_as_titles(tmp_path: Path) -> None:
    members: list[tuple[str, bytes | str]] = [
        ("docs/", b""),
        ("docs/guide/intro.md", "# Intro\n\nWelcome."),
        ("notes.txt", "plain notes"),
        ("src/app.py", "def main():\n    return 0\n"),
    ]
    expanded = expand_zip(staged_zip(tmp_path, zip_bytes(members)), tmp_path / "members", LIMITS)
    assert [(f.title, f.filename) for f in expanded.files] == [
        ("docs/guide/intro.md", "intro.md"),
        ("notes.txt", "notes.txt"),
        ("src/app.py", "app.py"),
    ]
    kinds = [f.sniffed.kind if f.sniffed else None for f in expanded.files]
    assert kinds == ["markdown", "text", "code"]
    for staged, (_, data) in zip(expanded.files, members[1:], strict=True):
        raw = data.encode() if isinstance(data, str) else data
        assert staged.path.read_bytes() == raw
        assert staged.size == len(raw)
        assert staged.sha256 == hashlib.sha256(raw).hexdigest()
        assert staged.path.parent == tmp_path / "members"
    assert expanded.skipped == []


def test_unsupported_empty_and_nested_archive_members_are_skipped_with_a_reason(
    tmp_path: Path,
) -> None:
    inner = zip_bytes([("inner.txt", "hidden inside")])
    data = zip_bytes(
        [("keep.txt", "kept"), ("photo.png", PNG), ("inner.zip", inner), ("empty.txt", b"")]
    )
    expanded = expand_zip(staged_zip(tmp_path, data), tmp_path / "members", LIMITS)
    assert [f.title for f in expanded.files] == ["keep.txt"]
    reasons = dict(expanded.skipped)
    assert list(reasons) == ["photo.png", "inner.zip", "empty.txt"]
    assert "image/png" in reasons["photo.png"]
    assert "archives inside archives" in reasons["inner.zip"]
    assert "empty" in reasons["empty.txt"]
    assert leftovers(tmp_path) == [expanded.files[0].path]  # skipped members left no file


def test_archive_with_only_folders_is_refused_with_422(tmp_path: Path) -> None:
    error = refused(tmp_path, zip_bytes([("docs/", b""), ("docs/sub/", b"")]))
    assert error.status == 422


def test_exactly_max_members_is_accepted(tmp_path: Path) -> None:
    data = zip_bytes([(f"f{n}.txt", f"file {n}") for n in range(LIMITS.max_members)])
    expanded = expand_zip(staged_zip(tmp_path, data), tmp_path / "members", LIMITS)
    assert len(expanded.files) == LIMITS.max_members


def test_refuses_too_many_members_with_413(tmp_path: Path) -> None:
    data = zip_bytes([(f"f{n}.txt", f"file {n}") for n in range(LIMITS.max_members + 1)])
    error = refused(tmp_path, data)
    assert error.status == 413
    assert f"more than {LIMITS.max_members} files" in error.message
    assert leftovers(tmp_path) == []


def test_refuses_a_declared_total_size_over_the_limit_with_413(tmp_path: Path) -> None:
    limits = ArchiveLimits(max_members=20, max_total_bytes=100_000, max_member_bytes=80_000)
    data = zip_bytes([("a.txt", "a" * 60_000), ("b.txt", "b" * 60_000)], zipfile.ZIP_STORED)
    error = refused(tmp_path, data, limits)
    assert error.status == 413
    assert "expands beyond 100000 bytes" in error.message
    assert leftovers(tmp_path) == []


def test_refuses_a_high_ratio_zip_bomb_with_413(tmp_path: Path) -> None:
    bomb = zip_bytes([("zeros.txt", bytes(50 * 1024 * 1024))])
    assert len(bomb) < 100_000
    # Limits wide enough that only the compression ratio can stop it.
    limits = ArchiveLimits(max_members=10, max_total_bytes=10**9, max_member_bytes=10**9)
    error = refused(tmp_path, bomb, limits)
    assert error.status == 413
    assert "compressed more than" in error.message
    assert leftovers(tmp_path) == []


def test_ordinary_compressible_text_is_not_mistaken_for_a_bomb(tmp_path: Path) -> None:
    text = "".join(f"line {n}: the ingest pipeline stages members\n" for n in range(2000))
    data = zip_bytes([("log.txt", text)])
    expanded = expand_zip(staged_zip(tmp_path, data), tmp_path / "members", LIMITS)
    assert expanded.files[0].path.read_text() == text


def test_refuses_a_member_over_the_file_limit_and_removes_members_already_staged(
    tmp_path: Path,
) -> None:
    limits = ArchiveLimits(max_members=10, max_total_bytes=1_000_000, max_member_bytes=1000)
    data = zip_bytes([("small.txt", "fine"), ("large.txt", "x" * 1001)], zipfile.ZIP_STORED)
    error = refused(tmp_path, data, limits)
    assert error.status == 413
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "name", ["../evil.txt", "docs/../../evil.txt", "/abs.txt", "C:/evil.txt", "dir\\evil.txt"]
)
def test_refuses_path_traversal_in_member_names(tmp_path: Path, name: str) -> None:
    data = zip_bytes([("fine.txt", "fine"), (name, "payload")])
    error = refused(tmp_path, data)
    assert error.status == 422
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "evil.txt").exists()
    assert not Path("/abs.txt").exists()


def test_refuses_an_encrypted_member_with_422(tmp_path: Path) -> None:
    plain = zip_bytes([("secret.txt", "hello")], zipfile.ZIP_STORED)
    flags = int.from_bytes(plain[6:8], "little") | 0x1
    data = set_member_header_field(plain, 6, 8, flags)
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        assert bundle.infolist()[0].flag_bits & 0x1
    error = refused(tmp_path, data)
    assert error.status == 422
    assert "encrypted" in error.message


def test_refuses_a_damaged_zip_with_422(tmp_path: Path) -> None:
    data = b"PK\x03\x04" + b"\x00" * 200
    error = refused(tmp_path, data)
    assert error.status == 422
    assert "not a readable zip" in error.message


def test_refuses_a_member_with_a_bad_checksum_with_422(tmp_path: Path) -> None:
    data = bytearray(zip_bytes([("a.txt", "hello world " * 100)], zipfile.ZIP_STORED))
    data[30 + len("a.txt") + 5] ^= 0x01  # one byte of the stored data
    error = refused(tmp_path, bytes(data))
    assert error.status == 422


def test_a_member_that_fails_to_read_leaves_no_temp_file(tmp_path: Path) -> None:
    data = bytearray(zip_bytes([("a.txt", "hello world " * 100)], zipfile.ZIP_STORED))
    data[30 + len("a.txt") + 5] ^= 0x01
    refused(tmp_path, bytes(data))
    assert leftovers(tmp_path) == []


def test_refuses_a_member_with_an_unsupported_compression_method(tmp_path: Path) -> None:
    data = set_member_header_field(zip_bytes([("a.txt", "hello")], zipfile.ZIP_STORED), 8, 10, 6)
    assert refused(tmp_path, data).status in (415, 422)


def test_refuses_a_member_with_corrupt_compressed_data(tmp_path: Path) -> None:
    text = "".join(f"line {n} of the text\n" for n in range(500))
    data = bytearray(zip_bytes([("a.txt", text)]))
    data[40:60] = b"\xff" * 20  # inside the deflate stream, after the 35-byte local header
    assert refused(tmp_path, bytes(data)).status == 422


def test_refuses_a_member_without_a_file_name(tmp_path: Path) -> None:
    assert refused(tmp_path, zip_bytes([(".", "text")])).status == 422
