"""API fixtures: a TestClient on the app, over Cortex on each backend, projections following."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from cortex.api.app import create_app
from cortex.bootstrap import Cortex

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def client(cortex: Cortex) -> Iterator[TestClient[Any]]:
    """The app on the `cortex` fixture (SQLite, then PostgreSQL), its projectors following the log.

    The test owns the Cortex (the fixture closes it); the app only borrows it.
    """
    cortex.start_projections()
    with TestClient(create_app(cortex=cortex)) as test_client:
        yield test_client


def is_problem(response: Any, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem response with this status and return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    return body
