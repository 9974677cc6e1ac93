"""``generate_text`` and ``agenerate_text``: the skeleton's one-line call, now routed, retried,
fallen back and audited like every call through the API.

They use the process's Cortex: the one the app or worker wired (``use``), else one built from
the environment on first use.
"""

from __future__ import annotations

import atexit
import threading
from functools import partial
from typing import TYPE_CHECKING
from uuid import UUID

import anyio.to_thread

from cortex.lanes.types import Lane

if TYPE_CHECKING:
    from cortex.application.model_calls import Generated
    from cortex.bootstrap import Cortex

_lock = threading.Lock()
_current: Cortex | None = None


def use(cortex: Cortex | None) -> None:
    """Make ``generate_text`` use this Cortex (the app and workers call it when they start)."""
    global _current
    with _lock:
        _current = cortex


def _cortex() -> Cortex:
    global _current
    with _lock:
        if _current is None:
            from cortex.bootstrap import bootstrap
            from cortex.settings import load_settings

            _current = bootstrap(load_settings())
            atexit.register(_current.close)
        return _current


def generate_text(
    prompt: str,
    project_id: UUID | str,
    *,
    lane: Lane | str | None = None,
    max_tokens: int | None = None,
    system: str | None = None,
) -> Generated:
    """Answer ``prompt`` in the project; ``.text`` is the answer, ``.decision`` the routing."""
    return _cortex().model_calls.generate(
        prompt,
        project_id=UUID(str(project_id)),
        lane=Lane(lane) if lane else None,
        max_tokens=max_tokens,
        system=system,
    )


async def agenerate_text(
    prompt: str,
    project_id: UUID | str,
    *,
    lane: Lane | str | None = None,
    max_tokens: int | None = None,
    system: str | None = None,
) -> Generated:
    """``generate_text`` for async code: the blocking call runs in a worker thread."""
    call = partial(
        generate_text, prompt, project_id, lane=lane, max_tokens=max_tokens, system=system
    )
    return await anyio.to_thread.run_sync(call)
