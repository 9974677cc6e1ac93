"""System wire types: readiness (public and detailed) and the running configuration."""

from __future__ import annotations

from typing import Any

import msgspec


class Check(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    ok: bool
    detail: str = ""
    lag: int | None = None


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    """``failing`` names the checks that did not pass (empty when ready)."""

    ready: bool
    failing: list[str]
    checks: dict[str, Check]


class CheckDetail(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    detail: str
    latency_ms: float
    lag: int | None = None


class ReadinessDetail(msgspec.Struct, frozen=True, kw_only=True):
    """The checks of ``/readyz`` with fuller details (addresses, passwords masked; error
    messages) and how long each took."""

    ready: bool
    failing: list[str]
    checks: dict[str, CheckDetail]


class SystemInfo(msgspec.Struct, frozen=True, kw_only=True):
    """``configuration``: every CORTEX_* variable with the value in force; secrets are ``***``
    when set (``""`` when not) and URLs show no password."""

    version: str
    profile: str
    python: str
    configuration: dict[str, Any]
