"""The effective configuration shows every variable and no secret."""

from __future__ import annotations

import pytest

from cortex.api.effective_config import effective_configuration, is_secret, mask_url
from cortex.settings import VARIABLES, load_settings


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://cortex:s3cret@db:5432/cortex", "postgresql://cortex:***@db:5432/cortex"),
        ("redis://:s3cret@redis:6379/0", "redis://:***@redis:6379/0"),
        ("rediss://default:s3cret@[::1]:6380/2", "rediss://default:***@[::1]:6380/2"),
        (
            "postgresql://db/cortex?sslmode=require&password=s3cret",
            "postgresql://db/cortex?sslmode=require&password=***",
        ),
        ("postgresql://cortex@db:5432/cortex", "postgresql://cortex@db:5432/cortex"),
        ("sqlite:///var/cortex.sqlite3", "sqlite:///var/cortex.sqlite3"),
        ("http://qdrant:6333", "http://qdrant:6333"),
    ],
)
def test_mask_url_hides_only_the_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_secret_variables_are_the_secret_and_the_keys() -> None:
    secrets = {name for name in VARIABLES if is_secret(name)}

    assert {
        "CORTEX_AUTH_SECRET",
        "CORTEX_LLM_API_KEY",
        "CORTEX_QDRANT_API_KEY",
        "CORTEX_STORAGE_ACCESS_KEY",
        "CORTEX_STORAGE_SECRET_KEY",
        "CORTEX_LANE_GOVERNANCE_API_KEY",
    } <= secrets
    assert all(name.endswith(("_SECRET", "_KEY")) for name in secrets)


def test_effective_configuration_masks_urls_and_secrets() -> None:
    settings = load_settings(
        {
            "CORTEX_PROFILE": "production",
            "CORTEX_DATABASE_URL": "postgresql://cortex:db-pass@db:5432/cortex",
            "CORTEX_REDIS_URL": "redis://:redis-pass@redis:6379/0",
            "CORTEX_QDRANT_URL": "http://qdrant:6333",
            "CORTEX_AUTH_SECRET": "x" * 40,
            "CORTEX_STORAGE_SECRET_KEY": "minio-secret",
        }
    )

    config = effective_configuration(settings)

    assert set(config) == set(VARIABLES)
    assert config["CORTEX_DATABASE_URL"] == "postgresql://cortex:***@db:5432/cortex"
    assert config["CORTEX_READ_DATABASE_URL"] == "postgresql://cortex:***@db:5432/cortex"
    assert config["CORTEX_REDIS_URL"] == "redis://:***@redis:6379/0"
    assert config["CORTEX_AUTH_SECRET"] == "***"
    assert config["CORTEX_STORAGE_SECRET_KEY"] == "***"
    assert config["CORTEX_STORAGE_ACCESS_KEY"] == ""
    assert config["CORTEX_QDRANT_DIR"] == ""  # a server: no folder in use
    assert config["CORTEX_WORKERS_IN_PROCESS"] is False
    text = repr(config)
    assert "db-pass" not in text
    assert "redis-pass" not in text
    assert "minio-secret" not in text
