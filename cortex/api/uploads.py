"""Reading uploads off the wire: multipart streamed to temp files (never held in memory whole),
or pasted text as JSON. Every file is hashed, measured and sniffed on the way in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import msgspec
from litestar import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from cortex.api.schemas.documents import PasteDocument
from cortex.ingest.archive import ArchiveLimits, expand_zip
from cortex.ingest.errors import RejectedUpload
from cortex.ingest.filenames import check_filename
from cortex.ingest.sniff import ARCHIVE
from cortex.ingest.staging import StagedFile, Stager, stage_bytes
from cortex.settings import IngestSettings

MULTIPART_OVERHEAD = 64 * 1024


class _MultipartFiles:
    """python-multipart callbacks: each ``file`` part goes to a Stager as its bytes arrive."""

    def __init__(self, boundary: bytes, folder: Path, limits: IngestSettings) -> None:
        self.files: list[StagedFile] = []
        self._folder = folder
        self._limits = limits
        self._stager: Stager | None = None
        self._headers: dict[bytes, bytes] = {}
        self._field = bytearray()
        self._value = bytearray()
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
                "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[bytes(self._field).lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name != "file":
            raise RejectedUpload(422, f"unexpected form field {name!r}; send each file as 'file'")
        raw = options.get(b"filename")
        if raw is None:
            raise RejectedUpload(422, "a 'file' part needs a filename")
        filename = check_filename(raw.decode("utf-8", "replace"))
        if len(self.files) >= self._limits.max_files:
            raise RejectedUpload(413, f"at most {self._limits.max_files} files per request")
        self._stager = Stager(filename, self._folder, self._limits.max_bytes)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._stager is not None:
            self._stager.write(data[start:end])

    def _part_end(self) -> None:
        if self._stager is not None:
            stager, self._stager = self._stager, None
            self.files.append(stager.finish())

    @property
    def open_part(self) -> bool:
        return self._stager is not None

    def discard(self) -> None:
        if self._stager is not None:
            self._stager.abort()
            self._stager = None
        for staged in self.files:
            staged.discard()


async def read_uploads(
    request: Request[Any, Any, Any], folder: Path, limits: IngestSettings, *, max_files: int
) -> list[StagedFile]:
    """The request's files, staged; 4xx (and nothing kept) when any of them is refused."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    declared = request.headers.get("content-length")
    if declared and declared.isdigit():
        ceiling = limits.max_bytes * max_files + MULTIPART_OVERHEAD * max_files
        if int(declared) > ceiling:
            raise RejectedUpload(413, f"the request is larger than {ceiling} bytes")
    if content_type == b"application/json":
        return [await _pasted(request, folder, limits)]
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise RejectedUpload(
            415, "send files as multipart/form-data (field 'file') or text as application/json"
        )
    files = _MultipartFiles(options[b"boundary"], folder, limits)
    try:
        async for chunk in request.stream():
            await anyio.to_thread.run_sync(files.parser.write, chunk)
        files.parser.finalize()
        if files.open_part:
            raise RejectedUpload(400, "the multipart body ends inside a file")
    except FormParserError as error:
        files.discard()
        raise RejectedUpload(400, f"malformed multipart body: {error}") from None
    except BaseException:
        files.discard()
        raise
    if not files.files:
        raise RejectedUpload(422, "the request holds no file (multipart field 'file')")
    if len(files.files) > max_files:
        files.discard()
        raise RejectedUpload(422, f"send at most {max_files} file here")
    return files.files


async def _pasted(
    request: Request[Any, Any, Any], folder: Path, limits: IngestSettings
) -> StagedFile:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limits.max_bytes + MULTIPART_OVERHEAD:
            raise RejectedUpload(413, f"the text is larger than {limits.max_bytes} bytes")
    try:
        paste = msgspec.json.decode(bytes(body), type=PasteDocument)
    except msgspec.ValidationError as error:
        raise RejectedUpload(422, f"invalid body: {error}") from None
    except msgspec.DecodeError:
        raise RejectedUpload(400, "the body is not valid JSON") from None
    filename = check_filename(paste.filename) if paste.filename else "pasted.txt"
    data = paste.text.encode()
    staged = await anyio.to_thread.run_sync(stage_bytes, filename, data, folder, limits.max_bytes)
    staged.title = paste.title
    return staged


def expand_archives(
    staged: list[StagedFile], folder: Path, limits: IngestSettings
) -> tuple[list[StagedFile], list[tuple[str, str]]]:
    """Zip archives replaced by their members (within limits); the other files as they are."""
    archive_limits = ArchiveLimits(
        limits.max_archive_members, limits.max_archive_bytes, limits.max_bytes
    )
    files: list[StagedFile] = []
    skipped: list[tuple[str, str]] = []
    try:
        for item in list(staged):
            if item.sniffed != ARCHIVE:
                files.append(item)
                continue
            expanded = expand_zip(item, folder, archive_limits)
            item.discard()
            files.extend(expanded.files)
            skipped.extend((f"{item.filename}/{name}", why) for name, why in expanded.skipped)
    except BaseException:
        for item in [*staged, *files]:
            item.discard()
        raise
    return files, skipped
