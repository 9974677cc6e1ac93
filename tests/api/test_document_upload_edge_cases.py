"""Upload edge cases that once failed (a 500 on a malformed body, temp files or bytes left by a
refused upload, a partly recorded refused batch, an uncleaned title, deduplication lost when the
original is deleted), each guarded by a test of the behaviour it has now. SQLite and PostgreSQL.
"""

from __future__ import annotations

from tests.api.conftest import Client
from tests.api.documents_support import (
    get_document,
    multipart,
    refused,
    upload,
    uploaded,
    zip_of,
)
from tests.api.helpers import create_project, ok, problem


def test_a_malformed_multipart_body_is_a_400_problem(client: Client) -> None:
    project = create_project(client)

    response = client.post(
        f"/api/projects/{project['id']}/documents",
        content=b"this is not multipart at all",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )

    problem(response, 400)


def test_a_truncated_multipart_body_leaves_no_temp_file(client: Client) -> None:
    project = create_project(client)
    body, headers = multipart([("file", "a.txt", b"the part is never closed")])

    refused(
        client,
        lambda: client.post(
            f"/api/projects/{project['id']}/documents",
            content=body[: body.rindex(b"\r\n--")],
            headers=headers,
        ),
        400,
    )


def test_an_upload_refused_for_one_file_records_none_of_them(client: Client) -> None:
    project = create_project(client)
    body, headers = multipart(
        [("file", "c.txt", b"would be recorded before the refusal"), ("file", " .txt", b"x")]
    )

    problem_body = refused(
        client,
        lambda: client.post(
            f"/api/projects/{project['id']}/documents", content=body, headers=headers
        ),
        422,
    )

    assert problem_body["errors"][0]["field"] == "title"


def test_a_deep_archive_path_becomes_a_shortened_title(client: Client) -> None:
    project = create_project(client)
    deep = "/".join(["folder" * 10] * 6) + "/notes.txt"  # a path over 300 characters
    archive = zip_of(("first.txt", b"first"), (deep, b"deep notes"))

    results = ok(upload(client, project["id"], ("a.zip", archive)), 201)

    titles = sorted(item["title"] for item in results["documents"])
    assert titles[0] == "first.txt"
    assert titles[1].startswith("…")
    assert titles[1].endswith("/notes.txt")
    assert len(titles[1]) == 300


def test_an_upload_refused_by_its_command_stores_nothing(client: Client) -> None:
    project = create_project(client)
    missing = "3f7c1f9e-0000-4000-8000-000000000000"
    url = f"/api/projects/{project['id']}/documents"

    refused(client, lambda: upload(client, missing, ("orphan.txt", b"orphaned bytes")), 404)
    refused(client, lambda: client.post(url, json={"title": "  ", "text": "orphan"}), 422)


def test_the_upload_answer_shows_the_title_as_recorded(client: Client) -> None:
    project = create_project(client)

    results = ok(
        client.post(
            f"/api/projects/{project['id']}/documents",
            json={"title": "  Padded title  ", "text": "text"},
        ),
        201,
    )

    (item,) = results["documents"]
    recorded = get_document(client, item["document_id"], results["position"])
    assert recorded["title"] == "Padded title"
    assert item["title"] == recorded["title"]


def test_content_held_by_a_forced_copy_stays_a_duplicate_after_the_original_is_deleted(
    client: Client,
) -> None:
    project = create_project(client)
    data = b"kept by the forced copy"
    original = uploaded(client, project["id"], ("x.txt", data))["documents"][0]
    copy = uploaded(client, project["id"], ("x.txt", data), force=True)["documents"][0]
    ok(client.delete(f"/api/documents/{original['document_id']}"))

    again = upload(client, project["id"], ("x.txt", data))

    assert again.status_code == 200, again.json()
    assert again.json()["documents"][0]["duplicate_of"] == copy["document_id"]
