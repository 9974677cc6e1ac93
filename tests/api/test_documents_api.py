"""Uploading and reading documents over HTTP, on SQLite and on PostgreSQL: files of every kind,
pasted text, what the server sniffs, duplicates, the original bytes and the chunks, unknown ids.

Versions, re-ingest, failures, deletion and the job lists: test_document_lifecycle_api.py.
Refused uploads (names, limits, archives): test_document_uploads_refused.py.
Edge cases that once failed: test_document_upload_edge_cases.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote
from uuid import UUID, uuid4

import pytest

from cortex.ingest.extract import extract_text
from cortex.settings import Settings
from tests.api.conftest import Client
from tests.api.documents_support import (
    assert_chunks_cover,
    chunks,
    documents,
    get_document,
    head,
    leftovers,
    paragraphs,
    pdf_of,
    settle,
    start_app,
    upload,
    uploaded,
)
from tests.api.helpers import create_project, ok, problem


@pytest.fixture
def app(backend_settings: Settings, tmp_path: Path) -> Iterator[Client]:
    """A client whose ingest jobs are processed by the in-process Dramatiq worker."""
    with ExitStack() as stack:
        yield start_app(stack, backend_settings, tmp_path)


# --- upload, ingest, read back -----------------------------------------------------------------


def test_files_of_every_kind_are_ingested_chunked_and_served_back_byte_for_byte(
    app: Client,
) -> None:
    project = create_project(app)
    guide = "\n\n".join(
        [
            "# Guide",
            paragraphs(1, "intro"),
            "## Setup",
            paragraphs(2, "setup"),
            "## Use",
            paragraphs(2, "usage"),
        ]
    )
    html = (
        "<!doctype html><html><head><title>Page</title><style>p {}</style></head><body>"
        "<h1>Welcome</h1><p>Hello <b>world</b>.</p><script>var hidden = 1;</script>"
        "<h2>More</h2><p>Second paragraph.</p></body></html>"
    )
    files = {
        "résumé notes.txt": (paragraphs(12, "text") + "\n").encode(),
        "guide.md": guide.encode(),
        "page.html": html.encode(),
        "tool.py": b"import os\n\n\n\ndef alpha():\n    return os.sep\n\n\nclass Beta:\n    pass\n",
        "data.json": json.dumps({"name": "cortex", "items": [1, 2, 3]}).encode(),
        "table.csv": b"id,name\n1,alpha\n2,beta\n",
        "paper.pdf": pdf_of("Portable text about zebras.", "A second page paragraph on giraffes."),
    }
    expected = {
        "résumé notes.txt": ("text", "text/plain", ""),
        "guide.md": ("markdown", "text/markdown", ""),
        "page.html": ("html", "text/html", ""),
        "tool.py": ("code", "text/x-python", "python"),
        "data.json": ("json", "application/json", ""),
        "table.csv": ("csv", "text/csv", ""),
        "paper.pdf": ("pdf", "application/pdf", ""),
    }

    response = upload(app, project["id"], *files.items())

    results = ok(response, 201)
    assert results["skipped"] == []
    assert results["position"] > project["position"]
    by_name = {item["filename"]: item for item in results["documents"]}
    assert set(by_name) == set(files)
    for name, item in by_name.items():
        data = files[name]
        assert item["title"] == name.rsplit(".", 1)[0]
        assert (item["kind"], item["media_type"]) == expected[name][:2]
        assert item["size_bytes"] == len(data)
        assert item["sha256"] == hashlib.sha256(data).hexdigest()
        assert (item["created"], item["duplicate_of"], item["version"]) == (True, None, 1)
        UUID(item["job_id"])
    finished = settle(app, results)

    for name, item in by_name.items():
        data, (kind, media_type, language) = files[name], expected[name]
        job = finished[item["document_id"]]
        assert job["status"] == "completed", job
        assert (job["document_id"], job["project_id"]) == (item["document_id"], project["id"])
        assert (job["document_version"], job["reason"], job["attempts"]) == (1, "upload", 0)
        assert (job["failed_stage"], job["error"]) == ("", "")
        assert job["extractor"] == f"{kind}/1"
        assert job["tokenizer"] == "all-MiniLM-L6-v2"
        assert all(value is not None and value >= 0 for value in job["timings"].values()), job
        text, _ = extract_text(data, kind)
        assert job["characters"] == len(text)

        document = get_document(app, item["document_id"])
        assert document["project_id"] == project["id"]
        assert (document["kind"], document["media_type"], document["language"]) == (
            kind,
            media_type,
            language,
        )
        assert (document["latest_version"], document["indexed_version"]) == (1, 1)
        assert (document["ingest_status"], document["current_job_id"]) == ("completed", job["id"])
        assert [v["number"] for v in document["versions"]] == [1]
        assert document["versions"][0]["sha256"] == item["sha256"]

        items = chunks(app, item["document_id"], limit=3)
        assert len(items) == job["chunk_count"]
        assert_chunks_cover(items, text)
        assert {chunk["document_id"] for chunk in items} == {item["document_id"]}

        content = app.get(f"/api/documents/{item['document_id']}/content")
        assert content.status_code == 200
        assert content.content == data
        assert content.headers["content-type"].startswith(media_type)
        assert content.headers["content-length"] == str(len(data))
        assert content.headers["x-content-type-options"] == "nosniff"
        assert content.headers["etag"] == f'"{item["sha256"]}"'
        disposition = content.headers["content-disposition"]
        assert disposition == f"attachment; filename*=UTF-8''{quote(name, safe='')}"

    # The extracted text is what was sent, where the format leaves nothing to interpret.
    def joined(name: str) -> str:
        return " ".join(c["text"] for c in chunks(app, by_name[name]["document_id"]))

    txt = files["résumé notes.txt"].decode()
    assert extract_text(files["résumé notes.txt"], "text")[0] == txt.rstrip("\n")
    assert len(chunks(app, by_name["résumé notes.txt"]["document_id"])) > 3
    assert extract_text(files["data.json"], "json")[0] == json.dumps(
        {"name": "cortex", "items": [1, 2, 3]}, indent=2
    )
    assert "zebras" in joined("paper.pdf")
    assert "giraffes" in joined("paper.pdf")
    assert "# Welcome" in joined("page.html")
    assert "Hello world." in joined("page.html")
    assert "hidden" not in joined("page.html")
    headings = {c["heading"] for c in chunks(app, by_name["guide.md"]["document_id"])}
    assert {"Guide > Setup", "Guide > Use"} <= headings

    listed = documents(app, project["id"], limit=2)
    assert {d["id"] for d in listed} == {item["document_id"] for item in by_name.values()}
    assert all(d["ingest_status"] == "completed" for d in listed)


def test_pasted_text_becomes_a_document_of_the_kind_its_filename_says(app: Client) -> None:
    project = create_project(app)
    text = "# Notes\n\nPasted from the clipboard, with ünïcode.\n\n## Later\n\nMore notes."

    named = ok(
        app.post(
            f"/api/projects/{project['id']}/documents",
            json={"title": "  My notes  ", "text": text, "filename": "notes.md"},
        ),
        201,
    )
    plain = ok(
        app.post(
            f"/api/projects/{project['id']}/documents",
            json={"title": "Plain", "text": "Just a line of text."},
        ),
        201,
    )

    (item,) = named["documents"]
    assert (item["filename"], item["kind"]) == ("notes.md", "markdown")
    assert item["size_bytes"] == len(text.encode())
    (other,) = plain["documents"]
    assert (other["title"], other["filename"], other["kind"]) == ("Plain", "pasted.txt", "text")
    assert settle(app, named)[item["document_id"]]["status"] == "completed"
    assert settle(app, plain)[other["document_id"]]["status"] == "completed"
    document = get_document(app, item["document_id"])
    assert (document["title"], document["ingest_status"]) == ("My notes", "completed")
    assert app.get(f"/api/documents/{item['document_id']}/content").content == text.encode()
    assert " ".join(c["text"] for c in chunks(app, item["document_id"])).startswith("# Notes")


def test_tags_given_at_upload_go_on_every_document_and_are_listed(client: Client) -> None:
    project = create_project(client)
    files = [
        ("file", ("a.txt", b"first", "text/plain")),
        ("file", ("b.md", b"# second", "text/plain")),
    ]
    result = ok(
        client.post(
            f"/api/projects/{project['id']}/documents",
            files=files,
            params=[("tags", "Runbook"), ("tags", "ops"), ("tags", "ops")],
        ),
        201,
    )
    after = result["position"]
    for item in result["documents"]:
        assert get_document(client, item["document_id"], after=after)["tags"] == ["ops", "runbook"]
    listed = documents(client, project["id"], after=after)
    assert [item["tags"] for item in listed] == [["ops", "runbook"]] * 2
    before = leftovers(client)
    for tags, status in ((["two words"], 422), ([f"t{i}" for i in range(33)], 400)):
        pasted = client.post(
            f"/api/projects/{project['id']}/documents",
            json={"title": "T", "text": "new text"},
            params=[("tags", tag) for tag in tags],
        )
        assert "tags" in problem(pasted, status)["detail"]
    assert leftovers(client) == before  # no event, no staged file, no stored object


def test_the_declared_content_type_of_a_part_is_not_trusted(client: Client) -> None:
    project = create_project(client)
    before = head(client)

    png = upload(client, project["id"], ("picture.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\r"))
    text = upload(client, project["id"], ("note.txt", b"plain words, not a picture", "image/png"))

    body = problem(png, 415)
    assert body["errors"] == [
        {"field": "file", "file": "picture.txt", "message": body["errors"][0]["message"]}
    ]
    assert "not accepted" in body["detail"]
    (item,) = ok(text, 201)["documents"]
    assert (item["kind"], item["media_type"]) == ("text", "text/plain")
    assert get_document(client, item["document_id"], item["position"])["kind"] == "text"
    served = client.get(f"/api/documents/{item['document_id']}/content")
    assert served.headers["content-type"].startswith("text/plain")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert [d["id"] for d in documents(client, project["id"], after=before)] == [
        item["document_id"]
    ]


# --- duplicates --------------------------------------------------------------------------------


def test_the_same_content_twice_in_a_project_is_a_duplicate_unless_forced(client: Client) -> None:
    project = create_project(client)
    other_project = create_project(client, "Other")
    data = b"The same bytes, uploaded again and again."
    first = uploaded(client, project["id"], ("first.txt", data))["documents"][0]

    again = upload(client, project["id"], ("renamed.md", data))
    elsewhere = upload(client, other_project["id"], ("first.txt", data))
    forced = upload(client, project["id"], ("first.txt", data), force=True)
    both = upload(client, project["id"], ("a.txt", b"new content"), ("b.txt", b"new content"))

    duplicate = ok(again, 200)
    (item,) = duplicate["documents"]
    assert item["document_id"] == item["duplicate_of"] == first["document_id"]
    assert (item["created"], item["job_id"], item["position"]) == (False, None, None)
    assert duplicate["position"] >= first["position"]
    (copy,) = ok(elsewhere, 201)["documents"]
    assert copy["created"] is True
    assert copy["duplicate_of"] is None
    assert copy["document_id"] != first["document_id"]
    (forced_item,) = ok(forced, 201)["documents"]
    assert forced_item["created"] is True
    assert forced_item["duplicate_of"] == first["document_id"]
    assert forced_item["document_id"] != first["document_id"]
    new, repeated = ok(both, 201)["documents"]
    assert new["created"] is True
    assert (repeated["created"], repeated["duplicate_of"]) == (False, new["document_id"])

    listed = {d["id"]: d for d in documents(client, project["id"])}
    assert set(listed) == {first["document_id"], forced_item["document_id"], new["document_id"]}
    assert listed[forced_item["document_id"]]["duplicate_of"] == first["document_id"]
    assert [d["id"] for d in documents(client, other_project["id"])] == [copy["document_id"]]


# --- unknown ids -------------------------------------------------------------------------------


def test_unknown_documents_and_jobs_are_404_and_an_archived_project_takes_no_upload(
    client: Client,
) -> None:
    missing = uuid4()
    archived = create_project(client, "Archived")
    ok(client.post(f"/api/projects/{archived['id']}/archive"))

    for response in (
        client.get(f"/api/documents/{missing}"),
        client.get(f"/api/documents/{missing}/content"),
        client.post(f"/api/documents/{missing}/reingest"),
        client.delete(f"/api/documents/{missing}"),
        client.post(f"/api/documents/{missing}/versions", files={"file": ("a.txt", b"text")}),
        client.get(f"/api/ingest/jobs/{missing}"),
        client.post(f"/api/projects/{missing}/documents", json={"title": "T", "text": "x"}),
    ):
        assert str(missing) in problem(response, 404)["detail"]
    assert ok(client.get(f"/api/documents/{missing}/chunks")) == {"items": [], "next_cursor": None}
    closed = problem(upload(client, archived["id"], ("late.txt", b"too late")), 409)
    assert closed["current_status"] == "archived"
    assert documents(client, archived["id"]) == []
