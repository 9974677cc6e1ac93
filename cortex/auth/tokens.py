"""Access tokens: JWTs signed with the configured key, verified strictly.

Only the configured algorithm is accepted (so ``none`` and algorithm confusion fail), and the
issuer, audience and expiry (30 s leeway) are checked. Version and revocation are checked by the
guard against the read models.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from cortex.auth.keys import SigningKeys


class InvalidToken(Exception):
    """The token is not one Cortex issued, or no longer valid; the reason is for logs only."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: UUID
    roles: tuple[str, ...]
    token_version: int
    jti: str
    session_id: UUID | None
    expires_at: int


class TokenIssuer:
    def __init__(
        self, keys: SigningKeys, *, issuer: str, audience: str, access_lifetime: timedelta
    ) -> None:
        self._keys = keys
        self._algorithms = [keys.algorithm]
        self._header = {"alg": keys.algorithm, "typ": "JWT"}
        self.issuer = issuer
        self.audience = audience
        self.access_lifetime = access_lifetime
        # Signature and claims checks cost ~60 us per request; a token that verified once stays
        # verified until it expires. Revocation is checked on every request all the same.
        self._verified: dict[str, AccessClaims] = {}
        self._registry = JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            sub={"essential": True},
            exp={"essential": True},
            jti={"essential": True},
            ver={"essential": True},
        )

    def issue(
        self,
        *,
        user_id: UUID,
        roles: tuple[str, ...],
        token_version: int,
        session_id: UUID | None,
        now: datetime,
    ) -> tuple[str, AccessClaims]:
        issued = int(now.timestamp())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "roles": list(roles),
            "ver": token_version,
            "jti": secrets.token_urlsafe(16),
            "iat": issued,
            "exp": issued + int(self.access_lifetime.total_seconds()),
        }
        if session_id is not None:
            claims["sid"] = str(session_id)
        token = jwt.encode(
            self._header, claims, self._keys.signing_key, algorithms=self._algorithms
        )
        return token, _claims(claims)

    def verify(self, token: str) -> AccessClaims:
        """The token's claims if it is valid now (revocation is the guard's to check)."""
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at + 30 > time.time():
                return cached
            self._verified.pop(token, None)
        claims = self._verify(token)
        if len(self._verified) >= 10_000:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> AccessClaims:
        try:
            decoded = jwt.decode(token, self._keys.verifying_key, algorithms=self._algorithms)
            self._registry.validate(decoded.claims)
            return _claims(decoded.claims)
        except (JoseError, ValueError, TypeError, KeyError) as error:
            raise InvalidToken(type(error).__name__) from None


def _claims(claims: dict[str, Any]) -> AccessClaims:
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise ValueError("roles")
    sid = claims.get("sid")
    return AccessClaims(
        user_id=UUID(str(claims["sub"])),
        roles=tuple(roles),
        token_version=int(claims["ver"]),
        jti=str(claims["jti"]),
        session_id=UUID(str(sid)) if sid else None,
        expires_at=int(claims["exp"]),
    )
