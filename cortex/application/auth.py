"""Authentication as events: users, sign-in sessions with rotating refresh tokens, API keys."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import msgspec
from eventsourcing.application import AggregateNotFoundError

from cortex.application.errors import NotFound, VersionConflict
from cortex.application.event_log import CommandResult, EventLog
from cortex.auth.passwords import digest, hash_password, new_secret, verify_password
from cortex.auth.tokens import AccessClaims, TokenIssuer
from cortex.domain.api_key import ApiKey
from cortex.domain.auth_session import AuthSession, RefreshTokenReused
from cortex.domain.errors import DomainError, InvalidInput, InvalidTransition
from cortex.domain.password_policy import check_password
from cortex.domain.roles import Role
from cortex.domain.user import User, normalise_username
from cortex.domain.user_directory import (
    DIRECTORY_ID,
    UserDirectory,
    UsernameClaim,
    username_claim_id,
)


class LoginRefused(Exception):
    """Wrong username or password, or an account that may not sign in: one answer for all."""


class TokenPair(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    position: int


class AuthService:
    """Commands of the auth context."""

    def __init__(self, log: EventLog, issuer: TokenIssuer, *, refresh_lifetime: timedelta) -> None:
        self._log = log
        self._issuer = issuer
        self._refresh_lifetime = refresh_lifetime

    # Users -----------------------------------------------------------------------------------

    def register_user(
        self,
        *,
        username: str,
        password: str,
        roles: list[Role],
        at: datetime,
        bootstrap: bool = False,
    ) -> CommandResult:
        """Create a user (the first admin when ``bootstrap``); a taken username is a conflict."""
        name = normalise_username(username)
        check_password(password, username=name)
        user_id = uuid4()
        directory: UserDirectory
        try:
            directory = self._log.repository.get(DIRECTORY_ID)
        except AggregateNotFoundError:
            directory = UserDirectory.open(at=at)
        directory.add(user_id, at=at, bootstrap=bootstrap)
        user = User.register(
            id=user_id, username=name, password_hash=hash_password(password), roles=roles, at=at
        )
        claim = UsernameClaim.claim(name, user_id=user_id, at=at)
        try:
            return self._log.commit(user, claim, directory)
        except VersionConflict:
            if self._user_id(name) is not None:
                raise InvalidTransition(f"the username {name!r} is taken") from None
            raise

    def change_password(
        self, user_id: UUID, *, current: str, new: str, at: datetime
    ) -> CommandResult:
        user = self._log.load(user_id, User)
        if not verify_password(user.password_hash, current):
            raise InvalidInput("current_password", "does not match")
        return self.reset_password(user_id, new=new, at=at)

    def reset_password(self, user_id: UUID, *, new: str, at: datetime) -> CommandResult:
        user = self._log.load(user_id, User)
        check_password(new, username=user.username, field="new_password")
        user.change_password(hash_password(new), at=at)
        user.sign_out_everywhere(at=at)
        return self._log.commit(user)

    def grant_role(self, user_id: UUID, role: Role, *, at: datetime) -> CommandResult:
        user = self._log.load(user_id, User)
        user.grant(role, at=at)
        return self._log.commit(user)

    def revoke_role(self, user_id: UUID, role: Role, *, at: datetime) -> CommandResult:
        user = self._log.load(user_id, User)
        user.revoke(role, at=at)
        user.sign_out_everywhere(at=at)
        return self._log.commit(user)

    def set_disabled(self, user_id: UUID, disabled: bool, *, at: datetime) -> CommandResult:
        user = self._log.load(user_id, User)
        if disabled:
            user.disable(at=at)
        else:
            user.enable(at=at)
        return self._log.commit(user)

    def sign_out_everywhere(self, user_id: UUID, *, at: datetime) -> CommandResult:
        user = self._log.load(user_id, User)
        user.sign_out_everywhere(at=at)
        return self._log.commit(user)

    # Sessions --------------------------------------------------------------------------------

    def login(self, *, username: str, password: str, client: str, at: datetime) -> TokenPair:
        try:
            name = normalise_username(username)
        except InvalidInput:
            name = ""
        user_id = self._user_id(name) if name else None
        user = self._log.load(user_id, User) if user_id is not None else None
        if not verify_password(user.password_hash if user else None, password) or user is None:
            if user is not None:
                user.record_failed_login(client=client, at=at)
                with contextlib.suppress(VersionConflict):  # a concurrent failure was recorded
                    self._log.commit(user)
            raise LoginRefused
        try:
            user.check_can_sign_in(at=at)
        except DomainError:
            raise LoginRefused from None
        refresh_secret = new_secret()
        session = AuthSession.start(
            id=uuid4(),
            user_id=user.id,
            refresh_hash=digest(refresh_secret),
            expires_at=at + self._refresh_lifetime,
            client=client,
            token_version=user.token_version,
            at=at,
        )
        result = self._log.commit(session)
        return self._pair(user, session.id, refresh_secret, result.position, at)

    def refresh(self, refresh_token: str, *, at: datetime) -> TokenPair:
        """Rotate a refresh token; reusing a rotated one revokes its whole session."""
        session_id, secret = _split_refresh_token(refresh_token)
        try:
            session = self._log.load(session_id, AuthSession)
            user = self._log.load(session.user_id, User)
        except NotFound:
            raise LoginRefused from None
        if user.token_version != session.token_version:
            # Signed out everywhere (or password reset) since this session began.
            session.end("signed out everywhere", at=at)
            with contextlib.suppress(VersionConflict):
                self._log.commit(session)
            raise LoginRefused
        new = new_secret()
        try:
            session.rotate(
                digest(secret), digest(new), expires_at=at + self._refresh_lifetime, at=at
            )
        except RefreshTokenReused:
            self._log.commit(session)
            raise LoginRefused from None
        except DomainError:
            raise LoginRefused from None
        try:
            user.check_can_sign_in(at=at)
        except DomainError:
            raise LoginRefused from None
        try:
            result = self._log.commit(session)
        except VersionConflict:  # the same token raced itself: one rotation wins
            raise LoginRefused from None
        return self._pair(user, session.id, new, result.position, at)

    def logout(self, claims: AccessClaims, *, at: datetime) -> CommandResult | None:
        """Revoke the access token and end its session (with its refresh token)."""
        if claims.session_id is None:
            return None
        session = self._log.load(claims.session_id, AuthSession)
        session.log_out(
            jti=claims.jti,
            access_expires_at=datetime.fromtimestamp(claims.expires_at, at.tzinfo),
            at=at,
        )
        return self._log.commit(session)

    # API keys --------------------------------------------------------------------------------

    def create_api_key(
        self,
        *,
        owner_id: UUID,
        name: str,
        role: Role,
        project_ids: list[UUID],
        expires_at: datetime,
        at: datetime,
    ) -> tuple[str, CommandResult]:
        """A new key; its secret is in the returned string only, and never again."""
        key_id = uuid4()
        secret = new_secret()
        key = ApiKey.create(
            id=key_id,
            owner_id=owner_id,
            name=name,
            prefix=key_id.hex,
            secret_hash=digest(secret),
            role=str(role),
            project_ids=project_ids,
            expires_at=expires_at,
            at=at,
        )
        return f"ck_{key_id.hex}_{secret}", self._log.commit(key)

    def revoke_api_key(self, key_id: UUID, *, at: datetime) -> CommandResult:
        key = self._log.load(key_id, ApiKey)
        key.revoke(at=at)
        return self._log.commit(key)

    def record_api_key_use(self, key_id: UUID, *, at: datetime) -> None:
        key = self._log.load(key_id, ApiKey)
        if key.record_use(at=at):
            with contextlib.suppress(VersionConflict):  # another request recorded it
                self._log.commit(key)

    # -----------------------------------------------------------------------------------------

    def user_id(self, username: str) -> UUID | None:
        """The id of the user holding a username, from the write side."""
        try:
            return self._user_id(normalise_username(username))
        except InvalidInput:
            return None

    def _user_id(self, username: str) -> UUID | None:
        try:
            claim: UsernameClaim = self._log.repository.get(username_claim_id(username))
        except AggregateNotFoundError:
            return None
        return claim.user_id if isinstance(claim, UsernameClaim) else None

    def _pair(
        self, user: User, session_id: UUID, refresh_secret: str, position: int, at: datetime
    ) -> TokenPair:
        access, _ = self._issuer.issue(
            user_id=user.id,
            roles=tuple(str(role) for role in user.roles),
            token_version=user.token_version,
            session_id=session_id,
            now=at,
        )
        return TokenPair(
            access_token=access,
            refresh_token=f"{session_id.hex}.{refresh_secret}",
            expires_in=int(self._issuer.access_lifetime.total_seconds()),
            position=position,
        )


def _split_refresh_token(token: str) -> tuple[UUID, str]:
    session_hex, _, secret = token.partition(".")
    try:
        return UUID(hex=session_hex), secret
    except ValueError:
        raise LoginRefused from None
