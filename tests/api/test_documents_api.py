"""/api/projects/{id}/documents, /api/documents and /api/ingest/jobs over HTTP, with the ingest
worker running in process, on SQLite and on PostgreSQL.

Refused uploads (limits, names, archives) are in test_document_uploads_refused.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID, uuid4

import pytest

from cortex.ingest.extract import extract_text
from cortex.settings import Settings
from tests.api.conftest import Client
from tests.api.documents_support import (
    chunks,
    documents,
    get_document,
    head,
    jobs,
    pdf_of,
    run_job,
    settle,
    start_app,
    upload,
    uploaded,
    wait_for_job,
    zip_of,
)
from tests.api.helpers import create_project, ok, problem


@pytest.fixture
def make_app(backend_settings: Settings, tmp_path: Path) -> Iterator[Callable[..., Client]]:
    """A factory for a client on a fresh Cortex whose ingest worker runs (``workers=False``: not).
    One per test: a second one would share the first one's databases."""
    with ExitStack() as stack:
        yield partial(start_app, stack, backend_settings, tmp_path)


@pytest.fixture
def app(make_app: Callable[..., Client]) -> Client:
    """A client whose ingest jobs are processed by the in-process Dramatiq worker."""
    return make_app()


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


# --- versions ----------------------------------------------------------------------------------


def test_a_new_version_keeps_the_old_chunks_searchable_until_it_is_indexed(
    make_app: Callable[..., Client],
) -> None:
    client = make_app(workers=False)  # jobs run only when the test runs them
    project = create_project(client)
    v1 = paragraphs(4, "first").encode()
    v2 = paragraphs(6, "second").encode()
    item = uploaded(client, project["id"], ("doc.txt", v1))["documents"][0]
    document_id = item["document_id"]
    run_job(client, document_id, item["job_id"])
    old = chunks(client, document_id)
    assert_chunks_cover(old, v1.decode())

    response = client.post(
        f"/api/documents/{document_id}/versions", files={"file": ("doc-v2.txt", v2, "text/plain")}
    )

    version = ok(response, 201)
    assert (version["document_id"], version["version"], version["created"]) == (
        document_id,
        2,
        True,
    )
    assert version["title"] == "doc"
    assert (version["filename"], version["size_bytes"]) == ("doc-v2.txt", len(v2))
    assert chunks(client, document_id, after=version["position"]) == old
    assert chunks(client, document_id, version=2) == []
    pending = get_document(client, document_id, version["position"])
    assert (pending["latest_version"], pending["indexed_version"]) == (2, 1)
    assert (pending["ingest_status"], pending["current_job_id"]) == ("queued", version["job_id"])
    assert pending["filename"] == "doc-v2.txt"
    assert client.get(f"/api/documents/{document_id}/content").content == v2
    assert client.get(f"/api/documents/{document_id}/content?version=1").content == v1
    problem(client.get(f"/api/documents/{document_id}/content?version=3"), 404)

    run_job(client, document_id, version["job_id"])

    job = wait_for_job(client, version["job_id"], head(client))
    assert (job["status"], job["document_version"], job["reason"]) == (
        "completed",
        2,
        "new_version",
    )
    new = chunks(client, document_id)
    assert_chunks_cover(new, v2.decode(), version=2)
    assert chunks(client, document_id, version=1) == []
    assert chunks(client, document_id, version=2) == new
    indexed = get_document(client, document_id)
    assert (indexed["latest_version"], indexed["indexed_version"]) == (2, 2)
    assert indexed["ingest_status"] == "completed"
    assert [(v["number"], v["filename"]) for v in indexed["versions"]] == [
        (1, "doc.txt"),
        (2, "doc-v2.txt"),
    ]


def test_a_new_version_is_ingested_and_the_current_content_again_is_a_duplicate(
    app: Client,
) -> None:
    project = create_project(app)
    item = uploaded(app, project["id"], ("spec.md", b"# Spec\n\nVersion one."))["documents"][0]
    document_id = item["document_id"]
    wait_for_job(app, item["job_id"], item["position"])
    v2 = b"# Spec\n\nVersion two, rewritten."

    version = ok(
        app.post(f"/api/documents/{document_id}/versions", files={"file": ("spec.md", v2)}), 201
    )
    job = wait_for_job(app, version["job_id"], version["position"])
    same = app.post(f"/api/documents/{document_id}/versions", files={"file": ("copy.md", v2)})
    pasted = app.post(
        f"/api/documents/{document_id}/versions", json={"title": "ignored", "text": "Pasted v3"}
    )

    assert (version["version"], job["status"], job["document_version"]) == (2, "completed", 2)
    duplicate = ok(same, 200)
    assert (duplicate["created"], duplicate["duplicate_of"]) == (False, document_id)
    assert (duplicate["version"], duplicate["job_id"]) == (2, None)
    v3 = ok(pasted, 201)
    assert (v3["version"], v3["filename"], v3["kind"]) == (3, "pasted.txt", "text")
    assert wait_for_job(app, v3["job_id"], v3["position"])["status"] == "completed"
    document = get_document(app, document_id)
    assert (document["latest_version"], document["indexed_version"]) == (3, 3)
    assert [v["number"] for v in document["versions"]] == [1, 2, 3]
    assert {c["document_version"] for c in chunks(app, document_id)} == {3}
    assert [c["text"] for c in chunks(app, document_id)] == ["Pasted v3"]


def test_a_new_version_cancels_the_open_job_of_the_previous_one(client: Client) -> None:
    project = create_project(client)
    item = uploaded(client, project["id"], ("a.txt", b"version one"))["documents"][0]

    version = ok(
        client.post(
            f"/api/documents/{item['document_id']}/versions",
            files={"file": ("a.txt", b"version two")},
        ),
        201,
    )

    cancelled = ok(
        client.get(f"/api/ingest/jobs/{item['job_id']}", params={"after": version["position"]})
    )
    assert cancelled["status"] == "cancelled"
    assert cancelled["error"] == "superseded by version 2"
    run_job(client, item["document_id"], item["job_id"])  # a late delivery does nothing
    run_job(client, item["document_id"], version["job_id"])
    assert [c["text"] for c in chunks(client, item["document_id"])] == ["version two"]


def test_a_version_refuses_archives_several_files_and_a_stale_if_match(client: Client) -> None:
    project = create_project(client)
    item = uploaded(client, project["id"], ("a.txt", b"version one"))["documents"][0]
    url = f"/api/documents/{item['document_id']}/versions"
    archive = client.post(url, files={"file": ("b.zip", zip_of(("x.txt", b"x")))})
    several = client.post(url, files=[("file", ("b.txt", b"b")), ("file", ("c.txt", b"c"))])
    stale = client.post(url, files={"file": ("b.txt", b"b")}, headers={"If-Match": '"1"'})

    assert "archive" in problem(archive, 415)["detail"]
    problem(several, 422)
    assert problem(stale, 409)["current_version"] > 1
    assert get_document(client, item["document_id"])["latest_version"] == 1


# --- re-ingest ---------------------------------------------------------------------------------


def test_reingest_is_refused_while_a_job_is_open_then_accepted(client: Client) -> None:
    project = create_project(client)
    item = uploaded(client, project["id"], ("a.txt", b"some text to index"))["documents"][0]
    url = f"/api/documents/{item['document_id']}/reingest"

    refused = client.post(url)

    body = problem(refused, 409)
    assert body["current_status"] == "queued"
    assert item["job_id"] in body["detail"]
    run_job(client, item["document_id"], item["job_id"])
    accepted = ok(client.post(url), 202)
    assert (accepted["document_id"], accepted["position"] > 0) == (item["document_id"], True)
    assert accepted["job_id"] != item["job_id"]
    assert problem(client.post(url), 409)["current_status"] == "queued"


def test_reingest_runs_a_new_job_that_rebuilds_the_same_chunks(app: Client) -> None:
    project = create_project(app)
    data = paragraphs(5, "reingest").encode()
    item = uploaded(app, project["id"], ("r.txt", data))["documents"][0]
    wait_for_job(app, item["job_id"], item["position"])
    before = chunks(app, item["document_id"])

    accepted = ok(app.post(f"/api/documents/{item['document_id']}/reingest"), 202)

    job = wait_for_job(app, accepted["job_id"], accepted["position"])
    assert (job["status"], job["reason"], job["document_version"]) == ("completed", "reingest", 1)
    assert job["document_id"] == item["document_id"]
    assert chunks(app, item["document_id"]) == before
    document = get_document(app, item["document_id"])
    assert (document["current_job_id"], document["ingest_status"]) == (job["id"], "completed")
    listed = jobs(app, project_id=project["id"])
    assert [j["id"] for j in listed] == [accepted["job_id"], item["job_id"]]


# --- failures ----------------------------------------------------------------------------------


def test_content_that_cannot_be_extracted_fails_its_job_at_once(app: Client) -> None:
    project = create_project(app)

    results = uploaded(app, project["id"], ("x.json", b'{"not": json at all'))

    (item,) = results["documents"]
    assert item["kind"] == "json"
    job = wait_for_job(app, item["job_id"], results["position"])
    assert (job["status"], job["failed_stage"], job["attempts"]) == ("failed", "extract", 1)
    assert job["error"].startswith("invalid JSON"), job["error"]
    assert job["finished_at"] is not None
    assert job["chunk_count"] is None
    document = get_document(app, item["document_id"])
    assert document["ingest_status"] == "failed"
    assert document["error"].startswith("invalid JSON")
    assert document["indexed_version"] == 0
    assert chunks(app, item["document_id"]) == []
    # Retrying cannot help, and no retry happened: still one attempt after a while.
    again = ok(app.post(f"/api/documents/{item['document_id']}/reingest"), 202)
    second = wait_for_job(app, again["job_id"], again["position"])
    assert (second["status"], second["attempts"]) == ("failed", 1)
    assert ok(app.get(f"/api/ingest/jobs/{item['job_id']}"))["attempts"] == 1


# --- delete ------------------------------------------------------------------------------------


def test_a_deleted_document_leaves_every_read_and_frees_its_content(app: Client) -> None:
    project = create_project(app)
    data = b"Delete me after indexing."
    item = uploaded(app, project["id"], ("gone.txt", data))["documents"][0]
    keep = uploaded(app, project["id"], ("keep.txt", b"I stay."))["documents"][0]
    document_id = item["document_id"]
    wait_for_job(app, item["job_id"], item["position"])
    wait_for_job(app, keep["job_id"], keep["position"])
    assert chunks(app, document_id)

    response = app.delete(f"/api/documents/{document_id}")

    deleted = ok(response, 200)
    assert deleted["id"] == document_id
    after = deleted["position"]
    problem(app.get(f"/api/documents/{document_id}", params={"after": after}), 404)
    problem(app.get(f"/api/documents/{document_id}/content"), 404)
    assert chunks(app, document_id, after=after) == []
    problem(app.get(f"/api/ingest/jobs/{item['job_id']}", params={"after": after}), 404)
    assert [j["document_id"] for j in jobs(app, project_id=project["id"], after=after)] == [
        keep["document_id"]
    ]
    assert [d["id"] for d in documents(app, project["id"], after=after)] == [keep["document_id"]]
    problem(app.delete(f"/api/documents/{document_id}"), 404)
    problem(app.post(f"/api/documents/{document_id}/reingest"), 404)
    problem(
        app.post(f"/api/documents/{document_id}/versions", files={"file": ("v.txt", b"v2")}), 404
    )
    # The content is free again in the project: uploading it creates a new document.
    again = uploaded(app, project["id"], ("gone.txt", data))["documents"][0]
    assert again["document_id"] != document_id
    assert again["duplicate_of"] is None
    assert wait_for_job(app, again["job_id"], again["position"])["status"] == "completed"
    assert app.get(f"/api/documents/{again['document_id']}/content").content == data


def test_deleting_a_document_with_an_open_job_cancels_it(client: Client) -> None:
    project = create_project(client)
    item = uploaded(client, project["id"], ("open.txt", b"never indexed"))["documents"][0]

    ok(client.delete(f"/api/documents/{item['document_id']}"))

    run_job(client, item["document_id"], item["job_id"])  # a late delivery does nothing
    assert chunks(client, item["document_id"]) == []
    assert jobs(client, project_id=project["id"]) == []


# --- ingest job lists --------------------------------------------------------------------------


def test_job_lists_filter_by_project_and_status_and_pages_walk_every_job(app: Client) -> None:
    first = create_project(app, "First")
    second = create_project(app, "Second")
    good = [(f"f{n}.txt", f"first project file {n}".encode()) for n in range(5)]
    a = uploaded(app, first["id"], *good, ("bad.json", b"{broken"))
    b = uploaded(app, second["id"], ("s1.txt", b"second one"), ("s2.txt", b"second two"))
    settle(app, a)
    settle(app, b)
    job_ids = {item["job_id"] for item in a["documents"] + b["documents"]}
    bad_job = next(item["job_id"] for item in a["documents"] if item["filename"] == "bad.json")

    everything = jobs(app, limit=2)
    completed = jobs(app, project_id=first["id"], status="completed", limit=2)
    failed = jobs(app, project_id=first["id"], status="failed")
    in_second = jobs(app, project_id=second["id"], limit=1)
    queued = jobs(app, status="queued")

    assert {j["id"] for j in everything} == job_ids
    keys = [(j["requested_at"], j["id"]) for j in everything]
    assert keys == sorted(keys, reverse=True)
    assert len(completed) == 5
    assert {j["status"] for j in completed} == {"completed"}
    assert {j["project_id"] for j in completed} == {first["id"]}
    assert [j["id"] for j in failed] == [bad_job]
    assert {j["id"] for j in in_second} == {item["job_id"] for item in b["documents"]}
    assert queued == []
    problem(app.get("/api/ingest/jobs", params={"status": "finished"}), 400)
    assert jobs(app, project_id=str(uuid4())) == []  # the local admin may read any project
    problem(app.get("/api/ingest/jobs", params={"cursor": "not-a-cursor"}), 422)


# --- unknown ids -------------------------------------------------------------------------------


def test_unknown_documents_and_jobs_are_404_problems(client: Client) -> None:
    missing = uuid4()

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
