"""What an upload really is, from its first bytes (the client's declared type is not trusted)."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

import puremagic
from charset_normalizer import from_bytes

from cortex.ingest.errors import RejectedUpload

SNIFF_BYTES = 8192

CODE_LANGUAGES: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript",
    ".cjs": "javascript", ".jsx": "javascript", ".ts": "typescript", ".tsx": "typescript",
    ".java": "java", ".kt": "kotlin", ".scala": "scala", ".go": "go", ".rs": "rust",
    ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".hpp": "cpp", ".cs": "csharp",
    ".rb": "ruby", ".php": "php", ".swift": "swift", ".sh": "shell", ".bash": "shell",
    ".sql": "sql", ".r": "r", ".lua": "lua", ".pl": "perl", ".hs": "haskell", ".ex": "elixir",
    ".exs": "elixir", ".clj": "clojure", ".vue": "vue", ".svelte": "svelte", ".css": "css",
    ".scss": "scss", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".xml": "xml",
    ".dart": "dart", ".m": "objective-c", ".zig": "zig", ".tf": "terraform",
}  # fmt: skip
MARKDOWN_EXTENSIONS = frozenset({".md", ".markdown", ".mdx"})
HTML_EXTENSIONS = frozenset({".html", ".htm", ".xhtml"})
CSV_EXTENSIONS = frozenset({".csv", ".tsv"})
_MARKDOWN_HEADING = re.compile(rb"^#{1,6} \S", re.MULTILINE)


@dataclass(frozen=True)
class Sniffed:
    """The content's kind (how it is extracted), media type, and language for code."""

    kind: str
    media_type: str
    language: str = ""


ARCHIVE = Sniffed("archive", "application/zip")


def sniff(head: bytes, filename: str, size: int) -> Sniffed:
    """Classify by content first, the file name's extension only among text formats."""
    if size == 0:
        raise RejectedUpload(422, "the file is empty", file=filename)
    if head.startswith(b"%PDF-"):
        return Sniffed("pdf", "application/pdf")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if b"[Content_Types].xml" in head:
            raise _unsupported(filename, "an Office document (docx, xlsx, pptx)")
        return ARCHIVE
    if not _is_text(head):
        raise _unsupported(filename, _binary_type(head))
    return _text_kind(head, PurePosixPath(filename.lower()).suffix)


def _text_kind(head: bytes, extension: str) -> Sniffed:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if extension in HTML_EXTENSIONS or start.startswith((b"<!doctype html", b"<html")):
        return Sniffed("html", "text/html")
    if extension in MARKDOWN_EXTENSIONS:
        return Sniffed("markdown", "text/markdown")
    if extension == ".json" or (not extension and start[:1] in (b"{", b"[")):
        return Sniffed("json", "application/json")
    if extension in CSV_EXTENSIONS:
        return Sniffed("csv", "text/tab-separated-values" if extension == ".tsv" else "text/csv")
    if extension in CODE_LANGUAGES:
        language = CODE_LANGUAGES[extension]
        return Sniffed("code", f"text/x-{language}", language)
    if not extension and _MARKDOWN_HEADING.search(head):
        return Sniffed("markdown", "text/markdown")
    return Sniffed("text", "text/plain")


def _is_text(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 3 and len(head) >= SNIFF_BYTES - 3:
            return True  # a multi-byte character cut by the sniff window
    return from_bytes(head).best() is not None


def _binary_type(head: bytes) -> str:
    try:
        match = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return "binary data"
    return match[0].mime_type or match[0].name if match else "binary data"


def _unsupported(filename: str, what: str) -> RejectedUpload:
    return RejectedUpload(
        415,
        f"{what} is not accepted; send text, Markdown, HTML, PDF, source code, JSON, CSV "
        "or a zip archive of those",
        file=filename,
    )
