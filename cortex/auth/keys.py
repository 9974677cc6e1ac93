"""The keys that sign access tokens: a shared HS256 secret, or an RS256/EdDSA private key.

In the local profile a missing CORTEX_AUTH_SECRET is generated once and kept in
``<var>/auth-secret`` (mode 600), so tokens survive a restart.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joserfc.jwk import OctKey, OKPKey, RSAKey

from cortex.settings import Settings, SettingsError


class SigningKeyError(SettingsError):
    """The configured key cannot be used; the message names the variable."""


@dataclass(frozen=True)
class SigningKeys:
    algorithm: str
    signing_key: Any
    verifying_key: Any
    public_jwks: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"keys": []})


def load_signing_keys(settings: Settings) -> SigningKeys:
    if settings.auth.private_key_file:
        return _asymmetric(Path(settings.auth.private_key_file))
    key = OctKey.import_key(_secret(settings))
    return SigningKeys(algorithm="HS256", signing_key=key, verifying_key=key)


def _secret(settings: Settings) -> str:
    if settings.auth.secret:
        return settings.auth.secret
    path = Path(settings.var_dir) / "auth-secret"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret)
    return secret


def _asymmetric(path: Path) -> SigningKeys:
    try:
        pem = path.read_bytes()
    except OSError as error:
        raise SigningKeyError(
            f"CORTEX_AUTH_PRIVATE_KEY_FILE: cannot read {path}: {error.strerror}"
        ) from None
    for key_class, algorithm in ((RSAKey, "RS256"), (OKPKey, "EdDSA")):
        try:
            key = key_class.import_key(pem)
        except Exception:  # noqa: S112 - try the next key type
            continue
        public = key.as_dict(private=False)
        kid = key.thumbprint()
        public.update(kid=kid, alg=algorithm, use="sig")
        verifying = key_class.import_key(key.as_dict(private=False))
        return SigningKeys(algorithm, key, verifying, {"keys": [public]})
    raise SigningKeyError(
        f"CORTEX_AUTH_PRIVATE_KEY_FILE: {path} holds no RSA or Ed25519 private key"
    )
