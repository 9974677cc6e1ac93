"""Small helpers for API tests: commands that must succeed, and problem+json assertions."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

PROBLEM_JSON = "application/problem+json"


def problem(response: Any, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem response with this status; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    return body


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    """Assert a successful JSON response with this status; return its body."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def create_project(client: TestClient[Any], name: str = "Project", **fields: Any) -> dict[str, Any]:
    """Create a project; return the command's result (id, version, position)."""
    return ok(client.post("/api/projects", json={"name": name, **fields}), 201)


def capture_idea(
    client: TestClient[Any], project_id: str, title: str = "Idea", **fields: Any
) -> dict[str, Any]:
    """Capture an idea; return the command's result (id, version, position)."""
    body = {"project_id": project_id, "title": title, **fields}
    return ok(client.post("/api/ideas", json=body), 201)


def get_idea(client: TestClient[Any], idea_id: str, after: int) -> dict[str, Any]:
    return ok(client.get(f"/api/ideas/{idea_id}", params={"after": after}))


def list_ideas(client: TestClient[Any], after: int, **params: Any) -> list[dict[str, Any]]:
    """Every idea the list returns for these filters, walking all pages."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"after": after, **params, **({"cursor": cursor} if cursor else {})}
        page = ok(client.get("/api/ideas", params=query))
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
