"""Case generation (grader/cases.py) and fixtures of a support module (Exercise 7's toy models)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grader import cases
from grader.cases import describe_case as _describe_case
from grader.cases import for_reference as _for_reference
from grader.cases import generate_cases as _generate_cases
from grader.child import wire
from grader.reference import load_support
from grader.rubric import FunctionCheck, load_rubric

ROOT = Path(__file__).resolve().parents[1]
SUPPORT = load_support(load_rubric(ROOT / "rubrics" / "ex07.yaml"))  # Exercise 7's fixtures


def generate_cases(check, stream=cases.GRADING, signature=None):
    return _generate_cases(check, stream, signature, SUPPORT)


def for_reference(args):
    return _for_reference(args, SUPPORT)


def describe_case(names, args):
    return _describe_case(names, args, SUPPORT)


@pytest.fixture(scope="module")
def rubric():
    return load_rubric(ROOT / "rubrics" / "ex07.yaml")


def function_check(rubric, check_id: str) -> FunctionCheck:
    return next(c for _, c in rubric.checks() if c.id == check_id and c.kind == "function")


def make_check(*case_list, seed: int = 0) -> FunctionCheck:
    return FunctionCheck.model_validate({"id": "f", "kind": "function", "name": "f", "points": 1,
                                         "seed": seed, "cases": list(case_list)})


def same_args(a: tuple, b: tuple) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, np.ndarray):
            if not (isinstance(y, np.ndarray) and x.dtype == y.dtype and np.array_equal(x, y)):
                return False
        elif isinstance(x, dict):
            if x != y:
                return False
        elif x != y or type(x) is not type(y):
            return False
    return True


# ---------------------------------------------------------------- generate_cases


def test_generation_is_deterministic_for_every_rubric_check(rubric):
    checks = [c for _, c in rubric.checks() if c.kind == "function"]
    assert len(checks) >= 10
    for check in checks:
        first, second = generate_cases(check), generate_cases(check)
        assert len(first) == len(check.cases)
        assert all(same_args(a, b) for a, b in zip(first, second)), check.id


def test_a_different_seed_gives_different_arrays(rubric):
    check = function_check(rubric, "fnn")
    other = check.model_copy(update={"seed": check.seed + 1})
    for a, b in zip(generate_cases(check), generate_cases(other)):
        assert all(x.shape == y.shape for x, y in zip(a, b))
        assert not any(np.array_equal(x, y) for x, y in zip(a, b))


def test_each_case_has_its_own_stream_and_adding_a_case_changes_no_other():
    spec = {"X": {"array": [3, 2]}}
    one = generate_cases(make_check(spec, spec, seed=5))
    assert not np.array_equal(one[0][0], one[1][0])  # same spec, different case number
    more = generate_cases(make_check(spec, spec, {"X": {"array": [4, 4]}}, seed=5))
    assert np.array_equal(more[0][0], one[0][0]) and np.array_equal(more[1][0], one[1][0])


def test_the_case_stream_is_seeded_by_check_seed_and_case_number():
    (x,), = generate_cases(make_check({"X": {"array": [2, 3], "scale": 2.0}}, seed=42))
    assert np.array_equal(x, np.random.default_rng([42, 0]).normal(scale=2.0, size=(2, 3)))


def test_the_graded_stream_is_the_one_of_the_first_release():
    """Grading cases never move: kept results and the golden gradebook depend on them."""
    (x,), (y,) = generate_cases(make_check({"X": {"array": [3]}}, {"X": {"array": [3]}}, seed=7))
    assert np.array_equal(x, np.random.default_rng([7, 0]).normal(size=3))
    assert np.array_equal(y, np.random.default_rng([7, 1]).normal(size=3))


def drawn_checks(rubric) -> list[FunctionCheck]:
    return [c for _, c in rubric.checks() if c.kind == "function" and any(map(cases.is_drawn, c.cases))]


def test_practice_cases_look_like_the_graded_ones_but_are_other_draws(rubric):
    checks = drawn_checks(rubric)
    assert {c.id for c in checks} >= {"clm_objective", "mlm_objective", "fnn", "houlsby_fnn", "lora_fnn",
                                      "lora_delta", "lm_head", "multi_head_attention"}
    for check in checks:
        graded, practice = generate_cases(check), generate_cases(check, cases.PRACTICE)
        assert len(practice) == len(graded), check.id
        for g, p in zip(graded, practice):
            assert len(g) == len(p)
            for x, y in zip(g, p):
                if isinstance(x, np.ndarray):  # same shape and dtype, other numbers
                    assert x.shape == y.shape and x.dtype == y.dtype, check.id
                    assert x.size == 0 or not np.isin(y, x).any(), check.id
                elif isinstance(x, dict):  # the same fixture with the same parameters, another draw
                    assert x["__fixture__"] == y["__fixture__"] and x["params"] == y["params"]
                    assert x["seed"] != y["seed"], check.id
                    p_x, p_y = for_reference((x, y))
                    assert not np.isin(p_y(()), p_x(())).any(), check.id
                else:  # fixed numbers beside the arrays stay
                    assert x == y and type(x) is type(y)
        # no practice case is any graded case
        assert not [p for p in practice for g in graded if same_args(p, g)], check.id


def test_practice_draws_are_deterministic_and_their_own_per_case():
    spec = {"X": {"array": [3, 2]}}
    check = make_check(spec, spec, seed=5)
    one, again = generate_cases(check, cases.PRACTICE), generate_cases(check, cases.PRACTICE)
    assert all(same_args(a, b) for a, b in zip(one, again))
    assert not np.array_equal(one[0][0], one[1][0])
    more = generate_cases(make_check(spec, spec, {"X": {"array": [4, 4]}}, seed=5), cases.PRACTICE)
    assert same_args(more[0], one[0]) and same_args(more[1], one[1])
    # spawned from the same (seed, case number), independent of the graded draw
    expected = np.random.default_rng(np.random.SeedSequence([5, 1], spawn_key=(cases.PRACTICE_SPAWN_KEY,)))
    assert np.array_equal(one[1][0], expected.normal(size=(3, 2)))


def test_cases_of_fixed_numbers_have_no_practice_twin(rubric):
    for check_id in ("sinusoidal_positional_encoding", "num_heads", "houlsby_params", "gpt3_params"):
        assert generate_cases(function_check(rubric, check_id), cases.PRACTICE) == []
    mixed = make_check({"X": {"array": [2]}, "k": 1}, {"X": [1.0, 2.0], "k": 2}, seed=3)
    only, = generate_cases(mixed, cases.PRACTICE)  # the literal case stays out
    assert only[1] == 1 and only[0].shape == (2,)


def test_the_rubric_practice_cases_replace_the_redraws():
    check = FunctionCheck.model_validate({
        "id": "f", "kind": "function", "name": "f", "points": 1, "seed": 9,
        "cases": [{"X": {"array": [2]}, "k": 1}, {"X": {"array": [3]}, "k": 2}],
        "practice": [{"X": {"array": [4]}, "k": 7}]})
    (X, k), = generate_cases(check, cases.PRACTICE)
    assert X.shape == (4,) and k == 7
    literal = FunctionCheck.model_validate({"id": "g", "kind": "function", "name": "g", "points": 1,
                                            "cases": [{"n": 2}], "practice": [{"n": 5}, {"n": 6}]})
    assert generate_cases(literal, cases.PRACTICE) == [(5,), (6,)]
    with pytest.raises(ValueError, match="unknown stream"):
        generate_cases(literal, "hidden")


def test_shapes_and_dtypes_are_as_specified(rubric):
    args = generate_cases(function_check(rubric, "multi_head_attention"))[1]
    assert [a.shape for a in args] == [(5, 8), (2, 8, 4), (2, 8, 4), (2, 8, 4), (8, 8)]
    assert all(a.dtype == np.float64 for a in args)

    check = make_check({
        "a": {"array": [2, 3], "dtype": "float32"},
        "b": {"array": [50], "dist": "uniform", "low": -2, "high": -1},
        "c": {"array": [4, 5], "dist": "randint", "low": 3, "high": 6, "dtype": "int64"},
        "d": {"array": [0, 4]},
        "e": {"array": []},
    })
    (a, b, c, d, e), = generate_cases(check)
    assert a.shape == (2, 3) and a.dtype == np.float32
    assert b.shape == (50,) and b.dtype == np.float64 and np.all((b >= -2) & (b < -1))
    assert c.shape == (4, 5) and c.dtype == np.int64 and set(np.unique(c)) <= {3, 4, 5}
    assert len(set(np.unique(c))) > 1
    assert d.shape == (0, 4) and e.shape == ()


def test_scale_scales_the_normal_draw():
    (small, big), = generate_cases(make_check({"a": {"array": [2000]}, "b": {"array": [2000], "scale": 10.0}}))
    assert 0.9 < small.std() < 1.1 and 9 < big.std() < 11


def test_literals_keep_their_python_types(rubric):
    assert generate_cases(function_check(rubric, "houlsby_params"))[0] == (768, 64)
    assert all(type(v) is int for args in generate_cases(function_check(rubric, "gpt3_params")) for v in args)
    alphas = [args[-1] for args in generate_cases(function_check(rubric, "lora_fnn"))]
    assert alphas == [5.0, 16.0, 1.5, 2.0] and all(type(a) is float for a in alphas)
    (flag, text, items), = generate_cases(make_check({"flag": True, "text": "x", "items": [1, [2]]}))
    assert flag is True and text == "x" and items == [1, [2]]


def test_generated_literals_are_deep_copies(rubric):
    check = function_check(rubric, "mlm_objective")
    first = generate_cases(check)[0]
    S, M = first[1], first[2]
    S[0].append(99)
    S.append([7])
    M[0][0] = 42
    again = generate_cases(check)[0]
    assert again[1] == [[1, 2, 3, 4], [0, 1]] and again[2] == [[1, 3], [0]]
    assert check.cases[0]["S"] == [[1, 2, 3, 4], [0, 1]]


def test_toy_arguments_are_plain_data(rubric):
    p, S = generate_cases(function_check(rubric, "clm_objective"))[2]
    assert p["__fixture__"] == "clm" and p["params"] == {"vocab": 7, "rows": 17} and wire.is_fixture(p)
    assert S == [[0, 1, 2, 3, 4, 5, 6, 0], [6, 6], [3]]
    assert json.dumps(wire.encode(p))  # travels over the wire as it is


# ---------------------------------------------------------------- for_reference


def child_side(arg):
    """What the student's process builds from an argument (see child/__main__.py)."""
    value = wire.decode(json.loads(json.dumps(wire.encode(arg))), allow_fixtures=True)
    if not wire.is_fixture(value):
        return value
    return getattr(SUPPORT, value["__fixture__"])(wire.fixture_rng(value["seed"]), **value["params"])


@pytest.mark.parametrize("check_id", ["clm_objective", "mlm_objective"])
def test_reference_and_child_see_the_same_toy(rubric, check_id):
    for args in generate_cases(function_check(rubric, check_id)):
        p_ref = for_reference(args)[0]
        p_child = child_side(args[0])
        assert callable(p_ref) and callable(p_child)
        vocab = args[0]["params"]["vocab"]
        for sequence in [(), (0,), (1, 2), (2, 1), tuple(range(vocab)), (vocab - 1,) * 5]:
            assert np.array_equal(p_ref(sequence), p_child(sequence))


def test_for_reference_copies_everything_else(rubric):
    args = generate_cases(function_check(rubric, "lora_fnn"))[0]
    ref_args = for_reference(args)
    assert len(ref_args) == len(args)
    for original, copy in zip(args[:5], ref_args[:5]):
        assert copy is not original and np.array_equal(copy, original)
        copy[...] = 0
        assert not np.array_equal(copy, original)
    assert ref_args[5] == 5.0

    S = generate_cases(function_check(rubric, "clm_objective"))[0][1]
    ref_S = for_reference((None, S))[1]
    ref_S[0].append(3)
    assert S == [[1, 2, 3], [4, 0]]


def test_describe_case_names_shapes_toys_and_short_literals(rubric):
    check = function_check(rubric, "mlm_objective")
    args = generate_cases(check)[0]
    text = describe_case(list(check.cases[0]), args)
    assert text.startswith("p a toy model over 6 tokens, S=[[1, 2, 3, 4], [0, 1]]")
    assert text.endswith("mask_id=5")
    check = function_check(rubric, "lora_delta")
    assert describe_case(["A", "B", "alpha"], generate_cases(check)[0]) == "A (4, 2), B (2, 16), alpha=5.0"
    long = describe_case(["S"], ([list(range(100))],))
    assert long.startswith("S=[[0, 1") and long.endswith("...") and len(long) == len("S=") + 40


# ---------------------------------------------------------------- fixtures (Exercise 7's toy models)


def test_random_tables_are_positive_distributions():
    for seed in range(5):
        table = SUPPORT.random_table(np.random.default_rng(seed), 11, 7)
        assert table.shape == (11, 7)
        assert np.all(table > 0)
        assert np.allclose(table.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    a = SUPPORT.random_table(np.random.default_rng(1), 3, 4)
    assert np.array_equal(a, SUPPORT.random_table(np.random.default_rng(1), 3, 4))
    assert not np.array_equal(a, SUPPORT.random_table(np.random.default_rng(2), 3, 4))


def clm_and_mlm(rows=11, vocab=5, seed=0):
    table = SUPPORT.random_table(np.random.default_rng(seed), rows, vocab)
    return (table, SUPPORT.clm(np.random.default_rng(seed), vocab, rows),
            SUPPORT.mlm(np.random.default_rng(seed), vocab, rows))


def test_clm_toy_returns_distributions_that_depend_on_the_prefix():
    table, p, _ = clm_and_mlm()
    prefixes = [(), (0,), (1,), (0, 1), (1, 0), (4, 4, 4)]
    outputs = [p(prefix) for prefix in prefixes]
    for out in outputs:
        assert out.shape == (5,) and np.all(out > 0) and np.isclose(out.sum(), 1.0)
    for i in range(len(outputs)):
        for j in range(i + 1, len(outputs)):
            assert not np.array_equal(outputs[i], outputs[j]), (prefixes[i], prefixes[j])
    assert np.array_equal(p(()), table[0])
    assert np.array_equal(p([0, 1]), p((0, 1))) and np.array_equal(p(np.array([0, 1])), p((0, 1)))


def test_clm_toy_returns_fresh_arrays():
    table, p, _ = clm_and_mlm()
    out = p((1, 2))
    out[:] = -1
    assert np.all(p((1, 2)) > 0)


def test_mlm_toy_returns_one_distribution_per_position():
    _, _, q = clm_and_mlm(vocab=6)
    for seq in [(0,), (1, 2, 3), (5, 5, 5, 5, 5, 5, 5)]:
        out = q(seq)
        assert out.shape == (len(seq), 6)
        assert np.all(out > 0) and np.allclose(out.sum(axis=1), 1.0)
    assert q(()).shape == (0, 6)
    # masking one position changes the distributions (the toy sees the whole sequence)
    assert not np.array_equal(q((1, 2, 3)), q((1, 5, 3)))


def test_toys_are_described_by_the_support_module():
    assert SUPPORT.describe_clm({"vocab": 5}) == "a toy model over 5 tokens"
    value = {"__fixture__": "other", "params": {"n": 2}, "seed": ["1", "1", 0, 0]}
    assert cases.describe_fixture(value) == "a other fixture (n=2)"  # no describe_other: name and parameters


def test_an_unknown_fixture_or_no_support_module_is_refused():
    from grader.errors import RubricError

    check = make_check({"p": {"fixture": "gpt", "vocab": 3}})
    with pytest.raises(RubricError, match="no fixture `gpt`"):
        _generate_cases(check, support=SUPPORT)
    with pytest.raises(RubricError, match="needs a support module"):
        _generate_cases(make_check({"p": {"fixture": "clm", "vocab": 3}}))


def test_cases_module_exposes_no_toy_callables(rubric):
    # the generated cases are plain data, never callables (they must cross the wire)
    for check in (function_check(rubric, "clm_objective"), function_check(rubric, "mlm_objective")):
        for args in generate_cases(check):
            assert not any(callable(a) for a in args)
            assert wire.is_fixture(args[0])


def test_a_fixture_draws_where_the_toy_drew_before():
    """The fixture is built from the case's generator where it stands, so a case draws what
    the toy models drew before they moved into the support module."""
    check = make_check({"x": {"array": [2]}, "p": {"fixture": "clm", "vocab": 4, "rows": 3}, "y": {"array": [2]}},
                       seed=5)
    x, p, y = _generate_cases(check, support=SUPPORT)[0]
    rng = np.random.default_rng([5, 0])
    assert np.array_equal(x, rng.normal(size=2))
    table = SUPPORT.random_table(rng, 3, 4)
    assert np.array_equal(y, rng.normal(size=2))
    assert np.array_equal(for_reference((p,))[0](()), table[0])


# ---------------------------------------------------------------- keywords, raising cases, fixed forms


def test_fixed_forms_are_made_their_types_and_fresh_each_time():
    import pandas as pd

    check = make_check({"m": {"ndarray": [[1, 0], [0, 1]], "dtype": "float32"}, "v": {"ndarray": [1, 2]},
                        "d": {"dict": {"a": [1], 2: "b"}}, "t": {"tuple": [1, [2]]}, "s": {"set": ["x", 1]},
                        "df": {"dataframe": [{"a": 1, "b": "x"}, {"a": 2}], "index": [10, 20]}})
    (m, v, d, t, s, df), = first, = generate_cases(check)
    assert m.dtype == np.float32 and m.shape == (2, 2) and v.dtype == np.int64
    assert type(d) is dict and d == {"a": [1], 2: "b"} and type(t) is tuple and t == (1, [2])
    assert type(s) is set and s == {"x", 1}
    assert type(df) is pd.DataFrame and list(df.index) == [10, 20] and df["b"].isna().tolist() == [False, True]
    d["a"].append(9)
    assert generate_cases(check)[0][2] == {"a": [1], 2: "b"}
    assert describe_case(["df"], (df,)) == "df a DataFrame of shape (2, 2)"


def test_arrange_passes_by_position_up_to_the_first_left_out_parameter():
    import inspect

    def f(a, b=1, *, c=2, **more):
        pass

    call = cases.arrange({"c": 5, "a": 1, "z": 3}, inspect.signature(f), "ValueError")
    assert tuple(call) == (1,) and call.kwargs == {"c": 5, "z": 3} and call.names == ("a",)
    assert call.raises == "ValueError" and cases.argument_names(call, []) == ["a", "c", "z"]
    assert cases.argument_problems(["a", "z"], inspect.signature(f)) == []
    assert cases.argument_problems(["b", "*"], inspect.signature(lambda a, b: 0)) == [
        "unknown argument `*`", "missing required argument `a`"]


def test_a_raising_case_and_its_keywords_cross_the_bundle_form_and_back():
    call = cases.Call((np.arange(3),), {"mod": {1, 2}}, ["x"], "KeyError")
    back = cases.from_wire_form(json.loads(json.dumps(cases.wire_form(call))))
    assert np.array_equal(back[0], np.arange(3)) and back.kwargs == {"mod": {1, 2}}
    assert back.raises == "KeyError" and back.names == ("x",)
    plain = cases.Call((1, 2.0), (), ["a", "b"])
    assert cases.wire_form(plain) == wire.encode((1, 2.0))  # a case without keywords is stored as it always was


def test_a_raising_case_draws_like_any_other():
    check = FunctionCheck.model_validate({"id": "f", "kind": "function", "name": "f", "points": 1, "seed": 4,
                                          "cases": [{"X": {"array": [3]}}, {"args": {"X": {"array": [3]}},
                                                                            "raises": "ValueError"}]})
    first, second = generate_cases(check)
    assert type(first) is tuple and second.raises == "ValueError"
    assert np.array_equal(second[0], np.random.default_rng([4, 1]).normal(size=3))
    assert len(generate_cases(check, cases.PRACTICE)) == 2


def test_a_set_argument_is_described_the_same_way_in_every_process():
    """A failing case's feedback showed a set with repr(), whose order follows string hashes,
    which differ from one process to the next: results.csv changed between runs."""
    import subprocess
    import sys

    script = ("from grader.cases import describe_case; "
              "print(describe_case(['s', 'f'], ({'the', 'on', 'a', 'of'}, frozenset({'x', 'y'}))))")
    shown = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={"PYTHONHASHSEED": str(seed)}).stdout for seed in range(6)}
    assert shown == {"s={'a', 'of', 'on', 'the'}, f=frozenset({'x', 'y'})\n"}
