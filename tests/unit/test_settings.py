import pytest

from cortex.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_profile() -> None:
    settings = load_settings({})
    assert settings.profile == "local"
    assert settings.database.url == "sqlite:///var/cortex.sqlite3"
    assert not settings.uses_postgres
    assert settings.projections.in_process
    assert settings.auto_migrate


def test_postgres_url_switches_the_store_and_values_are_typed() -> None:
    settings = load_settings(
        {
            "CORTEX_DATABASE_URL": "postgresql://u@h:5432/db",
            "CORTEX_PORT": "9000",
            "CORTEX_LOG_JSON": "false",
        }
    )
    assert settings.uses_postgres
    assert settings.server.port == 9000
    assert settings.log.json is False


def test_production_profile_runs_projections_out_of_process_and_needs_postgres() -> None:
    with pytest.raises(SettingsError, match="CORTEX_DATABASE_URL"):
        load_settings({"CORTEX_PROFILE": "production"})
    with pytest.raises(SettingsError, match="CORTEX_AUTH_SECRET"):
        load_settings(
            {"CORTEX_PROFILE": "production", "CORTEX_DATABASE_URL": "postgresql://u@h/db"}
        )
    production = {
        "CORTEX_PROFILE": "production",
        "CORTEX_DATABASE_URL": "postgresql://u@h/db",
        "CORTEX_AUTH_SECRET": "s" * 40,
        "CORTEX_SKIP_AUTH": "true",
    }
    with pytest.raises(SettingsError, match="CORTEX_QDRANT_URL"):
        load_settings(production)
    production["CORTEX_QDRANT_URL"] = "http://qdrant:6333"
    with pytest.raises(SettingsError, match="CORTEX_REDIS_URL"):
        load_settings(production)
    settings = load_settings({**production, "CORTEX_REDIS_URL": "redis://redis:6379/0"})
    assert settings.auth.skip_auth is False
    assert not settings.projections.in_process
    assert not settings.workers.in_process
    assert not settings.auto_migrate


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CORTEX_PORT": "eighty"}, "CORTEX_PORT"),
        ({"CORTEX_PORT": "70000"}, "CORTEX_PORT"),
        ({"CORTEX_LOG_JSON": "maybe"}, "CORTEX_LOG_JSON"),
        ({"CORTEX_LOG_LEVEL": "LOUD"}, "CORTEX_LOG_LEVEL"),
        ({"CORTEX_PROFILE": "cloud"}, "CORTEX_PROFILE"),
        ({"CORTEX_DATABASE_URL": "mysql://x/y"}, "CORTEX_DATABASE_URL"),
        ({"CORTEX_PROJECTION_BATCH_SIZE": "0"}, "CORTEX_PROJECTION_BATCH_SIZE"),
    ],
)
def test_invalid_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert str(caught.value).startswith(f"{variable}:")
