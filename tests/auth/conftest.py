"""Fixtures for auth tests: an app with authentication on (CORTEX_SKIP_AUTH=false).

``make_auth_app(**env)`` builds one on SQLite (or on the backend given); ``auth_app`` is a
bootstrapped SQLite one; ``auth_app_each_backend`` runs on SQLite and PostgreSQL (the smoke tests).
The shared secret is known (``support.AUTH_SECRET``) so that tests can forge tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from litestar.testing import TestClient

from cortex.api.app import create_app
from cortex.bootstrap import bootstrap
from cortex.settings import Settings
from tests.auth.support import AUTH_SECRET, AuthApp
from tests.conftest import make_settings

MakeAuthApp = Callable[..., AuthApp]

BASE_ENV = {
    "CORTEX_SKIP_AUTH": "false",
    "CORTEX_AUTH_SECRET": AUTH_SECRET,
    # Most tests sign in many times from the one TestClient address; the limit has its own test.
    "CORTEX_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
}


def auth_settings(tmp_path: Path, database_url: str | None = None, **env: str) -> Settings:
    merged = {**BASE_ENV, **env}
    merged = {name: value for name, value in merged.items() if value is not None}
    return make_settings(tmp_path, database_url, **merged)


@pytest.fixture
def make_auth_app(tmp_path: Path) -> Iterator[MakeAuthApp]:
    """A factory: ``make_auth_app(database_url=None, var=tmp_path, **CORTEX_env)`` -> AuthApp.

    Pass an env value of ``None`` to leave a base variable unset (e.g. CORTEX_AUTH_SECRET=None).
    """
    with ExitStack() as stack:

        def factory(
            database_url: str | None = None, var: Path | None = None, **env: str
        ) -> AuthApp:
            settings = auth_settings(var or tmp_path, database_url, **env)
            assert settings.auth.skip_auth is False
            wired = bootstrap(settings, migrate_read_store=True)
            stack.callback(wired.close)
            wired.start_projections()
            client = stack.enter_context(TestClient(create_app(cortex=wired)))
            return AuthApp(cortex=wired, client=client)

        yield factory


@pytest.fixture
def auth_app(make_auth_app: MakeAuthApp) -> AuthApp:
    """An auth-enabled app on SQLite with its first admin bootstrapped and signed in."""
    app = make_auth_app()
    app.bootstrap_admin()
    return app


@pytest.fixture(params=["sqlite", "postgres"])
def auth_app_each_backend(request: pytest.FixtureRequest, make_auth_app: MakeAuthApp) -> AuthApp:
    """Like ``auth_app``, on SQLite and then on a fresh PostgreSQL database."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    app = make_auth_app(url)
    app.bootstrap_admin()
    return app
