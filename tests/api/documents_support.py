"""Helpers for the document and ingest API tests: uploads, hand-made multipart bodies, polling a
job to its end, walking cursor pages, and what the app left in storage."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from itertools import pairwise
from pathlib import Path
from typing import Any

from fpdf import FPDF
from litestar.testing import TestClient

from cortex.api.app import create_app
from cortex.bootstrap import Cortex, bootstrap
from cortex.settings import Settings
from tests.api.conftest import Client
from tests.api.helpers import ok, problem
from tests.conftest import make_settings

TERMINAL = ("completed", "failed", "cancelled")
BOUNDARY = "cortex-test-boundary-7d1f"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x9a\xa0\xa0"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)

File = tuple[str, bytes] | tuple[str, bytes, str]


def start_app(
    stack: ExitStack, settings: Settings, tmp_path: Path, *, workers: bool = True, **extra: str
) -> Client:
    """A client on a fresh Cortex (like make_client), its ingest worker running when asked."""
    url = settings.database.url if settings.uses_postgres else None
    wired = bootstrap(make_settings(tmp_path, url, **extra), migrate_read_store=True)
    stack.callback(wired.close)
    wired.start_projections()
    if workers:
        wired.start_workers()
    return stack.enter_context(TestClient(create_app(cortex=wired)))


def cortex_of(client: Client) -> Cortex:
    cortex: Cortex = client.app.state.cortex
    return cortex


def upload(client: Client, project_id: str, *files: File, force: bool = False) -> Any:
    """POST the files as multipart parts named 'file' (text/plain unless a type is given)."""
    parts = [("file", (f[0], f[1], f[2] if len(f) == 3 else "text/plain")) for f in files]
    return client.post(
        f"/api/projects/{project_id}/documents",
        files=parts,
        params={"force": "true"} if force else {},
    )


def uploaded(client: Client, project_id: str, *files: File, force: bool = False) -> dict[str, Any]:
    """An upload that must create something (201); returns the results."""
    return ok(upload(client, project_id, *files, force=force), 201)


def multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, dict[str, str]]:
    """A multipart body written byte by byte (no client escaping names): (field, filename, data)."""
    body = bytearray()
    for field, filename, data in parts:
        disposition = f'form-data; name="{field}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        body += b"Content-Type: text/plain\r\n\r\n" + data + b"\r\n"
    body += f"--{BOUNDARY}--\r\n".encode()
    return bytes(body), {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def zip_of(*members: tuple[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as bundle:
        for name, data in members:
            bundle.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def pdf_of(*paragraphs: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 8, paragraph)
        pdf.ln(4)
    return bytes(pdf.output())


def wait_for_job(client: Client, job_id: str, after: int, timeout: float = 15.0) -> dict[str, Any]:
    """Poll the job until it reaches a terminal status (bounded); return it."""
    deadline = time.monotonic() + timeout
    while True:
        job = ok(client.get(f"/api/ingest/jobs/{job_id}", params={"after": after}))
        if job["status"] in TERMINAL:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s: {job}")
        time.sleep(0.05)


def settle(client: Client, results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Wait for every job an upload started; jobs by document id."""
    return {
        item["document_id"]: wait_for_job(client, item["job_id"], results["position"])
        for item in results["documents"]
        if item["job_id"]
    }


def head(client: Client) -> int:
    """The event log's position now (the position the next read can wait for)."""
    return cortex_of(client).log.head()


def get_document(client: Client, document_id: str, after: int | None = None) -> dict[str, Any]:
    params = {"after": after or head(client)}
    return ok(client.get(f"/api/documents/{document_id}", params=params))


def pages(client: Client, url: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a cursor-paginated list, asserting no item comes twice."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = ok(client.get(url, params=query))
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)), f"an item came twice in {url}: {ids}"
    return items


def chunks(client: Client, document_id: str, **params: Any) -> list[dict[str, Any]]:
    params.setdefault("after", head(client))
    return pages(client, f"/api/documents/{document_id}/chunks", **params)


def documents(client: Client, project_id: str, **params: Any) -> list[dict[str, Any]]:
    params.setdefault("after", head(client))
    return pages(client, f"/api/projects/{project_id}/documents", **params)


def jobs(client: Client, **params: Any) -> list[dict[str, Any]]:
    params.setdefault("after", head(client))
    return pages(client, "/api/ingest/jobs", **params)


def leftovers(client: Client) -> tuple[int, list[str], list[str]]:
    """(log head, files in the staging folder, stored objects): what an upload may leave behind."""
    cortex = cortex_of(client)
    root = Path(cortex.store.staging_dir()).parent
    staged = sorted(path.name for path in cortex.store.staging_dir().iterdir())
    objects = sorted(str(path.relative_to(root)) for path in root.glob("objects/*/*"))
    return cortex.log.head(), staged, objects


def run_job(client: Client, document_id: str, job_id: str) -> None:
    """Do a job's work in this thread, as the workers would (for clients without workers):
    extract and chunk, then embed (which completes the job)."""
    actors = cortex_of(client).actors
    actors.ingest_document(document_id, job_id)
    actors.embed_document(document_id, job_id)


def paragraphs(count: int, topic: str) -> str:
    return "\n\n".join(
        f"Paragraph {n} on {topic}: "
        + " ".join(f"{topic}{(n * 7 + k) % 23} observation{k}" for k in range(30))
        + "."
        for n in range(count)
    )


def assert_chunks_cover(items: list[dict[str, Any]], text: str, version: int = 1) -> None:
    """Chunks in order, each the extracted text's slice, within the token budget, leaving no
    non-blank text out."""
    assert items, "no chunks"
    assert [item["position"] for item in items] == list(range(len(items)))
    for item in items:
        assert item["text"] == text[item["start_offset"] : item["end_offset"]], item
        assert item["text"].strip() == item["text"] != ""
        assert 0 < item["token_count"] <= 200
        assert (item["document_version"], item["indexed"]) == (version, True)
    for before, after in pairwise(items):
        assert before["start_offset"] < after["start_offset"]
        gap = text[before["end_offset"] : after["start_offset"]]
        assert gap.strip() == "", f"text left out between chunks: {gap!r}"
    assert text[: items[0]["start_offset"]].strip() == ""
    assert text[items[-1]["end_offset"] :].strip() == ""


def drop_stored_objects(client: Client) -> None:
    """Lose every stored original, as a store that was wiped would."""
    cortex = cortex_of(client)
    for path in Path(cortex.store.staging_dir()).parent.glob("objects/*/*"):
        path.unlink()


def refused(client: Client, response_of: Callable[[], Any], status: int) -> dict[str, Any]:
    """Send the request; assert the problem status and that nothing at all was kept."""
    before = leftovers(client)
    body = problem(response_of(), status)
    after = leftovers(client)
    assert after == before, f"{body}\nleft behind (head, staged, objects): {after} != {before}"
    return body
