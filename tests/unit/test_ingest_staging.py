"""Staging: an upload written to a temp file, hashed, measured, sniffed; refused past max_bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from cortex.ingest.errors import RejectedUpload
from cortex.ingest.sniff import SNIFF_BYTES, Sniffed
from cortex.ingest.staging import Stager, stage_bytes


def test_stage_bytes_writes_hashes_measures_and_sniffs(tmp_path: Path) -> None:
    data = b"# Notes\n\nSome text.\n"
    staged = stage_bytes("notes.md", data, tmp_path, max_bytes=1000)
    assert staged.path.parent == tmp_path
    assert staged.path.read_bytes() == data
    assert staged.size == len(data)
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert staged.head == data
    assert staged.sniffed == Sniffed("markdown", "text/markdown")
    staged.discard()
    assert not staged.path.exists()


def test_stager_keeps_only_the_first_bytes_as_head_across_writes(tmp_path: Path) -> None:
    stager = Stager("big.txt", tmp_path, max_bytes=10 * SNIFF_BYTES)
    chunks = [b"a" * 5000, b"b" * 5000, b"c" * 5000]
    for chunk in chunks:
        stager.write(chunk)
    staged = stager.finish()
    whole = b"".join(chunks)
    assert staged.head == whole[:SNIFF_BYTES]
    assert staged.size == len(whole)
    assert staged.sha256 == hashlib.sha256(whole).hexdigest()
    assert staged.path.read_bytes() == whole


def test_exactly_max_bytes_is_accepted(tmp_path: Path) -> None:
    staged = stage_bytes("a.txt", b"x" * 100, tmp_path, max_bytes=100)
    assert staged.size == 100


def test_one_byte_over_max_bytes_is_refused_with_413_and_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(RejectedUpload) as refused:
        stage_bytes("a.txt", b"x" * 101, tmp_path, max_bytes=100)
    assert refused.value.status == 413
    assert refused.value.file == "a.txt"
    assert list(tmp_path.iterdir()) == []


def test_stager_refuses_once_the_running_total_passes_max_bytes(tmp_path: Path) -> None:
    stager = Stager("a.txt", tmp_path, max_bytes=100)
    stager.write(b"x" * 60)
    with pytest.raises(RejectedUpload) as refused:
        stager.write(b"x" * 41)
    assert refused.value.status == 413
    assert list(tmp_path.iterdir()) == []


def test_refused_content_leaves_no_file(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
    with pytest.raises(RejectedUpload) as refused:
        stage_bytes("photo.png", png, tmp_path, max_bytes=1000)
    assert refused.value.status == 415
    assert list(tmp_path.iterdir()) == []
