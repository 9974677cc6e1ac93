"""Per-request helpers: the wired Cortex, If-Match versions, cursors and read-your-writes waits."""

from __future__ import annotations

import base64
import binascii
import time
from typing import Annotated, Any

import msgspec
from litestar import Response
from litestar.datastructures import State
from litestar.params import HeaderParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK

from cortex.api.problems import InvalidQuery, ProjectionBehind
from cortex.api.schemas.common import CommandAccepted
from cortex.application.event_log import CommandResult
from cortex.bootstrap import Cortex


def provide_cortex(state: State) -> Cortex:
    cortex: Cortex = state.cortex
    return cortex


def expected_version(if_match: str | None) -> int | None:
    """The version in an ``If-Match: "N"`` header (weak or strong), or None when absent."""
    if if_match is None or if_match.strip() == "*":
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise InvalidQuery("If-Match", 'expected the ETag of a version, like "3"')
    return int(value)


def wait_for_position(cortex: Cortex, projection: str, after: int | None) -> None:
    """Block until the projector has applied position ``after`` (bounded), else 503."""
    if after is None or after <= 0:
        return
    runner = cortex.runners[projection]
    deadline = time.monotonic() + cortex.settings.projections.read_wait_seconds
    delay = 0.005
    while (position := runner.position()) < after:
        if time.monotonic() >= deadline:
            raise ProjectionBehind(projection, position, after)
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(values)).decode().rstrip("=")


def keyset_page(
    rows: list[dict[str, Any]], limit: int, *keys: str
) -> tuple[list[dict[str, Any]], str | None]:
    """The first ``limit`` rows of a keyset query that asked for one more, and the cursor after
    the last of them (its ``keys``' values), or None when nothing follows."""
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor([rows[-1][key] for key in keys]) if more else None


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = msgspec.json.decode(raw, type=list[str | int | float])
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidQuery("cursor", "not a cursor this API returned") from None
    if len(values) != arity or not all(map(_storable, values)):
        raise InvalidQuery("cursor", "not a cursor this API returned")
    return values


def _storable(value: object) -> bool:
    """Within what both databases accept: 64-bit integers, text without NUL characters."""
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, str):
        return "\x00" not in value
    return True


def text_query(field: str, value: str | None) -> str | None:
    """A free-text query value, refused (422) when it holds a NUL character."""
    if value is not None and "\x00" in value:
        raise InvalidQuery(field, "must not contain NUL characters")
    return value


IfMatch = Annotated[
    str | None, HeaderParameter(name="If-Match", description='Expected version, e.g. "3"')
]
After = Annotated[
    int | None,
    QueryParameter(
        ge=0, description="Wait until the read model has this log position (from a command)"
    ),
]


def accepted(result: CommandResult, status_code: int = HTTP_200_OK) -> Response[CommandAccepted]:
    """A command's answer: id, version and log position, with the version as ETag."""
    return Response(
        CommandAccepted(id=result.id, version=result.version, position=result.position),
        status_code=status_code,
        headers={"ETag": f'"{result.version}"'},
    )
