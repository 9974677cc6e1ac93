"""/metrics: HTTP requests by route template, events appended, projection lag, queue depth, and
prometheus_client's multiprocess mode (several processes, one scrape)."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from litestar import Litestar, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.testing import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from cortex.api.app import create_app
from cortex.api.controllers.metrics import MetricsController
from cortex.bootstrap import Cortex, bootstrap
from cortex.embeddings.chain import ModelChoice
from cortex.embeddings.model import Embedded, Vectors
from cortex.embeddings.provider import EmbeddingProvider
from cortex.observability import metrics
from cortex.observability.http_metrics import measure_requests
from cortex.observability.metrics import Lag
from cortex.observability.readings import projection_lags
from cortex.settings import EmbeddingSettings
from tests.api.conftest import Client
from tests.api.helpers import capture_idea, create_project, ok
from tests.conftest import catch_up, make_settings

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

REDIS_URL = os.environ.get("CORTEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
REDIS_DB = 15  # flushed by these tests; nothing else uses it
ROOT = Path(__file__).resolve().parents[2]


def scrape(client: TestClient[Any]) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def labelled(samples: Samples, name: str, label: str) -> dict[str, float]:
    """Every sample of a metric by one label's value."""
    return {
        dict(labels)[label]: sample
        for (sample_name, labels), sample in samples.items()
        if sample_name == name
    }


@pytest.fixture
def sqlite_cortex(tmp_path: Path) -> Iterator[Cortex]:
    """Cortex on SQLite and the in-memory broker, nothing running: projections and queues wait."""
    wired = bootstrap(make_settings(tmp_path), migrate_read_store=True)
    yield wired
    wired.close()


# HTTP requests --------------------------------------------------------------------------------


@get("/things/{thing_id:uuid}", sync_to_thread=False)
def get_thing(thing_id: FromPath[uuid.UUID]) -> dict[str, str]:
    if thing_id.int == 0:
        raise NotFoundException("no such thing")
    if thing_id.int == 1:
        raise RuntimeError("a bug")
    return {"id": str(thing_id)}


def test_requests_are_counted_by_route_template_method_and_status() -> None:
    app = measure_requests(Litestar([get_thing, MetricsController]))
    http = {"method": "GET", "path": "/things/{thing_id}", "app_name": "cortex"}
    with TestClient(app, raise_server_exceptions=False) as client:
        before = scrape(client)
        for _ in range(2):
            assert client.get(f"/things/{uuid.uuid4()}").status_code == 200
        assert client.get(f"/things/{uuid.UUID(int=0)}").status_code == 404
        assert client.get(f"/things/{uuid.UUID(int=1)}").status_code == 500
        assert client.get("/nowhere").status_code == 404  # no route: not counted
        samples = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return (value(samples, name, **labels) or 0) - (value(before, name, **labels) or 0)

    assert delta("cortex_http_requests_total", **http, status_code="200") == 2
    assert delta("cortex_http_requests_total", **http, status_code="404") == 1
    assert delta("cortex_http_requests_error_total", **http, status_code="500") == 1
    assert delta("cortex_http_requests_error_total", **http, status_code="404") == 0
    assert delta("cortex_http_request_duration_seconds_count", **http, status_code="200") == 2
    assert value(samples, "cortex_http_requests_in_progress", method="GET", app_name="cortex") == 1
    assert not [labels for (_, labels) in samples if dict(labels).get("path") == "/nowhere"]
    for le in ("0.005", "0.1", "1.0", "300.0", "+Inf"):
        bucket = value(
            samples, "cortex_http_request_duration_seconds_bucket", **http, status_code="200", le=le
        )
        assert bucket is not None, le
    assert not [
        labels for (name, labels) in samples if dict(labels).get("path", "").count("-") == 4
    ], "a raw path with an id was used as a label"


def test_the_app_counts_requests_by_route_template(client: Client) -> None:
    project = create_project(client)
    idea = capture_idea(client, project["id"])
    ok(client.get(f"/api/ideas/{idea['id']}", params={"after": idea["position"]}))
    missing = client.get(f"/api/ideas/{uuid.uuid4()}", params={"after": idea["position"]})
    assert missing.status_code == 404

    samples = scrape(client)

    route = {"method": "GET", "path": "/api/ideas/{idea_id}", "app_name": "cortex"}
    assert (value(samples, "cortex_http_requests_total", **route, status_code="200") or 0) >= 1
    assert (value(samples, "cortex_http_requests_total", **route, status_code="404") or 0) >= 1
    posted = {"method": "POST", "path": "/api/ideas", "app_name": "cortex", "status_code": "201"}
    assert (value(samples, "cortex_http_requests_total", **posted) or 0) >= 1
    assert value(samples, "cortex_http_request_duration_seconds_bucket", **route,
                 status_code="200", le="+Inf")  # fmt: skip
    assert not any(idea["id"] in dict(labels).get("path", "") for (_, labels) in samples)


# Events appended ------------------------------------------------------------------------------


def test_events_appended_are_counted_by_type(client: Client) -> None:
    before = scrape(client)
    project = create_project(client)
    capture_idea(client, project["id"])
    capture_idea(client, project["id"], title="Another")
    after = scrape(client)

    def delta(event_type: str) -> float:
        name = "cortex_events_appended_total"
        return (value(after, name, type=event_type) or 0) - (
            value(before, name, type=event_type) or 0
        )

    assert delta("ProjectCreated") == 1
    assert delta("IdeaCaptured") == 2


# Embedding calls ------------------------------------------------------------------------------


class FakeModel:
    name = "fake"
    dimension = 2
    device = "cpu"

    def embed_passages(self, texts: list[str]) -> Embedded:
        return Embedded(np.ones((len(texts), 2), dtype=np.float32), 0)

    def embed_query(self, text: str) -> Vectors:
        raise MemoryError("out of memory")


def test_embedding_calls_and_errors_are_counted_by_kind() -> None:
    provider = EmbeddingProvider(EmbeddingSettings(models="fake", device="cpu"))
    provider.choice = ModelChoice(model=FakeModel())

    def sample(name: str, **labels: str) -> float:
        # Only these metrics: the scrape-time gauges would read the last (closed) Cortex.
        only = REGISTRY.restricted_registry([name])
        return next((s.value for m in only.collect() for s in m.samples if s.labels == labels), 0.0)

    before = {
        "ok": sample("cortex_embedding_calls_total", kind="passages", outcome="ok"),
        "error": sample("cortex_embedding_calls_total", kind="query", outcome="error"),
        "oom": sample("cortex_embedding_errors_total", kind="query", error="MemoryError"),
        "seconds": sample("cortex_embedding_seconds_count", kind="query"),
    }
    model = provider.model()
    assert model is not None
    assert (model.name, model.dimension) == ("fake", 2)
    assert model.embed_passages(["a", "b"]).vectors.shape == (2, 2)
    with pytest.raises(MemoryError):
        model.embed_query("a")

    assert sample("cortex_embedding_calls_total", kind="passages", outcome="ok") == before["ok"] + 1
    assert sample("cortex_embedding_calls_total", kind="query", outcome="error") == (
        before["error"] + 1
    )
    assert sample("cortex_embedding_errors_total", kind="query", error="MemoryError") == (
        before["oom"] + 1
    )
    assert sample("cortex_embedding_seconds_count", kind="query") == before["seconds"] + 1


# Projection lag -------------------------------------------------------------------------------


def test_projection_lag_per_projector_until_they_catch_up(sqlite_cortex: Cortex) -> None:
    with TestClient(create_app(cortex=sqlite_cortex)) as client:
        project = create_project(client)
        capture_idea(client, project["id"])
        head = sqlite_cortex.log.head()

        behind = scrape(client)
        events = labelled(behind, "cortex_projection_lag_events", "projection")
        seconds = labelled(behind, "cortex_projection_lag_seconds", "projection")
        assert set(events) == set(seconds) == set(sqlite_cortex.runners)
        assert events == dict.fromkeys(sqlite_cortex.runners, float(head))
        assert all(age >= 0 for age in seconds.values())

        catch_up(sqlite_cortex)
        caught_up = scrape(client)
        zeros = dict.fromkeys(sqlite_cortex.runners, 0.0)
        assert labelled(caught_up, "cortex_projection_lag_events", "projection") == zeros
        assert labelled(caught_up, "cortex_projection_lag_seconds", "projection") == zeros


def test_projection_lag_seconds_is_the_age_of_the_oldest_unapplied_event(
    sqlite_cortex: Cortex,
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def create(name: str, at: datetime) -> int:
        return sqlite_cortex.projects.create_project(
            project_id=uuid.uuid4(), name=name, description="", at=at
        ).position

    first = create("First", start)
    second = create("Second", start + timedelta(seconds=30))
    positions = {"none": lambda: first - 1, "first": lambda: first, "both": lambda: second}

    lags = projection_lags(sqlite_cortex.log, positions, now=lambda: start + timedelta(seconds=90))

    assert lags["none"] == Lag(second - first + 1, 90.0)
    assert lags["first"] == Lag(second - first, 60.0)
    assert lags["both"] == Lag(0, 0.0)


# Queue depth ----------------------------------------------------------------------------------


def test_queue_depth_of_the_in_memory_broker(sqlite_cortex: Cortex) -> None:
    actors = sqlite_cortex.actors
    actors.ingest_document.send(str(uuid.uuid4()), str(uuid.uuid4()))
    actors.ingest_document.send(str(uuid.uuid4()), str(uuid.uuid4()))
    actors.ingest_document.send_with_options(
        args=(str(uuid.uuid4()), str(uuid.uuid4())), delay=60_000
    )
    with TestClient(create_app(cortex=sqlite_cortex)) as client:
        depth = labelled(scrape(client), "cortex_queue_depth", "queue")

    assert depth["ingest"] == 2
    assert depth["ingest.DQ"] == 1
    assert depth["ingest.XQ"] == 0
    assert depth["embed"] == depth["lanes"] == 0
    assert {"ingest", "embed", "lanes"} <= set(depth)


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(f"{REDIS_URL}/{REDIS_DB}")
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis at {REDIS_URL} unreachable: {error}")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def test_queue_depth_read_from_redis(tmp_path: Path, redis_db: redis.Redis) -> None:
    settings = make_settings(
        tmp_path, CORTEX_REDIS_URL=f"{REDIS_URL}/{REDIS_DB}", CORTEX_WORKERS_IN_PROCESS="false"
    )
    cortex = bootstrap(settings, migrate_read_store=True)
    try:
        for _ in range(3):
            cortex.actors.embed_document.send(str(uuid.uuid4()), str(uuid.uuid4()))
        cortex.actors.ingest_document.send_with_options(
            args=(str(uuid.uuid4()), str(uuid.uuid4())), delay=60_000
        )
        redis_db.zadd("cortex:ingest.XQ", {"dead-message-id": 1})
        with TestClient(create_app(cortex=cortex)) as client:
            depth = labelled(scrape(client), "cortex_queue_depth", "queue")
    finally:
        cortex.close()

    assert depth["embed"] == 3
    assert depth["ingest"] == 0
    assert depth["ingest.DQ"] == 1
    assert depth["ingest.XQ"] == 1
    assert depth["lanes"] == depth["lanes.DQ"] == depth["lanes.XQ"] == 0


class Warnings:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.events.append((event, fields))


def test_an_unreachable_broker_leaves_queue_depth_out_of_a_successful_scrape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warnings = Warnings()
    monkeypatch.setattr(metrics, "logger", warnings)
    settings = make_settings(
        tmp_path, CORTEX_REDIS_URL="redis://127.0.0.1:1/0", CORTEX_WORKERS_IN_PROCESS="false"
    )
    cortex = bootstrap(settings, migrate_read_store=True)
    try:
        with TestClient(create_app(cortex=cortex)) as client:
            samples = scrape(client)
    finally:
        cortex.close()

    assert not labelled(samples, "cortex_queue_depth", "queue")
    assert labelled(samples, "cortex_projection_lag_events", "projection")
    assert [(event, fields["metrics"]) for event, fields in warnings.events] == [
        ("metrics_source_failed", "queue_depth")
    ]


# Several processes ----------------------------------------------------------------------------

WRITER = """
from cortex.observability import metrics
metrics.EVENTS_APPENDED.labels("MultiprocessProbe").inc({count})
metrics.EMBEDDING_SECONDS.labels("probe").observe(0.2)
"""


def test_multiprocess_mode_sums_every_process_and_reports_scrape_time_gauges_once(
    sqlite_cortex: Cortex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    for count in (2, 3):
        subprocess.run(
            [sys.executable, "-c", WRITER.format(count=count)], env=env, cwd=ROOT, check=True
        )
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))

    with TestClient(create_app(cortex=sqlite_cortex)) as client:
        response = client.get("/metrics")
        samples = scrape(client)

    assert value(samples, "cortex_events_appended_total", type="MultiprocessProbe") == 5
    assert value(samples, "cortex_embedding_seconds_count", kind="probe") == 2
    assert value(samples, "cortex_embedding_seconds_bucket", kind="probe", le="0.25") == 2
    assert value(samples, "cortex_embedding_seconds_bucket", kind="probe", le="0.1") == 0
    for family in ("cortex_projection_lag_events", "cortex_queue_depth"):
        assert response.text.count(f"# TYPE {family} gauge") == 1
    assert set(labelled(samples, "cortex_projection_lag_events", "projection")) == set(
        sqlite_cortex.runners
    )


def test_a_process_without_the_api_serves_the_scrape_on_its_own_port() -> None:
    server, thread = metrics.serve_metrics(0, "127.0.0.1")
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            body = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert "# TYPE cortex_events_appended_total counter" in body
