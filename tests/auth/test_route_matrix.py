"""Every operation in the OpenAPI schema, against every kind of caller that must be refused.

The app's own schema (/api/openapi.json) is walked, so a new route is noticed: it fails
``test_every_operation_has_a_permission_rule`` until it is in ``cortex.api.permissions``, and
``test_every_operation_has_a_request_builder`` until this file knows how to call it.

One world (SQLite) is seeded per module: a project P owned by an editor, with an editor member, a
viewer member and an editor who only views it; another team's project Q; ideas in P; an auditor;
a victim for user administration. Destructive calls get fresh objects, so the order of tests and
of operations does not matter.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from cortex.api.app import create_app
from cortex.api.permissions import PERMISSIONS
from cortex.application.access import Grant
from cortex.bootstrap import bootstrap
from cortex.domain.agent import AgentSpec
from cortex.domain.roles import ProjectRole, Role
from tests.auth.conftest import auth_settings
from tests.auth.support import (
    AuthApp,
    User,
    alg_none,
    bearer,
    claims_of,
    expired,
    new_password,
    resign,
    tampered_claims,
    tampered_signature,
)
from tests.support.llm_server import FakeLLMServer

# The world ---------------------------------------------------------------------------------------


@dataclass
class World:
    app: AuthApp
    users: dict[str, User]
    project: str  # P
    other_project: str  # Q, owned by the outsider
    idea: str  # an idea in P
    document: str  # an ingested document in P
    job: str  # its ingest job
    admin_key: str  # an admin's API key with the editor role (for user-only routes)
    model_call: str  # a model call in P
    schema: dict[str, Any]
    bad_tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def client(self) -> TestClient[Any]:
        return self.app.client

    def user(self, name: str) -> User:
        return self.users[name]

    def fresh_project(self) -> str:
        """A project owned by `owner` with P's membership."""
        pid = self.app.direct_project(self.user("owner").id, "Fresh project")
        for name, role in MEMBERS_OF_P.items():
            self.app.cortex.projects.set_member(
                UUID(pid), user_id=UUID(self.user(name).id), role=role, at=datetime.now(UTC)
            )
        self.app.settle()
        return pid

    def fresh_idea(self) -> str:
        return self.app.direct_idea(self.project)

    def fresh_document(self) -> str:
        return self.app.direct_document(self.project)[0]

    def throwaway_user(self) -> User:
        return self.app.create_user(self.app.unique_name("temp"), [Role.VIEWER])


# Global role, and P's membership (the owner holds P by creating it).
USERS: dict[str, Role] = {
    "owner": Role.EDITOR,
    "p_editor": Role.EDITOR,
    "p_viewer": Role.VIEWER,
    "editor_viewing": Role.EDITOR,  # an editor everywhere, but only a viewer of P
    "auditor": Role.AUDITOR,
    "outsider": Role.EDITOR,  # owns Q, not a member of P
    "victim": Role.VIEWER,  # the target of user administration
    "logged_out": Role.ADMIN,  # signs in, then logs out
    "signed_out": Role.ADMIN,  # signs in, then an admin signs them out everywhere
    "disabled": Role.ADMIN,  # signs in, then is disabled
}
MEMBERS_OF_P: dict[str, ProjectRole] = {
    "p_editor": ProjectRole.EDITOR,
    "p_viewer": ProjectRole.VIEWER,
    "editor_viewing": ProjectRole.VIEWER,
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("matrix")
    with ExitStack() as stack:
        llm = stack.enter_context(FakeLLMServer(model="matrix-model"))
        settings = auth_settings(
            tmp, CORTEX_LLM_BASE_URL=llm.base_url, CORTEX_LLM_MODEL="matrix-model"
        )
        wired = bootstrap(settings, migrate_read_store=True)
        stack.callback(wired.close)
        wired.start_projections()
        client = stack.enter_context(TestClient(create_app(cortex=wired)))
        app = AuthApp(cortex=wired, client=client)
        admin = app.bootstrap_admin()
        users = {"admin": admin}
        users.update({name: app.create_user(name, [role]) for name, role in USERS.items()})
        project = app.create_project(users["owner"], "P")
        for name, role in MEMBERS_OF_P.items():
            app.add_member(users["owner"], project, users[name], role)
        other = app.create_project(users["outsider"], "Q")
        idea = app.capture_idea(users["p_editor"], project, "An idea of P")
        document, job = app.direct_document(project, "A document of P.")
        _, admin_key = app.direct_api_key(admin.id, role=Role.EDITOR)
        model_call = str(wired.model_calls.generate("Plan it.", project_id=UUID(project)).call_id)

        assert users["logged_out"].tokens is not None
        app.logout(users["logged_out"].tokens)
        app.admin_post(f"/api/auth/users/{users['signed_out'].id}/sign-out")
        app.admin_post(f"/api/auth/users/{users['disabled'].id}/disable")

        schema = client.get("/api/openapi.json", headers=admin.headers).json()
        built = World(
            app, users, project, other, idea, document, job, admin_key, model_call, schema
        )
        built.bad_tokens = bad_tokens(built)
        yield built


def bad_tokens(world: World) -> dict[str, dict[str, str]]:
    """Authorization headers that must all be refused with 401 on every protected route.

    The forged ones start from a good admin token, so only the one defect stops them.
    """
    good = world.user("admin").tokens
    assert good is not None
    token = good.access
    now = int(time.time())
    real_key_id = world.admin_key.split("_")[1]
    return {
        "no token": {},
        "empty bearer": {"Authorization": "Bearer "},
        "basic scheme": {"Authorization": "Basic cm9vdDpwYXNzd29yZA=="},
        "token without scheme": {"Authorization": token},
        "garbage": bearer("not.a.jwt"),
        "expired": bearer(expired(token)),
        "tampered signature": bearer(tampered_signature(token)),
        "tampered claims": bearer(tampered_claims(token, sub=world.user("p_viewer").id)),
        "alg none": bearer(alg_none(token)),
        "alg none, no signature dot": bearer(alg_none(token).rstrip(".")),
        "wrong audience": bearer(resign(token, aud="someone-else")),
        "wrong issuer": bearer(resign(token, iss="https://evil.example")),
        "no audience": bearer(resign(token, aud=None)),
        "no expiry": bearer(resign(token, exp=None)),
        "not yet valid": bearer(resign(token, iat=now + 3600, nbf=now + 3600)),
        "wrong key": bearer(resign(token, "another-secret-" + "x" * 40)),
        "unknown user": bearer(resign(token, sub=str(uuid4()))),
        "version from the future": bearer(resign(token, ver=claims_of(token)["ver"] + 1)),
        "revoked (logout)": world.user("logged_out").headers,
        "before sign-out-everywhere": world.user("signed_out").headers,
        "disabled user": world.user("disabled").headers,
        "api key, wrong secret": bearer(f"ck_{real_key_id}_{secrets.token_urlsafe(32)}"),
        "api key, unknown id": bearer(f"ck_{uuid4().hex}_{secrets.token_urlsafe(32)}"),
        "api key, garbage": bearer("ck_nothing"),
    }


# How to call each operation ---------------------------------------------------------------------


@dataclass
class Call:
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    as_user: User | None = None  # who succeeds, when it must be someone made for this call


Builder = Callable[[World, bool], Call]


@dataclass(frozen=True)
class Spec:
    build: Builder
    ok: str  # the least privileged principal for which the call succeeds
    weak: tuple[str, ...] = ()  # principals whose role is too weak: 403
    outsider: str | None = None  # "404": a non-member gets 404; "filtered": sees no P items
    fresh_login: bool = False  # the call ends the session: succeed with a fresh sign-in


ADMIN_ONLY_WEAK = ("owner", "auditor", "p_viewer")
WRITER_WEAK = ("auditor", "p_viewer")
OWNER_WEAK = (*WRITER_WEAK, "p_editor")
IDEA_EDITOR_WEAK = (*WRITER_WEAK, "editor_viewing")
AUDIT_WEAK = ("owner", "p_viewer")


def _change_own_password(world: World, ok: bool) -> Call:
    if not ok:
        return Call(json={"current_password": "Not-the-password-1", "new_password": new_password()})
    user = world.throwaway_user()
    return Call(
        json={"current_password": user.password, "new_password": new_password()}, as_user=user
    )


def _revoke_api_key(world: World, ok: bool) -> Call:
    key_id, _ = world.app.direct_api_key(world.user("p_viewer").id, project_ids=(world.project,))
    return Call(path={"key_id": key_id})


def _victim(world: World, ok: bool) -> Call:
    return Call(path={"user_id": world.user("victim").id})


def _fresh_project(world: World, ok: bool) -> Call:
    return Call(path={"project_id": world.fresh_project()})


def _fresh_idea(world: World, ok: bool) -> Call:
    return Call(path={"idea_id": world.fresh_idea()})


def _fresh_document(world: World, ok: bool) -> Call:
    return Call(path={"document_id": world.fresh_document()})


def _document(world: World, ok: bool) -> Call:
    return Call(path={"document_id": world.document})


def _paste() -> dict[str, str]:
    return {"title": "Matrix document", "text": f"Matrix text {secrets.token_hex(8)}."}


def _fresh_agent(world: World) -> str:
    """An agent in P, defined directly (no model is ever asked: no worker runs here)."""
    result = world.app.cortex.agents.define_agent(
        agent_id=uuid4(),
        project_id=UUID(world.project),
        spec=AgentSpec("Matrix agent", "auto", "", ("knowledge_search",), 2, 1000, 60),
        defined_by=None,
        at=datetime.now(UTC),
    )
    world.app.settle()
    return str(result.id)


def _fresh_agent_run(world: World, started_by: str = "p_viewer") -> str:
    """A queued run in P, started by ``started_by``."""
    result = world.app.cortex.agents.start_run(
        UUID(_fresh_agent(world)),
        input="Matrix input",
        started_by=UUID(world.user(started_by).id),
        grant=Grant(frozenset({Role.VIEWER}), ProjectRole.VIEWER),
        run_id=uuid4(),
        at=datetime.now(UTC),
    )
    world.app.settle()
    return str(result.id)


def _agent_body() -> dict[str, Any]:
    return {"name": "Matrix agent", "tools": ["knowledge_search"], "max_steps": 2}


def _fresh_workflow(world: World, kind: str = "transform") -> str:
    """A workflow in P of one step (an approval, or a transform no worker here ever runs)."""
    step = {"id": "ok", "kind": kind} | ({"template": "x"} if kind == "transform" else {})
    result = world.app.cortex.workflows.define_workflow(
        workflow_id=uuid4(),
        project_id=UUID(world.project),
        name="Matrix flow",
        inputs_schema=None,
        steps=[step],
        defined_by=None,
        at=datetime.now(UTC),
    )
    world.app.settle()
    return str(result.id)


def _fresh_workflow_run(world: World, kind: str = "transform") -> str:
    """A running run in P (with kind "approval": waiting for its approval)."""
    result = world.app.cortex.workflows.start_run(
        UUID(_fresh_workflow(world, kind)),
        inputs={},
        started_by=None,
        at=datetime.now(UTC),
        run_id=uuid4(),
    )
    world.app.settle()
    return str(result.id)


def _workflow_body() -> dict[str, Any]:
    return {"name": "Matrix flow", "steps": [{"id": "a", "kind": "transform", "template": "x"}]}


def _decide(world: World, ok: bool) -> Call:
    run_id = _fresh_workflow_run(world, "approval")
    return Call(path={"run_id": run_id, "step_id": "ok"}, json={"comment": "matrix"})


SPECS: dict[str, Spec] = {
    "logout": Spec(lambda w, ok: Call(), ok="p_viewer", fresh_login=True),
    "whoAmI": Spec(lambda w, ok: Call(), ok="p_viewer"),
    "changeOwnPassword": Spec(_change_own_password, ok="p_viewer"),
    "createApiKey": Spec(
        lambda w, ok: Call(json={"name": "matrix", "role": "viewer", "project_ids": [w.project]}),
        ok="p_viewer",
        weak=("auditor",),
        outsider="404",
    ),
    "revokeApiKey": Spec(_revoke_api_key, ok="p_viewer", outsider="404"),
    "listUsers": Spec(lambda w, ok: Call(), ok="auditor", weak=AUDIT_WEAK),
    "createUser": Spec(
        lambda w, ok: Call(
            json={
                "username": f"new{secrets.token_hex(4)}",
                "password": new_password(),
                "roles": ["viewer"],
            }
        ),
        ok="admin",
        weak=ADMIN_ONLY_WEAK,
    ),
    "disableUser": Spec(_victim, ok="admin", weak=ADMIN_ONLY_WEAK),
    "enableUser": Spec(_victim, ok="admin", weak=ADMIN_ONLY_WEAK),
    "grantRole": Spec(
        lambda w, ok: Call(path={"user_id": w.user("victim").id}, json={"role": "viewer"}),
        ok="admin",
        weak=ADMIN_ONLY_WEAK,
    ),
    "revokeRole": Spec(
        lambda w, ok: Call(path={"user_id": w.user("victim").id, "role": "viewer"}),
        ok="admin",
        weak=ADMIN_ONLY_WEAK,
    ),
    "resetPassword": Spec(
        lambda w, ok: Call(
            path={"user_id": w.user("victim").id}, json={"new_password": new_password()}
        ),
        ok="admin",
        weak=ADMIN_ONLY_WEAK,
    ),
    "signOutUserEverywhere": Spec(_victim, ok="admin", weak=ADMIN_ONLY_WEAK),
    "createProject": Spec(
        lambda w, ok: Call(json={"name": "Matrix project"}), ok="owner", weak=WRITER_WEAK
    ),
    "listProjects": Spec(lambda w, ok: Call(), ok="p_viewer", outsider="filtered"),
    "getProject": Spec(
        lambda w, ok: Call(path={"project_id": w.project}), ok="p_viewer", outsider="404"
    ),
    "updateProject": Spec(
        lambda w, ok: Call(path={"project_id": w.project}, json={"description": "changed"}),
        ok="owner",
        weak=OWNER_WEAK,
        outsider="404",
    ),
    "archiveProject": Spec(_fresh_project, ok="owner", weak=OWNER_WEAK, outsider="404"),
    "setProjectMember": Spec(
        lambda w, ok: Call(
            path={"project_id": w.fresh_project()},
            json={"user_id": w.user("victim").id, "role": "viewer"},
        ),
        ok="owner",
        weak=OWNER_WEAK,
        outsider="404",
    ),
    "removeProjectMember": Spec(
        lambda w, ok: Call(
            path={"project_id": w.fresh_project(), "user_id": w.user("p_viewer").id}
        ),
        ok="owner",
        weak=OWNER_WEAK,
        outsider="404",
    ),
    "captureIdea": Spec(
        lambda w, ok: Call(json={"project_id": w.project, "title": "Matrix idea"}),
        ok="p_editor",
        weak=IDEA_EDITOR_WEAK,
        outsider="404",
    ),
    "listIdeas": Spec(lambda w, ok: Call(), ok="p_viewer", outsider="filtered"),
    "getIdea": Spec(lambda w, ok: Call(path={"idea_id": w.idea}), ok="p_viewer", outsider="404"),
    "updateIdea": Spec(
        lambda w, ok: Call(path={"idea_id": w.idea}, json={"body": "edited"}),
        ok="p_editor",
        weak=IDEA_EDITOR_WEAK,
        outsider="404",
    ),
    "changeIdeaStatus": Spec(
        lambda w, ok: Call(path={"idea_id": w.fresh_idea()}, json={"status": "accepted"}),
        ok="p_editor",
        weak=IDEA_EDITOR_WEAK,
        outsider="404",
    ),
    "voteOnIdea": Spec(
        lambda w, ok: Call(path={"idea_id": w.fresh_idea()}, json={"value": 1}),
        ok="p_editor",
        weak=IDEA_EDITOR_WEAK,
        outsider="404",
    ),
    "linkIdea": Spec(
        lambda w, ok: Call(
            path={"idea_id": w.fresh_idea()}, json={"target_id": w.idea, "relation": "relates_to"}
        ),
        ok="p_editor",
        weak=IDEA_EDITOR_WEAK,
        outsider="404",
    ),
    "deleteIdea": Spec(_fresh_idea, ok="p_editor", weak=IDEA_EDITOR_WEAK, outsider="404"),
    "uploadDocuments": Spec(
        lambda w, ok: Call(path={"project_id": w.project}, json=_paste()),
        ok="p_editor",
        weak=IDEA_EDITOR_WEAK,
        outsider="404",
    ),
    "listDocuments": Spec(
        lambda w, ok: Call(path={"project_id": w.project}), ok="p_viewer", outsider="404"
    ),
    "getDocument": Spec(_document, ok="p_viewer", outsider="404"),
    "getDocumentContent": Spec(_document, ok="p_viewer", outsider="404"),
    "listDocumentChunks": Spec(_document, ok="p_viewer", outsider="404"),
    "uploadDocumentVersion": Spec(
        lambda w, ok: Call(path={"document_id": w.fresh_document()}, json=_paste()),
        ok="p_editor",
        weak=IDEA_EDITOR_WEAK,
        outsider="404",
    ),
    "tagDocument": Spec(
        lambda w, ok: Call(path={"document_id": w.fresh_document()}, json={"tags": ["matrix"]}),
        ok="p_editor",
        weak=IDEA_EDITOR_WEAK,
        outsider="404",
    ),
    "reingestDocument": Spec(_fresh_document, ok="p_editor", weak=IDEA_EDITOR_WEAK, outsider="404"),
    "deleteDocument": Spec(_fresh_document, ok="p_editor", weak=IDEA_EDITOR_WEAK, outsider="404"),
    "getIngestJob": Spec(lambda w, ok: Call(path={"job_id": w.job}), ok="p_viewer", outsider="404"),
    "listIngestJobs": Spec(lambda w, ok: Call(), ok="p_viewer", outsider="filtered"),
    "searchKnowledge": Spec(
        lambda w, ok: Call(json={"query": "document", "project_id": w.project, "mode": "keyword"}),
        ok="p_viewer",
        outsider="404",
    ),
    "buildContext": Spec(
        lambda w, ok: Call(
            json={
                "project_id": w.project,
                "question": "What is in the document?",
                "token_budget": 500,
            }
        ),
        ok="p_viewer",
        outsider="404",
    ),
    "askKnowledge": Spec(
        lambda w, ok: Call(json={"project_id": w.project, "question": "What is in the document?"}),
        ok="p_viewer",
        weak=("auditor",),
        outsider="404",
    ),
    "listAggregateEvents": Spec(
        lambda w, ok: Call(query={"aggregate_id": w.project}), ok="auditor", weak=AUDIT_WEAK
    ),
    "generateText": Spec(
        lambda w, ok: Call(json={"prompt": "Plan the week.", "project_id": w.project}),
        ok="p_viewer",
        weak=("auditor",),
        outsider="404",
    ),
    "queueGeneration": Spec(
        lambda w, ok: Call(json={"prompt": "Plan the week.", "project_id": w.project}),
        ok="p_viewer",
        weak=("auditor",),
        outsider="404",
    ),
    "getModelCall": Spec(
        lambda w, ok: Call(path={"call_id": w.model_call}), ok="p_viewer", outsider="404"
    ),
    "listModelCalls": Spec(
        lambda w, ok: Call(query={"project_id": w.project}), ok="p_viewer", outsider="404"
    ),
    "createAgent": Spec(
        lambda w, ok: Call(json={"project_id": w.project, **_agent_body()}),
        ok="p_editor",
        weak=IDEA_EDITOR_WEAK,
        outsider="404",
    ),
    "listAgents": Spec(
        lambda w, ok: Call(query={"project_id": w.project}), ok="p_viewer", outsider="404"
    ),
    "getAgent": Spec(
        lambda w, ok: Call(path={"agent_id": _fresh_agent(w)}), ok="p_viewer", outsider="404"
    ),
    "reviseAgent": Spec(
        lambda w, ok: Call(path={"agent_id": _fresh_agent(w)}, json=_agent_body()),
        ok="p_editor",
        weak=IDEA_EDITOR_WEAK,
        outsider="404",
    ),
    "startAgentRun": Spec(
        lambda w, ok: Call(path={"agent_id": _fresh_agent(w)}, json={"input": "Matrix run"}),
        ok="p_viewer",
        weak=("auditor",),
        outsider="404",
    ),
    "listAgentRuns": Spec(
        lambda w, ok: Call(query={"project_id": w.project}), ok="p_viewer", outsider="404"
    ),
    "getAgentRun": Spec(
        lambda w, ok: Call(path={"run_id": _fresh_agent_run(w)}), ok="p_viewer", outsider="404"
    ),
    # Its starter (p_viewer) may cancel it; an auditor may not, an outsider cannot see it.
    "cancelAgentRun": Spec(
        lambda w, ok: Call(path={"run_id": _fresh_agent_run(w)}),
        ok="p_viewer",
        weak=("auditor",),
        outsider="404",
    ),
    "listLanes": Spec(lambda w, ok: Call(), ok="auditor", weak=AUDIT_WEAK),
    "defineWorkflow": Spec(
        lambda w, ok: Call(json={"project_id": w.project, **_workflow_body()}),
        ok="p_editor",
        weak=IDEA_EDITOR_WEAK,
        outsider="404",
    ),
    "listWorkflows": Spec(
        lambda w, ok: Call(query={"project_id": w.project}), ok="p_viewer", outsider="404"
    ),
    "getWorkflow": Spec(
        lambda w, ok: Call(path={"workflow_id": _fresh_workflow(w)}), ok="p_viewer", outsider="404"
    ),
    "reviseWorkflow": Spec(
        lambda w, ok: Call(path={"workflow_id": _fresh_workflow(w)}, json=_workflow_body()),
        ok="p_editor",
        weak=IDEA_EDITOR_WEAK,
        outsider="404",
    ),
    "startWorkflowRun": Spec(
        lambda w, ok: Call(path={"workflow_id": _fresh_workflow(w)}, json={"inputs": {}}),
        ok="p_viewer",
        weak=("auditor",),
        outsider="404",
    ),
    "listWorkflowRuns": Spec(
        lambda w, ok: Call(query={"project_id": w.project}), ok="p_viewer", outsider="404"
    ),
    "getWorkflowRun": Spec(
        lambda w, ok: Call(path={"run_id": _fresh_workflow_run(w)}), ok="p_viewer", outsider="404"
    ),
    "cancelWorkflowRun": Spec(
        lambda w, ok: Call(path={"run_id": _fresh_workflow_run(w)}, json={"reason": "matrix"}),
        ok="p_editor",
        weak=IDEA_EDITOR_WEAK,
        outsider="404",
    ),
    "approveWorkflowStep": Spec(_decide, ok="p_editor", weak=IDEA_EDITOR_WEAK, outsider="404"),
    "rejectWorkflowStep": Spec(_decide, ok="p_editor", weak=IDEA_EDITOR_WEAK, outsider="404"),
    "systemReady": Spec(lambda w, ok: Call(), ok="auditor", weak=AUDIT_WEAK),
    "systemInfo": Spec(lambda w, ok: Call(), ok="auditor", weak=AUDIT_WEAK),
}

# Queries whose parameters travel in a POST body: they read, they change nothing.
QUERIES_BY_POST = {"searchKnowledge", "buildContext"}

PUBLIC_OPERATIONS = {
    "liveness",
    "readiness",
    "metrics",
    "jwks",
    "bootstrapAdmin",
    "issueToken",
    "refreshToken",
}


# Walking the schema -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    template: str
    has_body: bool
    path_params: frozenset[str]


def operations(schema: dict[str, Any]) -> list[Operation]:
    found = []
    for template, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            params = frozenset(
                p["name"] for p in operation.get("parameters", []) if p["in"] == "path"
            )
            found.append(
                Operation(
                    operation_id=operation.get("operationId", f"<none: {method} {template}>"),
                    method=method.upper(),
                    template=template,
                    has_body="requestBody" in operation,
                    path_params=params,
                )
            )
    return found


def protected(world: World) -> list[Operation]:
    return [op for op in operations(world.schema) if op.operation_id not in PUBLIC_OPERATIONS]


def send(world: World, op: Operation, call: Call, headers: dict[str, str]) -> Any:
    missing = op.path_params - set(call.path)
    assert not missing, f"{op.operation_id}: the builder gives no {sorted(missing)}"
    if op.has_body:
        assert call.json is not None, f"{op.operation_id}: the builder gives no body"
    url = op.template.format(**call.path)
    return world.client.request(
        op.method,
        url,
        params=call.query or None,
        json=call.json,
        headers=headers,
    )


def describe(op: Operation, who: str, response: Any) -> str:
    return (
        f"{op.operation_id} ({op.method} {op.template}) as {who}: {response.status_code} "
        + (response.text[:200])
    )


def headers_for(world: World, spec: Spec, call: Call, who: str) -> dict[str, str]:
    if call.as_user is not None and who == spec.ok:
        return call.as_user.headers
    user = world.user(who)
    if spec.fresh_login:
        return world.app.login(user.username, user.password).headers
    return user.headers


# Coverage of the table ---------------------------------------------------------------------------


def test_every_operation_has_a_permission_rule(world: World) -> None:
    ids = [op.operation_id for op in operations(world.schema)]
    assert len(ids) == len(set(ids)), "operation ids must be unique"
    missing = sorted(set(ids) - set(PERMISSIONS))
    assert not missing, f"routes missing from cortex.api.permissions.PERMISSIONS: {missing}"
    stale = sorted(set(PERMISSIONS) - set(ids))
    assert not stale, f"permission rules for routes that do not exist: {stale}"


def test_exactly_the_deliberately_public_routes_are_public(world: World) -> None:
    public = {name for name, rule in PERMISSIONS.items() if rule.public}
    assert public == PUBLIC_OPERATIONS


def test_every_operation_has_a_request_builder(world: World) -> None:
    ids = {op.operation_id for op in protected(world)}
    missing = sorted(ids - set(SPECS))
    assert not missing, f"add a Spec (path params, body, who may call) to SPECS for: {missing}"
    assert not set(SPECS) - ids, f"SPECS for routes that are gone: {sorted(set(SPECS) - ids)}"


# The framework's docs (schema, Swagger UI, ReDoc) and their assets: public, and without ids.
DOCS_PATHS = {
    "/api",
    "/api/openapi.json",
    "/api/docs",
    "/api/redoc",
    "/api/oauth2-redirect.html",
    "/api/{path:str}",
    "/api/static/{file_path:path}",
}


def test_every_route_handler_outside_the_docs_has_a_rule(world: World) -> None:
    """Also routes left out of the schema: the guard lets handlers without an id through."""
    unruled = []
    for route in world.client.app.routes:
        if not isinstance(route, HTTPRoute) or route.path in DOCS_PATHS:
            continue
        for handler in route.route_handlers:
            if handler.http_methods == {"OPTIONS"}:
                continue  # CORS preflight answers, made by the framework
            if handler.operation_id not in PERMISSIONS:
                unruled.append(f"{sorted(handler.http_methods)} {route.path}")
    assert not unruled, f"route handlers without a permission rule: {unruled}"


# Refusals -----------------------------------------------------------------------------------------


BAD_TOKEN_KINDS = [
    "no token",
    "empty bearer",
    "basic scheme",
    "token without scheme",
    "garbage",
    "expired",
    "tampered signature",
    "tampered claims",
    "alg none",
    "alg none, no signature dot",
    "wrong audience",
    "wrong issuer",
    "no audience",
    "no expiry",
    "not yet valid",
    "wrong key",
    "unknown user",
    "version from the future",
    "revoked (logout)",
    "before sign-out-everywhere",
    "disabled user",
    "api key, wrong secret",
    "api key, unknown id",
    "api key, garbage",
]


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
def test_bad_credentials_get_401_on_every_protected_route(world: World, kind: str) -> None:
    headers = world.bad_tokens[kind]
    failures = []
    for op in protected(world):
        response = send(world, op, SPECS[op.operation_id].build(world, False), headers)
        if (
            kind.startswith("api key")
            and not PERMISSIONS[op.operation_id].allow_api_keys
            and response.status_code == 403
        ):
            continue  # routes for users' tokens refuse any API key before checking it
        if response.status_code != 401:
            failures.append(describe(op, kind, response))
        elif "bearer" not in response.headers.get("www-authenticate", "").lower():
            failures.append(describe(op, kind, response) + " (no WWW-Authenticate: Bearer)")
    assert not failures, "\n".join(failures)


def test_bad_credentials_cover_every_kind(world: World) -> None:
    assert set(world.bad_tokens) == set(BAD_TOKEN_KINDS)


def test_too_weak_roles_get_403(world: World) -> None:
    failures, checked = [], 0
    for op in protected(world):
        spec = SPECS[op.operation_id]
        for who in spec.weak:
            checked += 1
            response = send(world, op, spec.build(world, False), world.user(who).headers)
            if response.status_code != 403:
                failures.append(describe(op, who, response))
    assert checked > 40
    assert not failures, "\n".join(failures)


def test_members_of_another_project_get_404(world: World) -> None:
    """Project and idea routes do not reveal that another team's project or idea exists."""
    failures, checked = [], 0
    outsider = world.user("outsider")
    for op in protected(world):
        spec = SPECS[op.operation_id]
        if spec.outsider is None:
            continue
        checked += 1
        response = send(world, op, spec.build(world, False), outsider.headers)
        if spec.outsider == "404":
            if response.status_code != 404:
                failures.append(describe(op, "outsider", response))
            continue
        # Lists answer, without P's projects and ideas.
        if response.status_code != 200:
            failures.append(describe(op, "outsider", response))
            continue
        items = response.json()["items"]
        listed = {item["id"] for item in items} | {item.get("project_id") for item in items}
        if world.project in listed or world.idea in listed:
            failures.append(describe(op, "outsider", response) + " (lists P's items)")
        if op.operation_id == "listProjects" and world.other_project not in listed:
            failures.append(describe(op, "outsider", response) + " (misses its own project)")
    assert checked >= 15
    assert not failures, "\n".join(failures)


def test_lists_filtered_by_a_foreign_project_are_empty(world: World) -> None:
    response = world.client.get(
        "/api/ideas", params={"project_id": world.project}, headers=world.user("outsider").headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


def test_api_keys_are_refused_on_user_only_routes(world: World) -> None:
    key_headers = bearer(world.admin_key)
    failures = []
    for op in protected(world):
        if PERMISSIONS[op.operation_id].allow_api_keys:
            continue
        response = send(world, op, SPECS[op.operation_id].build(world, False), key_headers)
        if response.status_code not in (401, 403):
            failures.append(describe(op, "an admin's API key", response))
    assert not failures, "\n".join(failures)


# Successes ----------------------------------------------------------------------------------------


def test_the_least_privileged_right_caller_succeeds_everywhere(world: World) -> None:
    failures = []
    for op in protected(world):
        spec = SPECS[op.operation_id]
        call = spec.build(world, True)
        response = send(world, op, call, headers_for(world, spec, call, spec.ok))
        world.app.settle()
        if not response.is_success:
            failures.append(describe(op, spec.ok, response))
    assert not failures, "\n".join(failures)


def test_an_admin_succeeds_everywhere_without_being_a_member(world: World) -> None:
    failures = []
    admin = world.user("admin")
    for op in protected(world):
        spec = SPECS[op.operation_id]
        call = spec.build(world, True)
        if call.as_user is not None:  # the call needs its own user (changing one's password)
            headers = call.as_user.headers
        elif spec.fresh_login:
            headers = world.app.login(admin.username, admin.password).headers
        else:
            headers = admin.headers
        response = send(world, op, call, headers)
        world.app.settle()
        if not response.is_success:
            failures.append(describe(op, "admin", response))
    assert not failures, "\n".join(failures)


def test_auditors_read_everything_and_change_nothing(world: World) -> None:
    """The auditor is a member of no project, yet reads P; every change is refused with 403."""
    failures = []
    auditor = world.user("auditor")
    for op in protected(world):
        spec = SPECS[op.operation_id]
        rule = PERMISSIONS[op.operation_id]
        if not rule.allow_api_keys:
            continue  # the caller's own session (logout, password, keys): not "changing" data
        response = send(world, op, spec.build(world, True), auditor.headers)
        world.app.settle()
        reads = op.method == "GET" or op.operation_id in QUERIES_BY_POST
        may = Role.AUDITOR in rule.roles and reads
        if may != response.is_success or (not may and response.status_code != 403):
            failures.append(describe(op, "auditor", response))
    assert not failures, "\n".join(failures)
    listed = world.client.get("/api/projects", headers=auditor.headers).json()["items"]
    assert {world.project, world.other_project} <= {item["id"] for item in listed}


def test_public_routes_answer_without_a_token_and_ignore_a_bad_one(world: World) -> None:
    for headers in ({}, world.bad_tokens["tampered signature"], world.bad_tokens["garbage"]):
        assert world.client.get("/healthz", headers=headers).status_code == 200
        assert world.client.get("/readyz", headers=headers).status_code == 200
        assert world.client.get("/.well-known/jwks.json", headers=headers).status_code == 200
        again = world.client.post(
            "/api/auth/bootstrap-admin",
            json={"username": "second", "password": new_password()},
            headers=headers,
        )
        assert again.status_code == 409, again.text
        refused = world.client.post(
            "/api/auth/token",
            data={"username": "nobody", "password": "Wrong-password-1"},
            headers=headers,
        )
        assert refused.status_code == 401, refused.text
        refresh = world.client.post(
            "/api/auth/token/refresh", json={"refresh_token": "nope"}, headers=headers
        )
        assert refresh.status_code == 401, refresh.text
