"""The plain-data wire format between the grader and a student's process.

Messages are JSON lines; every value travels as a typed, self-describing record
(`{"t": "list", "v": [...]}`) and is rebuilt with exact types on the other side. Nothing
ever crosses as a pickle: NumPy arrays travel as `.npy` bytes (base64) whose header is
checked before a byte is read, pandas objects as their columns, index and dtypes.

Accepted, nested in any way (up to MAX_DEPTH levels):
  None, bool, int (any size: beyond 64 bits as hex, so Python's int <-> str limit does not
  apply), float (NaN and inf too), complex, str, bytes, list, tuple, dict (hashable keys),
  set, frozenset, NumPy arrays of a numeric, bool or string dtype, NumPy scalars, and
  pandas Series and DataFrames (index, column names and dtypes kept; columns of a NumPy
  numeric or bool dtype, `object`, `str`/`string`, the nullable Int/Float/boolean dtypes
  and `category`).
Exact types only: a subclass of any of them (a list, dict or str subclass, a float
subclass with a lying `__eq__`, a DataFrame subclass), an object array, a student's own
class or a generator is `unsupported`, and `decode` turns that into a WireError whose
message is the student's feedback.

`encode` never raises. `decode` runs on untrusted input on the trusted side: it raises
nothing but WireError, and its work is bounded by the limits below (depth, items per
container, items and bytes per value, hash collisions per set or dict). pandas is imported
only when a value is a pandas object: `encode` uses it only if the value's type comes from
pandas and pandas is imported already (the student's code did), `decode` imports it when
a record holds a Series or DataFrame.

This module is imported by the student's process as a top-level module: it imports
nothing of the grader.
"""

from __future__ import annotations

import base64
import re
import sys

import numpy as np

MAX_DEPTH = 6  # levels of nesting (a list in a list in a dict ...)
MAX_ITEMS = 100_000  # items of one list, tuple, dict, set, object column or index
# items of one value, all containers together (a dict entry is two: key and value); with
# the records' JSON this stays within what the runner parses of one reply (1,000,000 JSON
# containers, 2,000,000 commas and colons), so a value refused is refused here, by name
MAX_TOTAL_ITEMS = 300_000
MAX_ARRAY_BYTES = 64 * 1024 * 1024  # one array
# arrays, strings, bytes and big ints of one value together, as JSON text (base64, escapes):
# with the records around them, within the runner's 96 MB for one reply
MAX_TOTAL_BYTES = 88 * 1024 * 1024
MAX_COLLISIONS = 32  # elements of one set or keys of one dict with the same hash
MAX_DIMS = 32  # dimensions of one array
MAX_CATEGORIES = 10_000  # categories of one pandas categorical (pandas hashes them)
INLINE_INT_BITS = 64  # larger ints travel as hex
NUMERIC_KINDS = "biufc"
ARRAY_KINDS = "biufcUS"  # numeric, bool, str (U) and bytes (S)
ACCEPTED = ("None, a bool, int, float, complex, str or bytes, a list, tuple, dict, set or frozenset of these, "
            "a NumPy array or scalar, or a pandas Series or DataFrame")


class WireError(ValueError):
    """A value is not plain data of an accepted type; the message is student feedback."""


class _Refused(Exception):
    """Inside `encode`: the value (at `where`) cannot travel; becomes `unsupported`."""

    def __init__(self, what: str, where: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.where = where

    def inside(self, step: str) -> _Refused:
        return _Refused(self.what, step + self.where)


class _Budget:
    """What is left of one value's items and bytes, on either side."""

    __slots__ = ("items", "bytes")

    def __init__(self) -> None:
        self.items = MAX_TOTAL_ITEMS
        self.bytes = MAX_TOTAL_BYTES

    def take(self, items: int = 0, nbytes: int = 0) -> bool:
        self.items -= items
        self.bytes -= nbytes
        return self.items >= 0 and self.bytes >= 0


# ---------------------------------------------------------------- encoding


def encode(value, depth: int = 0):
    """Turn a value into JSON-able data, tagging its type. Never raises: what cannot travel
    becomes `{"t": "unsupported", "type": ..., "at": ...}` (where inside the value)."""
    try:
        return _encode(value, depth, _Budget())
    except _Refused as refused:
        record = {"t": "unsupported", "type": refused.what}
        if refused.where:
            record["at"] = refused.where
        return record
    except Exception:  # a student's object that breaks what we ask of it (e.g. len)
        try:
            name = _type_name(type(value))
        except Exception:
            name = "value"
        return {"t": "unsupported", "type": f"{name} that could not be read"}


_NP_SCALARS = tuple(dict.fromkeys(np.dtype(code).type for code in "?bBhHiIlLqQpPefdgFDG"))
# (type, dtype code, whether its value is exact as a JSON bool, int or float)
_NP_CODES = tuple((t, np.dtype(t).str, np.dtype(t).kind in "biu" or (np.dtype(t).kind == "f" and
                                                                     np.dtype(t).itemsize <= 8)) for t in _NP_SCALARS)


def _one_of(kind: type, kinds: tuple) -> bool:
    """`kind in kinds` by identity: a student's metaclass may make `==` lie."""
    return any(kind is k for k in kinds)


def _np_scalar(kind: type) -> tuple[str, bool] | None:
    for scalar, code, inline in _NP_CODES:
        if kind is scalar:
            return code, inline
    return None


def _encode(value, depth: int, budget: _Budget):
    kind = type(value)
    if value is None:
        return {"t": "none"}
    if kind is bool:
        return {"t": "bool", "v": value}
    if kind is int:
        bits = value.bit_length()
        if bits <= INLINE_INT_BITS:
            return {"t": "int", "v": value}
        if not budget.take(nbytes=bits // 4 + 2):
            raise _Refused(f"int of {bits} bits (too large)")
        return {"t": "int", "x": format(value, "x")}
    if kind is float:
        return {"t": "float", "v": value}
    if kind is complex:
        return {"t": "complex", "re": value.real, "im": value.imag}
    if kind is str:
        if not budget.take(nbytes=_text_cost(value)):
            raise _Refused(f"str of {len(value)} characters (too large)")
        return {"t": "str", "v": value}
    if kind is bytes:
        if not budget.take(nbytes=len(value) * 4 // 3 + 4):
            raise _Refused(f"bytes of {len(value)} bytes (too large)")
        return {"t": "bytes", "b64": base64.b64encode(value).decode("ascii")}
    scalar = _np_scalar(kind)
    if scalar is not None:
        code, inline = scalar
        if inline:  # a bool, an int, or a float of at most 64 bits: exact as a JSON value
            return {"t": "npscalar", "dtype": code, "v": value.item()}
        return {"t": "npscalar", "dtype": code, "b64": base64.b64encode(value.tobytes()).decode("ascii")}
    if kind is np.str_:
        return {"t": "npstr", "v": _encode(str(value), depth, budget)["v"]}
    if kind is np.bytes_:
        return {"t": "npbytes", "b64": _encode(bytes(value), depth, budget)["b64"]}
    if kind is np.ndarray:
        return {"t": "ndarray", "npy": _encode_array(value, budget)}
    if kind is list or kind is tuple or kind is set or kind is frozenset or kind is dict:
        if depth >= MAX_DEPTH:
            raise _Refused(f"{kind.__name__} nested deeper than {MAX_DEPTH} levels")
        if len(value) > MAX_ITEMS:
            raise _Refused(f"{kind.__name__} of {len(value)} items (more than {MAX_ITEMS:,})")
        if not budget.take(items=len(value) * (2 if kind is dict else 1) + 1):
            raise _Refused(f"value of more than {MAX_TOTAL_ITEMS:,} items in all")
        if kind is dict:
            return _encode_dict(value, depth, budget)
        tag = {list: "list", tuple: "tuple", set: "set", frozenset: "frozenset"}[kind]
        return {"t": tag, "v": _encode_items(value, depth, budget, ordered=kind in (list, tuple))}
    pandas = _pandas_of(value)
    if pandas is not None:
        if kind is pandas.DataFrame:
            return _encode_frame(value, pandas, depth, budget)
        if kind is pandas.Series:
            return _encode_series(value, pandas, depth, budget)
    raise _Refused(_type_name(kind))


def _encode_items(items, depth: int, budget: _Budget, ordered: bool) -> list:
    out = []
    for number, item in enumerate(items):
        try:
            out.append(_encode(item, depth + 1, budget))
        except _Refused as refused:
            raise refused.inside(f"[{number}]" if ordered else "{...}") from None
    return out


def _encode_dict(value: dict, depth: int, budget: _Budget) -> dict:
    if is_fixture(value):  # a fixture of the support module: arguments only, decoded with allow_fixtures
        try:
            params = _encode_dict(value["params"], depth + 1, budget)
        except _Refused as refused:
            raise refused.inside("['params']") from None
        return {"t": "fixture", "fixture": value["__fixture__"], "params": params, "seed": list(value["seed"])}
    keys, values = [], []
    for key, item in value.items():
        try:
            keys.append(_encode(key, depth + 1, budget))
        except _Refused as refused:
            raise _Refused(f"dict key of type {refused.what}") from None
        try:
            values.append(_encode(item, depth + 1, budget))
        except _Refused as refused:
            raise refused.inside(f"[{_key_text(key)}]") from None
    return {"t": "dict", "k": keys, "v": values}


def _text_cost(text: str) -> int:
    """At least the length of a string as JSON text (escapes: up to 12 bytes a character)."""
    return len(text) + 2 if text.isascii() and text.isprintable() else 12 * len(text) + 2


def _key_text(key) -> str:
    if type(key) is str:
        return repr(key[:40] + ("..." if len(key) > 40 else ""))
    if type(key) is int and key.bit_length() <= 64:
        return repr(key)
    return f"a {type(key).__name__} key"


def _encode_array(value: np.ndarray, budget: _Budget) -> str:
    dtype = value.dtype
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None or dtype.itemsize == 0:
        raise _Refused(f"numpy array of dtype {dtype}")
    if value.ndim > MAX_DIMS:
        raise _Refused(f"numpy array of {value.ndim} dimensions")
    if value.nbytes > MAX_ARRAY_BYTES or not budget.take(items=1, nbytes=value.nbytes * 4 // 3 + 200):
        raise _Refused(f"numpy array of {value.nbytes} bytes (too large)")
    return base64.b64encode(_npy_bytes(value)).decode("ascii")


# ---------------------------------------------------------------- pandas, encoding


def _pandas_of(value):
    """pandas, if `value`'s type comes from it and the student's code imported it; never
    imports it (the student's process must not pay for pandas it does not use)."""
    module = getattr(type(value), "__module__", None)
    if type(module) is not str or module.partition(".")[0] != "pandas":
        return None
    return sys.modules.get("pandas")


def _encode_frame(frame, pandas, depth: int, budget: _Budget) -> dict:
    if depth >= MAX_DEPTH:
        raise _Refused(f"DataFrame nested deeper than {MAX_DEPTH} levels")
    columns = frame.columns
    if len(columns) > MAX_ITEMS:
        raise _Refused(f"DataFrame of {len(columns)} columns (more than {MAX_ITEMS:,})")
    record = {"t": "dataframe", "index": _encode_index(frame.index, pandas, depth, budget, "the index"),
              "columns": _encode_index(columns, pandas, depth, budget, "the column names"), "cols": []}
    for number in range(len(columns)):
        label = columns[number]
        record["cols"].append(_encode_column(frame.iloc[:, number], pandas, depth, budget,
                                             f"column {_key_text(label)}"))
    return record


def _encode_series(series, pandas, depth: int, budget: _Budget) -> dict:
    if depth >= MAX_DEPTH:
        raise _Refused(f"Series nested deeper than {MAX_DEPTH} levels")
    try:
        name = _encode(series.name, depth + 1, budget)
    except _Refused as refused:
        raise _Refused(f"Series name of type {refused.what}") from None
    return {"t": "series", "name": name, "index": _encode_index(series.index, pandas, depth, budget, "the index"),
            "col": _encode_column(series, pandas, depth, budget, "the values")}


_MASKED = ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "Float32", "Float64", "boolean")


def _masked_dtypes(pandas) -> dict:
    names = {name: ("Boolean" if name == "boolean" else name) + "Dtype" for name in _MASKED}
    return {getattr(pandas, cls): name for name, cls in names.items() if hasattr(pandas, cls)}


def _encode_column(values, pandas, depth: int, budget: _Budget, what: str) -> dict:
    """The values of a Series, a DataFrame column or an Index, with their dtype."""
    dtype = values.dtype
    count = len(values)
    if isinstance(dtype, np.dtype):
        if dtype.kind in NUMERIC_KINDS and dtype.fields is None:
            return {"kind": "numpy", "npy": _encode_array(np.asarray(values.to_numpy(), dtype=dtype), budget)}
        if dtype.kind == "O":
            return {"kind": "object", "v": _encode_cells(values.to_numpy(dtype=object), depth, budget, what)}
    elif type(dtype) is pandas.StringDtype:
        cells = values.to_numpy(dtype=object)
        if count > MAX_ITEMS or not budget.take(items=count):
            raise _Refused(f"pandas {what} of {count} strings (more than {MAX_ITEMS:,})")
        strings = []
        for cell in cells:
            if type(cell) is str:
                if not budget.take(nbytes=_text_cost(cell)):
                    raise _Refused(f"pandas {what} (too large)")
                strings.append(cell)
            else:
                strings.append(None)  # missing
        na = getattr(dtype, "na_value", pandas.NA)
        return {"kind": "string", "storage": str(dtype.storage), "na": "NA" if na is pandas.NA else "nan",
                "v": strings}
    elif type(dtype) in _masked_dtypes(pandas):
        array = values.array
        data = array.to_numpy(dtype=dtype.numpy_dtype, na_value=False if dtype.name == "boolean" else 0)
        return {"kind": "masked", "dtype": dtype.name, "npy": _encode_array(np.asarray(data), budget),
                "mask": _encode_array(np.asarray(array.isna(), dtype=bool), budget)}
    elif type(dtype) is pandas.CategoricalDtype:
        categorical = values.array
        categories = categorical.categories
        if len(categories) > MAX_CATEGORIES:
            raise _Refused(f"pandas {what} of {len(categories)} categories (more than {MAX_CATEGORIES:,})")
        return {"kind": "category", "ordered": bool(dtype.ordered),
                "codes": _encode_array(np.asarray(categorical.codes), budget),
                "categories": _encode_index(categories, pandas, depth, budget, f"the categories of {what}")}
    raise _Refused(f"pandas {what} of dtype {dtype}")


def _encode_cells(cells, depth: int, budget: _Budget, what: str) -> list:
    if len(cells) > MAX_ITEMS or not budget.take(items=len(cells)):
        raise _Refused(f"pandas {what} of {len(cells)} values (more than {MAX_ITEMS:,})")
    out = []
    for number, cell in enumerate(cells):
        try:
            out.append(_encode(cell, depth + 1, budget))
        except _Refused as refused:
            step = f"[row {number}]" if what == "the values" else f"[{what}, row {number}]"
            raise _Refused(refused.what, step + refused.where) from None
    return out


def _encode_index(index, pandas, depth: int, budget: _Budget, what: str) -> dict:
    kind = type(index)
    try:
        name = _encode(index.name, depth + 1, budget) if kind is not pandas.MultiIndex else None
    except _Refused as refused:
        raise _Refused(f"name of {what} of type {refused.what}") from None
    if kind is pandas.RangeIndex:
        return {"t": "range", "start": int(index.start), "stop": int(index.stop), "step": int(index.step),
                "name": name}
    if kind is pandas.Index or kind is pandas.CategoricalIndex:
        return {"t": "index", "col": _encode_column(index, pandas, depth, budget, what), "name": name}
    if kind is pandas.MultiIndex:
        if index.nlevels > MAX_DIMS:
            raise _Refused(f"pandas MultiIndex of {index.nlevels} levels")
        names = []
        for level_name in index.names:
            try:
                names.append(_encode(level_name, depth + 1, budget))
            except _Refused as refused:
                raise _Refused(f"name of a level of {what} of type {refused.what}") from None
        return {"t": "multi", "names": names,
                "levels": [_encode_index(level, pandas, depth, budget, what) for level in index.levels],
                "codes": [_encode_array(np.asarray(codes), budget) for codes in index.codes]}
    raise _Refused(f"pandas {kind.__name__} as {what}")


# ---------------------------------------------------------------- decoding


def decode(data, depth: int = 0, allow_fixtures: bool = False):
    """Rebuild a value from `encode`'s output; raise WireError, and only WireError, for
    anything else. Fixtures (arguments of the grader's cases, as plain data) only with
    `allow_fixtures`."""
    try:
        return _decode(data, depth, allow_fixtures, _Budget())
    except WireError:
        raise
    except Exception:  # MemoryError, RecursionError, or what pandas or numpy make of a forged record
        raise WireError("a malformed value came back") from None


def _decode(data, depth: int, allow_fixtures: bool, budget: _Budget):
    if not isinstance(data, dict) or not isinstance(data.get("t"), str):
        raise WireError("a malformed value came back")
    tag = data["t"]
    value = data.get("v")
    if tag == "none":
        return None
    if tag == "bool" and type(value) is bool:
        return value
    if tag == "int":
        if type(value) is int:
            return value
        if type(data.get("x")) is str and _HEX.fullmatch(data["x"]) and budget.take(nbytes=len(data["x"])):
            return int(data["x"], 16)
    if tag == "float" and type(value) in (float, int):
        return _float(value)
    if tag == "complex" and type(data.get("re")) in (float, int) and type(data.get("im")) in (float, int):
        return complex(_float(data["re"]), _float(data["im"]))
    if tag == "str" and type(value) is str and budget.take(nbytes=len(value)):
        return value
    if tag == "bytes" and type(data.get("b64")) is str:
        return _bytes(data["b64"], budget)
    if tag == "npscalar":
        return _decode_np_scalar(data, budget)
    if tag == "npstr" and type(value) is str and budget.take(nbytes=len(value)):
        return np.str_(value)
    if tag == "npbytes" and type(data.get("b64")) is str:
        return np.bytes_(_bytes(data["b64"], budget))
    if tag == "ndarray" and type(data.get("npy")) is str:
        return _decode_array(data["npy"], budget)
    if tag in ("list", "tuple", "set", "frozenset", "dict"):
        return _decode_container(tag, data, depth, allow_fixtures, budget)
    if tag in ("dataframe", "series"):
        if depth >= MAX_DEPTH or not budget.take(items=1):
            raise WireError("a malformed value came back")
        return _decode_frame(data, depth, budget) if tag == "dataframe" else _decode_series(data, depth, budget)
    if tag == "fixture" and allow_fixtures and type(data.get("fixture")) is str and _NAME.fullmatch(data["fixture"]) \
            and _is_seed(data.get("seed")) and isinstance(data.get("params"), dict) and data["params"].get("t") == "dict":
        params = _decode(data["params"], depth + 1, False, budget)
        if all(type(key) is str and _NAME.fullmatch(key) for key in params):
            return {"__fixture__": data["fixture"], "params": params, "seed": list(data["seed"])}
    if tag == "unsupported" and type(data.get("type")) is str:
        what = data["type"][:200]
        where = data.get("at")
        if type(where) is str and where:
            raise WireError(f"returned a value with {_article(what)} at {where[:200]}, which cannot be graded; "
                            f"return {ACCEPTED}")
        raise WireError(f"returned {_article(what)}, which cannot be graded; return {ACCEPTED}")
    raise WireError("a malformed value came back")


_HEX = re.compile(r"-?[0-9a-f]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
_DIGITS = re.compile(r"[0-9]{1,40}")


# ---------------------------------------------------------------- fixtures
#
# A case argument `{fixture: NAME, ...}` of the rubric is built by the support module's
# NAME(rng, **params) on each side. Between them it is plain data: the name, the
# parameters, and the state of the case's generator where the fixture draws ("seed"), so
# that both sides build it from a generator in the same state.


def is_fixture(value) -> bool:
    """Whether `value` is a fixture as plain data: {"__fixture__": NAME, "params": {...}, "seed": [...]}."""
    return type(value) is dict and set(value) == {"__fixture__", "params", "seed"} \
        and type(value["__fixture__"]) is str and _NAME.fullmatch(value["__fixture__"]) is not None \
        and type(value["params"]) is dict and _is_seed(value["seed"])


def fixture_seed(rng: np.random.Generator) -> list:
    """The state of a (PCG64) generator as plain data: [state, increment, has_uint32, uinteger]."""
    state = rng.bit_generator.state
    if state.get("bit_generator") != "PCG64":
        raise ValueError("fixtures draw from numpy's default generator (PCG64)")
    return [str(state["state"]["state"]), str(state["state"]["inc"]), int(state["has_uint32"]),
            int(state["uinteger"])]


def fixture_rng(seed: list) -> np.random.Generator:
    """A generator in the state `fixture_seed` recorded."""
    bits = np.random.PCG64()
    bits.state = {"bit_generator": "PCG64", "state": {"state": int(seed[0]), "inc": int(seed[1])},
                  "has_uint32": int(seed[2]), "uinteger": int(seed[3])}
    return np.random.Generator(bits)


def _is_seed(seed) -> bool:
    return type(seed) is list and len(seed) == 4 and all(type(s) is str and _DIGITS.fullmatch(s) for s in seed[:2]) \
        and all(type(s) is int and 0 <= s < 2 ** 32 for s in seed[2:]) and seed[2] in (0, 1)


def _float(value) -> float:
    try:
        return float(value)
    except OverflowError:
        raise WireError("a malformed number came back") from None


def _bytes(text: str, budget: _Budget) -> bytes:
    if not budget.take(nbytes=len(text) * 3 // 4):
        raise WireError("a too large value came back")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except ValueError:  # binascii.Error and UnicodeEncodeError are ValueErrors
        raise WireError("a malformed value came back") from None


def _decode_container(tag: str, data: dict, depth: int, allow_fixtures: bool, budget: _Budget):
    value = data.get("v")
    if type(value) is not list or depth >= MAX_DEPTH or len(value) > MAX_ITEMS \
            or not budget.take(items=len(value) + 1):
        raise WireError("a malformed or too large value came back")
    items = [_decode(item, depth + 1, allow_fixtures if tag in ("list", "tuple") else False, budget) for item in value]
    if tag == "list":
        return items
    if tag == "tuple":
        return tuple(items)
    if tag in ("set", "frozenset"):
        _refuse_collisions(items)
        made = set(items) if tag == "set" else frozenset(items)
        if len(made) != len(items):
            raise WireError("a malformed set came back (an element twice)")
        return made
    keys = data.get("k")
    if type(keys) is not list or len(keys) != len(items) or not budget.take(items=len(keys)):
        raise WireError("a malformed dict came back")
    keys = [_decode(key, depth + 1, False, budget) for key in keys]
    _refuse_collisions(keys)
    made = dict(zip(keys, items))
    if len(made) != len(keys):
        raise WireError("a malformed dict came back (a key twice)")
    return made


def _refuse_collisions(items: list) -> None:
    """Refuse unhashable elements, and sets or dicts built so that many elements share a
    hash: building those takes time quadratic in their size (ints are easy to collide)."""
    counts: dict[int, int] = {}
    for item in items:
        try:
            code = hash(item)
        except TypeError:
            raise WireError(f"a malformed set or dict came back (an element of type {type(item).__name__})") from None
        counts[code] = counts.get(code, 0) + 1
        if counts[code] > MAX_COLLISIONS:
            raise WireError("returned a set or dict whose elements were chosen to collide in their hashes, "
                            "which cannot be graded")


_NP_DTYPE = r"[<>|=](?:[biufc][1-9][0-9]?|[US][1-9][0-9]{0,8})"
_NP_SCALAR_DTYPE = re.compile(r"[<>|=][biufc][1-9][0-9]?")
_NPY_MAGIC = b"\x93NUMPY\x01\x00"
_NPY_HEADER = re.compile(r"\{'descr': '(" + _NP_DTYPE + r")', 'fortran_order': False, "
                         r"'shape': \(((?:[0-9]{1,12}, )*[0-9]{0,12},?)\), \} *\n")


def _decode_np_scalar(data: dict, budget: _Budget):
    dtype_text, text = data.get("dtype"), data.get("b64")
    if type(dtype_text) is not str or not _NP_SCALAR_DTYPE.fullmatch(dtype_text):
        raise WireError("a malformed number came back")
    dtype = np.dtype(dtype_text)
    if "v" in data:
        return _inline_np_scalar(dtype, data["v"])
    if type(text) is not str:
        raise WireError("a malformed number came back")
    raw = _bytes(text, budget)
    if len(raw) != dtype.itemsize or not _one_of(dtype.type, _NP_SCALARS):
        raise WireError("a malformed number came back")
    if dtype.kind == "b" and raw not in (b"\x00", b"\x01"):
        raise WireError("a malformed bool came back")
    return np.frombuffer(raw, dtype=dtype)[0]


def _inline_np_scalar(dtype: np.dtype, value):
    """A numpy bool, int or float (at most 64 bits) from its JSON value, checked to be exact."""
    kind = dtype.kind
    if not _one_of(dtype.type, _NP_SCALARS) or kind not in "biuf" or (kind == "f" and dtype.itemsize > 8):
        raise WireError("a malformed number came back")
    if kind == "b" and type(value) is bool:
        return dtype.type(value)
    if kind in "iu" and type(value) is int:
        info = np.iinfo(dtype)
        if info.min <= value <= info.max:
            return dtype.type(value)
    if kind == "f" and type(value) in (float, int):
        return dtype.type(_float(value))
    raise WireError("a malformed number came back")


def _npy_bytes(array: np.ndarray) -> bytes:
    """The .npy (version 1.0) bytes of a plain array, written directly: np.save's
    general machinery costs more than the data for the small arrays of exercises."""
    array = np.ascontiguousarray(array).reshape(array.shape)  # a 0-d array stays 0-d
    shape = "".join(f"{n}, " for n in array.shape).rstrip(" ") if len(array.shape) != 1 else f"{array.shape[0]},"
    header = f"{{'descr': '{array.dtype.str}', 'fortran_order': False, 'shape': ({shape}), }}"
    padding = 64 - (len(_NPY_MAGIC) + 2 + len(header) + 1) % 64
    header = (header + " " * padding + "\n").encode("latin1")
    return _NPY_MAGIC + len(header).to_bytes(2, "little") + header + array.tobytes()


def _decode_array(text: str, budget: _Budget | None = None) -> np.ndarray:
    """An array from .npy bytes, accepting only a plain header: no pickle, no object or
    structured dtype, and exactly as many bytes as the shape needs."""
    budget = budget if budget is not None else _Budget()
    if len(text) > (MAX_ARRAY_BYTES + 4096) * 4 // 3 + 4:
        raise WireError("a malformed or too large array came back")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except ValueError:
        raise WireError("a malformed array came back") from None
    if len(raw) > MAX_ARRAY_BYTES + 4096 or not raw.startswith(_NPY_MAGIC) or len(raw) < 10:
        raise WireError("a malformed or too large array came back")
    length = int.from_bytes(raw[8:10], "little")
    match = _NPY_HEADER.fullmatch(raw[10:10 + length].decode("latin1"))
    if match is None:
        raise WireError("returned an array that is not a plain array of numbers, bools or strings; "
                        "use a numeric, bool or string dtype")
    dtype = np.dtype(match.group(1))
    shape = tuple(int(n) for n in match.group(2).replace(",", " ").split())
    data = raw[10 + length:]
    count = 1
    for n in shape:
        count *= n  # exact: Python ints do not wrap around
    if len(shape) > MAX_DIMS or any(n > MAX_ARRAY_BYTES for n in shape) or len(data) != count * dtype.itemsize \
            or not budget.take(items=1, nbytes=len(data)):
        raise WireError("a malformed array came back")
    array = np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if dtype.kind == "b" and array.size and array.view(np.uint8).max() > 1:
        raise WireError("a malformed bool array came back")
    return array


# ---------------------------------------------------------------- pandas, decoding


def _import_pandas():
    try:
        import pandas
    except ImportError:
        raise WireError("a pandas value came back, but pandas is not installed here") from None
    return pandas


def _decode_frame(data: dict, depth: int, budget: _Budget):
    pandas = _import_pandas()
    index = _decode_index(data.get("index"), pandas, depth, budget)
    columns = _decode_index(data.get("columns"), pandas, depth, budget)
    cols = data.get("cols")
    if type(cols) is not list or len(cols) != len(columns):
        raise WireError("a malformed DataFrame came back")
    series = [_series(_decode_column(col, pandas, depth, budget, len(index)), index, None, pandas) for col in cols]
    frame = pandas.DataFrame(dict(enumerate(series)), index=index, copy=False) if series \
        else pandas.DataFrame(index=index)
    frame.columns = columns
    return frame


def _decode_series(data: dict, depth: int, budget: _Budget):
    pandas = _import_pandas()
    name = _decode_name(data.get("name"), depth, budget)
    index = _decode_index(data.get("index"), pandas, depth, budget)
    values = _decode_column(data.get("col"), pandas, depth, budget, len(index))
    return _series(values, index, name, pandas)


def _series(values, index, name, pandas):
    dtype = object if isinstance(values, np.ndarray) and values.dtype == object else None
    # the same index object for every column: nothing is aligned (or hashed) on the way
    return pandas.Series(values, index=index, name=name, dtype=dtype, copy=False)


def _decode_name(data, depth: int, budget: _Budget):
    name = _decode(data, depth + 1, False, budget)
    try:
        hash(name)
    except TypeError:
        raise WireError("a malformed pandas name came back") from None
    return name


def _decode_index(data, pandas, depth: int, budget: _Budget, level: bool = False):
    if not isinstance(data, dict) or not budget.take(items=1):
        raise WireError("a malformed pandas index came back")
    tag = data.get("t")
    if tag == "range" and all(type(data.get(k)) is int for k in ("start", "stop", "step")) and data["step"] != 0:
        span = range(data["start"], data["stop"], data["step"])
        if len(span) > MAX_ARRAY_BYTES // 8:
            raise WireError("a too large pandas index came back")
        return pandas.RangeIndex(span.start, span.stop, span.step, name=_decode_name(data.get("name"), depth, budget))
    if tag == "index":
        name = _decode_name(data.get("name"), depth, budget)
        values = _decode_column(data.get("col"), pandas, depth, budget)
        if isinstance(values, pandas.Categorical):
            return pandas.CategoricalIndex(values, name=name)
        return pandas.Index(values, name=name, dtype=object if isinstance(values, np.ndarray)
                            and values.dtype == object else None, copy=False)
    if tag == "multi" and not level:
        levels, codes, names = data.get("levels"), data.get("codes"), data.get("names")
        if not (type(levels) is list and type(codes) is list and type(names) is list
                and 0 < len(levels) == len(codes) == len(names) <= MAX_DIMS):
            raise WireError("a malformed pandas index came back")
        levels = [_decode_index(item, pandas, depth, budget, level=True) for item in levels]
        codes = [_decode_codes(item, budget, len(lev)) for item, lev in zip(codes, levels)]
        if len({len(c) for c in codes}) != 1:
            raise WireError("a malformed pandas index came back")
        names = [_decode_name(item, depth, budget) for item in names]
        return pandas.MultiIndex(levels=levels, codes=codes, names=names, verify_integrity=False)
    raise WireError("a malformed pandas index came back")


def _decode_codes(text, budget: _Budget, categories: int) -> np.ndarray:
    if type(text) is not str:
        raise WireError("a malformed pandas value came back")
    codes = _decode_array(text, budget)
    if codes.ndim != 1 or codes.dtype.kind != "i" or (codes.size and (codes.min() < -1 or codes.max() >= categories)):
        raise WireError("a malformed pandas value came back")
    return codes


def _decode_column(data, pandas, depth: int, budget: _Budget, length: int | None = None):
    """A numpy array or pandas extension array of `length` values (any length if None)."""
    if not isinstance(data, dict):
        raise WireError("a malformed pandas value came back")
    kind = data.get("kind")
    if kind == "numpy" and type(data.get("npy")) is str:
        values = _decode_array(data["npy"], budget)
        if values.dtype.kind not in NUMERIC_KINDS:
            raise WireError("a malformed pandas value came back")
    elif kind == "object" and type(data.get("v")) is list and len(data["v"]) <= MAX_ITEMS \
            and budget.take(items=len(data["v"])):
        cells = [_decode(cell, depth + 1, False, budget) for cell in data["v"]]
        values = np.empty(len(cells), dtype=object)
        for number, cell in enumerate(cells):
            values[number] = cell
    elif kind == "string" and type(data.get("v")) is list and len(data["v"]) <= MAX_ITEMS \
            and data.get("storage") in ("python", "pyarrow") and data.get("na") in ("nan", "NA") \
            and budget.take(items=len(data["v"])):
        cells = data["v"]
        if not all(cell is None or (type(cell) is str and budget.take(nbytes=len(cell))) for cell in cells):
            raise WireError("a malformed pandas value came back")
        values = pandas.array(cells, dtype=_string_dtype(pandas, data["storage"], data["na"]))
    elif kind == "masked" and data.get("dtype") in _MASKED and type(data.get("npy")) is str \
            and type(data.get("mask")) is str:
        name = data["dtype"]
        dtype = pandas.api.types.pandas_dtype(name)
        numbers = _decode_array(data["npy"], budget)
        mask = _decode_array(data["mask"], budget)
        if numbers.ndim != 1 or numbers.dtype != dtype.numpy_dtype or mask.dtype != bool or mask.shape != numbers.shape:
            raise WireError("a malformed pandas value came back")
        maker = {"boolean": pandas.arrays.BooleanArray}.get(
            name, pandas.arrays.FloatingArray if name.startswith("Float") else pandas.arrays.IntegerArray)
        values = maker(numbers, mask)
    elif kind == "category" and type(data.get("ordered")) is bool:
        categories = _decode_index(data.get("categories"), pandas, depth, budget, level=True)
        if len(categories) > MAX_CATEGORIES or isinstance(categories, pandas.CategoricalIndex):
            raise WireError("a malformed pandas value came back")
        codes = _decode_codes(data.get("codes"), budget, len(categories))
        values = pandas.Categorical.from_codes(codes, dtype=pandas.CategoricalDtype(categories, data["ordered"]))
    else:
        raise WireError("a malformed pandas value came back")
    if getattr(values, "ndim", 1) != 1 or (length is not None and len(values) != length):
        raise WireError("a malformed pandas value came back")
    return values


def _string_dtype(pandas, storage: str, na: str):
    if storage == "pyarrow":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            storage = "python"  # the same strings, held another way
    na_value = np.nan if na == "nan" else pandas.NA
    try:
        return pandas.StringDtype(storage, na_value=na_value)
    except TypeError:  # pandas before 2.3: only the NA variant
        return pandas.StringDtype(storage)


# ---------------------------------------------------------------- helpers


class _ArrayRecord(tuple):
    """A plain array as `record` keeps it: its dtype, shape and bytes (C order)."""


def record(value):
    """What `unchanged` compares `value` with later: a plain array's dtype, shape and bytes
    (no `.npy` text made twice per argument), anything else its `encode`."""
    if type(value) is np.ndarray and value.dtype.kind in ARRAY_KINDS and value.dtype.fields is None:
        return _ArrayRecord((value.dtype.str, value.shape, value.tobytes()))
    return encode(value)


def unchanged(before, value) -> bool:
    """Whether `value` is still the plain data `before` (its `record`, or its `encode`,
    taken earlier): the same types, dtypes, values and NaN positions, judged without calling
    any `__eq__` of the value's; never raises. For telling whether a student's function
    changed an argument in place: `before = record(arg)` before the call, `unchanged(before,
    arg)` after it."""
    try:
        if type(before) is _ArrayRecord:
            return type(value) is np.ndarray and (value.dtype.str, value.shape) == before[:2] \
                and value.tobytes() == before[2]
        return _same_record(before, encode(value))
    except Exception:
        return False


def _same_record(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(_same_record(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(_same_record(x, y) for x, y in zip(a, b))
    if type(a) is float:
        return a == b or (a != a and b != b)
    return a == b


def _article(text: str) -> str:
    return f"{'an' if text[:1].lower() in 'aeio' else 'a'} {text}"


def _type_name(kind: type) -> str:
    try:
        module = kind.__module__
        name = kind.__qualname__
    except Exception:
        return "unknown type"
    name = name if isinstance(name, str) else "?"
    return name if module in ("builtins", None) or not isinstance(module, str) else f"{module}.{name}"
