"""Numbers a self-check can confirm without holding them in the clear.

A number is cut into tolerance buckets on a log scale (width log(1 + rtol)); the bundle keeps
a salted, iterated hash of the expected value's bucket. An answer passes when its own bucket,
or a neighbour, hashes the same: within about rtol to 2 * rtol, a little looser than the
instructor's exact rule, which decides. With rtol = 0 the bucket is the exact integer. This
keeps the value out of reach of a text search, not of a determined brute force over the few
plausible buckets; answers with fewer possible values (bools, short names) are never hashed.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass

ITERATIONS = 2000


@dataclass(frozen=True)
class HashedNumber:
    salt: str
    digest: str
    rtol: float

    def matches(self, value) -> bool:
        if type(value) not in (int, float) or (isinstance(value, float) and not math.isfinite(value)):
            return False
        return any(_digest(self.salt, key) == self.digest for key in _neighbours(value, self.rtol))

    def as_dict(self) -> dict:
        return {"hashed": True, "salt": self.salt, "digest": self.digest, "rtol": self.rtol}

    @classmethod
    def from_dict(cls, data: dict) -> HashedNumber:
        return cls(str(data["salt"]), str(data["digest"]), float(data["rtol"]))


def hash_number(value: float, rtol: float) -> HashedNumber:
    salt = secrets.token_hex(8)
    return HashedNumber(salt, _digest(salt, _bucket(value, rtol)), rtol)


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


def _digest(salt: str, key: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", key.encode(), salt.encode(), ITERATIONS).hex()
