"""The plain-data wire format between the grader and a student's process.

Messages are JSON lines. NumPy arrays travel as `.npy` bytes (base64) and are read back
with `allow_pickle=False`; nothing ever crosses as a pickle. `encode` takes exact types
only (a subclass of float, an object array or a lying `__eq__` object becomes `unsupported`);
`decode` rebuilds values on the receiving side and rejects anything else.
"""

from __future__ import annotations

import base64
import re

import numpy as np

MAX_DEPTH = 6
MAX_ITEMS = 100_000
MAX_ARRAY_BYTES = 64 * 1024 * 1024
MAX_INT_BITS = 13_000  # about 3,900 digits: below Python's 4,300-digit limit on int <-> str (JSON)
NUMERIC_KINDS = "biuf"


class WireError(ValueError):
    """A value is not plain data of an accepted type; the message is student feedback."""


def encode(value, depth: int = 0):
    """Turn a value into JSON-able data, tagging its type. Never raises."""
    kind = type(value)
    if value is None:
        return {"t": "none"}
    if kind is bool:
        return {"t": "bool", "v": value}
    if kind is int:
        if value.bit_length() > MAX_INT_BITS:
            return {"t": "unsupported", "type": f"int of {value.bit_length()} bits (too large)"}
        return {"t": "int", "v": value}
    if kind is float:
        return {"t": "float", "v": value}
    if kind is str:
        return {"t": "str", "v": value}
    if kind is np.bool_:
        return {"t": "bool", "v": bool(value), "np": "bool"}
    if isinstance(value, np.generic) and kind.__module__ == "numpy":
        if isinstance(value, np.integer):
            return {"t": "int", "v": int(value), "np": kind.__name__}
        if isinstance(value, np.floating):
            return {"t": "float", "v": float(value), "np": kind.__name__}
    if kind is np.ndarray:
        if value.dtype.kind not in NUMERIC_KINDS or value.dtype.fields is not None:
            return {"t": "unsupported", "type": f"numpy array of dtype {value.dtype}"}
        if value.nbytes > MAX_ARRAY_BYTES:
            return {"t": "unsupported", "type": f"numpy array of {value.nbytes} bytes (too large)"}
        return {"t": "ndarray", "npy": base64.b64encode(_npy_bytes(value)).decode("ascii")}
    if (kind is list or kind is tuple) and depth < MAX_DEPTH and len(value) <= MAX_ITEMS:
        return {"t": "list", "v": [encode(item, depth + 1) for item in value]}
    if kind is dict and type(value.get("__toy__")) is str and value["__toy__"] in ("clm", "mlm") \
            and "table" in value:
        return {"t": "toy", "kind": value["__toy__"], "table": encode(value["table"], depth + 1)}
    return {"t": "unsupported", "type": _type_name(kind)}


def decode(data, depth: int = 0, allow_toys: bool = False):
    """Rebuild a value from `encode`'s output; raise WireError for anything else."""
    if not isinstance(data, dict) or not isinstance(data.get("t"), str):
        raise WireError("a malformed value came back")
    tag = data["t"]
    value = data.get("v")
    if tag == "none":
        return None
    if tag == "bool" and type(value) is bool:
        return value
    if tag == "int" and type(value) is int:
        return value
    if tag == "float" and type(value) in (float, int):
        try:
            return float(value)
        except OverflowError:
            raise WireError("a malformed number came back") from None
    if tag == "str" and type(value) is str:
        return value
    if tag == "ndarray" and type(data.get("npy")) is str:
        return _decode_array(data["npy"])
    if tag == "list" and type(value) is list and depth < MAX_DEPTH and len(value) <= MAX_ITEMS:
        return [decode(item, depth + 1, allow_toys) for item in value]
    if tag == "toy" and allow_toys:
        return {"__toy__": data.get("kind"), "table": decode(data.get("table"), depth + 1)}
    if tag == "unsupported" and type(data.get("type")) is str:
        raise WireError(f"returned a value of type {data['type'][:200]}, which is not accepted; "
                        "return a Python number, bool, str, list or a numeric NumPy array")
    raise WireError("a malformed value came back")


_NPY_MAGIC = b"\x93NUMPY\x01\x00"
_NPY_HEADER = re.compile(r"\{'descr': '([<>|][biuf][1-9][0-9]?)', 'fortran_order': False, "
                         r"'shape': \(((?:[0-9]+, )*[0-9]*,?)\), \} *\n")


def _npy_bytes(array: np.ndarray) -> bytes:
    """The .npy (version 1.0) bytes of a numeric array, written directly: np.save's
    general machinery costs more than the data for the small arrays of exercises."""
    array = np.ascontiguousarray(array).reshape(array.shape)  # a 0-d array stays 0-d
    shape = "".join(f"{n}, " for n in array.shape).rstrip(" ") if len(array.shape) != 1 else f"{array.shape[0]},"
    header = f"{{'descr': '{array.dtype.str}', 'fortran_order': False, 'shape': ({shape}), }}"
    padding = 64 - (len(_NPY_MAGIC) + 2 + len(header) + 1) % 64
    header = (header + " " * padding + "\n").encode("latin1")
    return _NPY_MAGIC + len(header).to_bytes(2, "little") + header + array.tobytes()


def _decode_array(text: str) -> np.ndarray:
    """An array from .npy bytes, accepting only a plain numeric header: no pickle, no
    object or structured dtype, and exactly as many bytes as the shape needs."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except ValueError:
        raise WireError("a malformed array came back") from None
    if len(raw) > MAX_ARRAY_BYTES + 4096 or not raw.startswith(_NPY_MAGIC) or len(raw) < 10:
        raise WireError("a malformed or too large array came back")
    length = int.from_bytes(raw[8:10], "little")
    match = _NPY_HEADER.fullmatch(raw[10:10 + length].decode("latin1"))
    if match is None:
        raise WireError("returned an array that is not a plain numeric array; use a numeric dtype")
    dtype = np.dtype(match.group(1))
    shape = tuple(int(n) for n in match.group(2).replace(",", " ").split())
    data = raw[10 + length:]
    if len(data) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise WireError("a malformed array came back")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def _type_name(kind: type) -> str:
    try:
        module = kind.__module__
        name = kind.__qualname__
    except Exception:
        return "an unknown type"
    name = name if isinstance(name, str) else "?"
    return name if module in ("builtins", None) or not isinstance(module, str) else f"{module}.{name}"
