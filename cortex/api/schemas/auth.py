"""Auth wire types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

Username = Annotated[str, msgspec.Meta(min_length=3, max_length=64)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
RoleName = Literal["admin", "editor", "viewer", "auditor"]
ProjectRoleName = Literal["owner", "editor", "viewer"]


class Credentials(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    username: Username
    password: Password


class PasswordGrant(msgspec.Struct, frozen=True, kw_only=True):
    """OAuth2 password flow (form-encoded)."""

    username: Annotated[str, msgspec.Meta(max_length=256)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]
    grant_type: str = "password"
    scope: str = ""


class RefreshRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class TokenResponse(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class CreateUser(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    username: Username
    password: Password
    roles: list[RoleName] = msgspec.field(default_factory=lambda: ["viewer"])


class GrantRole(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    role: RoleName


class NewPassword(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    new_password: Password


class ChangePassword(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password


class UserRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID | None
    username: str
    roles: list[str]
    disabled: bool = False


class CreateApiKey(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    role: Literal["editor", "viewer", "auditor"] = "viewer"
    project_ids: Annotated[list[UUID], msgspec.Meta(max_length=100)] = msgspec.field(
        default_factory=list
    )
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 90


class ApiKeyIssued(msgspec.Struct, frozen=True, kw_only=True):
    """The key is shown here once; Cortex keeps only its hash."""

    id: UUID
    key: str
    expires_at: datetime
    position: int


class SetMember(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    user_id: UUID
    role: ProjectRoleName
