"""extract_text: the text of HTML, PDF, JSON and plain text, or a ContentError saying why not."""

from __future__ import annotations

import codecs
import json

import pytest
from fpdf import FPDF

from cortex.ingest.errors import ContentError
from cortex.ingest.extract import EXTRACTOR_VERSION, decode_text, extract_text


def make_pdf(*pages: str, owner_password: str | None = None) -> bytes:
    pdf = FPDF()
    if owner_password is not None:
        pdf.set_encryption(owner_password=owner_password)
    for page in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 10, page)
    return bytes(pdf.output())


# --- HTML -----------------------------------------------------------------------------------


PAGE = b"""<!DOCTYPE html>
<html>
<head>
  <title>Cortex Guide</title>
  <style>body { color: red; }</style>
  <script>var secret = "in head";</script>
</head>
<body>
  <!-- a comment nobody should index -->
  <nav><noscript>Enable JavaScript please</noscript></nav>
  <h1>Getting started</h1>
  <p>Install <b>Cortex</b> &amp; run it.</p>
  <script>console.log("tracking");</script>
  <template><p>template text</p></template>
  <svg><text>svg label</text></svg>
  <iframe>iframe fallback</iframe>
  <h2>Setup <em>on Linux</em></h2>
  <ul><li>first step</li><li>second step</li></ul>
  <h3>Details</h3>
  <p>line one<br>line two</p>
</body>
</html>"""


def test_html_keeps_headings_as_markdown_lines_with_their_level() -> None:
    text, extractor = extract_text(PAGE, "html")
    lines = text.split("\n")
    assert "# Getting started" in lines
    assert "## Setup on Linux" in lines
    assert "### Details" in lines
    assert text.index("# Getting started") < text.index("Install") < text.index("## Setup")
    assert extractor == f"html/{EXTRACTOR_VERSION}"


def test_html_drops_scripts_styles_and_other_invisible_content() -> None:
    text, _ = extract_text(PAGE, "html")
    for hidden in (
        "secret",
        "tracking",
        "color: red",
        "Enable JavaScript",
        "template text",
        "svg label",
        "iframe fallback",
        "a comment nobody",
    ):
        assert hidden not in text


def test_html_text_is_decoded_and_blocks_are_separate_lines() -> None:
    text, _ = extract_text(PAGE, "html")
    lines = text.split("\n")
    assert "Install Cortex & run it." in lines
    assert "first step" in lines
    assert "second step" in lines
    assert "line one" in lines
    assert "line two" in lines
    assert "\n\n\n" not in text


def test_html_title_becomes_a_heading_when_the_body_does_not_repeat_it() -> None:
    text, _ = extract_text(PAGE, "html")
    assert text.startswith("# Cortex Guide\n\n")


def test_html_title_is_not_repeated_when_the_body_starts_with_it() -> None:
    page = b"<html><head><title>Release notes</title></head><body><h1>Release notes</h1>"
    page += b"<p>Version 2 is out.</p></body></html>"
    text, _ = extract_text(page, "html")
    assert text == "# Release notes\n\nVersion 2 is out."


def test_html_with_only_invisible_content_has_no_text() -> None:
    with pytest.raises(ContentError):
        extract_text(b"<html><head><style>p{}</style></head><script>x()</script></html>", "html")


def test_html_table_cells_stay_separate_words() -> None:
    page = b"<table><tr><th>Name</th><th>Age</th></tr><tr><td>Ann</td><td>31</td></tr></table>"
    text, _ = extract_text(page, "html")
    assert "Name" in text.split()
    assert "Ann" in text.split()


# --- PDF ------------------------------------------------------------------------------------


def test_pdf_text_is_extracted_page_by_page() -> None:
    data = make_pdf("Quarterly report on the ingest pipeline.", "Second page mentions zebras.")
    text, extractor = extract_text(data, "pdf")
    assert text == "Quarterly report on the ingest pipeline.\n\nSecond page mentions zebras."
    assert extractor == f"pdf/{EXTRACTOR_VERSION}"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\nthis is not really a PDF at all",
        b"%PDF-",
        b"%PDF-1.7\n" + bytes(200),
    ],
)
def test_corrupt_pdf_is_a_content_error(data: bytes) -> None:
    with pytest.raises(ContentError):
        extract_text(data, "pdf")


def test_truncated_pdf_is_a_content_error() -> None:
    data = make_pdf("Some text that will be cut off.")
    with pytest.raises(ContentError):
        extract_text(data[: len(data) // 2], "pdf")


def test_pdf_without_text_is_a_content_error() -> None:
    pdf = FPDF()
    pdf.add_page()
    with pytest.raises(ContentError, match="no text"):
        extract_text(bytes(pdf.output()), "pdf")


def test_encrypted_pdf_is_a_content_error() -> None:
    data = make_pdf("Secret numbers.", owner_password="owner-only")
    with pytest.raises(ContentError, match="encrypted"):
        extract_text(data, "pdf")


def test_pdf_with_an_unknown_stream_filter_is_a_content_error() -> None:
    data = make_pdf("Quarterly report.")
    assert data.count(b"/FlateDecode") == 1
    damaged = data.replace(b"/FlateDecode", b"/FlateXecode")  # same length: offsets stay right
    with pytest.raises(ContentError):
        extract_text(damaged, "pdf")


# --- JSON -----------------------------------------------------------------------------------


def test_json_is_pretty_printed_keeping_non_ascii_characters() -> None:
    text, extractor = extract_text('{"b": [1, 2], "a": "café"}'.encode(), "json")
    assert text == '{\n  "b": [\n    1,\n    2\n  ],\n  "a": "café"\n}'
    assert json.loads(text) == {"b": [1, 2], "a": "café"}
    assert extractor == f"json/{EXTRACTOR_VERSION}"


def test_json_with_a_utf8_byte_order_mark_is_read() -> None:
    text, _ = extract_text(codecs.BOM_UTF8 + b'{"a": 1}', "json")
    assert text == '{\n  "a": 1\n}'


@pytest.mark.parametrize("data", [b'{"a": 1', b"{'a': 1}", b"not json", b"[1, 2,]"])
def test_invalid_json_is_a_content_error(data: bytes) -> None:
    with pytest.raises(ContentError, match="invalid JSON"):
        extract_text(data, "json")


@pytest.mark.parametrize(
    "data", [b"[" * 100_000 + b"]" * 100_000, b"1" * 5000], ids=["deeply-nested", "huge-number"]
)
def test_json_python_cannot_load_is_a_content_error(data: bytes) -> None:
    with pytest.raises(ContentError):
        extract_text(data, "json")


# --- plain text and decoding ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("naïve café — 日本".encode(), "naïve café — 日本"),
        (codecs.BOM_UTF8 + "naïve café".encode(), "naïve café"),
        (codecs.BOM_UTF16_LE + "naïve café".encode("utf-16-le"), "naïve café"),
        (codecs.BOM_UTF16_BE + "naïve café".encode("utf-16-be"), "naïve café"),
        (
            "Grüße aus München! Die Straße ist schön.\n".encode("latin-1"),
            "Grüße aus München! Die Straße ist schön.\n",
        ),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "latin-1-german"],
)
def test_text_is_decoded_from_its_encoding(data: bytes, expected: str) -> None:
    assert decode_text(data) == expected


@pytest.mark.parametrize(
    "original",
    [
        "café",
        "Le café est très bon. Nous avons mangé une crème brûlée à côté de la fenêtre, près du "
        "théâtre.\n",
    ],
    ids=["short", "french"],
)
def test_latin1_text_is_decoded_as_latin1(original: str) -> None:
    assert decode_text(original.encode("latin-1")) == original


def test_text_line_endings_and_blank_runs_are_normalised() -> None:
    data = b"\n\n  indented\r\nline\rold mac\r\n\r\n\r\n\r\nnext\x00para\n\n\n"
    text, extractor = extract_text(data, "text")
    assert text == "  indented\nline\nold mac\n\nnextpara"
    assert extractor == f"text/{EXTRACTOR_VERSION}"


@pytest.mark.parametrize("kind", ["text", "markdown", "code", "csv"])
def test_text_kinds_keep_the_text_as_it_is(kind: str) -> None:
    source = "# Title\n\ndef f(x):\n    return x  # indented\n"
    text, extractor = extract_text(source.encode(), kind)
    assert text == source.rstrip("\n")
    assert extractor == f"{kind}/{EXTRACTOR_VERSION}"


@pytest.mark.parametrize(
    ("data", "kind"),
    [(b"   \n\n\t  \n", "text"), (b"\n\n", "markdown"), (b"\x00\x00", "code")],
)
def test_empty_or_whitespace_text_is_a_content_error(data: bytes, kind: str) -> None:
    with pytest.raises(ContentError, match="no text"):
        extract_text(data, kind)


def test_unknown_kind_is_a_content_error() -> None:
    with pytest.raises(ContentError, match="no extractor"):
        extract_text(b"hello", "archive")
