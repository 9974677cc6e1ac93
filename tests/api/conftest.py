"""API fixtures: a TestClient on the app, over Cortex on each backend, its projectors following.

The tests own each Cortex (the fixtures close it); the app only borrows it, as
create_app(cortex=...) promises. Projectors run in threads, so a read after a command passes the
command's ``position`` as ``?after=`` (read-your-writes) instead of driving them by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from cortex.api.app import create_app
from cortex.bootstrap import Cortex, bootstrap
from cortex.settings import Settings
from tests.conftest import make_settings

Client = TestClient[Any]


@pytest.fixture
def client(cortex: Cortex) -> Iterator[Client]:
    """The app on the `cortex` fixture (SQLite, then PostgreSQL), projections following the log."""
    cortex.start_projections()
    with TestClient(create_app(cortex=cortex)) as test_client:
        yield test_client


@pytest.fixture
def make_client(backend_settings: Settings, tmp_path: Path) -> Iterator[Callable[..., Client]]:
    """A factory for a client on a Cortex with extra CORTEX_* settings, on each backend in turn.

    Use it instead of `client` (not with it) when a test needs its own limits.
    """
    with ExitStack() as stack:

        def factory(**extra: str) -> Client:
            url = backend_settings.database.url if backend_settings.uses_postgres else None
            wired = bootstrap(make_settings(tmp_path, url, **extra), migrate_read_store=True)
            stack.callback(wired.close)
            wired.start_projections()
            return stack.enter_context(TestClient(create_app(cortex=wired)))

        yield factory
