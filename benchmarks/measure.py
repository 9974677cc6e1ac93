"""What the benchmarks share for measuring: percentiles, timing wrappers, stopping a helper
process."""

from __future__ import annotations

import math
import subprocess
import time
from collections import Counter, defaultdict
from typing import Any


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
