"""Workflow runs act for the user who started them: the steps record that user on their model
calls, and each attempt checks again that the user may still use the project."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from cortex.domain.roles import ProjectRole, Role
from tests.auth.conftest import MakeAuthApp
from tests.auth.support import AuthApp, User
from tests.support.llm_server import FakeLLMServer

STEPS = [
    {"id": "gate", "kind": "approval", "message": "Go?"},
    {"id": "draft", "kind": "generate", "prompt": "Draft it.", "depends_on": ["gate"]},
]


def wait_for_run(app: AuthApp, user: User, run_id: str, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        after = app.cortex.log.head()
        response = app.client.get(
            f"/api/workflow-runs/{run_id}", params={"after": after}, headers=user.headers
        )
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        if done(run):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.02)


def start(app: AuthApp, owner: User, viewer: User) -> tuple[str, str]:
    project = app.create_project(owner, "Flows")
    app.add_member(owner, project, viewer, ProjectRole.VIEWER)
    body = {"project_id": project, "name": "Gated", "steps": STEPS}
    defined = app.client.post("/api/workflows", json=body, headers=owner.headers)
    assert defined.status_code == 201, defined.text
    app.settle()
    started = app.client.post(
        f"/api/workflows/{defined.json()['id']}/runs", json={"inputs": {}}, headers=viewer.headers
    )
    assert started.status_code == 202, started.text
    return project, str(started.json()["id"])


def approve(app: AuthApp, owner: User, run_id: str) -> None:
    response = app.client.post(
        f"/api/workflow-runs/{run_id}/steps/gate/approve", json={}, headers=owner.headers
    )
    assert response.status_code == 200, response.text


def test_steps_run_for_the_starter_and_stop_when_they_lose_the_project(
    make_auth_app: MakeAuthApp,
) -> None:
    with FakeLLMServer(model="m") as llm:
        app = make_auth_app(
            CORTEX_LLM_BASE_URL=llm.base_url,
            CORTEX_LLM_MODEL="m",
            CORTEX_ROUTER_EMBEDDINGS="false",
        )
        app.bootstrap_admin()
        app.cortex.start_workers({"workflows"})
        owner = app.create_user("owner", [Role.EDITOR])
        viewer = app.create_user("viewer", [Role.VIEWER])

        # A viewer may start a run; its model calls are recorded as the viewer's.
        _, kept = start(app, owner, viewer)
        wait_for_run(app, owner, kept, lambda run: run["steps"][0]["status"] == "waiting_approval")
        refused = app.client.post(
            f"/api/workflow-runs/{kept}/steps/gate/approve", json={}, headers=viewer.headers
        )
        assert refused.status_code == 403  # approving takes a project editor
        approve(app, owner, kept)
        run = wait_for_run(app, owner, kept, lambda run: run["status"] != "running")
        assert run["status"] == "completed", run["steps"][1]["error"]
        assert run["started_by"] == viewer.id
        call_id = run["steps"][1]["output"]["model_call_id"]
        call = app.client.get(
            f"/api/model-calls/{call_id}",
            params={"after": app.cortex.log.head()},
            headers=owner.headers,
        ).json()
        assert call["requested_by"] == viewer.id

        # Removed from the project while the run waits: the next step refuses to act for them.
        project, lost = start(app, owner, viewer)
        wait_for_run(app, owner, lost, lambda run: run["steps"][0]["status"] == "waiting_approval")
        app.cortex.projects.remove_member(
            UUID(project), user_id=UUID(viewer.id), at=datetime.now(UTC)
        )
        app.settle()
        approve(app, owner, lost)
        run = wait_for_run(app, owner, lost, lambda run: run["status"] != "running")
        assert run["status"] == "failed"
        assert run["steps"][1]["error"].startswith("forbidden")
        assert run["steps"][1]["attempts"] == 1  # not retried: it would be refused again
        assert len(llm.chat_requests) == 1
