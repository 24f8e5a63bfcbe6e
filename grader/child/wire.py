"""The plain-data wire format between the grader and a student's process.

Messages are JSON lines. NumPy arrays travel as `.npy` bytes (base64) and are read back
with `allow_pickle=False`; nothing ever crosses as a pickle. `encode` takes exact types
only (a subclass of float, an object array or a lying `__eq__` object becomes `unsupported`);
`decode` rebuilds values on the receiving side and rejects anything else.
"""

from __future__ import annotations

import base64
import io

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
        buffer = io.BytesIO()
        # ascontiguousarray alone would turn a 0-d array into shape (1,)
        np.save(buffer, np.ascontiguousarray(value).reshape(value.shape), allow_pickle=False)
        return {"t": "ndarray", "npy": base64.b64encode(buffer.getvalue()).decode("ascii")}
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


def _decode_array(text: str) -> np.ndarray:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except ValueError:
        raise WireError("a malformed array came back") from None
    if len(raw) > MAX_ARRAY_BYTES + 4096:
        raise WireError("the returned array is too large")
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception:
        raise WireError("a malformed array came back") from None
    if type(array) is not np.ndarray or array.dtype.kind not in NUMERIC_KINDS or array.dtype.fields:
        raise WireError(f"returned an array of dtype {getattr(array, 'dtype', '?')}; use a numeric dtype")
    return array


def _type_name(kind: type) -> str:
    try:
        module = kind.__module__
        name = kind.__qualname__
    except Exception:
        return "an unknown type"
    name = name if isinstance(name, str) else "?"
    return name if module in ("builtins", None) or not isinstance(module, str) else f"{module}.{name}"
