"""/readyz with Redis, /api/system/ready (the checks in detail) and /api/system/info (secrets
masked). The local profile leaves auth off here; who may call the system routes is the route
matrix's to check."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from importlib.metadata import version
from pathlib import Path

import psycopg
import pytest
from litestar.testing import TestClient

from cortex.api.app import create_app
from cortex.bootstrap import bootstrap
from cortex.settings import VARIABLES
from tests.api.conftest import Client
from tests.api.helpers import ok
from tests.conftest import make_settings

LOCAL_REDIS = "redis://127.0.0.1:6379/15"
SECRETS = {
    "CORTEX_AUTH_SECRET": "auth-secret-that-must-not-leak-0123456789",
    "CORTEX_LLM_API_KEY": "sk-llm-key-that-must-not-leak",
    "CORTEX_LANE_CODER_API_KEY": "sk-coder-key-that-must-not-leak",
    "CORTEX_QDRANT_API_KEY": "qdrant-key-that-must-not-leak",
    "CORTEX_STORAGE_ACCESS_KEY": "storage-access-key-that-must-not-leak",
    "CORTEX_STORAGE_SECRET_KEY": "storage-secret-key-that-must-not-leak",
}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def make_postgres_client(postgres_url: str, tmp_path: Path) -> Iterator[Callable[..., Client]]:
    """A client on PostgreSQL reached through a URL that carries a password."""
    with ExitStack() as stack:

        def factory(**extra: str) -> Client:
            settings = make_settings(tmp_path, with_password(postgres_url), **extra)
            wired = bootstrap(settings, migrate_read_store=True)
            stack.callback(wired.close)
            wired.start_projections()
            return stack.enter_context(TestClient(create_app(cortex=wired)))

        yield factory


def with_password(url: str) -> str:
    """The URL with a password: its own, or one the test server ignores (trust auth)."""
    params = psycopg.conninfo.conninfo_to_dict(url)
    if params.get("password"):
        return url
    user = params.get("user", "postgres")
    host, port, dbname = params.get("host"), params.get("port", 5432), params.get("dbname")
    return f"postgresql://{user}:pg-password-that-must-not-leak@{host}:{port}/{dbname}"


def password_of(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["password"])


def test_info_masks_every_secret_and_database_password(
    make_postgres_client: Callable[..., Client], postgres_url: str
) -> None:
    client = make_postgres_client(**SECRETS)

    response = client.get("/api/system/info")
    body = ok(response)

    password = password_of(with_password(postgres_url))
    for secret in [*SECRETS.values(), password]:
        assert secret not in response.text
    config = body["configuration"]
    assert set(config) == set(VARIABLES)
    for name in SECRETS:
        assert config[name] == "***", name
    for name in ("CORTEX_DATABASE_URL", "CORTEX_READ_DATABASE_URL"):
        assert config[name].startswith("postgresql://"), config[name]
        assert ":***@" in config[name], config[name]
    assert body["version"] == version("cortex")
    assert body["profile"] == "local"
    assert body["python"].startswith("3.")


def test_info_shows_the_effective_values(make_client: Callable[..., Client]) -> None:
    client = make_client(CORTEX_READY_MAX_LAG="123", CORTEX_LLM_MODEL="tiny-model")

    config = ok(client.get("/api/system/info"))["configuration"]

    assert config["CORTEX_READY_MAX_LAG"] == 123
    assert config["CORTEX_LLM_MODEL"] == "tiny-model"
    assert config["CORTEX_AUTH_SECRET"] == ""  # not set: nothing to mask
    assert config["CORTEX_SKIP_AUTH"] is True  # the local profile's default
    assert config["CORTEX_READ_DATABASE_URL"]  # derived: beside the event store
    assert config["CORTEX_STORAGE_DIR"].endswith("storage")


def test_readiness_checks_redis_when_configured(make_client: Callable[..., Client]) -> None:
    client = make_client(CORTEX_REDIS_URL=LOCAL_REDIS)

    body = ok(client.get("/readyz"))

    assert body["ready"] is True
    assert body["failing"] == []
    assert body["checks"]["redis"] == {"ok": True}


def test_readiness_has_no_redis_check_without_redis(client: Client) -> None:
    assert "redis" not in ok(client.get("/readyz"))["checks"]


def test_unreachable_redis_is_503_naming_it_without_its_address(
    make_client: Callable[..., Client],
) -> None:
    port = closed_port()
    client = make_client(CORTEX_REDIS_URL=f"redis://:redis-password@127.0.0.1:{port}/0")

    response = client.get("/readyz")

    assert response.status_code == 503, response.text
    body = response.json()
    assert body["ready"] is False
    assert body["failing"] == ["redis"]
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["redis"]["detail"]  # the kind of error
    assert str(port) not in response.text
    assert "redis-password" not in response.text


def test_system_ready_gives_each_check_in_detail(make_client: Callable[..., Client]) -> None:
    port = closed_port()
    client = make_client(CORTEX_REDIS_URL=f"redis://:redis-password@127.0.0.1:{port}/0")

    response = client.get("/api/system/ready")
    body = ok(response)

    assert body["ready"] is False
    assert body["failing"] == ["redis"]
    public = client.get("/readyz").json()
    assert set(body["checks"]) == set(public["checks"])
    assert f"redis://:***@127.0.0.1:{port}/0" in body["checks"]["redis"]["detail"]
    assert "redis-password" not in response.text
    assert body["checks"]["event_store"]["detail"].startswith("log head at position")
    for name, check in body["checks"].items():
        assert check["latency_ms"] >= 0, name
        assert check["ok"] is (name != "redis"), name
    assert body["checks"]["projection:ideas"]["lag"] == 0


def test_readiness_sets_the_check_gauge(make_client: Callable[..., Client]) -> None:
    port = closed_port()
    client = make_client(CORTEX_REDIS_URL=f"redis://127.0.0.1:{port}/0")
    client.get("/readyz")

    metrics = client.get("/metrics").text

    assert 'cortex_readiness_check_ok{check="redis"} 0.0' in metrics
    assert 'cortex_readiness_check_ok{check="event_store"} 1.0' in metrics
