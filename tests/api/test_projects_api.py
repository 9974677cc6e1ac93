"""/api/projects over HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.api.conftest import Client
from tests.api.helpers import capture_idea, create_project, ok, problem


def get_project(client: Client, project_id: str, after: int) -> dict[str, Any]:
    return ok(client.get(f"/api/projects/{project_id}", params={"after": after}))


def walk_projects(client: Client, after: int, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every project the list returns, page by page; also how many pages it took."""
    items: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        query = {"after": after, **params, **({"cursor": cursor} if cursor else {})}
        page = ok(client.get("/api/projects", params=query))
        pages += 1
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages


def test_create_answers_201_with_location_etag_and_the_command_result(client: Client) -> None:
    response = client.post("/api/projects", json={"name": "Apollo", "description": "Moon"})

    body = ok(response, 201)
    assert set(body) == {"id", "version", "position"}
    UUID(body["id"])
    assert body["version"] == 1
    assert body["position"] >= 1
    assert response.headers["location"] == f"/api/projects/{body['id']}"
    assert response.headers["etag"] == '"1"'


def test_get_after_the_create_position_reads_the_new_project(client: Client) -> None:
    created = create_project(client, "Apollo", description="To the moon")

    response = client.get(f"/api/projects/{created['id']}", params={"after": created["position"]})

    project = ok(response)
    assert project["id"] == created["id"]
    assert project["name"] == "Apollo"
    assert project["description"] == "To the moon"
    assert project["archived"] is False
    assert project["version"] == 1
    assert project["created_at"] == project["updated_at"]
    assert response.headers["etag"] == '"1"'


def test_list_walks_every_project_once_across_pages(client: Client) -> None:
    created = [create_project(client, f"Project {i}") for i in range(7)]
    last = created[-1]["position"]

    items, pages = walk_projects(client, last, limit=3)

    ids = [item["id"] for item in items]
    assert pages == 3
    assert len(ids) == len(set(ids)), "a project appeared on two pages"
    assert set(ids) == {project["id"] for project in created}
    assert ids == [project["id"] for project in created], "oldest first"


def test_list_leaves_archived_projects_out_unless_asked(client: Client) -> None:
    kept = create_project(client, "Kept")
    gone = create_project(client, "Gone")
    archived = ok(client.post(f"/api/projects/{gone['id']}/archive"))
    after = archived["position"]

    default = ok(client.get("/api/projects", params={"after": after}))
    everything = ok(client.get("/api/projects", params={"after": after, "include_archived": True}))

    assert [item["id"] for item in default["items"]] == [kept["id"]]
    assert {item["id"]: item["archived"] for item in everything["items"]} == {
        kept["id"]: False,
        gone["id"]: True,
    }


def test_patch_with_current_if_match_updates_and_returns_the_next_version(client: Client) -> None:
    created = create_project(client, "Old name")

    response = client.patch(
        f"/api/projects/{created['id']}",
        json={"name": "New name", "description": "Now described"},
        headers={"If-Match": '"1"'},
    )

    body = ok(response)
    assert body["version"] == 3  # renamed, then described: two events
    assert response.headers["etag"] == '"3"'
    project = get_project(client, created["id"], body["position"])
    assert (project["name"], project["description"], project["version"]) == (
        "New name",
        "Now described",
        3,
    )


def test_patch_with_stale_if_match_is_a_409_problem_with_the_current_version(
    client: Client,
) -> None:
    created = create_project(client, "Name")
    ok(
        client.patch(
            f"/api/projects/{created['id']}", json={"name": "B"}, headers={"If-Match": '"1"'}
        )
    )

    response = client.patch(
        f"/api/projects/{created['id']}", json={"name": "C"}, headers={"If-Match": '"1"'}
    )

    body = problem(response, 409)
    assert body["current_version"] == 2
    assert response.headers["etag"] == '"2"'
    assert body["instance"] == f"/api/projects/{created['id']}"


def test_patch_accepts_a_weak_etag_and_refuses_one_that_is_not_a_version(client: Client) -> None:
    created = create_project(client, "Name")
    url = f"/api/projects/{created['id']}"

    assert ok(client.patch(url, json={"name": "B"}, headers={"If-Match": 'W/"1"'}))["version"] == 2
    bad = problem(client.patch(url, json={"name": "C"}, headers={"If-Match": "yesterday"}), 422)
    assert bad["errors"][0]["field"] == "If-Match"


def test_archive_marks_the_project_archived(client: Client) -> None:
    created = create_project(client, "Done")

    response = client.post(f"/api/projects/{created['id']}/archive", headers={"If-Match": '"1"'})

    body = ok(response)
    assert body["version"] == 2
    project = get_project(client, created["id"], body["position"])
    assert project["archived"] is True


def test_archived_project_refuses_changes_with_409(client: Client) -> None:
    created = create_project(client, "Done")
    ok(client.post(f"/api/projects/{created['id']}/archive"))

    renamed = problem(client.patch(f"/api/projects/{created['id']}", json={"name": "X"}), 409)
    again = problem(client.post(f"/api/projects/{created['id']}/archive"), 409)

    assert "archived" in renamed["detail"]
    assert renamed["current_status"] == "archived"
    assert again["current_status"] == "archived"


def test_archived_project_refuses_new_ideas_with_409(client: Client) -> None:
    created = create_project(client, "Done")
    ok(client.post(f"/api/projects/{created['id']}/archive"))

    response = client.post("/api/ideas", json={"project_id": created["id"], "title": "Late"})

    body = problem(response, 409)
    assert "archived" in body["detail"]


def test_unknown_project_is_a_404_problem(client: Client) -> None:
    missing = uuid4()

    read = problem(client.get(f"/api/projects/{missing}"), 404)
    patched = problem(client.patch(f"/api/projects/{missing}", json={"name": "X"}), 404)
    archived = problem(client.post(f"/api/projects/{missing}/archive"), 404)

    assert str(missing) in read["detail"]
    assert patched["instance"] == f"/api/projects/{missing}"
    assert archived["status"] == 404


def test_an_idea_id_is_not_a_project(client: Client) -> None:
    project = create_project(client)
    idea = capture_idea(client, project["id"])

    problem(client.patch(f"/api/projects/{idea['id']}", json={"name": "X"}), 404)
    problem(client.get(f"/api/projects/{idea['id']}", params={"after": idea["position"]}), 404)


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "1234", "00000000-0000-0000-0000-00000000000g"])
def test_malformed_uuid_in_the_path_is_a_client_error_not_a_500(
    client: Client, bad_id: str
) -> None:
    for response in (
        client.get(f"/api/projects/{bad_id}"),
        client.patch(f"/api/projects/{bad_id}", json={"name": "X"}),
        client.post(f"/api/projects/{bad_id}/archive"),
    ):
        assert response.status_code in (400, 404), response.text
        assert response.headers["content-type"].startswith("application/problem+json")


def test_create_with_invalid_fields_is_a_400_problem_naming_them(client: Client) -> None:
    response = client.post("/api/projects", json={"name": "", "description": 3, "owner": "me"})

    body = problem(response, 400)
    assert {error["field"] for error in body["errors"]} == {"name", "description", "owner"}


def test_blank_name_is_refused_by_the_domain_with_422(client: Client) -> None:
    body = problem(client.post("/api/projects", json={"name": "   "}), 422)

    assert body["errors"] == [{"field": "name", "message": "must not be empty"}]


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_list_limit_out_of_bounds_is_a_400_problem(client: Client, limit: int) -> None:
    body = problem(client.get("/api/projects", params={"limit": limit}), 400)

    assert body["errors"][0]["field"] == "limit"


def test_forged_project_cursor_is_a_422_problem(client: Client) -> None:
    body = problem(client.get("/api/projects", params={"cursor": "%%%not-base64"}), 422)

    assert body["errors"][0]["field"] == "cursor"
