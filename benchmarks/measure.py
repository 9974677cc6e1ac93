"""What the benchmarks share for measuring: percentiles, timing wrappers, and the helper
processes (a free port, their CPU time, the fake model server, stopping them)."""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]


class Phases:
    """Timing wrappers set as attributes of objects (or modules) of this process: cortex's code
    is not changed, and ``restore`` takes them off again. Time accumulates per phase until
    ``take``."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._undo: list[tuple[Any, str, Any, bool]] = []

    def wrap(self, owner: Any, name: str, phase: str) -> None:
        original = getattr(owner, name)
        current, calls = self.current, self.calls

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                current[phase] += time.perf_counter() - started
                calls[phase] += 1

        own = name in vars(owner)
        self._undo.append((owner, name, vars(owner).get(name), own))
        setattr(owner, name, timed)

    def take(self) -> dict[str, float]:
        taken = dict(self.current)
        self.current.clear()
        return taken

    def take_calls(self) -> Counter[str]:
        taken = Counter(self.calls)
        self.calls.clear()
        return taken

    def restore(self) -> None:
        for owner, name, original, own in reversed(self._undo):
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
        self._undo.clear()


def close_child(process: subprocess.Popen[Any]) -> None:
    """End a helper process that runs until its stdin closes; kill it if it lingers."""
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def die_with_parent() -> None:
    """In the child, before exec (Linux): SIGTERM when the benchmark dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


_MODEL_SERVER = """
import sys
from tests.support.llm_server import FakeLLMServer
server = FakeLLMServer(model=sys.argv[1]).start()
print(server.base_url, flush=True)
sys.stdin.read()  # until the benchmark closes our stdin (or exits)
server.stop()
"""


@contextlib.contextmanager
def model_server(model: str) -> Iterator[str]:
    """The tests' FakeLLMServer (answering at once) in a subprocess; yields its base URL
    (http://127.0.0.1:port/v1)."""
    process = subprocess.Popen(
        [sys.executable, "-c", _MODEL_SERVER, model],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http://"):
            raise SystemExit("the fake model server did not start")
        yield base_url
    finally:
        close_child(process)
