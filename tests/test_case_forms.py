"""Cases beyond positional numbers and arrays (issue 11, cases): keyword-only and left-out
arguments, cases that must raise, and fixed arrays, dicts, tuples, sets and DataFrames as
arguments, through the student's process and the self-check bundle."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from grader.assign import bundle_for
from grader.cases import generate_cases
from grader.pipeline import grade_submission
from grader.reference import Raised, prepare
from grader.rubric import load_rubric
from grader.runner import Runner
from grader.submissions import read_submission

REFERENCE = '''
import numpy as np

def softmax(x, *, temperature=1.0):
    z = np.asarray(x, dtype=float) / temperature
    e = np.exp(z - z.max())
    return e / e.sum()

def power(base, exp=2, *, mod=None):
    value = base ** exp
    return value if mod is None else value % mod

def mean(xs):
    if len(xs) == 0:
        raise ValueError("no numbers")
    return sum(xs) / len(xs)

def first_row(X):
    if (X < 0).any():
        raise ValueError("negative entries")
    return X[0]

def echo(m, d, t, s, df):
    return (type(m).__name__, str(m.dtype), m, type(d).__name__, d, type(t).__name__, t,
            type(s).__name__, s, type(df).__name__, df)
'''

CHECKS = [
    {"id": "softmax", "kind": "function", "name": "softmax", "points": 1,
     "cases": [{"x": [1.0, 2.0, 3.0]}, {"x": [1.0, 2.0, 3.0], "temperature": 2.0}]},
    {"id": "power", "kind": "function", "name": "power", "points": 1,
     "cases": [{"base": 3}, {"base": 3, "exp": 3}, {"base": 3, "mod": 5}, {"mod": 7, "base": 2, "exp": 5}]},
    {"id": "mean", "kind": "function", "name": "mean", "points": 1,
     "cases": [{"xs": [1, 2, 3]}, {"args": {"xs": []}, "raises": "ValueError"}]},
    {"id": "first_row", "kind": "function", "name": "first_row", "points": 1, "seed": 3,
     "cases": [{"X": {"array": [2, 3], "dist": "uniform"}},
               {"args": {"X": {"array": [2, 3], "dist": "randint", "low": -5, "high": 0, "dtype": "int64"}},
                "raises": "ValueError"}]},
    {"id": "echo", "kind": "function", "name": "echo", "points": 1, "compare": "exact",
     "cases": [{"m": {"ndarray": [[1, 0], [0, 1]], "dtype": "float32"}, "d": {"dict": {"a": 1, 2: [3]}},
                "t": {"tuple": [1, "x"]}, "s": {"set": [1, 2]},
                "df": {"dataframe": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}], "index": ["r1", "r2"]}}]},
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("forms")
    (folder / "ref.py").write_text(REFERENCE)
    data = {"title": "Forms", "reference": "ref.py", "entry": "forms.py",
            "limits": {"call_timeout": 5, "submission_timeout": 60},
            "questions": [{"id": "1", "checks": CHECKS}]}
    (folder / "rubric.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


@pytest.fixture(scope="module")
def plan(folder):
    return prepare(load_rubric(folder / "rubric.yaml"))


@pytest.fixture(scope="module")
def runner(plan, confinement):
    with Runner.for_rubric(plan.rubric, confinement=confinement) as shared:
        yield shared


def grade(folder: Path, plan, runner, source: str, name: str):
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    result = grade_submission(plan, read_submission(path, name), runner)
    return {c.check: c for c in result.checks}


def test_the_reference_itself_passes_every_case(folder, plan, runner):
    checks = grade(folder, plan, runner, REFERENCE, "ref_copy")
    assert {c: r.outcome for c, r in checks.items()} == dict.fromkeys(checks, "passed"), \
        {c: r.feedback for c, r in checks.items()}


def test_each_argument_form_reaches_the_function_with_exactly_its_type(plan):
    (m, d, t, s, df), = generate_cases(plan.rubric.questions[0].checks[4])
    assert type(m) is np.ndarray and m.dtype == np.float32 and np.array_equal(m, np.eye(2))
    assert type(d) is dict and d == {"a": 1, 2: [3]}
    assert type(t) is tuple and t == (1, "x")
    assert type(s) is set and s == {1, 2}
    assert type(df) is pd.DataFrame and list(df.columns) == ["a", "b"] and list(df.index) == ["r1", "r2"]
    expected = plan.functions["1", "echo"].expected[0]
    assert expected[:2] == ("ndarray", "float32") and expected[3::2][:4] == ("dict", "tuple", "set", "DataFrame")


def test_a_student_who_checks_the_types_passes_and_one_who_gets_other_types_would_not(folder, plan, runner):
    strict = '''
    import numpy as np, pandas as pd
    def echo(m, d, t, s, df):
        assert type(m) is np.ndarray and m.dtype == np.float32
        assert type(d) is dict and type(t) is tuple and type(s) is set and type(df) is pd.DataFrame
        assert list(df.index) == ["r1", "r2"] and df["b"].tolist() == ["x", "y"]
        return (type(m).__name__, str(m.dtype), m, type(d).__name__, d, type(t).__name__, t,
                type(s).__name__, s, type(df).__name__, df)
    '''
    assert grade(folder, plan, runner, strict, "strict")["echo"].outcome == "passed"
    listy = strict.replace("return (", "return [").replace("df)\n", "df]\n")
    result = grade(folder, plan, runner, listy, "listy")["echo"]
    assert result.outcome == "failed" and "returned a list, expected a tuple" in result.feedback


def test_keyword_only_arguments_are_passed_by_keyword(folder, plan, runner):
    # a student whose temperature is keyword-only too, and one whose defaults differ but are overridden
    checks = grade(folder, plan, runner, '''
    import numpy as np
    def softmax(x, *, temperature=1.0):
        e = np.exp(np.asarray(x, dtype=float) / temperature)
        return e / e.sum()
    def power(base, exp=2, *, mod=None):
        return base ** exp if mod is None else base ** exp % mod
    ''', "keywords")
    assert checks["softmax"].outcome == "passed" and checks["power"].outcome == "passed"
    # a student who ignores the keyword fails on that case, and the feedback names it
    checks = grade(folder, plan, runner, '''
    import numpy as np
    def softmax(x, **options):
        e = np.exp(np.asarray(x, dtype=float))
        return e / e.sum()
    def power(base, exp=2, mod=None):
        return base ** exp
    ''', "ignores")
    assert checks["softmax"].outcome == "failed" and "case 2 of 2 (x=[1.0, 2.0, 3.0], temperature=2.0)" in \
        checks["softmax"].feedback
    assert checks["power"].outcome == "failed" and "base=3, mod=5" in checks["power"].feedback


def test_raising_a_subclass_passes_and_returning_or_raising_another_type_fails(folder, plan, runner):
    subclass = grade(folder, plan, runner, '''
    class NoNumbers(ValueError):
        pass
    def mean(xs):
        if not xs:
            raise NoNumbers("empty")
        return sum(xs) / len(xs)
    def first_row(X):
        if (X < 0).any():
            raise ValueError("no")
        return X[0]
    ''', "subclass")
    assert subclass["mean"].outcome == "passed" and subclass["first_row"].outcome == "passed"
    returns = grade(folder, plan, runner, '''
    def mean(xs):
        return sum(xs) / len(xs) if xs else 0.0
    def first_row(X):
        return X[0]
    ''', "returns")["mean"]
    assert returns.outcome == "failed"
    assert "`mean` should raise ValueError for xs=[], but returned a float in case 2 of 2." in returns.feedback
    other = grade(folder, plan, runner, '''
    def mean(xs):
        if not xs:
            raise TypeError("empty")
        return sum(xs) / len(xs)
    ''', "other")["mean"]
    assert other.outcome == "error" and "raised TypeError (empty), expected ValueError" in other.feedback
    # raising where the reference returns still fails as it always did
    always = grade(folder, plan, runner, '''
    def mean(xs):
        raise ValueError("never")
    ''', "always")["mean"]
    assert always.outcome == "error" and "raised ValueError: never (line 3) in case 1 of 2" in always.feedback


def test_the_bundle_and_grade_check_carry_keywords_and_raising_cases(folder, plan, tmp_path):
    from grader.selfcheck import check_submission, load_bundle

    bundle = bundle_for(plan)
    entries = {c["id"]: c for c in bundle["questions"][0]["checks"]}
    keyword_cases = [case for case in entries["power"]["cases"] if isinstance(case, dict) and "kwargs" in case]
    assert entries["power"]["forms"] and [[name for name, _ in case["kwargs"]] for case in keyword_cases] == \
        [["mod"], ["mod"]]
    assert {"raised": "ValueError"} in entries["mean"]["forms"]
    assert {"raised": "ValueError"} in entries["first_row"]["expected"]  # a practice draw that raises too
    practice = plan.functions["1", "first_row"].practice
    assert practice.expected[1] == Raised("ValueError") and practice.cases[1].raises == "ValueError"
    (tmp_path / "forms-check.json").write_text(json.dumps(bundle))
    (tmp_path / "forms.py").write_text(REFERENCE)
    lines = {line.check: line for line in check_submission(load_bundle(tmp_path / "forms-check.json"),
                                                           tmp_path / "forms.py")}
    assert lines["first_row"].verdict == "passed", lines["first_row"].message
    assert {lines[c].verdict for c in ("softmax", "power", "mean", "echo")} == {"format only"}, \
        {c: (line.verdict, line.message) for c, line in lines.items()}
    (tmp_path / "forms.py").write_text(textwrap.dedent('''
    import numpy as np
    def softmax(x, temperature):
        return np.ones(3) / 3
    def mean(xs):
        return 0.0
    def first_row(X):
        return X[0]
    '''))
    lines = {line.check: line for line in check_submission(load_bundle(tmp_path / "forms-check.json"),
                                                           tmp_path / "forms.py")}
    assert lines["mean"].verdict == "failed" and "should raise ValueError for xs=[], but returned a float" in \
        lines["mean"].message
    assert lines["first_row"].verdict == "failed" and "should raise ValueError for X (2, 3)" in \
        lines["first_row"].message
    assert lines["softmax"].verdict == "error" and "missing 1 required positional argument" in \
        lines["softmax"].message


def test_a_call_that_does_not_fit_the_students_signature_names_no_line_of_the_grader(folder, plan, runner):
    """A TypeError raised by the call itself was told with a line of the grader's own code
    ("(line 384)"), which the student has no way to find."""
    checks = grade(folder, plan, runner, """
    def mean(numbers, weights):
        return sum(numbers) / len(numbers)
    """, "signature")
    feedback = checks["mean"].feedback
    assert "raised TypeError: mean() missing 1 required positional argument: 'weights' in case 1" in feedback
    assert "(line" not in feedback
    checks = grade(folder, plan, runner, """
    def mean(xs):
        total = 0
        return total / len(xs) + undefined_name
    """, "their_line")
    assert "raised NameError: name 'undefined_name' is not defined (line 4)" in checks["mean"].feedback


def test_the_bundle_carries_each_checks_comparison_rule(plan):
    """The self-check compared by the default rule: the bundle did not say `compare`,
    `ordered` or `loose_types`."""
    entries = {c["id"]: c for c in bundle_for(plan)["questions"][0]["checks"]}
    assert entries["echo"]["compare"] == "exact" and entries["mean"]["compare"] == "auto"
    assert entries["echo"]["ordered"] is False and entries["echo"]["loose_types"] is False


def test_a_case_that_hangs_costs_its_own_check_not_another_check_of_the_same_function(tmp_path, confinement):
    """After one case of `bin_counts` hung its process, every later request for `bin_counts`
    got the same timeout, so a second check of the function (other cases) lost its points
    with feedback saying its case had timed out, though it never ran."""
    (tmp_path / "ref.py").write_text("def double(x):\n    return [2 * v for v in x]\n")
    checks = [{"id": "long", "kind": "function", "name": "double", "points": 1,
               "cases": [{"x": [1, 2, 3, 4, 5]}, {"x": [1]}]},
              {"id": "short", "kind": "function", "name": "double", "points": 1, "cases": [{"x": [7, 8]}]}]
    data = {"title": "t", "reference": "ref.py", "limits": {"call_timeout": 1, "submission_timeout": 30},
            "questions": [{"id": "1", "checks": checks}]}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(data))
    plan = prepare(load_rubric(tmp_path / "r.yaml"))
    (tmp_path / "sub.py").write_text("def double(x):\n    while len(x) == 5:\n        pass\n"
                                     "    return [2 * v for v in x]\n")
    with Runner.for_rubric(plan.rubric, confinement=confinement) as runner:
        result = grade_submission(plan, read_submission(tmp_path / "sub.py", "sub"), runner)
    checks = {c.check: c for c in result.checks}
    assert checks["long"].outcome == "timeout" and "in case 1 of 2" in checks["long"].feedback
    assert (checks["short"].outcome, checks["short"].auto_points) == ("passed", 1.0)
