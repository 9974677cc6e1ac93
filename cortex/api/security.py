"""Who is calling, and may they: bearer tokens and API keys checked against the read models.

One guard runs for every route. It looks the route up in ``permissions.PERMISSIONS`` by operation
id, authenticates the caller, checks the global roles and, where the route names a project (in the
path, or through the idea, document or ingest job in the path), the caller's project role.
Non-members get 404, so that the existence of other teams' projects does not leak.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import anyio
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from cortex.api.dependencies import wait_for_position
from cortex.api.permissions import (
    PERMISSIONS,
    RESOURCE_PATH_PARAMETERS,
    RESOURCE_PROJECTIONS,
    Rule,
)
from cortex.auth.passwords import digest, same_digest
from cortex.auth.tokens import AccessClaims, InvalidToken
from cortex.bootstrap import Cortex
from cortex.domain.roles import PROJECT_ROLE_RANK, ProjectRole, Role, project_role_allows
from cortex.eventstore.environment import read_store_url
from projections import auth_queries
from projections.store import AsyncPostgresReader

_ROLE_NAMES = frozenset(role.value for role in Role)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cortex"'}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: UUID | None
    roles: frozenset[Role]
    claims: AccessClaims | None = None
    api_key_id: UUID | None = None
    key_projects: frozenset[str] | None = None
    key_role: ProjectRole | None = None
    # Project id -> the caller's membership role there, read together with the token's state.
    known_roles: Mapping[str, str | None] = field(default_factory=dict)
    resource_project_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def reads_everything(self) -> bool:
        return self.is_admin or Role.AUDITOR in self.roles

    def project_role(self, cortex: Cortex, project_id: str) -> ProjectRole | None:
        """The caller's role in a project, or None when it is not theirs to see."""
        if self.key_projects is not None and project_id not in self.key_projects:
            return None
        if self.is_admin:
            held: ProjectRole | None = ProjectRole.OWNER
        else:
            if project_id in self.known_roles:
                member = self.known_roles[project_id]
            elif self.user_id is not None:
                member = auth_queries.project_role(cortex.read_store, project_id, str(self.user_id))
            else:
                member = None
            held = ProjectRole(member) if member else None
            if held is None and Role.AUDITOR in self.roles:
                held = ProjectRole.VIEWER
        if held is not None and self.key_role is not None:
            held = min(held, self.key_role, key=PROJECT_ROLE_RANK.__getitem__)
        return held

    def visible_project_ids(self, cortex: Cortex) -> list[str] | None:
        """The projects the caller may read; None when it may read all."""
        if self.reads_everything:
            return None if self.key_projects is None else sorted(self.key_projects)
        if self.user_id is None:
            return []
        ids = auth_queries.member_project_ids(cortex.read_store, str(self.user_id))
        if self.key_projects is not None:
            return [pid for pid in ids if pid in self.key_projects]
        return ids


LOCAL_ADMIN = Principal(user_id=None, roles=frozenset({Role.ADMIN}))


def require_project(
    principal: Principal, cortex: Cortex, project_id: UUID | str, needed: ProjectRole
) -> None:
    """404 when the caller cannot see the project, 403 when its role there is too weak."""
    held = principal.project_role(cortex, str(project_id))
    if held is None:
        raise NotFoundException(f"project {project_id} not found")
    if not project_role_allows(held, needed):
        raise PermissionDeniedException(f"needs the {needed} role in this project")


def authenticate(
    cortex: Cortex,
    authorization: str | None,
    *,
    allow_api_keys: bool,
    project_id: str | None = None,
    resource: auth_queries.Resource | None = None,
) -> Principal:
    """The principal behind an ``Authorization: Bearer ...`` header, or 401.

    With a project id (or a resource in a project), the caller's role there is read in the
    same query.
    """
    credential = _bearer(authorization)
    if credential.startswith("ck_"):
        if not allow_api_keys:
            raise PermissionDeniedException("this route needs a user's token, not an API key")
        return _api_key_principal(cortex, credential)
    claims = _verified(cortex, credential)
    state = auth_queries.token_state(
        cortex.read_store,
        str(claims.user_id),
        str(claims.session_id or ""),
        claims.jti,
        project_id=project_id,
        resource=resource,
    )
    return _user_principal(claims, state, project_id)


def _bearer(authorization: str | None) -> str:
    scheme, _, credential = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise NotAuthorizedException("a bearer token is required", headers=CHALLENGE)
    return credential.strip()


def _verified(cortex: Cortex, token: str) -> AccessClaims:
    try:
        return cortex.tokens.verify(token)
    except InvalidToken:
        raise NotAuthorizedException("invalid or expired token", headers=CHALLENGE) from None


def _user_principal(
    claims: AccessClaims, state: dict[str, Any] | None, project_id: str | None
) -> Principal:
    """The user behind verified claims, unless the read models say the token was revoked."""
    if (
        state is None
        or state["disabled"]
        or int(state["token_version"]) != claims.token_version
        or state["session_revoked"]
        or state["blacklisted"]
    ):
        raise NotAuthorizedException("the token was revoked", headers=CHALLENGE)
    resource_project = state["resource_project_id"]
    scope = project_id or (str(resource_project) if resource_project else None)
    return Principal(
        user_id=claims.user_id,
        roles=_roles(state["roles"]),
        claims=claims,
        known_roles={scope: state["project_role"]} if scope else {},
        resource_project_id=str(resource_project) if resource_project else None,
    )


def _api_key_principal(cortex: Cortex, credential: str) -> Principal:
    _, key_hex, secret = [*credential.split("_", 2), "", ""][:3]
    try:
        key_id = UUID(hex=key_hex)
    except ValueError:
        raise NotAuthorizedException("invalid API key", headers=CHALLENGE) from None
    row = auth_queries.api_key(cortex.read_store, str(key_id))
    now = datetime.now(UTC)
    if (
        row is None
        or not same_digest(row["secret_hash"], digest(secret))
        or row["revoked"]
        or row["owner_disabled"]
        or datetime.fromisoformat(row["expires_at"]) <= now
    ):
        raise NotAuthorizedException("invalid API key", headers=CHALLENGE)
    owner_roles = _roles(row["owner_roles"])
    key_role = Role(row["role"])
    roles = frozenset({key_role}) if _may_delegate(owner_roles, key_role) else frozenset()
    last = row["last_used_at"]
    if last is None or now - datetime.fromisoformat(last) >= timedelta(minutes=1):
        cortex.auth.record_api_key_use(key_id, at=now)
    projects = frozenset(pid for pid in str(row["project_ids"]).split(",") if pid)
    project_role = (
        ProjectRole.EDITOR if key_role in (Role.ADMIN, Role.EDITOR) else ProjectRole.VIEWER
    )
    return Principal(
        user_id=UUID(row["owner_id"]),
        roles=roles,
        api_key_id=key_id,
        key_projects=projects,
        key_role=project_role,
    )


def _may_delegate(owner_roles: frozenset[Role], key_role: Role) -> bool:
    """A key's role never exceeds its owner's: admins any, editors editor or viewer keys."""
    if Role.ADMIN in owner_roles or key_role in owner_roles:
        return True
    return key_role == Role.VIEWER and Role.EDITOR in owner_roles


def _roles(text: Any) -> frozenset[Role]:
    return frozenset(Role(role) for role in str(text or "").split(",") if role in _ROLE_NAMES)


def check(
    cortex: Cortex,
    rule: Rule,
    authorization: str | None,
    path: dict[str, Any],
    after: int | None = None,
) -> Principal:
    """Everything the guard decides, synchronously (in a worker thread unless trivially cheap)."""
    if rule.public:
        return LOCAL_ADMIN if cortex.settings.auth.skip_auth else Principal(None, frozenset())
    if cortex.settings.auth.skip_auth:
        return LOCAL_ADMIN
    if rule.project not in (None, "handler") and after and authorization:
        # Read-your-writes reaches the guard too: membership and the resource's project come
        # from read models that may not have the caller's last command yet.
        wait_for_position(cortex, "projects", after)
        if rule.project in RESOURCE_PROJECTIONS:
            wait_for_position(cortex, RESOURCE_PROJECTIONS[rule.project], after)
    project_id = str(path["project_id"]) if rule.project == "path" else None
    principal = authenticate(
        cortex,
        authorization,
        allow_api_keys=rule.allow_api_keys,
        project_id=project_id,
        resource=_resource(rule, path),
    )
    _enforce(cortex, rule, principal, path)
    return principal


def _enforce(cortex: Cortex, rule: Rule, principal: Principal, path: dict[str, Any]) -> None:
    """The route's role and project rules (no I/O for users: their role was read with the token)."""
    if not (principal.is_admin or principal.roles & rule.roles):
        raise PermissionDeniedException("your role does not allow this")
    if rule.project == "path":
        require_project(principal, cortex, path["project_id"], rule.project_role)
    elif (resource := _resource(rule, path)) is not None:
        kind, resource_id = resource
        project_id = principal.resource_project_id
        if project_id is None and principal.api_key_id is not None:
            project_id = auth_queries.resource_project_id(cortex.read_store, resource)
        what = kind.replace("_", " ")
        if project_id is None:
            raise NotFoundException(f"{what} {resource_id} not found")
        try:
            require_project(principal, cortex, project_id, rule.project_role)
        except NotFoundException:
            raise NotFoundException(f"{what} {resource_id} not found") from None


def _resource(rule: Rule, path: dict[str, Any]) -> auth_queries.Resource | None:
    """(kind, id) of the project-scoped resource a route is about, from its path."""
    parameter = RESOURCE_PATH_PARAMETERS.get(rule.project or "")
    return (str(rule.project), str(path[parameter])) if parameter else None


async def authorize(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The app-wide guard."""
    operation_id = getattr(handler, "operation_id", None)
    if operation_id is None:
        return  # the framework's docs pages and static assets; every Cortex route has an id
    rule = PERMISSIONS.get(str(operation_id))
    if rule is None:
        raise PermissionDeniedException("this route has no permission rule")
    cortex: Cortex = connection.app.state.cortex
    if rule.public or cortex.settings.auth.skip_auth:  # nothing to look up: no thread hop
        connection.state.principal = check(cortex, rule, None, {})
        return
    authorization = connection.headers.get("authorization")
    path = dict(connection.path_params)
    after = _after(connection.query_params.get("after"))
    api_key = (authorization or "").partition(" ")[2].strip().startswith("ck_")
    if cortex.read_store.dialect == "postgresql" and after is None and not api_key:
        # The usual request: one query on the event loop, no worker-thread hop.
        principal = await _check_async(connection, cortex, rule, authorization, path)
    elif cortex.read_store.dialect == "sqlite" and after is None and not api_key:
        # Primary-key reads of a local WAL-mode file never wait for writers and take a few
        # microseconds: less than the hop to a worker thread that would wrap them. Waits for
        # ?after= and API keys (whose use may be recorded, a write) go to a worker thread.
        principal = check(cortex, rule, authorization, path)
    else:
        principal = await anyio.to_thread.run_sync(check, cortex, rule, authorization, path, after)
    connection.state.principal = principal


async def _check_async(
    connection: ASGIConnection[Any, Any, Any, Any],
    cortex: Cortex,
    rule: Rule,
    authorization: str | None,
    path: dict[str, Any],
) -> Principal:
    """check() for a user's bearer token, with the read-model query awaited."""
    claims = _verified(cortex, _bearer(authorization))
    project_id = str(path["project_id"]) if rule.project == "path" else None
    resource = _resource(rule, path)
    reader = await _async_reader(connection, cortex)
    state = await reader.fetchone(
        auth_queries.caller_state_sql(resource),
        auth_queries.token_state_params(
            str(claims.user_id), str(claims.session_id or ""), claims.jti, project_id, resource
        ),
    )
    principal = _user_principal(claims, state, project_id)
    _enforce(cortex, rule, principal, path)
    return principal


async def _async_reader(
    connection: ASGIConnection[Any, Any, Any, Any], cortex: Cortex
) -> AsyncPostgresReader:
    """The app's async reader, opened on first use in the app's event loop."""
    state = connection.app.state
    reader: AsyncPostgresReader | None = state.get("auth_reader")
    if reader is None:
        reader = AsyncPostgresReader(
            read_store_url(cortex.settings), pool_size=cortex.settings.database.pool_size
        )
        await reader.open()
        state.auth_reader = reader
    return reader


async def close_async_reader(app: Any) -> None:
    """Close the async reader at shutdown (registered by the app factory)."""
    reader: AsyncPostgresReader | None = app.state.get("auth_reader")
    if reader is not None:
        app.state.auth_reader = None
        await reader.close()


def _after(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() and len(value) < 19 else None


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.state.principal
    return principal
