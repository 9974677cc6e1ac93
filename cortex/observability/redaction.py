"""Defence in depth for logs: mask secret-named fields and values that look like credentials.

Nothing in Cortex should hand a password, token or key to a logger in the first place; this
processor is the net under that rule. It masks the value of any key named like a secret, at any
depth, and, inside every string, JWTs, Cortex API keys (``ck_<id>_<secret>``), refresh tokens
(``<session hex>.<secret>``) and ``Bearer``/``Basic`` credentials.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from structlog.typing import EventDict, WrappedLogger

REDACTED = "[redacted]"

# Counts such as ``tokens`` or ``max_tokens`` are not secrets; ``token``, ``access_token`` are.
SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)|secret|(^|_)token$|authori[sz]ation|api_?key$|cookie|credential"
    r"|private_key|signature",
    re.IGNORECASE,
)
SECRET_VALUE = re.compile(
    r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"  # a JWT (JWS compact form)
    r"|\bck_[0-9a-f]{32}_[A-Za-z0-9_-]+"  # a Cortex API key
    r"|\b[0-9a-f]{32}\.[A-Za-z0-9_-]{16,}"  # a Cortex refresh token
    r"|(?i:\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}"  # an Authorization header's value
)
_MAX_DEPTH = 6


_PLAIN = frozenset({int, float, bool, type(None)})
# A refresh token is 32 hex characters, a dot and at least 16 more.
_SHORTEST_REFRESH_TOKEN = 49


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """The structlog processor: the event with secrets masked (structlog hands every processor
    a dict of its own, so it is changed in place)."""
    for key, value in event_dict.items():
        kind = type(value)
        # Most values on a line are numbers and short plain strings: let them through at once.
        if kind in _PLAIN or (kind is str and not _secret_key(key) and not _may_hold_secret(value)):
            continue
        event_dict[key] = _clean(key, value, 0)
    return event_dict


def _clean(key: Any, value: Any, depth: int) -> Any:
    if _secret_key(key) and _maskable(value):
        return REDACTED
    return _scrub(value, depth)


@lru_cache(maxsize=4096)
def _secret_key(key: Any) -> bool:
    """Keys repeat on every line: each is matched once."""
    return isinstance(key, str) and SECRET_KEY.search(key) is not None


def _may_hold_secret(text: str) -> bool:
    """A cheap test first: every credential the pattern knows has one of these in it."""
    if "eyJ" in text or "ck_" in text or ("." in text and len(text) >= _SHORTEST_REFRESH_TOKEN):
        return True
    lowered = text.lower()
    return "bearer" in lowered or "basic" in lowered


def _maskable(value: Any) -> bool:
    """Counts and flags under a secret-sounding name are kept (``token_expired=True``)."""
    return value is not None and not isinstance(value, bool | int | float)


def _scrub(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return SECRET_VALUE.sub(REDACTED, value) if _may_hold_secret(value) else value
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, bytes | bytearray):
        return _scrub(bytes(value).decode("utf-8", "replace"), depth)
    if isinstance(value, Mapping):
        return {k: _clean(k, v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_scrub(item, depth + 1) for item in value]
        # Raw ASGI headers are (name, value) pairs: mask the value of a secret-named one.
        if isinstance(value, tuple) and len(value) == 2 and isinstance(items[0], str):
            return (items[0], _clean(items[0], items[1], depth + 1))
        return items if isinstance(value, list) else tuple(items)
    return value
