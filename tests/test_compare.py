"""The comparison rules (grader/compare.py): one function per kind of value, feedback that
names the mistake without revealing expected values, and work bounded on hostile input."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from grader.compare import JudgeError, Rules, compare, fold, run_judge, sort_key

AUTO = Rules()
EXACT = Rules(mode="exact")
UNORDERED = Rules(mode="unordered")
NORMALIZED = Rules(mode="normalized")
LOOSE = Rules(loose_types=True)


# ---------------------------------------------------------------- scalars


@pytest.mark.parametrize("expected,actual", [
    (96, 96.0), (96, np.int64(96)), (2.5, np.float32(2.5)), (np.float64(1.0), 1), (1e9, 1e9 * (1 + 5e-5)),
    (True, np.bool_(True)), ("fnn", np.str_("fnn")), (b"x", np.bytes_(b"x")), (None, None), (1 + 2j, 1 + 2j),
    (1 + 2j, complex(1, 2.00001)), (2 + 0j, 2.0), (float("nan"), float("nan")), (float("inf"), float("inf")),
    (3 ** 5000, 3 ** 5000), (0.0, 1e-9),
])
def test_auto_accepts(expected, actual):
    assert compare(expected, actual, AUTO) is None


@pytest.mark.parametrize("expected,actual,message", [
    (96, 97, "returned a different number"),
    (96, True, "returned a bool, expected a number"),
    (96, "96", "returned a str, expected a number"),
    (1.5, float("nan"), "returned NaN"),
    (1.5, float("-inf"), "returned an infinite value"),
    (float("nan"), 1.0, "returned a different number"),
    (float("inf"), 1.0, "returned a different number"),
    (3 ** 5000, 3 ** 5000 * 2, "returned a different number"),
    (2.0, 2 + 0j, "returned a complex, expected a number"),
    (-12.5, 12288 ** 96, "returned a different number"),
    (1 + 2j, 1 + 3j, "returned a different number"),
    (1 + 2j, "x", "returned a str, expected a complex number"),
    (False, 0, "returned an int, expected True or False"),
    (False, True, "returned the wrong truth value"),
    ("cat", "Cat", "returned a different string, which differs only in upper and lower case"),
    ("a cat", "a  cat", "returned a different string, which differs only in white space"),
    ("cat", "dog", "returned a different string"),
    ("cat", b"cat", "returned a bytes, expected a string"),
    (b"x", b"y", "returned different bytes"),
    (None, 0, "returned an int, expected None"),
])
def test_auto_names_what_differs(expected, actual, message):
    assert compare(expected, actual, AUTO) == message


def test_a_huge_int_against_a_huge_int_with_tolerance_does_not_overflow():
    big = 10 ** 400
    assert compare(big, big + 1, Rules(rtol=1e-4)) is None
    assert compare(big, big * 2, Rules(rtol=1e-4)) == "returned a different number"
    assert compare(1e300, big, AUTO) == "returned a different number"


@pytest.mark.parametrize("expected,actual,message", [
    (1, 1.0, "returned a float, expected an int"),
    (1.0, np.float64(1.0), "returned a float64, expected a float"),
    ([1], (1,), "returned a tuple, expected a list"),
    ([1, 2], [1, np.int64(2)], "returned a list whose item at index 1 differs (an int64, expected an int)"),
    (1.0, 1.0 + 1e-12, "returned a different number"),
    ({1: "a"}, {1.0: "a"}, "returned a dict whose key 1 is a float, expected an int"),
    ({1, 2}, {1.0, 2}, "returned a set with 1 unexpected element (e.g. 1.0) and 1 element missing"),
    (np.array([1, 2]), np.array([1.0, 2.0]), "returned an array of dtype float64, expected dtype int64"),
    (np.array([1.0]), np.array([1.0 + 1e-12]), "returned values that differ from the expected ones in 1 of 1 entries"),
])
def test_exact_wants_the_same_types_and_values(expected, actual, message):
    assert compare(expected, actual, EXACT).startswith(message)
    assert compare(expected, expected, EXACT) is None


def test_exact_accepts_nan_for_nan_and_equal_values():
    assert compare([float("nan"), np.array([np.nan, 1.0])], [float("nan"), np.array([np.nan, 1.0])], EXACT) is None
    assert compare({"a": (1, "x")}, {"a": (1, "x")}, EXACT) is None


# ---------------------------------------------------------------- strings inside containers (the tokenize bug)


def test_strings_inside_a_list_compare_exactly_by_default():
    expected = ["the", "cat", "sat"]
    problem = compare(expected, ["The", "cat", "sat"], AUTO)
    assert problem == ("returned a list whose item at index 0 differs "
                       "(a different string, which differs only in upper and lower case)")
    assert compare(expected, ["the", "cat", "sat."], AUTO) is not None
    assert compare(expected, ["The", "cat", "sat."], NORMALIZED) is None


def test_fold_lowercases_and_drops_punctuation():
    assert fold("  Hello, World! ") == fold("hello world") == "hello world"
    assert fold("Feed-Forward_network") == "feed forward network"
    assert fold("fnn/attention") != fold("fnn")


def test_normalized_reaches_nested_strings_and_string_arrays():
    assert compare({"k": ("The Cat.",)}, {"k": ("the cat",)}, NORMALIZED) is None
    assert compare(np.array(["The", "Cat"]), np.array(["the", "cat!"]), NORMALIZED) is None
    assert compare(np.array(["The", "Cat"]), np.array(["the", "cat!"]), AUTO) is not None


# ---------------------------------------------------------------- lists and tuples


def test_lists_and_tuples_in_order():
    assert compare([1, 2.0, "a"], [1, 2.0, "a"], AUTO) is None
    assert compare([1, 2, 3, 4, 5], [1, 2, 0, 4, 0], AUTO) == \
        "returned a list in which 2 of 5 items differ, e.g. at index 2 (a different number)"
    assert compare([1, 2], [1], AUTO) == "returned a list of 1 item, expected 2 items"
    assert compare([1, 2], "12", AUTO) == "returned a str, expected a list of 2 items"
    assert compare((1, 2), [1, 2], AUTO) == "returned a list, expected a tuple"
    assert compare([(1, "a")], [[1, "a"]], AUTO) == \
        "returned a list whose item at index 0 differs (a list, expected a tuple)"


def test_loose_types_let_a_tuple_answer_a_list_and_an_array_a_list():
    assert compare([1, 2], (1, 2), LOOSE) is None
    assert compare((1, 2), [1, 2], LOOSE) is None
    assert compare([1.0, 2.0], np.array([1.0, 2.0]), LOOSE) is None
    assert compare({1, 2}, frozenset({1, 2}), LOOSE) is None
    assert compare([1, 2], (1, 3), LOOSE) is not None


def test_a_list_of_numbers_answers_an_array_as_it_always_has():
    assert compare(np.array([1.0, 2.0]), [1, 2], AUTO) is None
    assert compare(np.array([1.0, 2.0]), (1, 2), AUTO) is None
    assert compare(np.array([[1.0, 2.0]]), [[1, "x"]], AUTO) == "returned a list that is not a numeric array"


# ---------------------------------------------------------------- dicts and sets


def test_dicts_by_keys_and_values():
    expected = {"cat": 2, "dog": 1}
    assert compare(expected, {"dog": 1, "cat": 2.00001}, AUTO) is None  # order and float noise do not matter
    assert compare(expected, {"dog": 1}, AUTO) == "returned a dict in which key 'cat' is missing"
    assert compare(expected, {}, AUTO) == "returned a dict in which 2 keys are missing, e.g. 'cat'"
    assert compare(expected, {**expected, "eel": 0}, AUTO) == "returned a dict with an unexpected key 'eel'"
    assert compare(expected, {"cat": 3, "dog": 1}, AUTO) == \
        "returned a dict whose value at key 'cat' differs (a different number)"
    assert compare(expected, {"cat": 3, "dog": 0}, AUTO) == \
        "returned a dict in which 2 of 2 values differ, e.g. at key 'cat' (a different number)"
    assert compare(expected, [("cat", 2)], AUTO) == "returned a list, expected a dict"
    assert compare({(1, "a"): 1}, {(1, "b"): 1}, AUTO) == "returned a dict in which key (1, 'a') is missing"


def test_sets_as_sets():
    assert compare({1, 2, 3}, {3, 2, 1}, AUTO) is None
    assert compare({"a", "b"}, {"a", "c", "d"}, AUTO) == \
        "returned a set with 2 unexpected elements (e.g. 'c') and 1 element missing"
    assert compare({"a", "b"}, {"a"}, AUTO) == "returned a set with 1 element missing"
    assert compare({0.1 + 0.2}, {0.3}, AUTO) is None  # numbers within tolerance
    assert compare({"a"}, frozenset({"a"}), AUTO) == "returned a frozenset, expected a set"
    assert compare({"a"}, ["a"], AUTO) == "returned a list, expected a set"


# ---------------------------------------------------------------- arrays


def test_arrays_keep_todays_rule_and_messages():
    expected = np.arange(1.0, 13.0).reshape(3, 4)
    answer = expected.copy()
    answer[2, 1] *= 1.01
    assert compare(expected, answer, AUTO) == \
        "returned values that differ from the expected ones in 1 of 12 entries (e.g. at index (2, 1))"
    assert compare(expected, expected.astype(np.float32), AUTO) is None
    assert compare(np.zeros((4, 16)), np.zeros((16, 4)), AUTO) == "returned shape (16, 4), expected shape (4, 16)"
    assert compare(np.ones(3), np.array([1.0, np.nan, 1.0]), AUTO) == "returned NaN in 1 of 3 entries"


def test_non_finite_expected_entries_must_be_met_exactly():
    expected = np.array([np.inf, np.nan, 1.0])
    assert compare(expected, np.array([np.inf, np.nan, 1.0]), AUTO) is None
    assert compare(expected, np.array([1e308, np.nan, 1.0]), AUTO) is not None
    assert compare(expected, np.array([np.inf, 0.0, 1.0]), AUTO) is not None


def test_the_quick_verdict_on_arrays_agrees_with_the_entry_by_entry_one():
    """A right answer is told in a few array operations (`_all_close`); whatever it accepts,
    the entry-by-entry rule must accept too, and it must accept every finite answer that
    rule accepts, on answers near, at and across the tolerance, with NaN and infinities."""
    from grader.compare import _all_close, _wrong_entries

    rng = np.random.default_rng(15)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, 1e308, -1e-308])
    for trial in range(3000):
        complex_ = trial % 5 == 0
        shape = tuple(rng.integers(0, 4, size=rng.integers(0, 3)))
        e = rng.normal(size=shape) * 10.0 ** rng.integers(-8, 8)
        if complex_:
            e = e + 1j * rng.normal(size=shape)
        rtol, atol = (0.0, 0.0) if trial % 7 == 0 else (1e-5, float(rng.choice([0.0, 1e-8, 1e-3])))
        a = e * (1 + rng.choice([0.0, 1e-7, 1e-5, 2e-5, 1e-3], size=shape)) + rng.choice([0.0, 1e-9, 1e-2], size=shape)
        for target in (a, e):
            if target.size and trial % 3 == 0:
                target.flat[rng.integers(target.size)] = rng.choice(specials)
        wrong, _ = _wrong_entries(e, a, rtol, atol)
        quick = _all_close(e, a, rtol, atol)
        assert not (quick and (wrong.any() or not np.isfinite(a).all())), (e, a, rtol, atol)
        if np.isfinite(e).all() and np.isfinite(a).all() and not wrong.any():
            assert quick, (e, a, rtol, atol)
    assert compare(np.array([1.0, 2.0]), np.array([1.0, np.inf]), Rules(atol=np.inf)) == \
        "returned infinite values in 1 of 2 entries"


def test_complex_and_string_arrays():
    assert compare(np.array([1 + 1j]), np.array([1 + 1.00001j]), AUTO) is None
    assert compare(np.array([1 + 1j]), np.array([1 + 2j]), AUTO) is not None
    assert compare(np.array([1.0]), np.array([1 + 0j]), AUTO) == "returned complex numbers, expected real numbers"
    assert compare(np.array(["a", "b"]), np.array(["a", "b"]), AUTO) is None
    assert compare(np.array(["a", "b"]), ["a", "b"], AUTO) is None
    assert compare(np.array(["a", "b"]), np.array(["a", "B"]), AUTO) == \
        "returned values that differ from the expected ones in 1 of 2 entries (e.g. at index (1,))"
    assert compare(np.array(["a"]), np.array([1.0]), AUTO) == \
        "returned an array of dtype float64, expected an array of strings"
    assert compare(np.array([1.0]), np.array(["1.0"]), AUTO) == "returned an array of strings, expected numbers"


# ---------------------------------------------------------------- DataFrames and Series


@pytest.fixture
def frame():
    return pd.DataFrame({"word": ["cat", "dog", "eel"], "count": [3, 2, 1]})


def test_dataframes_compare_like_pandas_testing(frame):
    assert compare(frame, frame.copy(), AUTO) is None
    assert compare(frame, frame.assign(count=[3.00001, 2, 1]).astype({"count": "int64"}), AUTO) is None
    assert compare(frame, frame[["count", "word"]], AUTO) is None  # column order ignored
    assert compare(frame, frame[["count", "word"]], Rules(ordered=True)) == \
        "returned a DataFrame whose columns are in a different order: column 'word' is at position 1, expected 0"
    assert compare(frame, frame.astype({"count": "float64"}), AUTO) == \
        "returned a DataFrame in which column 'count' has dtype float64, expected int64"
    assert compare(frame, frame.astype({"count": "float64"}), LOOSE) is None
    assert compare(frame, frame.drop(columns="count"), AUTO) == "returned a DataFrame without column 'count'"
    assert compare(frame, frame.assign(n=1), AUTO) == "returned a DataFrame with an unexpected column 'n'"
    assert compare(frame, frame.iloc[:2], AUTO) == "returned a DataFrame of 2 rows, expected 3 rows"
    assert compare(frame, frame.assign(count=[3, 2, 5]), AUTO) == \
        "returned a DataFrame in which column 'count' differs in 1 of 3 rows, e.g. at row 2"
    assert compare(frame, frame.assign(word=["cat", "Dog", "eel"]), AUTO) == \
        ("returned a DataFrame in which column 'word' differs in 1 of 3 rows, e.g. at row 1 "
         "(a different string, which differs only in upper and lower case)")
    assert compare(frame, frame.set_index("word"), AUTO) == "returned a DataFrame without column 'word'"
    assert compare(frame, frame.to_dict(), AUTO) == "returned a dict, expected a DataFrame"


def test_a_dataframes_index_is_compared(frame):
    indexed = frame.set_index("word")
    assert compare(indexed, indexed.copy(), AUTO) is None
    assert compare(indexed, indexed.rename_axis("w"), AUTO) == \
        "returned a DataFrame whose index is named 'w', expected 'word'"
    assert compare(indexed, indexed.rename(index={"dog": "hog"}), AUTO) == \
        "returned a DataFrame whose index differs in 1 of 3 rows, e.g. at row 1 (a different string)"
    assert compare(indexed, indexed.iloc[::-1], AUTO).startswith("returned a DataFrame whose index differs")
    assert compare(indexed, indexed.iloc[::-1], UNORDERED) is None  # rows aligned by their labels
    assert compare(frame, frame.iloc[::-1].reset_index(drop=True), UNORDERED) is None  # rows as a multiset
    assert compare(frame, frame.assign(count=[3, 2, 9]).iloc[::-1], UNORDERED) is not None


def test_range_and_integer_indexes_are_equivalent_unless_exact(frame):
    other = frame.copy()
    other.index = pd.Index([0, 1, 2])
    assert compare(frame, other, AUTO) is None
    assert compare(frame, other, EXACT) == ("returned a DataFrame whose index is an Index of dtype int64, "
                                            "expected a RangeIndex of dtype int64")


def test_pandas_dtypes_missing_values_and_multiindexes():
    expected = pd.DataFrame({"s": pd.array(["a", None], dtype="string"), "i": pd.array([1, None], dtype="Int64"),
                             "c": pd.Categorical(["x", "y"])},
                            index=pd.MultiIndex.from_tuples([("u", 1), ("v", 2)], names=["k", "n"]))
    assert compare(expected, expected.copy(), AUTO) is None
    assert compare(expected, expected.astype({"i": "float64"}), AUTO) == \
        "returned a DataFrame in which column 'i' has dtype float64, expected Int64"
    assert compare(expected, expected.assign(i=pd.array([1, 2], dtype="Int64")), AUTO) == \
        "returned a DataFrame in which column 'i' differs in 1 of 2 rows, e.g. at row ('v', 2)"
    assert compare(expected, expected.assign(s=pd.array(["a", "b"], dtype="string")), AUTO) == \
        ("returned a DataFrame in which column 's' differs in 1 of 2 rows, e.g. at row ('v', 2) "
         "(a str, expected a missing value)")
    assert compare(expected, expected.assign(s=pd.array(["a", None], dtype="string")), AUTO) is None
    flat = expected.reset_index(level="n")
    assert compare(expected, flat, AUTO) == "returned a DataFrame with an unexpected column 'n'"


def test_series():
    expected = pd.Series([3, 1], index=pd.Index(["cat", "dog"], name="word"), name="count")
    assert compare(expected, expected.copy(), AUTO) is None
    assert compare(expected, expected.rename("n"), AUTO) == "returned a Series named 'n', expected 'count'"
    assert compare(expected, expected.astype("float64"), AUTO) == "returned a Series of dtype float64, expected int64"
    assert compare(expected, expected.iloc[:1], AUTO) == "returned a Series of 1 value, expected 2 values"
    assert compare(expected, expected.iloc[::-1], UNORDERED) is None
    assert compare(expected, expected.replace(1, 2), AUTO) == \
        "returned a Series whose values differ in 1 of 2 rows, e.g. at row 'dog'"
    assert compare(expected, expected.to_frame(), AUTO) == "returned a DataFrame, expected a Series"


# ---------------------------------------------------------------- unordered


def test_unordered_compares_a_list_as_a_multiset():
    assert compare([3, 1, 2, 2], [2, 1, 2, 3], UNORDERED) is None
    assert compare([3, 1, 2, 2], [2, 1, 3, 3], UNORDERED) == \
        "returned a list in which 1 of 4 items matches no expected item (e.g. the one at index 2)"
    assert compare([1, 2], [1, 2, 3], UNORDERED) == "returned a list of 3 items, expected 2 items"
    assert compare([1, 2], (2, 1), UNORDERED) == "returned a tuple, expected a list"
    assert compare(["a", ("b", 1)], [("b", 1), "a"], UNORDERED) is None
    assert compare([[1, 2], [3]], [[3], [1, 2]], UNORDERED) is None
    assert compare([[1, 2], [3]], [[3], [2, 1]], UNORDERED) is not None  # only the top level is a multiset


def test_unordered_matches_numbers_within_tolerance():
    assert compare([0.3, 1.0], [1.0, 0.1 + 0.2], UNORDERED) is None
    assert compare([(1.0, "b"), (1.0 + 1e-9, "a")], [(1.0 + 1e-9, "b"), (1.0, "a")], UNORDERED) is None
    assert compare(np.array([3.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]), UNORDERED) is None
    assert compare(np.array([3.0, 1.0, 2.0]), np.array([1.0, 2.0, 4.0]), UNORDERED) is not None


def test_unordered_work_is_bounded_on_items_chosen_to_collide():
    """ints k * (2**61 - 1) all hash to 0: a multiset built with a hash table would take
    quadratic time; sorting does not care."""
    expected = [k * (2**61 - 1) for k in range(30_000)]
    actual = expected[::-1]
    started = time.perf_counter()
    assert compare(expected, actual, UNORDERED) is None
    assert compare(expected, actual[:-1] + [-1], UNORDERED) is not None
    assert compare(expected, [0] * 30_000, UNORDERED) is not None  # all unmatched: no quadratic matching
    assert time.perf_counter() - started < 5


def test_sort_key_orders_anything_decoded():
    values = [None, True, 1, 2.5, float("nan"), 1j, "a", b"a", (1,), [2], {1}, {"a": 1}, np.zeros(2),
              pd.Series([1]), np.str_("b"), 10 ** 400]
    ordered = sorted(values, key=sort_key)
    assert len(ordered) == len(values)


# ---------------------------------------------------------------- judges


def test_a_judges_verdicts():
    assert run_judge(lambda e, a, args: True, "j", 1, 1, ()) == (1.0, "")
    assert run_judge(lambda e, a, args: np.bool_(False), "j", 1, 2, ()) == (0.0, "")
    assert run_judge(lambda e, a, args: (0.5, " half "), "j", 1, 2, ()) == (0.5, "half")
    assert run_judge(lambda e, a, args: [1, None], "j", 1, 2, ()) == (1.0, "")


@pytest.mark.parametrize("judge,message", [
    (lambda e, a, args: 1 / 0, "judge `j` raised ZeroDivisionError"),
    (lambda e, a, args: None, "judge `j` returned None, not True/False or (fraction, feedback)"),
    (lambda e, a, args: (1.5, "x"), "gave a fraction outside 0..1"),
    (lambda e, a, args: (float("nan"), "x"), "gave a fraction outside 0..1"),
    (lambda e, a, args: "yes", "returned a str"),
])
def test_a_judge_that_fails_is_a_judge_error(judge, message):
    with pytest.raises(JudgeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_judge(judge, "j", 1, 2, ())


def test_a_judges_exception_message_is_not_shown_it_may_hold_the_answer():
    def judge(expected, actual, args):
        raise ValueError(f"expected {expected}")

    with pytest.raises(JudgeError) as info:
        run_judge(judge, "j", 424242, 1, ())
    assert "424242" not in str(info.value) and "line" in str(info.value)


def test_a_judge_gets_copies():
    expected, actual, args = [1], [2], ([3],)

    def judge(e, a, arguments):
        e.append(9)
        a.append(9)
        arguments[0].append(9)
        return True

    run_judge(judge, "j", expected, actual, args)
    assert expected == [1] and actual == [2] and args == ([3],)


def test_compare_never_raises_whatever_the_answer():
    """Every pair of very different values, both ways and under every rule: a sentence or
    None, never an exception (an exception would cost the student the whole submission)."""
    import itertools

    values = [None, True, 0, -1.5, float("nan"), 10 ** 400, 2j, "x", b"x", [], [1, "a", None], (1,), {"k": [1]},
              {1: 2}, set(), {1, (2, 3)}, frozenset({"a"}), np.zeros((2, 2)), np.array(["a"]), np.array([]),
              np.array(1.0), np.float32(1), np.str_("x"), pd.DataFrame({"a": [1, 2]}),
              pd.DataFrame({"a": [[1], {"x"}]}), pd.DataFrame([[1, 2]], columns=["d", "d"]),
              pd.DataFrame({"a": [1]}, index=pd.Index([[1, 2]], dtype=object)), pd.Series([1.0, None]),
              pd.Series(["a", 1], dtype=object), pd.Series([1], index=pd.MultiIndex.from_tuples([("a", 1)])),
              pd.DataFrame(index=pd.RangeIndex(3)), [np.zeros(2), pd.Series([1])]]
    rules = [AUTO, EXACT, UNORDERED, NORMALIZED, LOOSE, Rules(ordered=True)]
    for expected, actual in itertools.product(values, repeat=2):
        for rule in rules:
            problem = compare(expected, actual, rule)
            assert problem is None or (type(problem) is str and problem.startswith("returned")), \
                (expected, actual, rule, problem)
