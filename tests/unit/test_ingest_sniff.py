"""sniff: what an upload is, from its first bytes, with the extension deciding only among text."""

from __future__ import annotations

import codecs
import gzip
import io
import zipfile

import pytest

from cortex.ingest.errors import RejectedUpload
from cortex.ingest.sniff import ARCHIVE, SNIFF_BYTES, Sniffed, sniff

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"


def classify(data: bytes, filename: str) -> Sniffed:
    return sniff(data[:SNIFF_BYTES], filename, len(data))


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def test_empty_file_is_refused_with_422() -> None:
    with pytest.raises(RejectedUpload) as refused:
        sniff(b"", "empty.txt", 0)
    assert refused.value.status == 422
    assert refused.value.file == "empty.txt"


@pytest.mark.parametrize("filename", ["report.pdf", "report.txt", "report"])
def test_pdf_is_recognised_by_magic_whatever_the_name(filename: str) -> None:
    assert classify(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", filename) == Sniffed(
        "pdf", "application/pdf"
    )


@pytest.mark.parametrize("filename", ["bundle.zip", "bundle.txt", "bundle"])
def test_zip_archive_is_recognised_by_magic(filename: str) -> None:
    assert classify(zip_of({"a.txt": b"hello"}), filename) == ARCHIVE


def test_empty_zip_is_still_an_archive() -> None:
    assert classify(zip_of({}), "empty.zip") == ARCHIVE


def test_office_documents_are_refused_with_415_even_when_named_zip() -> None:
    docx = zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
    with pytest.raises(RejectedUpload) as refused:
        classify(docx, "letter.zip")
    assert refused.value.status == 415
    assert "Office document" in refused.value.message


@pytest.mark.parametrize(
    ("data", "filename", "named"),
    [
        (PNG, "photo.png", "image/png"),
        (PNG, "notes.txt", "image/png"),  # a text extension does not make it text
        (GIF, "anim.gif", "image/gif"),
        (gzip.compress(b"hello world " * 50), "logs.gz", "gzip"),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(56), "program", "ELF"),
    ],
)
def test_binary_content_is_refused_with_415_naming_its_type(
    data: bytes, filename: str, named: str
) -> None:
    with pytest.raises(RejectedUpload) as refused:
        classify(data, filename)
    assert refused.value.status == 415
    assert named in refused.value.message
    assert refused.value.file == filename


def test_unknown_binary_is_refused_as_binary_data() -> None:
    with pytest.raises(RejectedUpload) as refused:
        classify(bytes(range(256)) * 8, "blob.txt")
    assert refused.value.status == 415
    assert refused.value.message.startswith("binary data")


def test_text_with_a_binary_looking_extension_is_still_text() -> None:
    assert classify(b"just some words", "photo.png") == Sniffed("text", "text/plain")


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"plain words", "notes.txt", Sniffed("text", "text/plain")),
        (b"plain words", "notes", Sniffed("text", "text/plain")),
        (b"Just text", "page.html", Sniffed("html", "text/html")),
        (b"Just text", "page.HTM", Sniffed("html", "text/html")),
        (b"<!DOCTYPE html><p>x</p>", "page.txt", Sniffed("html", "text/html")),
        (b"\xef\xbb\xbf\n  <HTML><body>x", "page", Sniffed("html", "text/html")),
        (b"plain words", "README.md", Sniffed("markdown", "text/markdown")),
        (b"plain words", "doc.markdown", Sniffed("markdown", "text/markdown")),
        (b"intro\n\n## Usage\n\nrun it", "README", Sniffed("markdown", "text/markdown")),
        (b"intro\n\n## Usage\n\nrun it", "notes.txt", Sniffed("text", "text/plain")),
        (b"#hashtag without space", "README", Sniffed("text", "text/plain")),
        (b'{"a": 1}', "data.json", Sniffed("json", "application/json")),
        (b"  [1, 2, 3]", "data", Sniffed("json", "application/json")),
        (b'{"a": 1}', "data.txt", Sniffed("text", "text/plain")),
        (b"a,b\n1,2\n", "table.csv", Sniffed("csv", "text/csv")),
        (b"a\tb\n1\t2\n", "table.tsv", Sniffed("csv", "text/tab-separated-values")),
        (b"def f():\n    pass\n", "mod.py", Sniffed("code", "text/x-python", "python")),
        (b"def f():\n    pass\n", "MOD.PY", Sniffed("code", "text/x-python", "python")),
        (b"fn main() {}", "main.rs", Sniffed("code", "text/x-rust", "rust")),
        (b"# comment\nx = 1", "conf.yaml", Sniffed("code", "text/x-yaml", "yaml")),
        (b"const x = 1;", "app.tsx", Sniffed("code", "text/x-typescript", "typescript")),
    ],
)
def test_text_kind_comes_from_content_and_extension(
    data: bytes, filename: str, expected: Sniffed
) -> None:
    assert classify(data, filename) == expected


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_text_with_a_byte_order_mark_is_text(codec: str) -> None:
    bom = codecs.BOM_UTF16_LE if codec == "utf-16-le" else codecs.BOM_UTF16_BE
    data = bom + "Notes about the ingest pipeline\n".encode(codec)
    assert b"\x00" in data
    assert classify(data, "notes.txt") == Sniffed("text", "text/plain")


def test_utf8_character_cut_by_the_sniff_window_is_still_text() -> None:
    data = ("a" + "é" * 5000).encode()  # byte 8192 falls inside a two-byte character
    head = data[:SNIFF_BYTES]
    with pytest.raises(UnicodeDecodeError):
        head.decode("utf-8")
    assert sniff(head, "long.txt", len(data)) == Sniffed("text", "text/plain")


def test_latin1_text_is_still_text() -> None:
    data = "Grüße aus München! Die Straße ist schön.\n".encode("latin-1")
    assert classify(data, "gruss.txt") == Sniffed("text", "text/plain")
