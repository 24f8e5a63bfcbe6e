"""The wire format between the grader and a student's process (grader/child/wire.py).

Every value goes through `json.dumps` / `json.loads` as it does on the real pipes.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

from grader.child import wire
from grader.child.wire import WireError


def over_the_wire(value, allow_toys: bool = False):
    """encode -> JSON text -> decode, as the runner does it."""
    return wire.decode(json.loads(json.dumps(wire.encode(value))), allow_toys=allow_toys)


def npy_base64(array: np.ndarray, allow_pickle: bool = False) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("value", [True, False, 0, -7, 2**70, 0.0, -1.5, 1e-300, "", "héllo ∪", None])
def test_plain_scalars_round_trip_with_their_type(value):
    back = over_the_wire(value)
    assert back == value and type(back) is type(value)


def test_special_floats_round_trip():
    assert over_the_wire(float("inf")) == float("inf")
    assert np.isnan(over_the_wire(float("nan")))


def test_lists_and_tuples_come_back_as_lists():
    value = [1, 2.5, "a", None, True, [3, [4.0]], (5, 6)]
    back = over_the_wire(value)
    assert back == [1, 2.5, "a", None, True, [3, [4.0]], [5, 6]]
    assert type(back[1]) is float and type(back[4]) is bool and type(back[6]) is list
    assert over_the_wire(()) == [] and over_the_wire([]) == []


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64", "int32", "int8", "uint8",
                                   "uint64", "bool", ">f8"])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (2, 1, 4)])
def test_arrays_round_trip_with_dtype_and_shape(dtype, shape):
    array = np.asarray(np.arange(int(np.prod(shape))).reshape(shape) * 1.25 - 2).astype(dtype)
    assert type(array) is np.ndarray
    back = over_the_wire(array)
    assert type(back) is np.ndarray
    assert back.dtype == array.dtype and back.shape == array.shape
    assert np.array_equal(back, array)


def test_non_contiguous_array_round_trips():
    array = np.arange(24, dtype=np.float64).reshape(4, 6)[:, ::2].T
    assert not array.flags.c_contiguous
    back = over_the_wire(array)
    assert back.shape == (3, 4) and np.array_equal(back, array)


def test_arrays_inside_lists_round_trip():
    value = [np.eye(2, dtype=np.float32), [np.arange(3)]]
    back = over_the_wire(value)
    assert back[0].dtype == np.float32 and np.array_equal(back[0], np.eye(2))
    assert back[1][0].dtype == np.arange(3).dtype and np.array_equal(back[1][0], [0, 1, 2])


def test_float_values_are_exact_after_the_round_trip():
    rng = np.random.default_rng(0)
    values = rng.normal(size=50)
    assert all(over_the_wire(float(v)) == float(v) for v in values)
    assert np.array_equal(over_the_wire(values), values)


@pytest.mark.parametrize("scalar,kind,python", [
    (np.int64(-3), int, -3),
    (np.int32(7), int, 7),
    (np.uint64(2**63 + 1), int, 2**63 + 1),
    (np.float32(0.1), float, float(np.float32(0.1))),
    (np.float64(2.5), float, 2.5),
    (np.float16(0.5), float, 0.5),
    (np.bool_(True), bool, True),
    (np.bool_(False), bool, False),
])
def test_numpy_scalars_come_back_as_python_kinds(scalar, kind, python):
    back = over_the_wire(scalar)
    assert type(back) is kind and back == python


# ---------------------------------------------------------------- refused values


class MyFloat(float):
    pass


class MyStr(str):
    pass


class MyInt(int):
    pass


class EqualsEverything:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class LyingMeta(type):
    def __eq__(cls, other):
        return True

    __hash__ = type.__hash__


class LyingType(metaclass=LyingMeta):
    pass


class MyList(list):
    pass


UNSUPPORTED = [
    (MyFloat(1.5), "MyFloat"),
    (MyStr("fnn"), "MyStr"),
    (MyInt(96), "MyInt"),
    (EqualsEverything(), "EqualsEverything"),
    (LyingType(), "LyingType"),
    (MyList([1, 2]), "MyList"),
    (np.array([1.0, "a"], dtype=object), "dtype object"),
    (np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]), "dtype"),
    (np.array([1 + 2j]), "complex128"),
    (np.array(["a", "b"]), "<U1"),
    (np.complex128(1 + 1j), "complex128"),
    (np.str_("fnn"), "str_"),
    (np.ma.masked_array([1.0, 2.0]), "MaskedArray"),
    ({"a": 1}, "dict"),
    ({1, 2}, "set"),
    (b"bytes", "bytes"),
    (1 + 2j, "complex"),
    (lambda x: x, "function"),
    (10**5000, "int"),
]


@pytest.mark.parametrize("value,name", UNSUPPORTED, ids=[n for _, n in UNSUPPORTED])
def test_unsupported_types_are_tagged_and_refused_by_name(value, name):
    data = wire.encode(value)
    assert data["t"] == "unsupported"
    assert name in data["type"]
    text = json.dumps(data)  # the tag itself always travels
    with pytest.raises(WireError, match="not accepted") as info:
        wire.decode(json.loads(text))
    assert name in str(info.value)


def test_unsupported_items_inside_lists_are_refused():
    with pytest.raises(WireError, match="MyFloat"):
        over_the_wire([1.0, [MyFloat(2.0)]])


def test_too_deep_nesting_is_refused():
    value: list = [1]
    for _ in range(10):
        value = [value]
    with pytest.raises(WireError):
        over_the_wire(value)


def test_a_self_containing_list_does_not_recurse_forever():
    value: list = [1]
    value.append(value)
    data = wire.encode(value)
    with pytest.raises(WireError):
        wire.decode(json.loads(json.dumps(data)))


@pytest.mark.parametrize("value", [
    {"__toy__": "clm"},  # no table
    {"__toy__": EqualsEverything(), "table": [1]},
    {"__toy__": "gpt", "table": [1]},
])
def test_encode_never_raises_on_toy_lookalikes(value):
    data = wire.encode(value)
    assert data["t"] == "unsupported"
    json.dumps(data)


# ---------------------------------------------------------------- malformed input


@pytest.mark.parametrize("data", [
    None, 3, "int", [], {}, {"v": 3}, {"t": 3, "v": 3}, {"t": "nope"},
    {"t": "int", "v": "3"}, {"t": "int", "v": True}, {"t": "int", "v": 3.0}, {"t": "int"},
    {"t": "float", "v": "1.5"}, {"t": "float", "v": True}, {"t": "float", "v": None},
    {"t": "float", "v": 10**400},
    {"t": "bool", "v": 1}, {"t": "bool", "v": "True"},
    {"t": "str", "v": 5}, {"t": "str"},
    {"t": "list", "v": "abc"}, {"t": "list", "v": {"t": "int", "v": 1}}, {"t": "list", "v": [3]},
    {"t": "list", "v": [{"t": "int", "v": "3"}]},
    {"t": "ndarray"}, {"t": "ndarray", "npy": 5},
    {"t": "ndarray", "npy": "not base64!!"}, {"t": "ndarray", "npy": "äöü"},
    {"t": "ndarray", "npy": base64.b64encode(b"just some bytes").decode()},
    {"t": "ndarray", "npy": npy_base64(np.arange(4))[:-8]},  # truncated
    {"t": "unsupported"}, {"t": "unsupported", "type": 5},
    {"t": "toy", "kind": "clm", "table": {"t": "ndarray", "npy": npy_base64(np.eye(2))}},
])
def test_decode_rejects_malformed_data(data):
    with pytest.raises(WireError):
        wire.decode(data)


@pytest.mark.parametrize("array", [np.array(["a"]), np.array([1j]), np.zeros(1, dtype=[("a", "<f8")])])
def test_decode_rejects_non_numeric_npy(array):
    with pytest.raises(WireError, match="dtype"):
        wire.decode({"t": "ndarray", "npy": npy_base64(array)})


UNPICKLED: list[str] = []


def _record_unpickling(tag):
    UNPICKLED.append(tag)
    return tag


class Payload:
    def __reduce__(self):
        return (_record_unpickling, ("payload ran",))


def test_a_pickled_object_array_is_refused_and_never_unpickled():
    array = np.array([Payload(), 1], dtype=object)
    text = npy_base64(array, allow_pickle=True)
    UNPICKLED.clear()
    with pytest.raises(WireError):
        wire.decode({"t": "ndarray", "npy": text})
    with pytest.raises(WireError):
        wire.decode({"t": "list", "v": [{"t": "ndarray", "npy": text}]})
    assert UNPICKLED == []
    # the payload is live: loading it with pickle allowed would run it
    np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=True)
    assert UNPICKLED == ["payload ran"]


def test_an_npz_archive_is_refused():
    buffer = io.BytesIO()
    np.savez(buffer, a=np.arange(3))
    with pytest.raises(WireError):
        wire.decode({"t": "ndarray", "npy": base64.b64encode(buffer.getvalue()).decode()})


def test_oversized_arrays_are_refused_on_both_sides(monkeypatch):
    monkeypatch.setattr(wire, "MAX_ARRAY_BYTES", 64)
    data = wire.encode(np.zeros(9))
    assert data["t"] == "unsupported" and "too large" in data["type"]
    with pytest.raises(WireError, match="too large"):
        wire.decode({"t": "ndarray", "npy": npy_base64(np.zeros(1000))})


# ---------------------------------------------------------------- toy models


def toy(kind="clm", rows=3, vocab=4):
    table = np.full((rows, vocab), 1.0 / vocab)
    return {"__toy__": kind, "table": table}


@pytest.mark.parametrize("kind", ["clm", "mlm"])
def test_toys_decode_only_when_allowed(kind):
    value = toy(kind)
    text = json.dumps(wire.encode(value))
    with pytest.raises(WireError):
        wire.decode(json.loads(text))
    with pytest.raises(WireError):
        wire.decode(json.loads(json.dumps(wire.encode([value]))))
    back = wire.decode(json.loads(text), allow_toys=True)
    assert back["__toy__"] == kind
    assert back["table"].dtype == np.float64 and np.array_equal(back["table"], value["table"])
    assert wire.decode(json.loads(json.dumps(wire.encode([value]))), allow_toys=True)[0]["__toy__"] == kind


def test_toys_nested_in_a_toy_table_are_refused():
    inner = json.loads(json.dumps(wire.encode(toy())))
    with pytest.raises(WireError):
        wire.decode({"t": "toy", "kind": "clm", "table": inner}, allow_toys=True)
