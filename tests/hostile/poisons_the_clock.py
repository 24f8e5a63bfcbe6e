# loses:
# The student's clocks return NaN, so the times the child measures for their code are NaN.
# Stored as NULL in a NOT NULL column, they failed the whole run: no gradebook for anyone.
import time as _time

_time.perf_counter = lambda: float("nan")
_time.monotonic = lambda: float("nan")
_time.time = lambda: float("nan")
