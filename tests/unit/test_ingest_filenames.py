"""File names from uploads and archive member paths: what is refused (422) and what passes."""

from __future__ import annotations

import pytest

from cortex.ingest.errors import RejectedUpload
from cortex.ingest.filenames import check_filename, check_member_path


@pytest.mark.parametrize(
    "name",
    [
        "report.pdf",
        "notes",
        "résumé 2024.v2.txt",
        "日本語のメモ.md",
        ".hidden",
        "...",
        "a" * 255,
        "é" * 127 + "a",  # 255 bytes in UTF-8
    ],
)
def test_accepts_plain_file_names_unchanged(name: str) -> None:
    assert check_filename(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "folder/file.txt",
        "/etc/passwd",
        "..\\evil.txt",
        "dir\\file.txt",
        "",
        ".",
        "..",
        "bell\x07.txt",
        "nul\x00.txt",
        "new\nline.txt",
        "tab\tname.txt",
        "del\x7f.txt",
        "next\x85line.txt",  # C1 control
        "zero\u200bwidth.txt",  # zero-width space (Cf)
        "\u202etxt.exe",  # right-to-left override hides the real extension (Cf)
        "\ufeffbom.txt",  # byte order mark (Cf)
        "a" * 256,
        "é" * 128,  # 128 characters but 256 bytes
    ],
)
def test_refuses_names_that_are_paths_empty_hidden_or_too_long(name: str) -> None:
    with pytest.raises(RejectedUpload) as refused:
        check_filename(name)
    assert refused.value.status == 422


def test_refusal_message_shows_the_name_escaped_without_raw_control_characters() -> None:
    with pytest.raises(RejectedUpload) as refused:
        check_filename("evil\u202e\x1b[31m.txt")
    assert "\x1b" not in refused.value.message
    assert "\u202e" not in refused.value.message
    assert "\\u202e" in refused.value.message
    assert refused.value.file is not None
    assert "\x1b" not in refused.value.file


@pytest.mark.parametrize(
    "path",
    ["file.txt", "docs/guide/intro.md", "a/b/c/d.py", "dir with space/ünïcode.txt", "a/.config"],
)
def test_accepts_relative_member_paths(path: str) -> None:
    assert check_member_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "../evil.txt",
        "a/../../evil.txt",
        "docs/..",
        "/abs.txt",
        "//server/share/x.txt",
        "\\windows\\system32",
        "dir\\evil.txt",
        "C:/Windows/evil.txt",
        "C:evil.txt",
        "docs/bad\x00name.txt",
        "docs/\u202etxt.exe",
        "docs/" + "a" * 256,
        "/".join(["d" * 200] * 6),  # every part fine, the whole path over 1024 bytes
    ],
)
def test_refuses_path_traversal_absolute_drive_and_backslash_member_paths(path: str) -> None:
    with pytest.raises(RejectedUpload) as refused:
        check_member_path(path)
    assert refused.value.status == 422


def test_accepts_member_path_at_the_length_limit() -> None:
    path = "/".join(["d" * 200] * 5) + "/" + "f" * 19  # 1024 bytes
    assert len(path.encode()) == 1024
    assert check_member_path(path) == path


@pytest.mark.parametrize("path", ["", ".", "./."])
def test_refuses_member_paths_without_a_file_name(path: str) -> None:
    with pytest.raises(RejectedUpload):
        check_member_path(path)
