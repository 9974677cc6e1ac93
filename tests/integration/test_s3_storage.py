"""Originals in an S3-compatible bucket: the store's contract, and ingest through the HTTP API.

The bucket lives in moto's standalone server, started as a separate process on loopback, so every
call crosses real HTTP (tests/s3_support.py). Tests that need it fail, not skip, when it cannot
start. Some tests stop their own server to see how Cortex behaves while storage is down.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from litestar.testing import TestClient

from cortex.api.app import create_app
from cortex.bootstrap import Cortex, bootstrap
from cortex.storage.base import ObjectMissing, ObjectStore, StorageUnavailable, content_key
from cortex.storage.local import LocalObjectStore
from cortex.storage.s3 import S3ObjectStore
from tests.api.helpers import create_project, ok, problem
from tests.conftest import make_settings
from tests.s3_support import MotoServer, MotoServerError, closed_port, unique_bucket

Client = TestClient[Any]
T = TypeVar("T")

DOCUMENT = (
    "# Storage notes\n\n"
    + "\n\n".join(
        f"## Part {n}\n\nOriginals are kept by content hash in an object store; paragraph {n} "
        "says so in enough words to make a chunk or two of text for the tokenizer to count."
        for n in range(1, 8)
    )
).encode()


# Fixtures -----------------------------------------------------------------------------------


def _started(log_dir: Path) -> MotoServer:
    server = MotoServer(log_dir)
    try:
        server.start()
    except (MotoServerError, OSError) as error:
        pytest.fail(f"the moto S3 server could not start: {error}")
    return server


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One moto server shared by the tests that leave it running (each uses its own bucket)."""
    server = _started(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def own_moto(tmp_path: Path) -> Iterator[MotoServer]:
    """A moto server for this test alone: the test may stop it."""
    server = _started(tmp_path)
    yield server
    server.stop()


@pytest.fixture(params=["local", "s3"])
def object_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    """Each ObjectStore in turn: a local folder, then a fresh bucket on the moto server."""
    store: ObjectStore
    if request.param == "local":
        store = LocalObjectStore(tmp_path / "objects")
    else:
        server: MotoServer = request.getfixturevalue("moto")
        s3 = server.store(unique_bucket(), tmp_path / "staging")
        s3.ensure_bucket()
        store = s3
    yield store
    store.close()


@contextmanager
def cortex_on_s3(
    server: MotoServer, tmp_path: Path, *, workers: bool = True, **extra: str
) -> Iterator[tuple[Cortex, Client, str]]:
    """Cortex (SQLite) keeping originals in a fresh bucket; projections following the log.

    Yields the Cortex, a TestClient on its app and the bucket's name.
    """
    bucket = unique_bucket("cortex-api")
    server.create_bucket(bucket, tmp_path / "setup-staging")
    settings = make_settings(tmp_path, **server.storage_env(bucket, **extra))
    with ExitStack() as stack:
        cortex = bootstrap(settings, migrate_read_store=True)
        stack.callback(cortex.close)
        assert isinstance(cortex.store, S3ObjectStore)
        cortex.start_projections()
        if workers:
            cortex.start_workers()
        client = stack.enter_context(TestClient(create_app(cortex=cortex)))
        yield cortex, client, bucket


# Helpers ------------------------------------------------------------------------------------


def eventually(
    probe: Callable[[], T], done: Callable[[T], bool], *, timeout: float, what: str
) -> T:
    """Probe until done(value) holds; fail with the last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout:g} s; last seen: {value!r}")
        time.sleep(0.05)


def staged_file(store: ObjectStore, data: bytes, name: str = "upload.tmp") -> Path:
    path = store.staging_dir() / name
    path.write_bytes(data)
    return path


def upload(client: Client, project_id: str, data: bytes, filename: str = "notes.md") -> Any:
    return client.post(
        f"/api/projects/{project_id}/documents",
        files={"file": (filename, data, "text/markdown")},
    )


def job(client: Client, job_id: str, after: int) -> dict[str, Any]:
    return ok(client.get(f"/api/ingest/jobs/{job_id}", params={"after": after}))


def wait_for_job(
    client: Client, job_id: str, after: int, status: str, timeout: float = 20.0
) -> dict[str, Any]:
    return eventually(
        lambda: job(client, job_id, after),
        lambda row: row["status"] in {status, "failed", "completed", "cancelled"},
        timeout=timeout,
        what=f"job {job_id} {status}",
    )


# 1. The ObjectStore contract, for the local folder and the S3 bucket --------------------------


def test_put_file_stores_the_bytes_under_the_key_and_consumes_the_temp_file(
    object_store: ObjectStore,
) -> None:
    data = os.urandom(300 * 1024)
    key = content_key(hashlib.sha256(data).hexdigest())
    path = staged_file(object_store, data)

    object_store.put_file(key, path)

    assert not path.exists()
    assert object_store.read_bytes(key) == data


def test_iter_bytes_streams_the_object_in_chunks_that_join_to_its_bytes(
    object_store: ObjectStore,
) -> None:
    data = os.urandom(200 * 1024 + 123)
    key = content_key(hashlib.sha256(data).hexdigest())
    object_store.put_file(key, staged_file(object_store, data))

    chunks = list(object_store.iter_bytes(key, chunk_size=64 * 1024))

    assert len(chunks) > 1
    assert all(0 < len(chunk) <= 64 * 1024 for chunk in chunks)
    assert b"".join(chunks) == data


def test_modified_at_is_none_when_missing_and_recent_once_stored(
    object_store: ObjectStore,
) -> None:
    data = b"modified-at " + os.urandom(16)
    key = content_key(hashlib.sha256(data).hexdigest())
    assert object_store.modified_at(key) is None

    before = datetime.now(UTC)
    object_store.put_file(key, staged_file(object_store, data))
    modified = object_store.modified_at(key)

    assert modified is not None
    assert modified.tzinfo is not None
    # S3 keeps whole seconds; allow for that and a little clock skew.
    assert before - timedelta(seconds=2) <= modified <= datetime.now(UTC) + timedelta(seconds=2)


def test_delete_removes_the_object_and_reading_it_then_raises_object_missing(
    object_store: ObjectStore,
) -> None:
    data = b"to be deleted " + os.urandom(16)
    key = content_key(hashlib.sha256(data).hexdigest())
    object_store.put_file(key, staged_file(object_store, data))

    object_store.delete(key)

    with pytest.raises(ObjectMissing):
        object_store.read_bytes(key)
    with pytest.raises(ObjectMissing):
        next(iter(object_store.iter_bytes(key)))
    assert object_store.modified_at(key) is None
    object_store.delete(key)  # deleting what is gone is harmless


def test_reading_a_key_never_stored_raises_object_missing(object_store: ObjectStore) -> None:
    with pytest.raises(ObjectMissing):
        object_store.read_bytes(content_key("0" * 64))


def test_storing_the_same_key_again_refreshes_modified_at(object_store: ObjectStore) -> None:
    data = b"stored twice " + os.urandom(16)
    key = content_key(hashlib.sha256(data).hexdigest())
    object_store.put_file(key, staged_file(object_store, data))
    first = object_store.modified_at(key)

    time.sleep(1.1)  # S3's LastModified has one-second resolution
    object_store.put_file(key, staged_file(object_store, data))
    second = object_store.modified_at(key)

    assert first is not None
    assert second is not None
    assert second > first
    assert object_store.read_bytes(key) == data


def test_check_passes_on_a_usable_store(object_store: ObjectStore) -> None:
    object_store.check()


# 2. Unreachable storage ---------------------------------------------------------------------


def test_unreachable_s3_raises_storage_unavailable_quickly(tmp_path: Path) -> None:
    store = S3ObjectStore(
        bucket="cortex-unreachable",
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
        access_key="testing",
        secret_key="testing",
        staging_dir=tmp_path / "staging",
        connect_timeout=0.5,
    )
    key = content_key("a" * 64)
    path = staged_file(store, b"never stored")
    calls: dict[str, Callable[[], object]] = {
        "read_bytes": lambda: store.read_bytes(key),
        "check": store.check,
        "modified_at": lambda: store.modified_at(key),
        "iter_bytes": lambda: next(iter(store.iter_bytes(key))),
        "delete": lambda: store.delete(key),
        "put_file": lambda: store.put_file(key, path),
    }

    def attempt(call: Callable[[], object]) -> tuple[BaseException | None, float]:
        started = time.monotonic()
        try:
            call()
        except Exception as error:
            return error, time.monotonic() - started
        return None, time.monotonic() - started

    try:
        # Concurrently (the store serves threads): each call may back off for a second or two.
        with ThreadPoolExecutor(len(calls)) as pool:
            outcomes = dict(zip(calls, pool.map(attempt, calls.values()), strict=True))
    finally:
        store.close()

    for name, (error, elapsed) in outcomes.items():
        # StorageUnavailable itself, not ObjectMissing: an unreachable store is not an empty one.
        assert type(error) is StorageUnavailable, f"{name}: {error!r}"
        assert "cortex-unreachable" in str(error), name
        assert elapsed < 5, f"{name} took {elapsed:.1f} s"
    assert not path.exists()  # the temp file is consumed even when storing it failed


# 3-5. Ingest through the HTTP API with originals in the bucket ------------------------------


def test_uploaded_file_is_ingested_stored_served_and_purged_on_delete(
    moto: MotoServer, tmp_path: Path
) -> None:
    with cortex_on_s3(moto, tmp_path) as (_, client, bucket):
        project_id = create_project(client, "S3 project")["id"]
        sha256 = hashlib.sha256(DOCUMENT).hexdigest()

        uploaded = ok(upload(client, project_id, DOCUMENT), 201)
        document = uploaded["documents"][0]
        assert document["created"] is True
        assert document["sha256"] == sha256

        finished = wait_for_job(client, document["job_id"], uploaded["position"], "completed")
        assert finished["status"] == "completed", finished
        assert finished["attempts"] == 0
        assert finished["chunk_count"] >= 1

        assert moto.keys(bucket) == [content_key(sha256)]
        assert content_key(sha256) == f"objects/{sha256[:2]}/{sha256}"

        content = client.get(f"/api/documents/{document['document_id']}/content")
        assert content.status_code == 200, content.text
        assert content.content == DOCUMENT
        assert content.headers["etag"] == f'"{sha256}"'

        ok(client.delete(f"/api/documents/{document['document_id']}"))
        eventually(
            lambda: moto.keys(bucket),
            lambda keys: keys == [],
            timeout=20,
            what="the original purged from the bucket",
        )


def test_upload_while_storage_is_down_answers_503_and_records_nothing(
    own_moto: MotoServer, tmp_path: Path
) -> None:
    with cortex_on_s3(own_moto, tmp_path) as (cortex, client, _):
        project = create_project(client, "Storage down")
        own_moto.stop()

        started = time.monotonic()
        answer = upload(client, project["id"], DOCUMENT)

        assert time.monotonic() - started < 10
        body = problem(answer, 503)
        assert body["title"] == "Storage unavailable"
        assert answer.headers["retry-after"]
        settled = cortex.log.head()
        assert settled == project["position"]  # no event was appended
        listed = ok(
            client.get(f"/api/projects/{project['id']}/documents", params={"after": settled})
        )
        assert listed["items"] == []
        staging = cortex.store.staging_dir()
        assert list(staging.iterdir()) == []  # the staged upload was not left behind


def test_job_fails_after_its_attempts_when_storage_goes_down_before_the_worker_runs(
    own_moto: MotoServer, tmp_path: Path
) -> None:
    with cortex_on_s3(
        own_moto,
        tmp_path,
        workers=False,
        # One worker thread: the upload's message and the reconciler's start-up re-send are then
        # handled one after the other. Two deliveries failing at the same moment can record more
        # attempts than the maximum (IngestPipeline._fail decides `final` before recording).
        CORTEX_WORKER_THREADS="1",
        CORTEX_INGEST_MAX_ATTEMPTS="2",
        CORTEX_INGEST_RETRY_BACKOFF_SECONDS="0.1",
    ) as (cortex, client, bucket):
        project_id = create_project(client, "Worker without storage")["id"]
        uploaded = ok(upload(client, project_id, DOCUMENT), 201)
        document = uploaded["documents"][0]
        assert own_moto.keys(bucket) == [content_key(document["sha256"])]
        queued = job(client, document["job_id"], uploaded["position"])
        assert queued["status"] == "queued"

        own_moto.stop()
        cortex.start_workers()

        failed = wait_for_job(client, document["job_id"], uploaded["position"], "failed", 30)
        assert failed["status"] == "failed", failed
        assert failed["attempts"] == 2, failed
        assert failed["failed_stage"] == "extract"
        assert "StorageUnavailable" in failed["error"]
        assert bucket in failed["error"]
        assert "connect" in failed["error"].lower()


def test_content_while_storage_is_down_answers_503(own_moto: MotoServer, tmp_path: Path) -> None:
    with cortex_on_s3(own_moto, tmp_path) as (_, client, _):
        project_id = create_project(client, "Content without storage")["id"]
        uploaded = ok(upload(client, project_id, DOCUMENT), 201)
        document = uploaded["documents"][0]
        wait_for_job(client, document["job_id"], uploaded["position"], "completed")
        own_moto.stop()

        answer = client.get(f"/api/documents/{document['document_id']}/content")

        body = problem(answer, 503)
        assert body["title"] == "Storage unavailable"
