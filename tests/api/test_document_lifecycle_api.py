"""Documents after upload, over HTTP on SQLite and PostgreSQL: new versions, re-ingest, failed
and retried jobs, deletion and the purge of stored bytes, and the ingest job lists.

Jobs run either in the in-process Dramatiq worker (``app``) or, where the test must see the state
between two steps, one at a time in the test's thread (``make_app(workers=False)``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from uuid import uuid4

import dramatiq
import pytest

from cortex.settings import Settings
from projections.document_queries import owed_purges
from tests.api.conftest import Client
from tests.api.documents_support import (
    assert_chunks_cover,
    chunks,
    cortex_of,
    documents,
    drop_stored_objects,
    get_document,
    head,
    jobs,
    leftovers,
    paragraphs,
    run_job,
    settle,
    start_app,
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


def test_a_new_version_that_fails_leaves_the_indexed_version_searchable(app: Client) -> None:
    project = create_project(app)
    item = uploaded(app, project["id"], ("d.json", b'{"valid": true}'))["documents"][0]
    wait_for_job(app, item["job_id"], item["position"])
    indexed = chunks(app, item["document_id"])
    url = f"/api/documents/{item['document_id']}/versions"

    version = ok(app.post(url, files={"file": ("d.json", b'{"valid": fals')}), 201)

    job = wait_for_job(app, version["job_id"], version["position"])
    assert (job["status"], job["failed_stage"], job["document_version"]) == ("failed", "extract", 2)
    assert chunks(app, item["document_id"]) == indexed
    assert chunks(app, item["document_id"], version=2) == []
    document = get_document(app, item["document_id"])
    assert (document["latest_version"], document["indexed_version"]) == (2, 1)
    assert document["ingest_status"] == "failed"
    assert document["error"].startswith("invalid JSON")


def test_a_transient_failure_is_retried_until_its_attempts_run_out(
    make_app: Callable[..., Client],
) -> None:
    client = make_app(workers=False, CORTEX_INGEST_MAX_ATTEMPTS="2")
    project = create_project(client)
    item = uploaded(client, project["id"], ("x.txt", b"stored, then lost"))["documents"][0]
    url = f"/api/ingest/jobs/{item['job_id']}"
    drop_stored_objects(client)

    with pytest.raises(dramatiq.Retry):  # the queue will deliver it again
        run_job(client, item["document_id"], item["job_id"])

    first = ok(client.get(url, params={"after": head(client)}))
    assert (first["status"], first["attempts"], first["failed_stage"]) == ("queued", 1, "extract")
    assert first["error"].startswith("ObjectMissing: no object objects/")
    assert first["finished_at"] is None
    run_job(client, item["document_id"], item["job_id"])  # the last attempt
    last = ok(client.get(url, params={"after": head(client)}))
    assert (last["status"], last["attempts"], last["failed_stage"]) == ("failed", 2, "extract")
    assert last["finished_at"] is not None
    run_job(client, item["document_id"], item["job_id"])  # a late delivery changes nothing
    assert ok(client.get(url, params={"after": head(client)})) == last
    document = get_document(client, item["document_id"])
    assert (document["ingest_status"], document["indexed_version"]) == ("failed", 0)
    gone = problem(client.get(f"/api/documents/{item['document_id']}/content"), 404)
    assert "stored content" in gone["detail"]


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
    content = app.get(
        f"/api/documents/{again['document_id']}/content", params={"after": again["position"]}
    )
    assert content.content == data


def test_deleting_a_document_with_an_open_job_cancels_it(client: Client) -> None:
    project = create_project(client)
    item = uploaded(client, project["id"], ("open.txt", b"never indexed"))["documents"][0]

    ok(client.delete(f"/api/documents/{item['document_id']}"))

    run_job(client, item["document_id"], item["job_id"])  # a late delivery does nothing
    assert chunks(client, item["document_id"]) == []
    assert jobs(client, project_id=project["id"]) == []


def test_deleting_purges_the_stored_bytes_no_other_document_uses(
    make_app: Callable[..., Client],
) -> None:
    app = make_app(CORTEX_STORAGE_PURGE_GRACE_SECONDS="0")
    first, second = create_project(app, "First"), create_project(app, "Second")
    shared, unique = b"in both projects", b"only in the first"
    results = uploaded(app, first["id"], ("s.txt", shared), ("u.txt", unique))
    elsewhere = uploaded(app, second["id"], ("s.txt", shared))
    settle(app, results)
    settle(app, elsewhere)
    # The purge asks the documents read model who else uses the bytes (with no grace period
    # here): it must already know the second project's copy.
    assert len(documents(app, second["id"], after=elsewhere["position"])) == 1
    key = {
        data: f"objects/{hashlib.sha256(data).hexdigest()[:2]}/{hashlib.sha256(data).hexdigest()}"
        for data in (shared, unique)
    }
    assert set(leftovers(app)[2]) == set(key.values())

    for item in results["documents"]:
        deleted = ok(app.delete(f"/api/documents/{item['document_id']}"))

    # Both purges done: none is owed any more (once the deletions are in the read model).
    assert documents(app, first["id"], after=deleted["position"]) == []
    deadline = time.monotonic() + 10
    while owed_purges(cortex_of(app).read_store, -3600):
        assert time.monotonic() < deadline, "the deleted documents' purges never completed"
        time.sleep(0.05)
    assert leftovers(app)[2] == [key[shared]]
    (kept,) = elsewhere["documents"]
    assert app.get(f"/api/documents/{kept['document_id']}/content").content == shared


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
