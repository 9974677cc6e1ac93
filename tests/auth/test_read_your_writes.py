"""Membership checks and read-your-writes: the guard reads the same read models as the handlers.

The projectors of projects and ideas are slowed down here (each batch waits 0.3 s), so a request
that runs before they catch up does so every time, not by chance. ``?after=<position>`` promises
that a read sees the command at that position (waiting up to CORTEX_READ_WAIT_SECONDS).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from cortex.domain.roles import ProjectRole, Role
from projections.runner import BatchResult, ProjectionRunner
from tests.auth.support import AuthApp, User

DELAY = 0.3


@pytest.fixture
def slow_projects(auth_app: AuthApp, monkeypatch: pytest.MonkeyPatch) -> AuthApp:
    original = ProjectionRunner.run_batch

    def slow(self: ProjectionRunner) -> BatchResult:
        if self.position_name in ("projects", "ideas"):
            time.sleep(DELAY)
        return original(self)

    monkeypatch.setattr(ProjectionRunner, "run_batch", slow)
    return auth_app


def _editor(app: AuthApp, name: str) -> User:
    return app.create_user(name, [Role.EDITOR])


def test_a_creator_reads_its_new_project_after_the_create(slow_projects: AuthApp) -> None:
    app = slow_projects
    editor = _editor(app, "creator")
    created = app.client.post("/api/projects", json={"name": "Mine"}, headers=editor.headers)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()

    response = app.client.get(
        f"/api/projects/{body['id']}", params={"after": body["position"]}, headers=editor.headers
    )
    # CORE BUG: the guard (cortex/api/security.py `check`, rule.project == "path") looks the
    # caller's membership up in project_members before the handler honours ?after=, so a
    # non-admin creator gets 404 for its own new project until the projector catches up (by
    # chance: about 2 in 3 requests without the slow-down here). Fix: in `authorize`/`check`,
    # wait for the "projects" (and, for idea routes, "ideas") projector to reach the request's
    # `after` before the membership lookup; and let createProject/setProjectMember/
    # removeProjectMember answer once the "projects" read model has the change, as the auth
    # routes do with `_settled`.
    assert response.status_code == 200, response.text


def test_an_idea_is_readable_after_its_capture(slow_projects: AuthApp) -> None:
    app = slow_projects
    editor = _editor(app, "capturer")
    project = app.create_project(editor, "Ideas")  # settled: membership is in place
    captured = app.client.post(
        "/api/ideas", json={"project_id": project, "title": "New"}, headers=editor.headers
    )
    assert captured.status_code == 201, captured.text
    body: dict[str, Any] = captured.json()

    response = app.client.get(
        f"/api/ideas/{body['id']}", params={"after": body["position"]}, headers=editor.headers
    )
    # CORE BUG: as above, for rule.project == "idea": the guard resolves the idea's project from
    # the ideas read model before the handler waits for ?after=, and answers 404.
    assert response.status_code == 200, response.text


def test_removing_a_member_takes_effect_at_once(slow_projects: AuthApp) -> None:
    app = slow_projects
    owner = _editor(app, "owner")
    member = _editor(app, "member")
    project = app.create_project(owner, "Team")
    app.add_member(owner, project, member, ProjectRole.EDITOR)
    assert app.client.get(f"/api/projects/{project}", headers=member.headers).status_code == 200

    removed = app.client.delete(
        f"/api/projects/{project}/members/{member.id}", headers=owner.headers
    )
    assert removed.status_code == 200, removed.text
    idea = app.client.post(
        "/api/ideas", json={"project_id": project, "title": "sneaked in"}, headers=member.headers
    )
    # CORE BUG: removeProjectMember (cortex/api/controllers/projects.py) answers before the
    # "projects" read model drops the membership, and the guard reads that model: the removed
    # member can still write for as long as the projector lags. The auth routes wait with
    # `_settled` so that revocations hold at once; membership routes should do the same.
    assert idea.status_code == 404, idea.text
