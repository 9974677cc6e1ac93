"""The effective configuration, every CORTEX_* variable with the value in force, secrets masked.

Secrets (the auth secret, API keys, storage keys) show as ``***`` when set and ``""`` when not;
URLs keep their shape with the password masked (``postgresql://user:***@host/db``), and so do
password-like query parameters (``?password=***``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cortex.eventstore.environment import read_store_url
from cortex.settings import VARIABLES, Settings

MASK = "***"
SECRET_SUFFIXES = ("_SECRET", "_API_KEY", "_SECRET_KEY", "_ACCESS_KEY", "_PASSWORD", "_TOKEN")
_SECRET_QUERY_KEYS = ("password", "passwd", "secret", "token", "key")


def is_secret(variable: str) -> bool:
    """A variable whose whole value is a secret (CORTEX_AUTH_SECRET, CORTEX_*_API_KEY, ...)."""
    return variable.endswith(SECRET_SUFFIXES)


def mask_url(url: str) -> str:
    """The URL with any password (in the user part or a query parameter) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL Python can parse: show none of it
        return MASK if url else url
    netloc, query = parts.netloc, parts.query
    if password is not None:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:{MASK}@{host}"
    pairs = parse_qsl(query, keep_blank_values=True)
    masked = [
        (key, MASK if any(word in key.lower() for word in _SECRET_QUERY_KEYS) else value)
        for key, value in pairs
    ]
    if masked != pairs:
        query = urlencode(masked, safe="*")
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # nothing to hide (urlunsplit would also rewrite sqlite:/// as sqlite:/)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def effective_configuration(settings: Settings) -> dict[str, Any]:
    """Every CORTEX_* variable (settings.VARIABLES) with its value in force, secrets masked.

    Values left empty that default to something derived show what is derived (the read store
    beside the event store, the storage and Qdrant folders under CORTEX_VAR_DIR).
    """
    derived = {
        "CORTEX_READ_DATABASE_URL": read_store_url(settings),
        "CORTEX_STORAGE_DIR": settings.storage_dir,
        "CORTEX_QDRANT_DIR": "" if settings.qdrant.url else settings.qdrant_dir,
    }
    configuration: dict[str, Any] = {}
    for variable, path in VARIABLES.items():
        value: Any = settings
        for part in path:
            value = getattr(value, part)
        if value == "" and derived.get(variable):
            value = derived[variable]
        if is_secret(variable):
            value = MASK if value else ""
        elif isinstance(value, str) and "://" in value:
            value = mask_url(value)
        configuration[variable] = value
    return configuration
