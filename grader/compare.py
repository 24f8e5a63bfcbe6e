"""How an answer is compared with the expected one: the rules of a check's `compare:`.

Pure functions on the trusted side, on values decoded from the wire (child/wire.py): one
small function per kind of value, each returning None when the answer is right and else a
sentence for the student that names the difference ("returned a tuple, expected a list",
"returned a dict in which key 'cat' is missing", "returned a list in which 3 of 5 items
differ, e.g. at index 2 (a different string)") without revealing expected values. The
sentence starts with "returned"; a value check says "is" instead.

Rules (`Rules.mode`):
- auto: numbers and arrays within rtol/atol (`|a - e| <= atol + rtol |e|`, arrays also
  `+ rtol/100 max|e|`); NumPy scalars count as their Python kind; strings, bytes and bools
  exactly; lists and tuples in order, item by item; dicts by keys and values; sets as sets;
  DataFrames and Series as pandas.testing does (index, column names and dtypes, values
  within tolerance; column order ignored unless `ordered`). Types must match where the
  type is the answer: a list does not answer a tuple, nor a frozenset a set, unless
  `loose_types` (a list of numbers always answers an array, as it always has).
- exact: equal, with exact types (and dtypes) everywhere, no tolerance.
- unordered: a list or tuple as a multiset, its items matched by the auto rule; a 1-D
  array sorted; a DataFrame's or Series' rows in any order.
- normalized: like auto, but strings compared in lower case, without punctuation, white
  space runs as one space (`fold`).
- judge: a function of the reference decides (`run_judge`).
"""

from __future__ import annotations

import copy
import math
import re
import sys
import traceback
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np
import regex

MODES = ("auto", "exact", "unordered", "normalized", "judge")
GREEDY_LIMIT = 300  # unmatched items of an unordered list matched pairwise (quadratic) at most


@dataclass(frozen=True)
class Rules:
    rtol: float = 1e-4
    atol: float = 1e-8
    mode: str = "auto"  # auto | exact | unordered | normalized (judge is run by the checks)
    ordered: bool = False  # DataFrame columns must be in the expected order
    loose_types: bool = False  # list ~ tuple, set ~ frozenset, array ~ list, any dtype of a column

    @property
    def exact(self) -> bool:
        return self.mode == "exact"

    def inner(self) -> Rules:
        """The rules for the items of a container: unordered applies to the top level only."""
        return replace(self, mode="auto") if self.mode in ("unordered", "judge") else self


def rules_for(check: Any, rtol: float, atol: float) -> Rules:
    """A check's rules: its `compare`, `ordered` and `loose_types`, with its tolerances."""
    return Rules(rtol, atol, getattr(check, "compare", "auto"), bool(getattr(check, "ordered", False)),
                 bool(getattr(check, "loose_types", False)))


def compare(expected: Any, actual: Any, rules: Rules = Rules()) -> str | None:
    """None when `actual` answers `expected` under `rules`, else what is wrong. Never
    raises: `actual` is whatever a student's process sent (decoded, so of accepted types,
    but possibly built to trip up pandas or numpy)."""
    try:
        if rules.mode == "unordered":
            problem = _unordered(expected, actual, rules)
            if problem is not NotImplemented:
                return problem
        return _diff(expected, actual, rules)
    except (Exception, RecursionError):
        return f"returned {kind(actual)} that could not be compared with the expected answer"


# ---------------------------------------------------------------- kinds of values


_NP_NUMBERS = frozenset(np.dtype(code).type for code in "bBhHiIlLqQpPefdg")
_NP_COMPLEX = frozenset(np.dtype(code).type for code in "FDG")


def category(value: Any) -> str:
    """none, bool, number, complex, str, bytes, sequence, dict, set, array, dataframe,
    series or other; NumPy scalars count as their Python kind."""
    kind = type(value)
    if value is None:
        return "none"
    if kind is bool or kind is np.bool_:
        return "bool"
    if kind is int or kind is float or kind in _NP_NUMBERS:
        return "number"
    if kind is complex or kind in _NP_COMPLEX:
        return "complex"
    if kind is str or kind is np.str_:
        return "str"
    if kind is bytes or kind is np.bytes_:
        return "bytes"
    if kind is list or kind is tuple:
        return "sequence"
    if kind is dict:
        return "dict"
    if kind is set or kind is frozenset:
        return "set"
    if kind is np.ndarray:
        return "array"
    pandas = sys.modules.get("pandas")
    if pandas is not None and kind is pandas.DataFrame:
        return "dataframe"
    if pandas is not None and kind is pandas.Series:
        return "series"
    return "other"


def python_scalar(value: Any) -> Any:
    """A NumPy bool, number or string as its Python kind; anything else unchanged."""
    kind = type(value)
    if kind is np.bool_:
        return bool(value)
    if kind in _NP_NUMBERS:
        return int(value) if isinstance(value, np.integer) else float(value)
    if kind in _NP_COMPLEX:
        return complex(value)
    if kind is np.str_:
        return str(value)
    if kind is np.bytes_:
        return bytes(value)
    return value


def kind(value: Any) -> str:
    """'a list', 'an int', 'an array of shape (2, 3)', 'None': what a value is, for feedback."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeio' else 'a'} {name}"


def show(value: Any, limit: int = 40) -> str:
    """A short, safe rendering of a label or element the student sees anyway (a key, a
    column name): never raises, never long."""
    value = python_scalar(value)
    if type(value) is str:
        return repr(value if len(value) <= limit else value[:limit] + "...")
    if type(value) is int:
        return repr(value) if value.bit_length() <= 64 else f"an int of {value.bit_length()} bits"
    if type(value) in (float, bool, complex) or value is None:
        return repr(value)
    if type(value) is bytes:
        return repr(value[:limit])
    if type(value) is tuple and len(value) <= 4:
        return "(" + ", ".join(show(item, limit // 2) for item in value) + ("," if len(value) == 1 else "") + ")"
    return kind(value)


def _items(count: int, noun: str = "item") -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _detail(problem: str) -> str:
    return problem.removeprefix("returned ")


# ---------------------------------------------------------------- the rules, per kind


def _diff(expected: Any, actual: Any, rules: Rules) -> str | None:
    what = category(expected)
    if what == "array":
        return _compare_arrays(expected, actual, rules)
    if what == "none":
        return None if actual is None else f"returned {kind(actual)}, expected None"
    if rules.exact and type(actual) is not type(expected):
        return f"returned {kind(actual)}, expected {kind(expected)}"
    if what == "bool":
        if category(actual) != "bool":
            return f"returned {kind(actual)}, expected True or False"
        return None if bool(actual) == bool(expected) else "returned the wrong truth value"
    if what == "number":
        return _compare_numbers(expected, actual, rules)
    if what == "complex":
        return _compare_complex(expected, actual, rules)
    if what == "str":
        return _compare_strings(expected, actual, rules)
    if what == "bytes":
        if category(actual) != "bytes":
            return f"returned {kind(actual)}, expected bytes"
        return None if bytes(actual) == bytes(expected) else "returned different bytes"
    if what == "sequence":
        return _compare_sequences(expected, actual, rules)
    if what == "dict":
        return _compare_dicts(expected, actual, rules)
    if what == "set":
        return _compare_sets(expected, actual, rules)
    if what == "dataframe":
        return _compare_frames(expected, actual, rules)
    if what == "series":
        return _compare_series(expected, actual, rules)
    try:
        same = type(actual) is type(expected) and bool(actual == expected)
    except Exception:
        same = False
    return None if same else "returned a different value"


def _py_number(value: Any) -> int | float:
    return int(value) if isinstance(value, (int, np.integer)) else float(value)


def _compare_numbers(expected: Any, actual: Any, rules: Rules) -> str | None:
    if category(actual) != "number":
        if not rules.exact and isinstance(actual, np.ndarray) and actual.size == 1 and actual.dtype.kind in "biuf":
            actual = float(actual.reshape(()))
        else:
            return f"returned {kind(actual)}, expected a number"
    e, a = _py_number(expected), _py_number(actual)
    if isinstance(a, float) and math.isnan(a):
        return None if isinstance(e, float) and math.isnan(e) else "returned NaN"
    if isinstance(a, float) and math.isinf(a):
        return None if a == e else "returned an infinite value"
    if isinstance(e, float) and not math.isfinite(e):
        return "returned a different number"
    if rules.exact:
        return None if a == e else "returned a different number"
    return None if within(e, a, rules.rtol, rules.atol) else "returned a different number"


def within(expected: int | float, actual: int | float, rtol: float, atol: float) -> bool:
    """|actual - expected| <= atol + rtol |expected|, exactly for ints beyond float range."""
    try:
        return abs(actual - expected) <= atol + rtol * abs(expected)
    except OverflowError:  # an int beyond float range
        return abs(Fraction(actual) - Fraction(expected)) <= Fraction(atol) + Fraction(rtol) * abs(Fraction(expected))


def _compare_complex(expected: Any, actual: Any, rules: Rules) -> str | None:
    if category(actual) not in ("number", "complex"):
        return f"returned {kind(actual)}, expected a complex number"
    try:
        e, a = complex(expected), complex(actual)
    except OverflowError:
        return "returned a different number"
    if a != a:  # a NaN part
        return None if e != e else "returned NaN"
    if rules.exact:
        return None if a == e else "returned a different number"
    return None if abs(a - e) <= rules.atol + rules.rtol * abs(e) else "returned a different number"


def _compare_strings(expected: Any, actual: Any, rules: Rules) -> str | None:
    if category(actual) != "str":
        return f"returned {kind(actual)}, expected a string"
    e, a = str(expected), str(actual)
    if rules.mode == "normalized":
        return None if fold(a) == fold(e) else "returned a different string"
    if a == e:
        return None
    if a.casefold() == e.casefold():
        return "returned a different string, which differs only in upper and lower case"
    if a.split() == e.split():
        return "returned a different string, which differs only in white space"
    return "returned a different string"


def _sequence_type(expected: Any, actual: Any, rules: Rules) -> tuple[Any, str | None]:
    """The actual sequence (an array read as a list under loose_types) or what is wrong
    with its type or length."""
    wanted = type(expected).__name__
    if type(actual) is np.ndarray and rules.loose_types and not rules.exact and actual.ndim >= 1:
        actual = actual.tolist()
    if type(actual) not in (list, tuple):
        return actual, f"returned {kind(actual)}, expected a {wanted} of {_items(len(expected))}"
    if type(actual) is not type(expected) and (rules.exact or not rules.loose_types):
        return actual, f"returned {kind(actual)}, expected a {wanted}"
    if len(actual) != len(expected):
        return actual, f"returned {kind(actual)} of {_items(len(actual))}, expected {_items(len(expected))}"
    return actual, None


def _compare_sequences(expected: Any, actual: Any, rules: Rules) -> str | None:
    actual, problem = _sequence_type(expected, actual, rules)
    if problem:
        return problem
    wrong, first = _differences(enumerate(zip(expected, actual)), rules.inner())
    if not wrong:
        return None
    number, problem = first
    if wrong == 1:
        return f"returned {kind(actual)} whose item at index {number} differs ({_detail(problem)})"
    return (f"returned {kind(actual)} in which {wrong} of {len(expected)} items differ, "
            f"e.g. at index {number} ({_detail(problem)})")


def _differences(pairs, rules: Rules) -> tuple[int, tuple | None]:
    """How many (place, (expected, actual)) pairs differ, and the first place with its problem."""
    wrong, first = 0, None
    for place, (e, a) in pairs:
        problem = _diff(e, a, rules)
        if problem:
            wrong += 1
            first = first or (place, problem)
    return wrong, first


def _compare_dicts(expected: dict, actual: Any, rules: Rules) -> str | None:
    if type(actual) is not dict:
        return f"returned {kind(actual)}, expected a dict"
    # the student's dict was built by the decoder, which refuses keys chosen to collide in their hashes
    missing = [key for key in expected if key not in actual]
    if missing:
        if len(missing) == 1:
            return f"returned a dict in which key {show(missing[0])} is missing"
        return f"returned a dict in which {len(missing)} keys are missing, e.g. {show(missing[0])}"
    extra = [key for key in actual if key not in expected]
    if extra:
        if len(extra) == 1:
            return f"returned a dict with an unexpected key {show(extra[0])}"
        return f"returned a dict with {len(extra)} unexpected keys, e.g. {show(extra[0])}"
    inner = rules.inner()
    if rules.exact:
        keys = {key: key for key in actual}
        for key in expected:
            if type(keys[key]) is not type(key):
                return f"returned a dict whose key {show(key)} is {kind(keys[key])}, expected {kind(key)}"
    wrong, first = _differences(((key, (e, actual[key])) for key, e in expected.items()), inner)
    if not wrong:
        return None
    key, problem = first
    if wrong == 1:
        return f"returned a dict whose value at key {show(key)} differs ({_detail(problem)})"
    return (f"returned a dict in which {wrong} of {len(expected)} values differ, "
            f"e.g. at key {show(key)} ({_detail(problem)})")


def _compare_sets(expected: Any, actual: Any, rules: Rules) -> str | None:
    if category(actual) != "set":
        return f"returned {kind(actual)}, expected a {type(expected).__name__}"
    if type(actual) is not type(expected) and (rules.exact or not rules.loose_types):
        return f"returned {kind(actual)}, expected a {type(expected).__name__}"
    missing = [item for item in expected if item not in actual]
    extra = [item for item in actual if item not in expected]
    if rules.exact and not missing:
        items = {item: item for item in actual}
        extra += [items[item] for item in expected if type(items[item]) is not type(item)]
        missing += [item for item in expected if type(items[item]) is not type(item)]
    if not missing and not extra:
        return None
    if missing and extra and not rules.exact and len(missing) == len(extra) \
            and _unmatched(missing, extra, rules.inner()) == []:
        return None  # the same numbers, within tolerance
    parts = []
    if extra:
        example = min(extra, key=sort_key)  # the same example whatever the order of the set
        parts.append(f"{_items(len(extra), 'unexpected element')} (e.g. {show(example)})")
    if missing:
        parts.append(f"{_items(len(missing), 'element')} missing")
    return f"returned {kind(actual)} with {' and '.join(parts)}"


# ---------------------------------------------------------------- arrays


def as_array(actual: Any, shape: tuple, numbers: bool = True) -> np.ndarray | str:
    """The student's answer as an array of `shape` (a list or tuple is read as one), or
    what is wrong with its form; with `numbers`, a boolean or string array is wrong too."""
    if type(actual) in (list, tuple):
        try:
            actual = np.asarray(actual, dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            return f"returned {kind(actual)} that is not a numeric array"
    if not isinstance(actual, np.ndarray):
        return f"returned {kind(actual)}, expected a NumPy array of shape {shape}"
    if actual.shape != shape:
        return f"returned shape {actual.shape}, expected shape {shape}"
    if numbers and actual.dtype.kind == "b":
        return "returned a boolean array, expected numbers"
    if actual.dtype.kind in "US":
        return "returned an array of strings, expected numbers"
    return actual


def _compare_arrays(expected: np.ndarray, actual: Any, rules: Rules) -> str | None:
    if rules.exact:
        if type(actual) is not np.ndarray:
            return f"returned {kind(actual)}, expected a NumPy array of shape {expected.shape}"
        if actual.shape != expected.shape:
            return f"returned shape {actual.shape}, expected shape {expected.shape}"
        texts = actual.dtype.kind == expected.dtype.kind and expected.dtype.kind in "US"  # any length of string
        if actual.dtype != expected.dtype and not texts:
            return f"returned an array of dtype {actual.dtype}, expected dtype {expected.dtype}"
    if expected.dtype.kind in "US":
        return _compare_text_arrays(expected, actual, rules)
    actual = as_array(actual, expected.shape, numbers=expected.dtype.kind != "b")
    if isinstance(actual, str):
        return actual
    if actual.dtype.kind == "c" and expected.dtype.kind != "c":
        return "returned complex numbers, expected real numbers"
    return _numbers_problem(expected, actual, 0.0 if rules.exact else rules.rtol, 0.0 if rules.exact else rules.atol)


def _numbers_problem(expected: np.ndarray, actual: np.ndarray, rtol: float, atol: float) -> str | None:
    kind_ = np.complex128 if "c" in (expected.dtype.kind, actual.dtype.kind) else np.float64
    a, e = actual.astype(kind_, copy=False), expected.astype(kind_, copy=False)
    if _all_close(e, a, rtol, atol):
        return None
    bad_a, bad_e = ~np.isfinite(a), ~np.isfinite(e)
    if (bad_a & ~bad_e).any():
        what = "NaN" if np.isnan(a[bad_a & ~bad_e]).any() else "infinite values"
        return f"returned {what} in {int((bad_a & ~bad_e).sum())} of {a.size} entries"
    if a.size == 0:
        return None
    wrong, difference = _wrong_entries(e, a, rtol, atol)
    if not wrong.any():
        return None
    worst = np.unravel_index(int(np.argmax(np.where(wrong, difference, -1))), a.shape)
    return (f"returned values that differ from the expected ones in {int(wrong.sum())} of {a.size} entries "
            f"(e.g. at index {tuple(int(i) for i in worst)})")


def _all_close(e: np.ndarray, a: np.ndarray, rtol: float, atol: float) -> bool:
    """Whether every entry is within tolerance and finite, in a few array operations: the
    common case of a right answer, told before `_wrong_entries` looks at each entry."""
    with np.errstate(invalid="ignore", over="ignore"):
        magnitude = np.abs(e)
        scale = float(np.max(magnitude, initial=0.0))
        if not math.isfinite(atol + rtol * 1.01 * scale):  # an expected NaN or infinity, or no bound: entry by entry
            return False
        # a NaN or infinite entry of `a` differs by NaN or infinity, which is never allowed
        return bool(np.all(np.abs(a - e) <= atol + rtol * magnitude + rtol * 1e-2 * scale))


def _wrong_entries(e: np.ndarray, a: np.ndarray, rtol: float, atol: float) -> tuple[np.ndarray, np.ndarray]:
    """Which entries of `a` (float or complex, same shape as `e`) are not within tolerance
    of `e`, and by how much they differ. A non-finite expected entry must be met exactly
    (NaN by NaN)."""
    bad_e = ~np.isfinite(e)
    magnitude = np.abs(np.where(bad_e, 0.0, e))
    scale = float(np.max(magnitude, initial=0.0))
    allowed = atol + rtol * magnitude + rtol * 1e-2 * scale
    with np.errstate(invalid="ignore", over="ignore"):
        same = (a == e) | (np.isnan(a) & np.isnan(e))
        difference = np.where(bad_e, np.where(same, 0.0, np.inf), np.abs(a - e))
    difference = np.where(np.isnan(difference), np.inf, difference)
    return difference > allowed, difference


def _compare_text_arrays(expected: np.ndarray, actual: Any, rules: Rules) -> str | None:
    if type(actual) in (list, tuple):
        try:
            actual = np.asarray(actual)
        except (ValueError, TypeError, OverflowError):
            return f"returned {kind(actual)} that is not an array of strings"
    if not isinstance(actual, np.ndarray):
        return f"returned {kind(actual)}, expected a NumPy array of shape {expected.shape}"
    if actual.shape != expected.shape:
        return f"returned shape {actual.shape}, expected shape {expected.shape}"
    if actual.dtype.kind != expected.dtype.kind:
        wanted = "strings" if expected.dtype.kind == "U" else "bytes"
        return f"returned an array of dtype {actual.dtype}, expected an array of {wanted}"
    if rules.mode == "normalized" and expected.dtype.kind == "U":
        wrong = np.array([fold(str(a)) != fold(str(e)) for a, e in zip(actual.ravel(), expected.ravel())],
                         dtype=bool).reshape(expected.shape)
    else:
        wrong = np.asarray(actual != expected, dtype=bool).reshape(expected.shape)
    if not wrong.any():
        return None
    first = np.unravel_index(int(np.argmax(wrong)), wrong.shape)
    return (f"returned values that differ from the expected ones in {int(wrong.sum())} of {wrong.size} entries "
            f"(e.g. at index {tuple(int(i) for i in first)})")


# ---------------------------------------------------------------- pandas


def _compare_frames(expected, actual, rules: Rules) -> str | None:
    if category(actual) != "dataframe":
        return f"returned {kind(actual)}, expected a DataFrame"
    labels, problem = _match_columns(list(expected.columns), list(actual.columns), rules)
    if problem:
        return f"returned a DataFrame {problem}"
    if list(actual.columns.names) != list(expected.columns.names):
        return (f"returned a DataFrame whose column labels are named {_names(actual.columns)}, "
                f"expected {_names(expected.columns)}")
    if len(actual) != len(expected):
        return f"returned a DataFrame of {_items(len(actual), 'row')}, expected {_items(len(expected), 'row')}"
    problem = _compare_index(expected.index, actual.index, rules)
    if problem:
        return f"returned a DataFrame whose index {problem}"
    for number, position in enumerate(labels):
        label = show(expected.columns[number])
        e, a = expected.iloc[:, number], actual.iloc[:, position]
        if not rules.loose_types and not _same_dtype(e.dtype, a.dtype):
            return f"returned a DataFrame in which column {label} has dtype {a.dtype}, expected {e.dtype}"
        wrong, first, detail = _compare_cells(e, a, rules)
        if wrong:
            return (f"returned a DataFrame in which column {label} differs in {wrong} of {_items(len(e), 'row')}, "
                    f"e.g. at row {_row(expected.index, first)}{detail}")
    return None


def _compare_series(expected, actual, rules: Rules) -> str | None:
    if category(actual) != "series":
        return f"returned {kind(actual)}, expected a Series"
    if not _same_label(expected.name, actual.name):
        return f"returned a Series named {show(actual.name)}, expected {show(expected.name)}"
    if len(actual) != len(expected):
        return f"returned a Series of {_items(len(actual), 'value')}, expected {_items(len(expected), 'value')}"
    if not rules.loose_types and not _same_dtype(expected.dtype, actual.dtype):
        return f"returned a Series of dtype {actual.dtype}, expected {expected.dtype}"
    problem = _compare_index(expected.index, actual.index, rules)
    if problem:
        return f"returned a Series whose index {problem}"
    wrong, first, detail = _compare_cells(expected, actual, rules)
    if wrong:
        return (f"returned a Series whose values differ in {wrong} of {_items(len(expected), 'row')}, "
                f"e.g. at row {_row(expected.index, first)}{detail}")
    return None


def _match_columns(expected: list, actual: list, rules: Rules) -> tuple[list[int], str | None]:
    """For each expected column, the position of the actual column with its label, or what
    is wrong. The table is built from the expected labels; actual labels are only looked up.
    Duplicate expected labels are matched by position."""
    where: dict = {}
    try:
        for number, label in enumerate(expected):
            where.setdefault(label, number)
    except TypeError:
        where = {}
    if len(where) != len(expected):  # duplicate (or unhashable) labels: the same labels in the same order
        if len(actual) == len(expected) and all(_same_label(e, a) for e, a in zip(expected, actual)):
            return list(range(len(expected))), None
        return [], f"whose columns are not the expected ones (the first {len(expected)} labels, in order)"
    found: list[int | None] = [None] * len(expected)
    extra = []
    for position, label in enumerate(actual):
        try:
            number = where.get(label)
        except TypeError:
            number = None
        if number is not None and found[number] is None:
            found[number] = position
        else:
            extra.append(label)
    missing = [expected[n] for n, position in enumerate(found) if position is None]
    if missing:
        if len(missing) == 1:
            return [], f"without column {show(missing[0])}"
        return [], f"without {len(missing)} of the expected columns, e.g. {show(missing[0])}"
    if extra:
        if len(extra) == 1:
            return [], f"with an unexpected column {show(extra[0])}"
        return [], f"with {len(extra)} unexpected columns, e.g. {show(extra[0])}"
    if rules.ordered or rules.exact:
        for number, position in enumerate(found):
            if position != number:
                return [], (f"whose columns are in a different order: column {show(expected[number])} is at "
                            f"position {position}, expected {number}")
    return [p for p in found if p is not None], None


def _compare_index(expected, actual, rules: Rules) -> str | None:
    """What is wrong with a row index (as the end of a sentence "whose index ..."), or None.
    Labels are compared by value (auto: numbers within tolerance); `exact` also wants the
    same kind of index and dtype."""
    if actual.nlevels != expected.nlevels:
        return f"has {_items(actual.nlevels, 'level')}, expected {expected.nlevels}"
    if list(actual.names) != list(expected.names):
        return f"is named {_names(actual)}, expected {_names(expected)}"
    if rules.exact and (type(actual) is not type(expected) or not _same_dtype(actual.dtype, expected.dtype)):
        return f"is {kind(actual)} of dtype {actual.dtype}, expected {kind(expected)} of dtype {expected.dtype}"
    for level in range(expected.nlevels):
        e = expected.get_level_values(level) if expected.nlevels > 1 else expected
        a = actual.get_level_values(level) if actual.nlevels > 1 else actual
        wrong, first, detail = _compare_cells(e, a, replace(rules, loose_types=True) if not rules.exact else rules)
        if wrong:
            which = f" (level {level})" if expected.nlevels > 1 else ""
            return f"differs{which} in {wrong} of {_items(len(e), 'row')}, e.g. at row {first}{detail}"
    return None


def _names(index) -> str:
    names = list(index.names)
    return show(names[0]) if len(names) == 1 else "(" + ", ".join(show(n) for n in names) + ")"


def _same_label(a: Any, b: Any) -> bool:
    """Whether two labels or names (plain, hashable values) are the same, by value."""
    try:
        return a is b or (category(a) == category(b) and bool(a == b))
    except Exception:
        return False


def _same_dtype(a, b) -> bool:
    try:
        return bool(a == b) and str(a) == str(b)
    except Exception:
        return False


def _row(index, position: int) -> str:
    pandas = sys.modules.get("pandas")
    if pandas is not None and type(index) is pandas.RangeIndex:
        return str(position)
    return show(index[position])


_NUMERIC_COLUMN = "biufc"


def _column_numbers(values) -> np.ndarray | None:
    """A column's (or an index's) values as float or complex numbers with NaN for missing
    ones, when its dtype is numeric or bool (NumPy or a nullable pandas dtype)."""
    dtype = values.dtype
    numpy_dtype = dtype if isinstance(dtype, np.dtype) else getattr(dtype, "numpy_dtype", None)
    if not isinstance(numpy_dtype, np.dtype) or numpy_dtype.kind not in _NUMERIC_COLUMN \
            or type(dtype).__name__ == "CategoricalDtype":
        return None
    kind_ = np.complex128 if numpy_dtype.kind == "c" else np.float64
    if isinstance(dtype, np.dtype):
        return np.asarray(values.to_numpy(), dtype=kind_)
    return np.asarray(values.to_numpy(dtype=kind_, na_value=np.nan), dtype=kind_)


def _compare_cells(expected, actual, rules: Rules) -> tuple[int, int, str]:
    """How many of the values (a Series, a column or an index) differ, the position of the
    first, and what is wrong there (for values other than numbers)."""
    e_numbers, a_numbers = _column_numbers(expected), _column_numbers(actual)
    if e_numbers is not None and a_numbers is not None:
        rtol, atol = (0.0, 0.0) if rules.exact else (rules.rtol, rules.atol)
        wrong, _ = _wrong_entries(e_numbers, a_numbers, rtol, atol)
        count = int(wrong.sum())
        return count, int(np.argmax(wrong)) if count else 0, ""
    inner = rules.inner()
    count, first, detail = 0, 0, ""
    for position, (e, a) in enumerate(zip(expected.to_numpy(dtype=object), actual.to_numpy(dtype=object))):
        if _missing(e) and _missing(a):
            continue
        if _missing(a):
            problem = "returned a missing value"
        elif _missing(e):
            problem = f"returned {kind(a)}, expected a missing value"
        else:
            problem = _diff(e, a, inner)
        if problem:
            if not count:
                first, detail = position, f" ({_detail(problem)})"
            count += 1
    return count, first, detail


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if type(value) is float or type(value) in _NP_NUMBERS:
        return value != value
    pandas = sys.modules.get("pandas")
    return pandas is not None and (value is pandas.NA or value is pandas.NaT)


# ---------------------------------------------------------------- unordered


def _unordered(expected: Any, actual: Any, rules: Rules):
    """A list or tuple as a multiset, a 1-D array sorted, a DataFrame's or Series' rows in
    any order; NotImplemented for other values (compared by the auto rule)."""
    what = category(expected)
    inner = rules.inner()
    if what == "sequence":
        actual, problem = _sequence_type(expected, actual, rules)
        if problem:
            return problem
        unmatched = _unmatched(list(expected), list(actual), inner)
        if not unmatched:
            return None
        verb = "matches" if len(unmatched) == 1 else "match"
        return (f"returned {kind(actual)} in which {len(unmatched)} of {len(expected)} items {verb} no expected item "
                f"(e.g. the one at index {min(unmatched)})")
    if what == "array" and expected.ndim == 1 and isinstance(actual, np.ndarray) and actual.ndim == 1 \
            and actual.shape == expected.shape and expected.dtype.kind in "biufUS" and actual.dtype.kind in "biufUS":
        try:
            return _compare_arrays(np.sort(expected), np.sort(actual), inner)
        except TypeError:
            return NotImplemented
    if what in ("dataframe", "series") and category(actual) == what and len(actual) == len(expected):
        aligned = _rows_aligned(expected, actual)
        if aligned is not None:
            e, a = aligned
            return _diff(e, a, inner)
    return NotImplemented


def _unmatched(expected: list, actual: list, rules: Rules) -> list[int]:
    """Positions in `actual` of items that match no item of `expected` (the same length),
    under `rules`: both sorted by `sort_key` and paired; the pairs that differ are then
    matched among themselves, each with the first that fits (if there are few). Sorting,
    not hashing: a student's items cannot be made to collide."""
    order_e = sorted(range(len(expected)), key=lambda n: sort_key(expected[n]))
    order_a = sorted(range(len(actual)), key=lambda n: sort_key(actual[n]))
    left_e, left_a = [], []
    for n, m in zip(order_e, order_a):
        if _diff(expected[n], actual[m], rules) is not None:
            left_e.append(n)
            left_a.append(m)
    if not left_a or len(left_a) > GREEDY_LIMIT:
        return left_a
    for n in left_e:
        for m in left_a:
            if _diff(expected[n], actual[m], rules) is None:
                left_a.remove(m)
                break
    return left_a


def sort_key(value: Any, depth: int = 0):
    """A key that orders any decoded value among any other, without hashing it."""
    what = category(value)
    if depth > 12:
        return (12,)
    if what == "none":
        return (0,)
    if what == "bool":
        return (1, bool(value))
    if what == "number":
        number = _py_number(value)
        return (2, 1, 0) if number != number else (2, 0, number)
    if what == "complex":
        z = complex(value)
        return (3, 1, 0.0, 0.0) if z != z else (3, 0, z.real, z.imag)
    if what == "str":
        return (4, str(value))
    if what == "bytes":
        return (5, bytes(value))
    if what == "sequence":
        return (6, len(value), tuple(sort_key(item, depth + 1) for item in value))
    if what == "set":
        return (7, len(value), tuple(sorted(sort_key(item, depth + 1) for item in value)))
    if what == "dict":
        return (8, len(value), tuple(sorted((sort_key(k, depth + 1), sort_key(v, depth + 1))
                                            for k, v in value.items())))
    if what == "array":
        return (9, value.shape, str(value.dtype), value.tobytes())
    if what in ("dataframe", "series"):
        return (10, value.shape)
    return (11, type(value).__name__)


def _rows_aligned(expected, actual):
    """Both frames (or Series) with their rows in one order: by the expected index labels
    when they are unique and not the default 0..n-1, else both sorted by their values (the
    default index then says nothing). None when that cannot be done (the auto rule then
    names what differs)."""
    pandas = sys.modules["pandas"]
    if type(expected.index) is not pandas.RangeIndex:
        where: dict = {}
        try:
            for number, label in enumerate(expected.index):
                where.setdefault(label, number)
            if len(where) != len(expected):
                return None
            order = [None] * len(expected)
            for position, label in enumerate(actual.index):
                number = where.get(label)
                if number is None or order[number] is not None:
                    return None
                order[number] = position
        except TypeError:
            return None
        return expected, actual.iloc[order]
    if category(expected) == "dataframe":
        labels, problem = _match_columns(list(expected.columns), list(actual.columns), replace(Rules(), ordered=False))
        if problem:
            return None
        e_rows = list(expected.itertuples(index=False, name=None))
        a_rows = list(actual.iloc[:, labels].itertuples(index=False, name=None))
    else:
        e_rows, a_rows = list(expected.to_numpy(dtype=object)), list(actual.to_numpy(dtype=object))
    e_order = sorted(range(len(e_rows)), key=lambda n: sort_key(e_rows[n]))
    a_order = sorted(range(len(a_rows)), key=lambda n: sort_key(a_rows[n]))
    e = expected.iloc[e_order].reset_index(drop=True)
    a = actual.iloc[a_order].reset_index(drop=True)
    e.index = pandas.RangeIndex(len(e), name=expected.index.name)
    a.index = pandas.RangeIndex(len(a), name=expected.index.name)
    return e, a


# ---------------------------------------------------------------- strings


_PUNCTUATION = regex.compile(r"\p{P}+")
_BLANKS = re.compile(r"\s+")


def fold(text: str) -> str:
    """A string as the normalized rule compares it: in lower case (case-folded), without
    punctuation, hyphens and underscores as spaces, runs of white space as one space, no
    space around it ("  Hello, World! " and "hello world" are the same; so are "feed-forward"
    and "Feed Forward")."""
    text = _SPACES.sub(" ", text.casefold())
    return _BLANKS.sub(" ", _PUNCTUATION.sub("", text)).strip()


_SPACES = re.compile(r"[\s_-]+")
_AROUND = re.compile(r"^[\s\"'`\u2018\u2019\u201c\u201d(\[{]+|[\s\"'`\u2018\u2019\u201c\u201d)\]}.,;:!?]+$")


def normalize(text: str) -> str:
    """A short name as a value check of type str reads it (the auto rule there): case-folded;
    hyphens, underscores and runs of white space as one space; quotes and brackets around it
    and punctuation after it dropped ("  Feed-Forward. " -> "feed forward"). Punctuation
    inside stays: "a/b" or "a, b" is not "a b" (it may be a hedge between two names)."""
    return _AROUND.sub("", _SPACES.sub(" ", text.casefold()))


# ---------------------------------------------------------------- judges


class JudgeError(Exception):
    """The rubric's judge failed (raised or answered nonsense): the grader's problem, not
    the student's. The message says so for the feedback, without the judge's own message
    (which might hold an expected value)."""


def run_judge(function, name: str, expected: Any, actual: Any, args: Any) -> tuple[float, str]:
    """The fraction of the points and the feedback a judge `function(expected, actual, args)`
    gives (True -> 1, False -> 0, or its own (fraction, feedback)). It gets copies, so it
    cannot change the plan or the reply; on a problem of its own, JudgeError."""
    try:
        verdict = function(copy.deepcopy(expected), copy.deepcopy(actual), copy.deepcopy(args))
    except (Exception, SystemExit) as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if f.filename == getattr(getattr(function, "__code__", None), "co_filename", None)]
        line = f" (line {frames[-1].lineno} of the reference)" if frames else ""
        raise JudgeError(f"the grader's judge `{name}` raised {type(exc).__name__}{line}") from None
    if type(verdict) in (bool, np.bool_):
        return (1.0 if verdict else 0.0), ""
    if type(verdict) in (tuple, list) and len(verdict) == 2 and category(verdict[0]) in ("number", "bool") \
            and (verdict[1] is None or type(verdict[1]) is str):
        fraction = float(verdict[0])
        if not 0.0 <= fraction <= 1.0:
            raise JudgeError(f"the grader's judge `{name}` gave a fraction outside 0..1")
        return fraction, (verdict[1] or "").strip()
    raise JudgeError(f"the grader's judge `{name}` returned {kind(verdict)}, not True/False or (fraction, feedback)")
