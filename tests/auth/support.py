"""Helpers for auth tests: an auth-enabled app, its users, and hand-made (bad) access tokens.

``AuthApp`` wraps a TestClient on a Cortex whose CORTEX_SKIP_AUTH is off. Commands sent through it
assert success and wait until every projector has caught up, so the guard (which reads the auth and
membership read models) sees the change on the next request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from joserfc import jwt
from joserfc.jwk import OctKey
from litestar.testing import TestClient

from cortex.bootstrap import Cortex
from cortex.domain.roles import ProjectRole, Role
from cortex.ingest.staging import stage_bytes

Client = TestClient[Any]

# A known shared secret, so tests can sign tokens the way Cortex does (and almost the way).
AUTH_SECRET = "test-only-hs256-secret-" + "k" * 40
ADMIN_USERNAME = "root"
ADMIN_PASSWORD = "Bootstrap-admin-Pw-2041"


def new_password() -> str:
    """A password the policy accepts (long, random, not containing any of our usernames)."""
    return f"Pw-{secrets.token_hex(8)}-Zq!"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access)


@dataclass
class User:
    id: str
    username: str
    password: str
    tokens: Tokens | None = None

    @property
    def headers(self) -> dict[str, str]:
        assert self.tokens is not None, f"{self.username} has not signed in"
        return self.tokens.headers


@dataclass
class AuthApp:
    """A client on an auth-enabled Cortex, with helpers that assert and settle."""

    cortex: Cortex
    client: Client
    admin: User | None = None
    _names: int = field(default=0)

    # Waiting ------------------------------------------------------------------------------------

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every projector has applied the whole log."""
        head = self.cortex.log.head()
        deadline = time.monotonic() + timeout
        for name, runner in self.cortex.runners.items():
            while runner.position() < head:
                assert time.monotonic() < deadline, f"projection {name} stuck below {head}"
                time.sleep(0.003)

    # Auth ----------------------------------------------------------------------------------------

    def bootstrap_admin(
        self, username: str = ADMIN_USERNAME, password: str = ADMIN_PASSWORD
    ) -> User:
        response = self.client.post(
            "/api/auth/bootstrap-admin", json={"username": username, "password": password}
        )
        assert response.status_code == 201, response.text
        self.admin = User(response.json()["id"], username, password)
        self.admin.tokens = self.login(username, password)
        return self.admin

    def token_response(self, username: str, password: str, **extra: str) -> Any:
        return self.client.post(
            "/api/auth/token", data={"username": username, "password": password, **extra}
        )

    def login(self, username: str, password: str) -> Tokens:
        response = self.token_response(username, password)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "bearer"
        return Tokens(body["access_token"], body["refresh_token"])

    def relogin(self, user: User) -> User:
        user.tokens = self.login(user.username, user.password)
        return user

    def refresh(self, refresh_token: str) -> Any:
        return self.client.post("/api/auth/token/refresh", json={"refresh_token": refresh_token})

    def unique_name(self, stem: str = "user") -> str:
        self._names += 1
        return f"{stem}{self._names:03d}"

    def create_user(
        self,
        username: str | None = None,
        roles: list[Role | str] | tuple[Role | str, ...] = (Role.VIEWER,),
        *,
        password: str | None = None,
        login: bool = True,
    ) -> User:
        """Create a user as the bootstrapped admin (and sign them in)."""
        assert self.admin is not None, "bootstrap an admin first"
        username = username or self.unique_name()
        password = password or new_password()
        response = self.client.post(
            "/api/auth/users",
            json={"username": username, "password": password, "roles": [str(r) for r in roles]},
            headers=self.admin.headers,
        )
        assert response.status_code == 201, response.text
        user = User(response.json()["id"], username, password)
        if login:
            self.relogin(user)
        return user

    def admin_post(self, path: str, json_body: Any = None) -> Any:
        assert self.admin is not None
        response = self.client.post(path, json=json_body, headers=self.admin.headers)
        assert response.is_success, response.text
        self.settle()
        return response.json()

    def logout(self, tokens: Tokens) -> None:
        response = self.client.post("/api/auth/logout", headers=tokens.headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"revoked": True}

    # Projects and ideas --------------------------------------------------------------------------

    def create_project(self, owner: User, name: str = "Project") -> str:
        response = self.client.post("/api/projects", json={"name": name}, headers=owner.headers)
        assert response.status_code == 201, response.text
        self.settle()
        return str(response.json()["id"])

    def add_member(self, owner: User, project_id: str, member: User, role: ProjectRole) -> None:
        response = self.client.post(
            f"/api/projects/{project_id}/members",
            json={"user_id": member.id, "role": str(role)},
            headers=owner.headers,
        )
        assert response.status_code == 200, response.text
        self.settle()

    def capture_idea(self, author: User, project_id: str, title: str = "Idea") -> str:
        response = self.client.post(
            "/api/ideas", json={"project_id": project_id, "title": title}, headers=author.headers
        )
        assert response.status_code == 201, response.text
        self.settle()
        return str(response.json()["id"])

    # Direct commands (no HTTP): cheap fresh objects for destructive requests ---------------------

    def direct_project(self, owner_id: str | None, name: str = "Fresh") -> str:
        result = self.cortex.projects.create_project(
            project_id=uuid4(),
            name=name,
            description="",
            at=datetime.now(UTC),
            owner_id=UUID(owner_id) if owner_id else None,
        )
        self.settle()
        return str(result.id)

    def direct_member(self, project_id: str, user_id: str, role: ProjectRole) -> None:
        self.cortex.projects.set_member(
            UUID(project_id), user_id=UUID(user_id), role=role, at=datetime.now(UTC)
        )
        self.settle()

    def direct_idea(self, project_id: str, title: str = "Fresh idea") -> str:
        result = self.cortex.ideas.capture_idea(
            idea_id=uuid4(),
            project_id=UUID(project_id),
            title=title,
            body="",
            tags=[],
            at=datetime.now(UTC),
        )
        self.settle()
        return str(result.id)

    def direct_document(self, project_id: str, text: str | None = None) -> tuple[str, str]:
        """A pasted-text document, ingested synchronously: (document id, its job id)."""
        data = (text or f"Document {secrets.token_hex(8)}.").encode()
        staged = stage_bytes("fresh.txt", data, self.cortex.store.staging_dir(), 1 << 20)
        (intake,) = self.cortex.intake.add_documents(
            UUID(project_id), [staged], force=True, uploaded_by=None, at=datetime.now(UTC)
        )
        document_id, job_id = intake.uploaded.document_id, intake.uploaded.job_id
        assert job_id is not None
        self.cortex.actors.ingest_document.fn(str(document_id), str(job_id))
        self.cortex.actors.embed_document.fn(str(document_id), str(job_id))
        self.settle()
        return str(document_id), str(job_id)

    def direct_api_key(
        self,
        owner_id: str,
        *,
        role: Role = Role.VIEWER,
        project_ids: tuple[str, ...] = (),
        expires_at: datetime | None = None,
        at: datetime | None = None,
    ) -> tuple[str, str]:
        """(key id, key) made through the application service, bypassing the route."""
        now = at or datetime.now(UTC)
        key, result = self.cortex.auth.create_api_key(
            owner_id=UUID(owner_id),
            name="direct",
            role=role,
            project_ids=[UUID(p) for p in project_ids],
            expires_at=expires_at or now + timedelta(days=1),
            at=now,
        )
        self.settle()
        return str(result.id), key


# Tokens made by hand ------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def header_of(token: str) -> dict[str, Any]:
    header: dict[str, Any] = json.loads(unb64url(token.split(".")[0]))
    return header


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a JWT, not verified."""
    claims: dict[str, Any] = json.loads(unb64url(token.split(".")[1]))
    return claims


def sign_hs256(claims: dict[str, Any], secret: str | bytes = AUTH_SECRET) -> str:
    """A JWT signed with HS256 through joserfc."""
    return jwt.encode(
        {"alg": "HS256", "typ": "JWT"}, claims, OctKey.import_key(secret), algorithms=["HS256"]
    )


def resign(token: str, secret: str | bytes = AUTH_SECRET, **changes: Any) -> str:
    """The token's claims with ``changes`` (None removes a claim), signed anew with HS256."""
    claims = {**claims_of(token), **changes}
    claims = {name: value for name, value in claims.items() if value is not None}
    if "jti" in claims and "jti" not in changes:
        claims["jti"] = secrets.token_urlsafe(16)  # never reuse a real token's id
    return sign_hs256(claims, secret)


def expired(token: str, secret: str | bytes = AUTH_SECRET) -> str:
    now = int(time.time())
    return resign(token, secret, iat=now - 7200, exp=now - 3600)


def tampered_signature(token: str) -> str:
    """The same header and claims with one byte of the signature changed."""
    head, payload, signature = token.split(".")
    raw = bytearray(unb64url(signature))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{payload}.{b64url(bytes(raw))}"


def tampered_claims(token: str, **changes: Any) -> str:
    """Claims changed, signature kept (e.g. a viewer promoting itself)."""
    head, _, signature = token.split(".")
    claims = {**claims_of(token), **changes}
    return f"{head}.{b64url(json.dumps(claims).encode())}.{signature}"


def alg_none(token: str, **changes: Any) -> str:
    """An unsigned token (``alg: none``) with the token's claims, made by hand."""
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    claims = {**claims_of(token), **changes}
    return f"{header}.{b64url(json.dumps(claims).encode())}."


def hs256_by_hand(claims: dict[str, Any], key: bytes) -> str:
    """HS256 computed directly (joserfc warns about PEM text used as an HMAC secret)."""
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(signature)}"
