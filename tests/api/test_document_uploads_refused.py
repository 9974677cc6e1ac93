"""Uploads Cortex refuses, over HTTP on SQLite and PostgreSQL: bad names, empty or binary files,
limits, archives and zip bombs, bodies that are not uploads. A refusal is a problem+json answer
that records nothing: no event, no stored object, no temp file left behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from tests.api.conftest import Client
from tests.api.documents_support import (
    PNG,
    chunks,
    documents,
    get_document,
    multipart,
    refused,
    run_job,
    upload,
    uploaded,
    zip_of,
)
from tests.api.helpers import create_project, ok, problem


def post_raw(client: Client, project_id: str, parts: list[tuple[str, str | None, bytes]]) -> Any:
    body, headers = multipart(parts)
    return client.post(f"/api/projects/{project_id}/documents", content=body, headers=headers)


# --- files and names ---------------------------------------------------------------------------


REFUSED_FILES: list[tuple[str, list[tuple[str, str | None, bytes]], int, str]] = [
    ("empty", [("file", "empty.txt", b"")], 422, "the file is empty"),
    ("dotdot", [("file", "../x.txt", b"up")], 422, "must not contain / or \\"),
    ("slash", [("file", "dir/x.txt", b"down")], 422, "must not contain / or \\"),
    ("backslash", [("file", "a\\b.txt", b"back")], 422, "must not contain / or \\"),
    ("only-dots", [("file", "..", b"dots")], 422, "must not be empty, '.' or '..'"),
    ("no-name", [("file", "", b"nameless")], 422, "must not be empty"),
    ("bell", [("file", "bell\x07.txt", b"ding")], 422, "control or invisible"),
    ("tab", [("file", "tab\there.txt", b"tab")], 422, "control or invisible"),
    ("rtl-override", [("file", "cod\u202etxt.exe", b"rtl")], 422, "control or invisible"),
    ("too-long", [("file", "x" * 252 + ".txt", b"long")], 422, "longer than 255 bytes"),
    ("other-field", [("upload", "a.txt", b"text")], 422, "unexpected form field 'upload'"),
    ("no-filename", [("file", None, b"text")], 422, "needs a filename"),
    ("no-parts", [], 422, "holds no file"),
    ("good-then-empty", [("file", "ok.txt", b"fine"), ("file", "e.txt", b"")], 422, "is empty"),
    ("good-then-field", [("file", "ok.txt", b"ok"), ("title", None, b"x")], 422, "form field"),
    ("png-as-text", [("file", "pic.txt", PNG)], 415, "image/png is not accepted"),
    ("binary", [("file", "blob.txt", b"\x00\x01\x02binary" * 10)], 415, "is not accepted"),
    (
        "office",
        [("file", "r.docx", b"PK\x03\x04\x14\x00\x00\x00[Content_Types].xml" + b"\0" * 40)],
        415,
        "an Office document",
    ),
]


def test_a_refused_file_is_a_problem_and_nothing_is_kept(client: Client) -> None:
    project = create_project(client)

    for case, parts, status, says in REFUSED_FILES:
        body = refused(client, lambda parts=parts: post_raw(client, project["id"], parts), status)
        assert says in body["detail"], (case, body)

    assert documents(client, project["id"]) == []


def test_bodies_that_are_not_uploads_are_refused(client: Client) -> None:
    project = create_project(client)
    url = f"/api/projects/{project['id']}/documents"

    def post(**kwargs: Any) -> Callable[[], Any]:
        return lambda: client.post(url, **kwargs)

    plain = refused(client, post(content=b"text", headers={"Content-Type": "text/plain"}), 415)
    assert "multipart/form-data" in plain["detail"]
    refused(client, post(content=b"x", headers={"Content-Type": "multipart/form-data"}), 415)
    refused(client, post(content=b"x", headers={"Content-Type": "application/pdf"}), 415)
    missing_title = refused(client, post(json={"text": "no title"}), 422)
    assert "`title`" in missing_title["detail"], missing_title
    missing_text = refused(client, post(json={"title": "No text"}), 422)
    assert "`text`" in missing_text["detail"]
    unknown = refused(client, post(json={"title": "T", "text": "x", "tags": ["a"]}), 422)
    assert "tags" in unknown["detail"]
    assert "title" in refused(client, post(json={"title": "", "text": "x"}), 422)["detail"]
    blank = problem(client.post(url, json={"title": "   ", "text": "x"}), 422)
    assert blank["errors"] == [{"field": "title", "message": "must not be empty"}]
    refused(client, post(json={"title": "T", "text": ""}), 422)
    refused(client, post(json=["title", "text"]), 422)
    refused(client, post(json={"title": "T", "text": "x", "filename": "../x.md"}), 422)
    refused(client, post(json={"title": "T", "text": "nul \x00 inside"}), 415)
    bad_json = post(content=b'{"title": ', headers={"Content-Type": "application/json"})
    assert "not valid JSON" in refused(client, bad_json, 400)["detail"]
    assert documents(client, project["id"]) == []


def test_size_and_count_limits_are_413_and_nothing_is_kept(
    make_client: Callable[..., Client],
) -> None:
    client = make_client(CORTEX_INGEST_MAX_BYTES="2048", CORTEX_INGEST_MAX_FILES="2")
    project = create_project(client)
    url = f"/api/projects/{project['id']}/documents"

    def send(*files: tuple[str, bytes]) -> Callable[[], Any]:
        return lambda: upload(client, project["id"], *files)

    too_big = refused(client, send(("big.txt", b"a" * 2049)), 413)
    assert too_big["errors"] == [
        {"field": "file", "file": "big.txt", "message": "the file is larger than 2048 bytes"}
    ]
    refused(client, send(("small.txt", b"small"), ("big.txt", b"b" * 2049)), 413)
    three = refused(client, send(("1.txt", b"1"), ("2.txt", b"2"), ("3.txt", b"3")), 413)
    assert "at most 2 files" in three["detail"]
    refused(client, lambda: client.post(url, json={"title": "T", "text": "c" * 2049}), 413)
    # Refused on its declared length, before a byte is read: else it would be a 415.
    ceiling = 2 * (2048 + 64 * 1024)
    early = refused(
        client,
        lambda: client.post(url, content=b"x" * (ceiling + 1), headers={"Content-Type": "text/x"}),
        413,
    )
    assert f"larger than {ceiling} bytes" in early["detail"]
    assert documents(client, project["id"]) == []

    results = uploaded(client, project["id"], ("max.txt", b"m" * 2048), ("two.txt", b"2"))
    (item, _) = results["documents"]
    assert item["size_bytes"] == 2048
    version_url = f"/api/documents/{item['document_id']}/versions"
    refused(client, lambda: client.post(version_url, files={"file": ("v.txt", b"v" * 2049)}), 413)
    one_file_ceiling = 2048 + 64 * 1024
    early_version = refused(
        client,
        lambda: client.post(
            version_url,
            content=b"x" * (one_file_ceiling + 1),
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        ),
        413,
    )
    assert f"larger than {one_file_ceiling} bytes" in early_version["detail"]
    assert get_document(client, item["document_id"])["latest_version"] == 1


# --- archives ----------------------------------------------------------------------------------


def test_zip_members_become_documents_titled_by_their_path(client: Client) -> None:
    project = create_project(client)
    archive = zip_of(
        ("docs/", b""),
        ("docs/intro.txt", b"Introduction to the archive."),
        ("docs/deep/guide.md", b"# Guide\n\nHow to read it."),
        ("docs/picture.png", PNG),
        ("docs/empty.txt", b""),
        ("nested.zip", zip_of(("inner.txt", b"inner"))),
    )

    response = upload(
        client,
        project["id"],
        ("bundle.zip", archive, "application/octet-stream"),
        ("loose.txt", b"Loose file."),
    )

    results = ok(response, 201)
    made = {item["title"]: item for item in results["documents"]}
    assert set(made) == {"docs/intro.txt", "docs/deep/guide.md", "loose"}
    assert [(made[t]["filename"], made[t]["kind"]) for t in sorted(made)] == [
        ("guide.md", "markdown"),
        ("intro.txt", "text"),
        ("loose.txt", "text"),
    ]
    skipped = {item["name"]: item["reason"] for item in results["skipped"]}
    assert set(skipped) == {
        "bundle.zip/docs/picture.png",
        "bundle.zip/docs/empty.txt",
        "bundle.zip/nested.zip",
    }
    assert "not accepted" in skipped["bundle.zip/docs/picture.png"]
    assert skipped["bundle.zip/docs/empty.txt"] == "the file is empty"
    assert skipped["bundle.zip/nested.zip"] == "archives inside archives are skipped"
    intro = made["docs/intro.txt"]
    get_document(client, intro["document_id"], results["position"])
    served = client.get(f"/api/documents/{intro['document_id']}/content")
    assert served.content == b"Introduction to the archive."
    assert served.headers["content-disposition"] == "attachment; filename*=UTF-8''intro.txt"
    listed = {d["title"]: d for d in documents(client, project["id"], after=results["position"])}
    assert set(listed) == set(made)
    run_job(client, intro["document_id"], intro["job_id"])
    assert [c["text"] for c in chunks(client, intro["document_id"])] == [
        "Introduction to the archive."
    ]
    # The same archive again: every member is a duplicate.
    again = ok(upload(client, project["id"], ("copy.zip", archive)), 200)
    assert {item["duplicate_of"] for item in again["documents"]} == {
        made["docs/intro.txt"]["document_id"],
        made["docs/deep/guide.md"]["document_id"],
    }


def encrypted_zip() -> bytes:
    """A zip whose member is flagged encrypted (zipfile cannot write encryption, nor the flag:
    it is set in the local and central headers afterwards)."""
    data = bytearray(zip_of(("secret.txt", b"not really encrypted")))
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")
    data[local + 6] |= 0x1
    data[central + 8] |= 0x1
    return bytes(data)


def test_archives_that_cannot_be_opened_safely_are_refused(client: Client) -> None:
    project = create_project(client)

    def send(archive: bytes) -> Callable[[], Any]:
        return lambda: upload(client, project["id"], ("a.zip", archive, "application/zip"))

    escape = refused(client, send(zip_of(("../x.txt", b"escape"))), 422)
    assert escape["errors"][0]["file"] == "../x.txt"
    assert "must not be empty, '.' or '..'" in escape["detail"]
    refused(client, send(zip_of(("ok.txt", b"fine"), ("a/../../x.txt", b"escape"))), 422)
    refused(client, send(zip_of(("/etc/x.txt", b"absolute"))), 422)
    refused(client, send(zip_of(("a\\b.txt", b"backslash"))), 422)
    refused(client, send(zip_of(("C:/x.txt", b"drive"))), 422)
    refused(client, send(zip_of(("bell\x07.txt", b"control"))), 422)
    assert "encrypted" in refused(client, send(encrypted_zip()), 422)["detail"]
    corrupt = refused(client, send(b"PK\x03\x04" + os.urandom(64)), 422)
    assert "not a readable zip archive" in corrupt["detail"]
    assert "no files" in refused(client, send(zip_of(("only/", b""))), 422)["detail"]
    unsupported = refused(client, send(zip_of(("p.png", PNG), ("e.txt", b""))), 415)
    assert "no file in the upload can be ingested" in unsupported["detail"]
    bomb = refused(client, send(zip_of(("zeros.txt", b"0" * 4_000_000))), 413)
    assert "compressed more than 200:1" in bomb["detail"]
    assert documents(client, project["id"]) == []


def test_archive_limits_are_413(make_client: Callable[..., Client]) -> None:
    client = make_client(
        CORTEX_INGEST_MAX_BYTES="60000",
        CORTEX_INGEST_MAX_ARCHIVE_BYTES="100000",
        CORTEX_INGEST_MAX_ARCHIVE_MEMBERS="3",
    )
    project = create_project(client)

    def send(archive: bytes) -> Callable[[], Any]:
        return lambda: upload(client, project["id"], ("a.zip", archive, "application/zip"))

    hexes = os.urandom(35_000).hex().encode()  # 70,000 bytes that compress about 2:1
    spread = [(f"part{n}.txt", hexes[:50_500]) for n in range(2)]  # 101,000 bytes in all

    members = refused(client, send(zip_of(*[(f"{n}.txt", b"%d" % n) for n in range(4)])), 413)
    assert "more than 3 files" in members["detail"]
    total = refused(client, send(zip_of(*spread)), 413)
    assert "expands beyond 100000 bytes" in total["detail"]
    member = refused(client, send(zip_of(("big.txt", hexes))), 413)
    assert "larger than 60000 bytes" in member["detail"]
    bomb = refused(client, send(zip_of(("zeros.txt", b"\0" * 90_000))), 413)
    assert "compressed more than 200:1" in bomb["detail"]
    three = uploaded(
        client, project["id"], ("ok.zip", zip_of(*[(f"{n}.txt", b"%d" % n) for n in range(3)]))
    )
    assert len(three["documents"]) == 3
