"""Text out of an original, by kind: what chunking and search work on.

HTML keeps its headings as Markdown ``#`` lines so that chunking can keep them with their section.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Callable

from bs4 import BeautifulSoup
from charset_normalizer import from_bytes
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from cortex.ingest.errors import ContentError

EXTRACTOR_VERSION = "1"
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_LONG_NON_ASCII = re.compile(r"[^\x00-\x7f]{4,}")
_INVISIBLE = ("script", "style", "noscript", "template", "svg", "iframe", "head")
_BLOCKS = ("p", "div", "li", "tr", "br", "pre", "blockquote", "section", "article", "table")


def extract_text(data: bytes, kind: str) -> tuple[str, str]:
    """The text of the content and the extractor that produced it; ContentError if none."""
    extractor = _EXTRACTORS.get(kind)
    if extractor is None:
        raise ContentError(f"no extractor for {kind} content")
    text = _normalise(extractor(data))
    if not text.strip():
        raise ContentError("no text found in the content")
    return text, f"{kind}/{EXTRACTOR_VERSION}"


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 by BOM, else the detected charset."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    western = _western(data)
    if western is not None:
        return western
    best = from_bytes(data).best()
    if best is None:
        raise ContentError("the text is in no encoding Cortex can read")
    return str(best)


def _western(data: bytes) -> str | None:
    """Windows-1252 (a superset of Latin-1), when the result reads like Western text: accented
    letters here and there among ASCII ones. Short samples fool charset detection otherwise."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    letters = sum(char.isalpha() for char in text)
    foreign = [char for char in text if ord(char) > 127]
    if not foreign or len(foreign) > 0.3 * max(letters, 1) or _LONG_NON_ASCII.search(text):
        return None
    return text


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return _BLANK_RUNS.sub("\n\n", text).strip("\n")


def _html(data: bytes) -> str:
    soup = BeautifulSoup(decode_text(data), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(_INVISIBLE):
        tag.decompose()
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    for cell in soup.find_all(("td", "th")):
        cell.insert_after("\t")
    for block in soup.find_all(_BLOCKS):
        block.insert_after("\n")
    body = "\n".join(line.strip() for line in soup.get_text().splitlines())
    return f"# {title}\n\n{body}" if title and title not in body[:500] else body


def _pdf(data: bytes) -> str:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ContentError("the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        NotImplementedError,
        RecursionError,
    ) as error:
        raise ContentError(f"the PDF cannot be read: {str(error)[:200]}") from error
    return "\n\n".join(page.strip() for page in pages if page.strip())


def _json(data: bytes) -> str:
    try:
        value = json.loads(decode_text(data))
    except (ValueError, RecursionError) as error:  # JSONDecodeError, huge numbers, deep nesting
        raise ContentError(f"invalid JSON: {str(error)[:200] or type(error).__name__}") from None
    return json.dumps(value, indent=2, ensure_ascii=False)


_EXTRACTORS: dict[str, Callable[[bytes], str]] = {
    "text": decode_text,
    "markdown": decode_text,
    "code": decode_text,
    "csv": decode_text,
    "html": _html,
    "pdf": _pdf,
    "json": _json,
}
