"""Auth read models: users, sessions, refresh tokens, the access-token blacklist, API keys."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from cortex.domain.api_key import ApiKeyCreated, ApiKeyRevoked, ApiKeyUsed
from cortex.domain.auth_session import (
    AccessTokenRevoked,
    RefreshTokenRotated,
    SessionRevoked,
    SessionStarted,
)
from cortex.domain.user import (
    PasswordChanged,
    RoleGranted,
    RoleRevoked,
    TokenVersionBumped,
    UserDisabled,
    UserEnabled,
    UserLockedOut,
    UserRegistered,
)
from projections.base import SqlProjection
from projections.store import Cursor


class AuthProjection(SqlProjection):
    name = "auth"
    tables = (
        "auth_users",
        "auth_sessions",
        "auth_refresh_tokens",
        "auth_token_blacklist",
        "auth_api_keys",
    )

    @singledispatchmethod
    def handle(self, event: Any, cur: Cursor) -> None:
        """Events that do not change the auth read models."""

    @handle.register
    def _registered(self, event: UserRegistered, cur: Cursor) -> None:
        at = event.timestamp.isoformat()
        cur.execute(
            self.sql(
                "INSERT INTO {auth_users} (id, username, roles, disabled, token_version,"
                " version, created_at, updated_at) VALUES (?, ?, ?, FALSE, 1, ?, ?, ?)"
            ),
            (
                str(event.originator_id),
                event.username,
                ",".join(event.roles),
                event.originator_version,
                at,
                at,
            ),
        )

    @handle.register
    def _role_granted(self, event: RoleGranted, cur: Cursor) -> None:
        self._user(
            cur,
            event,
            "roles = CASE WHEN roles = '' THEN ? ELSE roles || ',' || ? END, ",
            (event.role, event.role),
        )

    @handle.register
    def _role_revoked(self, event: RoleRevoked, cur: Cursor) -> None:
        self._user(
            cur,
            event,
            "roles = trim(replace(',' || roles || ',', ?, ','), ','), ",
            (f",{event.role},",),
        )

    @handle.register
    def _disabled(self, event: UserDisabled, cur: Cursor) -> None:
        self._user(cur, event, "disabled = ?, ", (True,))

    @handle.register
    def _enabled(self, event: UserEnabled, cur: Cursor) -> None:
        self._user(cur, event, "disabled = ?, ", (False,))

    @handle.register
    def _version_bumped(self, event: TokenVersionBumped, cur: Cursor) -> None:
        self._user(cur, event, "token_version = ?, ", (event.token_version,))

    @handle.register
    def _locked_out(self, event: UserLockedOut, cur: Cursor) -> None:
        self._user(cur, event, "locked_until = ?, ", (event.until.isoformat(),))

    @handle.register
    def _password_changed(self, event: PasswordChanged, cur: Cursor) -> None:
        self._user(cur, event, "locked_until = NULL, ", ())

    def _user(self, cur: Cursor, event: Any, assignments: str, values: tuple[Any, ...]) -> None:
        cur.execute(
            self.sql(
                "UPDATE {auth_users} SET " + assignments + "version = ?, updated_at = ?"
                " WHERE id = ?"
            ),
            (
                *values,
                event.originator_version,
                event.timestamp.isoformat(),
                str(event.originator_id),
            ),
        )

    @handle.register
    def _session_started(self, event: SessionStarted, cur: Cursor) -> None:
        session_id = str(event.originator_id)
        cur.execute(
            self.sql(
                "INSERT INTO {auth_sessions} (id, user_id, revoked, client, started_at)"
                " VALUES (?, ?, FALSE, ?, ?)"
            ),
            (session_id, str(event.user_id), event.client, event.timestamp.isoformat()),
        )
        cur.execute(
            self.sql(
                "INSERT INTO {auth_refresh_tokens} (token_hash, session_id, user_id, status,"
                " expires_at) VALUES (?, ?, ?, 'active', ?)"
            ),
            (event.refresh_hash, session_id, str(event.user_id), event.expires_at.isoformat()),
        )

    @handle.register
    def _rotated(self, event: RefreshTokenRotated, cur: Cursor) -> None:
        session_id = str(event.originator_id)
        cur.execute(
            self.sql("UPDATE {auth_refresh_tokens} SET status = 'rotated' WHERE token_hash = ?"),
            (event.previous_hash,),
        )
        cur.execute(
            self.sql(
                "INSERT INTO {auth_refresh_tokens} (token_hash, session_id, user_id, status,"
                " expires_at) SELECT ?, id, user_id, 'active', ? FROM {auth_sessions}"
                " WHERE id = ?"
            ),
            (event.refresh_hash, event.expires_at.isoformat(), session_id),
        )

    @handle.register
    def _access_revoked(self, event: AccessTokenRevoked, cur: Cursor) -> None:
        cur.execute(
            self.sql(
                "INSERT INTO {auth_token_blacklist} (jti, expires_at) VALUES (?, ?)"
                " ON CONFLICT (jti) DO NOTHING"
            ),
            (event.jti, event.expires_at.isoformat()),
        )

    @handle.register
    def _session_revoked(self, event: SessionRevoked, cur: Cursor) -> None:
        session_id = str(event.originator_id)
        cur.execute(
            self.sql("UPDATE {auth_sessions} SET revoked = ? WHERE id = ?"), (True, session_id)
        )
        cur.execute(
            self.sql("UPDATE {auth_refresh_tokens} SET status = 'revoked' WHERE session_id = ?"),
            (session_id,),
        )

    @handle.register
    def _key_created(self, event: ApiKeyCreated, cur: Cursor) -> None:
        cur.execute(
            self.sql(
                "INSERT INTO {auth_api_keys} (id, owner_id, name, secret_hash, role,"
                " project_ids, expires_at, revoked, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, FALSE, ?)"
            ),
            (
                str(event.originator_id),
                str(event.owner_id),
                event.name,
                event.secret_hash,
                event.role,
                ",".join(str(p) for p in event.project_ids),
                event.expires_at.isoformat(),
                event.timestamp.isoformat(),
            ),
        )

    @handle.register
    def _key_revoked(self, event: ApiKeyRevoked, cur: Cursor) -> None:
        cur.execute(
            self.sql("UPDATE {auth_api_keys} SET revoked = ? WHERE id = ?"),
            (True, str(event.originator_id)),
        )

    @handle.register
    def _key_used(self, event: ApiKeyUsed, cur: Cursor) -> None:
        cur.execute(
            self.sql("UPDATE {auth_api_keys} SET last_used_at = ? WHERE id = ?"),
            (event.timestamp.isoformat(), str(event.originator_id)),
        )
