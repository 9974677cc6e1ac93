"""The AuthSession aggregate: one sign-in and its chain of refresh tokens (a token family).

Invariants: only the newest refresh token of a session can be exchanged; presenting an older one
again is taken as theft and revokes the whole session; a revoked or expired session issues nothing;
a session started before its user's token version moved (sign out everywhere) is over.
Only SHA-256 hashes of refresh tokens are recorded.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, AggregateCreated, AggregateEvent

from cortex.domain.errors import InvalidTransition


class SessionStarted(AggregateCreated):
    """A user signed in; the first refresh token of the session was issued."""

    user_id: UUID
    refresh_hash: str
    expires_at: datetime
    client: str
    token_version: int


class RefreshTokenRotated(AggregateEvent):
    """The newest refresh token was exchanged for a new pair; the old one stops working."""

    previous_hash: str
    refresh_hash: str
    expires_at: datetime

    def apply(self, aggregate: AuthSession) -> None:
        aggregate.used_hashes = (*aggregate.used_hashes, self.previous_hash)
        aggregate.refresh_hash = self.refresh_hash
        aggregate.expires_at = self.expires_at


class AccessTokenRevoked(AggregateEvent):
    """An access token was revoked before its expiry (logout)."""

    jti: str
    expires_at: datetime


class SessionRevoked(AggregateEvent):
    """The session ended: its refresh token and every access token of it stop working."""

    reason: str

    def apply(self, aggregate: AuthSession) -> None:
        aggregate.revoked = True


class RefreshTokenReused(InvalidTransition):
    """An already rotated refresh token was presented again."""


class AuthSession(Aggregate):
    """A signed-in session of one user."""

    def __init__(
        self, user_id: UUID, refresh_hash: str, expires_at: datetime, token_version: int
    ) -> None:
        self.user_id = user_id
        self.token_version = token_version
        self.refresh_hash = refresh_hash
        self.expires_at = expires_at
        self.used_hashes: tuple[str, ...] = ()
        self.revoked = False

    @classmethod
    def start(
        cls,
        *,
        id: UUID,
        user_id: UUID,
        refresh_hash: str,
        expires_at: datetime,
        client: str,
        token_version: int,
        at: datetime,
    ) -> AuthSession:
        return cls._create(
            SessionStarted,
            id=id,
            user_id=user_id,
            refresh_hash=refresh_hash,
            expires_at=expires_at,
            client=client[:64],
            token_version=token_version,
            timestamp=at,
        )

    def end(self, reason: str, *, at: datetime) -> None:
        if not self.revoked:
            self.trigger_event(SessionRevoked, reason=reason, timestamp=at)

    def rotate(
        self, presented_hash: str, new_hash: str, *, expires_at: datetime, at: datetime
    ) -> None:
        """Exchange the newest refresh token; a reused one revokes the session and raises."""
        if self.revoked:
            raise InvalidTransition("the session has ended")
        if presented_hash in self.used_hashes:
            self.trigger_event(SessionRevoked, reason="refresh token reused", timestamp=at)
            raise RefreshTokenReused("refresh token reused; the session was revoked")
        if presented_hash != self.refresh_hash:
            raise InvalidTransition("unknown refresh token")
        if at >= self.expires_at:
            raise InvalidTransition("the refresh token has expired")
        self.trigger_event(
            RefreshTokenRotated,
            previous_hash=presented_hash,
            refresh_hash=new_hash,
            expires_at=expires_at,
            timestamp=at,
        )

    def log_out(self, *, jti: str | None, access_expires_at: datetime | None, at: datetime) -> None:
        if jti is not None and access_expires_at is not None:
            self.trigger_event(
                AccessTokenRevoked, jti=jti, expires_at=access_expires_at, timestamp=at
            )
        if not self.revoked:
            self.trigger_event(SessionRevoked, reason="logout", timestamp=at)
