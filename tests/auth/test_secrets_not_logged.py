"""Passwords, tokens and API keys appear in no log line and in no event.

Everything is captured: structlog (its PrintLogger calls ``print``, wrapped here, because loggers
cached by an earlier test hold an older stderr), the logging module at DEBUG (caplog), and whatever
reaches file descriptors 1 and 2 (capfd).
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
import structlog
from structlog._config import BoundLoggerLazyProxy

from cortex.api.app import create_app
from cortex.domain.roles import ProjectRole, Role
from tests.auth.conftest import MakeAuthApp, auth_settings
from tests.auth.support import AuthApp, bearer, new_password


@dataclass
class Captured:
    capfd: Any
    structlog_lines: list[str] = field(default_factory=list)


def _uncache_structlog_loggers() -> None:
    """Make loggers cached with ``cache_logger_on_first_use`` bind afresh on their next use."""
    for obj in gc.get_objects():
        if isinstance(obj, BoundLoggerLazyProxy):
            vars(obj).pop("bind", None)


@pytest.fixture
def captured(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Captured]:
    """structlog's lines, and (through capfd) whatever reaches file descriptors 1 and 2.

    The app binds structlog and the logging module to the sys.stderr of the moment; capfd's
    stream closes after the test, so the teardown binds them again to the outer stream, as any
    other API test leaves them, and drops the loggers cached meanwhile.
    """
    outer_stderr = sys.stderr
    _uncache_structlog_loggers()
    real_print = print
    lines = Captured(capfd=request.getfixturevalue("capfd"))

    def recording_print(*args: Any, **kwargs: Any) -> None:
        lines.structlog_lines.append(" ".join(str(arg) for arg in args))
        real_print(*args, **kwargs)

    monkeypatch.setattr(structlog._output, "print", recording_print, raising=False)
    yield lines
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", outer_stderr)
        create_app(settings=auth_settings(tmp_path / "after"))
        _uncache_structlog_loggers()


def listen_to_logging(caplog: pytest.LogCaptureFixture) -> None:
    """Attach caplog at DEBUG again: the app's logging config replaced the root's handlers."""
    caplog.set_level(logging.DEBUG)
    for name in ("", "litestar"):
        logger = logging.getLogger(name)
        if caplog.handler not in logger.handlers:
            logger.addHandler(caplog.handler)


def everything_logged(captured: Captured, caplog: pytest.LogCaptureFixture) -> str:
    out, err = captured.capfd.readouterr()
    records = []
    for record in caplog.records:
        records.append(record.getMessage())
        records.append(repr(record.args))
        records.append(repr(record.__dict__))
    logging.getLogger("litestar").removeHandler(caplog.handler)
    return "\n".join([*captured.structlog_lines, caplog.text, *records, out, err])


def secrets_of(*values: str) -> set[str]:
    """Each secret, and the parts that are secret on their own (signature, refresh/key secret)."""
    found = set()
    for value in values:
        found.add(value)
        if value.startswith("ck_"):
            found.add(value.split("_", 2)[2])
        elif value.count(".") == 2:
            found.add(value.split(".")[2])  # a JWT's signature
        elif value.count(".") == 1:
            found.add(value.split(".")[1])  # a refresh token's secret
    return {value for value in found if len(value) >= 12}


def run_the_whole_flow(app: AuthApp) -> set[str]:
    admin = app.bootstrap_admin()
    user = app.create_user("writer", [Role.EDITOR])
    assert user.tokens is not None
    assert admin.tokens is not None
    project = app.create_project(user, "Logged")

    wrong_password = new_password()
    assert app.token_response(user.username, wrong_password).status_code == 401
    assert app.token_response("writter", user.password).status_code == 401  # a typo'd name

    rotated = app.refresh(user.tokens.refresh)
    assert rotated.status_code == 200
    new_pair = rotated.json()
    assert app.refresh(user.tokens.refresh).status_code == 401  # reuse: family revoked
    relogged = app.login(user.username, user.password)

    issued = app.client.post(
        "/api/auth/api-keys",
        json={"name": "ci", "role": "editor", "project_ids": [project]},
        headers=relogged.headers,
    )
    assert issued.status_code == 201, issued.text
    key = issued.json()["key"]
    app.settle()
    assert app.client.get(f"/api/projects/{project}", headers=bearer(key)).status_code == 200
    assert app.client.get("/api/auth/me", headers=bearer(key + "x")).status_code == 401

    reset_to = new_password()
    app.admin_post(f"/api/auth/users/{user.id}/password", {"new_password": reset_to})
    other = app.create_user("other", [Role.VIEWER])
    app.add_member(app.admin, project, other, ProjectRole.VIEWER)  # type: ignore[arg-type]
    assert other.tokens is not None
    app.logout(other.tokens)
    app.logout(admin.tokens)

    return secrets_of(
        admin.password,
        user.password,
        other.password,
        wrong_password,
        reset_to,
        admin.tokens.access,
        admin.tokens.refresh,
        user.tokens.access,
        user.tokens.refresh,
        other.tokens.access,
        other.tokens.refresh,
        new_pair["access_token"],
        new_pair["refresh_token"],
        relogged.access,
        relogged.refresh,
        key,
    )


def test_no_secret_reaches_any_log(
    make_auth_app: MakeAuthApp, captured: Captured, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_auth_app(CORTEX_LOG_LEVEL="DEBUG")
    listen_to_logging(caplog)
    secrets = run_the_whole_flow(app)
    logged = everything_logged(captured, caplog)

    # The capture works: bootstrap logs through structlog (printed before logging is configured,
    # through the logging module's root handler after), the test client through logging.
    assert "migrations_applied" in logged
    assert "/api/auth/token" in caplog.text
    leaked = sorted(secret[:8] + "..." for secret in secrets if secret in logged)
    assert not leaked, f"secrets in the logs (first characters shown): {leaked}"


def test_no_secret_is_recorded_in_the_event_store(make_auth_app: MakeAuthApp) -> None:
    app = make_auth_app()
    secrets = run_the_whole_flow(app)
    exported = [msgspec.json.encode(record).decode() for record in app.cortex.history.export()]
    assert len(exported) > 20
    text = "\n".join(exported)
    assert '"password_hash":"$argon2id$' in text
    assert '"secret_hash":' in text
    assert '"refresh_hash":' in text
    leaked = sorted(secret[:8] + "..." for secret in secrets if secret in text)
    assert not leaked, f"secrets in the event store (first characters shown): {leaked}"
