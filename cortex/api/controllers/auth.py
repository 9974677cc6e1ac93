"""/api/auth: bootstrap, tokens, logout, the caller, users, API keys; and the JWKS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.params import Body, FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_429_TOO_MANY_REQUESTS

from cortex.api.dependencies import accepted, wait_for_position
from cortex.api.problems import COMMAND_PROBLEMS, QUERY_PROBLEMS
from cortex.api.schemas.auth import (
    ApiKeyIssued,
    ChangePassword,
    CreateApiKey,
    CreateUser,
    Credentials,
    GrantRole,
    NewPassword,
    PasswordGrant,
    RefreshRequest,
    TokenResponse,
    UserRead,
)
from cortex.api.schemas.common import CommandAccepted
from cortex.api.security import CHALLENGE, Principal, require_project
from cortex.application.auth import LoginRefused, TokenPair
from cortex.application.errors import NotFound
from cortex.bootstrap import Cortex
from cortex.domain.roles import ProjectRole, Role
from projections import auth_queries

REFUSED = "invalid username or password"


def _tokens(cortex: Cortex, pair: TokenPair) -> TokenResponse:
    wait_for_position(cortex, "auth", pair.position)
    return TokenResponse(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        token_type=pair.token_type,
        expires_in=pair.expires_in,
    )


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _settled(cortex: Cortex, result: Any) -> Response[CommandAccepted]:
    """Answer once the auth read models have the change, so a revocation holds at once."""
    wait_for_position(cortex, "auth", result.position)
    return accepted(result)


class AuthController(Controller):
    path = "/api/auth"
    tags = ["auth"]

    @post(
        "/bootstrap-admin",
        operation_id="bootstrapAdmin",
        status_code=HTTP_201_CREATED,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def bootstrap_admin(
        self, cortex: NamedDependency[Cortex], data: JSONBody[Credentials]
    ) -> Response[CommandAccepted]:
        """Create the first admin; only while no user exists (409 afterwards)."""
        result = cortex.auth.register_user(
            username=data.username,
            password=data.password,
            roles=[Role.ADMIN],
            at=datetime.now(UTC),
            bootstrap=True,
        )
        wait_for_position(cortex, "auth", result.position)
        return accepted(result, HTTP_201_CREATED)

    @post(
        "/token",
        operation_id="issueToken",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def issue_token(
        self,
        cortex: NamedDependency[Cortex],
        request: Request[Any, Any, Any],
        data: Annotated[PasswordGrant, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> TokenResponse:
        """OAuth2 password flow: form-encoded username and password."""
        client = _client(request)
        wait = cortex.login_limiter.retry_after(client)
        if wait:
            raise HTTPException(
                status_code=HTTP_429_TOO_MANY_REQUESTS,
                detail="too many failed sign-ins from this address",
                headers={"Retry-After": str(wait)},
            )
        if data.grant_type != "password":
            raise NotAuthorizedException("unsupported grant_type", headers=CHALLENGE)
        try:
            pair = cortex.auth.login(
                username=data.username,
                password=data.password,
                client=client,
                at=datetime.now(UTC),
            )
        except LoginRefused:
            cortex.login_limiter.record_failure(client)
            raise NotAuthorizedException(REFUSED, headers=CHALLENGE) from None
        return _tokens(cortex, pair)

    @post(
        "/token/refresh",
        operation_id="refreshToken",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def refresh_token(
        self, cortex: NamedDependency[Cortex], data: JSONBody[RefreshRequest]
    ) -> TokenResponse:
        """Exchange a refresh token; the old one stops working, and reusing it ends the session."""
        try:
            pair = cortex.auth.refresh(data.refresh_token, at=datetime.now(UTC))
        except LoginRefused:
            raise NotAuthorizedException("invalid refresh token", headers=CHALLENGE) from None
        return _tokens(cortex, pair)

    @post(
        "/logout",
        operation_id="logout",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def logout(
        self, cortex: NamedDependency[Cortex], principal: NamedDependency[Principal]
    ) -> dict[str, bool]:
        """Revoke this access token and its session's refresh token, at once."""
        if principal.claims is not None:
            result = cortex.auth.logout(principal.claims, at=datetime.now(UTC))
            if result is not None:
                wait_for_position(cortex, "auth", result.position)
        return {"revoked": principal.claims is not None}

    @get("/me", operation_id="whoAmI", sync_to_thread=True, responses=QUERY_PROBLEMS)
    def who_am_i(
        self, cortex: NamedDependency[Cortex], principal: NamedDependency[Principal]
    ) -> UserRead:
        if principal.user_id is None:
            return UserRead(id=None, username="local", roles=sorted(principal.roles))
        row = auth_queries.get_user(cortex.read_store, str(principal.user_id))
        if row is None:
            raise NotFound("user", principal.user_id)
        return UserRead(
            id=row["id"], username=row["username"], roles=row["roles"], disabled=row["disabled"]
        )

    @post(
        "/me/password",
        operation_id="changeOwnPassword",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def change_own_password(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        data: JSONBody[ChangePassword],
    ) -> Response[CommandAccepted]:
        """Change your password; every token issued before stops working."""
        if principal.user_id is None:
            raise NotFound("user", UUID(int=0))
        result = cortex.auth.change_password(
            principal.user_id,
            current=data.current_password,
            new=data.new_password,
            at=datetime.now(UTC),
        )
        return _settled(cortex, result)

    @get("/users", operation_id="listUsers", sync_to_thread=True, responses=QUERY_PROBLEMS)
    def list_users(self, cortex: NamedDependency[Cortex]) -> list[UserRead]:
        return [
            UserRead(
                id=row["id"], username=row["username"], roles=row["roles"], disabled=row["disabled"]
            )
            for row in auth_queries.list_users(cortex.read_store)
        ]

    @post(
        "/users",
        operation_id="createUser",
        status_code=HTTP_201_CREATED,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def create_user(
        self, cortex: NamedDependency[Cortex], data: JSONBody[CreateUser]
    ) -> Response[CommandAccepted]:
        result = cortex.auth.register_user(
            username=data.username,
            password=data.password,
            roles=[Role(role) for role in data.roles],
            at=datetime.now(UTC),
        )
        wait_for_position(cortex, "auth", result.position)
        return accepted(result, HTTP_201_CREATED)

    @post(
        "/users/{user_id:uuid}/disable",
        operation_id="disableUser",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def disable_user(
        self, cortex: NamedDependency[Cortex], user_id: FromPath[UUID]
    ) -> Response[CommandAccepted]:
        return _settled(cortex, cortex.auth.set_disabled(user_id, True, at=datetime.now(UTC)))

    @post(
        "/users/{user_id:uuid}/enable",
        operation_id="enableUser",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def enable_user(
        self, cortex: NamedDependency[Cortex], user_id: FromPath[UUID]
    ) -> Response[CommandAccepted]:
        return _settled(cortex, cortex.auth.set_disabled(user_id, False, at=datetime.now(UTC)))

    @post(
        "/users/{user_id:uuid}/roles",
        operation_id="grantRole",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def grant_role(
        self, cortex: NamedDependency[Cortex], user_id: FromPath[UUID], data: JSONBody[GrantRole]
    ) -> Response[CommandAccepted]:
        return _settled(
            cortex, cortex.auth.grant_role(user_id, Role(data.role), at=datetime.now(UTC))
        )

    @delete(
        "/users/{user_id:uuid}/roles/{role:str}",
        operation_id="revokeRole",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def revoke_role(
        self, cortex: NamedDependency[Cortex], user_id: FromPath[UUID], role: FromPath[str]
    ) -> Response[CommandAccepted]:
        if role not in {r.value for r in Role}:
            raise NotFound("role", UUID(int=0))
        return _settled(cortex, cortex.auth.revoke_role(user_id, Role(role), at=datetime.now(UTC)))

    @post(
        "/users/{user_id:uuid}/password",
        operation_id="resetPassword",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def reset_password(
        self, cortex: NamedDependency[Cortex], user_id: FromPath[UUID], data: JSONBody[NewPassword]
    ) -> Response[CommandAccepted]:
        result = cortex.auth.reset_password(user_id, new=data.new_password, at=datetime.now(UTC))
        return _settled(cortex, result)

    @post(
        "/users/{user_id:uuid}/sign-out",
        operation_id="signOutUserEverywhere",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def sign_out_everywhere(
        self, cortex: NamedDependency[Cortex], user_id: FromPath[UUID]
    ) -> Response[CommandAccepted]:
        return _settled(cortex, cortex.auth.sign_out_everywhere(user_id, at=datetime.now(UTC)))

    @post(
        "/api-keys",
        operation_id="createApiKey",
        status_code=HTTP_201_CREATED,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def create_api_key(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        data: JSONBody[CreateApiKey],
    ) -> Response[ApiKeyIssued]:
        """A key for a script or service, shown once. It never exceeds its owner's rights."""
        if principal.user_id is None:
            raise NotFound("user", UUID(int=0))
        needed = ProjectRole.EDITOR if data.role == "editor" else ProjectRole.VIEWER
        for project_id in data.project_ids:
            require_project(principal, cortex, project_id, needed)
        now = datetime.now(UTC)
        expires_at = now + timedelta(days=data.expires_in_days)
        key, result = cortex.auth.create_api_key(
            owner_id=principal.user_id,
            name=data.name,
            role=Role(data.role),
            project_ids=data.project_ids,
            expires_at=expires_at,
            at=now,
        )
        wait_for_position(cortex, "auth", result.position)
        issued = ApiKeyIssued(
            id=result.id, key=key, expires_at=expires_at, position=result.position
        )
        return Response(issued, status_code=HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    @delete(
        "/api-keys/{key_id:uuid}",
        operation_id="revokeApiKey",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def revoke_api_key(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        key_id: FromPath[UUID],
    ) -> Response[CommandAccepted]:
        row = auth_queries.api_key(cortex.read_store, str(key_id))
        if row is None or (not principal.is_admin and row["owner_id"] != str(principal.user_id)):
            raise NotFound("api key", key_id)
        return _settled(cortex, cortex.auth.revoke_api_key(key_id, at=datetime.now(UTC)))


class JwksController(Controller):
    tags = ["auth"]

    @get("/.well-known/jwks.json", operation_id="jwks", sync_to_thread=False)
    def jwks(self, cortex: NamedDependency[Cortex]) -> dict[str, list[dict[str, Any]]]:
        """Public keys for verifying Cortex's tokens (empty with a shared HS256 secret)."""
        return cortex.keys.public_jwks
