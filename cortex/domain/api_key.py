"""The ApiKey aggregate: a credential for a script or service, scoped to projects and a role.

Invariants: the secret is recorded only as a hash; a key has an expiry; a revoked or expired key
authenticates nothing; use is recorded at most once a minute (not an event per request).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate, AggregateCreated, AggregateEvent

from cortex.domain.errors import InvalidTransition

USE_RECORD_INTERVAL = timedelta(minutes=1)


class ApiKeyCreated(AggregateCreated):
    owner_id: UUID
    name: str
    prefix: str
    secret_hash: str
    role: str
    project_ids: tuple[UUID, ...]
    expires_at: datetime


class ApiKeyRevoked(AggregateEvent):
    def apply(self, aggregate: ApiKey) -> None:
        aggregate.revoked = True


class ApiKeyUsed(AggregateEvent):
    def apply(self, aggregate: ApiKey) -> None:
        aggregate.last_used_at = self.timestamp


class ApiKey(Aggregate):
    """A bearer credential `ck_<prefix>_<secret>` for machines."""

    def __init__(
        self,
        owner_id: UUID,
        name: str,
        prefix: str,
        secret_hash: str,
        role: str,
        project_ids: tuple[UUID, ...],
        expires_at: datetime,
    ) -> None:
        self.owner_id = owner_id
        self.name = name
        self.prefix = prefix
        self.secret_hash = secret_hash
        self.role = role
        self.project_ids = tuple(project_ids)
        self.expires_at = expires_at
        self.revoked = False
        self.last_used_at: datetime | None = None

    @classmethod
    def create(
        cls,
        *,
        id: UUID,
        owner_id: UUID,
        name: str,
        prefix: str,
        secret_hash: str,
        role: str,
        project_ids: list[UUID],
        expires_at: datetime,
        at: datetime,
    ) -> ApiKey:
        if expires_at <= at:
            raise InvalidTransition("the expiry must be in the future")
        return cls._create(
            ApiKeyCreated,
            id=id,
            owner_id=owner_id,
            name=name,
            prefix=prefix,
            secret_hash=secret_hash,
            role=role,
            project_ids=tuple(dict.fromkeys(project_ids)),
            expires_at=expires_at,
            timestamp=at,
        )

    def revoke(self, *, at: datetime) -> None:
        if not self.revoked:
            self.trigger_event(ApiKeyRevoked, timestamp=at)

    def record_use(self, *, at: datetime) -> bool:
        """Record a use unless one was recorded within the last minute; say whether it was."""
        if self.last_used_at is not None and at - self.last_used_at < USE_RECORD_INTERVAL:
            return False
        self.trigger_event(ApiKeyUsed, timestamp=at)
        return True
