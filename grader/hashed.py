"""Numbers a self-check can confirm without holding them in the clear.

A number is cut into tolerance buckets on a log scale (width log(1 + rtol)); the bundle keeps
salted PBKDF2 hashes of the expected value's bucket and of its two neighbours. An answer
passes when the hash of its own bucket is among them: within about rtol to 2 * rtol, a little
looser than the instructor's exact rule, which decides. With rtol = 0 the bucket is the exact
integer. A check's expected value and its mistakes share one salt, so the self-check hashes
an answer once per tolerance (a cache), however many values it is compared with.

What this protects, and what not: the value cannot be read or found by a text search, and
each guess costs ITERATIONS rounds of PBKDF2. But anyone can hash candidate values offline:
a value with few plausible buckets (a small int, an answer near a well-known figure) is found
in seconds, and the self-check itself answers "right or not" for any value a student tries.
Bools and short names have so few values that they are never hashed (form only).
"""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
from dataclasses import dataclass

# The cost of one guess: about 15 ms on one core (2,000 rounds took under 1 ms). A self-check
# of Exercise 7 computes at most 4; an offline search, one per bucket it tries.
ITERATIONS = 50_000


@dataclass(frozen=True)
class HashedNumber:
    salt: str
    digests: tuple[str, ...]  # the expected bucket and its neighbours, sorted
    rtol: float
    iterations: int = ITERATIONS

    def matches(self, value) -> bool:
        if type(value) not in (int, float) or (isinstance(value, float) and not math.isfinite(value)):
            return False
        return _digest(self.salt, _bucket(value, self.rtol), self.iterations) in self.digests

    def as_dict(self) -> dict:
        return {"hashed": True, "salt": self.salt, "digests": list(self.digests), "rtol": self.rtol,
                "iterations": self.iterations}

    @classmethod
    def from_dict(cls, data: dict) -> HashedNumber:
        return cls(str(data["salt"]), tuple(str(d) for d in data["digests"]), float(data["rtol"]),
                   int(data["iterations"]))


def new_salt() -> str:
    return secrets.token_hex(8)


def hash_number(value: float, rtol: float, salt: str | None = None, iterations: int = ITERATIONS) -> HashedNumber:
    """`value`'s bucket and its neighbours, hashed; pass one `salt` for the values one answer
    is compared with (expected value and mistakes), so the answer is hashed only once."""
    salt = salt or new_salt()
    keys = _neighbours(value, rtol)
    return HashedNumber(salt, tuple(sorted(_digest(salt, key, iterations) for key in keys)), rtol, iterations)


def _bucket(value: float, rtol: float) -> str:
    if rtol == 0:
        return f"exact:{int(value)}" if float(value).is_integer() else f"exact:{value!r}"
    if value == 0:
        return "zero"
    sign = "-" if value < 0 else "+"
    return f"{sign}{math.floor(math.log(abs(value)) / math.log1p(rtol))}"


def _neighbours(value: float, rtol: float) -> list[str]:
    key = _bucket(value, rtol)
    if rtol == 0 or key == "zero":
        return [key]
    sign, index = key[0], int(key[1:])
    return [f"{sign}{index + step}" for step in (-1, 0, 1)]


@functools.lru_cache(maxsize=256)
def _digest(salt: str, key: str, iterations: int) -> str:
    return hashlib.pbkdf2_hmac("sha256", key.encode(), salt.encode(), iterations).hex()
