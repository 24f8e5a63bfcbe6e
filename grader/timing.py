"""Where a grading run spends its time, stage by stage (the benchmark prints it).

Each stage adds up the seconds spent in it by every thread (so, with --jobs 2, the stages of
a run can add up to twice its wall time) and counts how often it ran. Nothing is measured
but wall time; recording costs two clock reads.
"""

from __future__ import annotations

import contextlib
import threading
import time

_lock = threading.Lock()
_totals: dict[str, list[float]] = {}  # stage -> [seconds, times]


def add(stage: str, seconds: float, times: int = 1) -> None:
    with _lock:
        entry = _totals.setdefault(stage, [0.0, 0])
        entry[0] += seconds
        entry[1] += times


@contextlib.contextmanager
def stage(name: str):
    started = time.perf_counter()
    try:
        yield
    finally:
        add(name, time.perf_counter() - started)


def totals() -> dict[str, tuple[float, int]]:
    """Seconds and count per stage since the process started (or `reset`)."""
    with _lock:
        return {name: (seconds, int(times)) for name, (seconds, times) in _totals.items()}


def reset() -> None:
    with _lock:
        _totals.clear()
