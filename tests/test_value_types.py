"""Issue 11 end to end: a rubric whose answers are strings, lists, tuples, dicts, sets, big
ints, arrays of strings and DataFrames, compared by the `compare:` rules, graded through the
real student process (sandboxed where bubblewrap works) and the wire format."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
import yaml

from grader.kinds.value import judge_value
from grader.errors import RubricError
from grader.pipeline import grade_submission
from grader.reference import prepare
from grader.rubric import load_rubric
from grader.runner import Reply, Runner
from grader.sandbox import choose
from grader.submissions import read_submission

REFERENCE = '''
from collections import Counter

import numpy as np
import pandas as pd


def tokenize(text):
    return [word.strip(".,!?").lower() for word in text.split()]


def counts(words):
    return dict(Counter(words))


def vocabulary(words):
    return set(words)


def first_last(words):
    return (words[0], words[-1])


def top_words(words, k):
    """the k most frequent words with their counts; ties in any order"""
    return sorted(Counter(words).items(), key=lambda item: -item[1])[:k]


def judge_top(expected, actual, args):
    if type(actual) is not list or len(actual) != len(expected):
        return False
    if sorted(c for _, c in actual) != sorted(c for _, c in expected):
        return 0.0, "the counts are not the most frequent ones"
    words = dict(Counter(args[0]))
    if any(type(item) is not tuple or words.get(item[0]) != item[1] for item in actual):
        return 0.5, "a word is listed with a count it does not have"
    return True


def judge_that_breaks(expected, actual, args):
    if actual != expected:
        return 1 / 0
    return True


def shuffled(words):
    return sorted(set(words))


def titles(words):
    return [word.title() + "!" for word in words]


def count_frame(words):
    frame = pd.DataFrame(sorted(Counter(words).items()), columns=["word", "count"])
    return frame


def power(base, exponent):
    return base ** exponent


def letters(words):
    return np.array(sorted({w[0] for w in words}))


VOCAB = {"the", "cat", "sat"}
PAIR = ("cat", 1)
TABLE = pd.DataFrame({"word": ["cat", "the"], "count": [1, 2]})
COUNTS = {"the": 2, "cat": 1}
'''

TEXT = "The cat sat. The cat! A dog?"

CHECKS = [
    {"id": "tokenize", "kind": "function", "name": "tokenize", "points": 1, "cases": [{"text": TEXT}]},
    {"id": "counts", "kind": "function", "name": "counts", "points": 1,
     "cases": [{"words": ["the", "cat", "the"]}, {"words": []}]},
    {"id": "vocabulary", "kind": "function", "name": "vocabulary", "points": 1, "cases": [{"words": ["a", "b", "a"]}]},
    {"id": "first_last", "kind": "function", "name": "first_last", "points": 1, "cases": [{"words": ["x", "y", "z"]}]},
    {"id": "top_words", "kind": "function", "name": "top_words", "points": 2, "judge": "judge_top",
     "cases": [{"words": ["a", "b", "c", "a", "b", "d"], "k": 2}]},
    {"id": "shuffled", "kind": "function", "name": "shuffled", "points": 1, "compare": "unordered",
     "cases": [{"words": ["b", "a", "c", "a"]}]},
    {"id": "titles", "kind": "function", "name": "titles", "points": 1, "compare": "normalized",
     "cases": [{"words": ["the", "cat"]}]},
    {"id": "count_frame", "kind": "function", "name": "count_frame", "points": 2,
     "cases": [{"words": ["the", "cat", "the"]}]},
    {"id": "power", "kind": "function", "name": "power", "points": 1, "rtol": 0, "compare": "exact",
     "cases": [{"base": 3, "exponent": 20000}, {"base": 2, "exponent": 10}]},
    {"id": "letters", "kind": "function", "name": "letters", "points": 1, "cases": [{"words": ["b", "a", "bb"]}]},
    {"id": "VOCAB", "kind": "value", "name": "VOCAB", "type": "set", "points": 1},
    {"id": "PAIR", "kind": "value", "name": "PAIR", "type": "tuple", "points": 1},
    {"id": "TABLE", "kind": "value", "name": "TABLE", "type": "dataframe", "points": 1},
    {"id": "COUNTS", "kind": "value", "name": "COUNTS", "type": "dict", "points": 1,
     "mistakes": [{"id": "capitalised", "value": {"The": 2, "cat": 1}, "feedback": "Lower-case the words first."}]},
]

CORRECT = REFERENCE.replace("def judge_top", "def _judge_top").replace("def judge_that_breaks", "def _j")

WRONG = '''
import pandas as pd


def tokenize(text):
    return [word.strip(".,!?") for word in text.split()]  # never lowercases


def counts(words):
    return {w: words.count(w) for w in words if w != "cat"}


def vocabulary(words):
    return frozenset(words)


def first_last(words):
    return [words[0], words[-1]]


def top_words(words, k):
    return [("b", 2), ("c", 2)]  # the right counts, but "c" appears once


def shuffled(words):
    return ["c", "a", "a"]


def titles(words):
    return ["dog" for word in words]


def count_frame(words):
    return pd.DataFrame({"word": ["cat", "the"], "count": [1.0, 2.0]})


def power(base, exponent):
    return float(base) ** 10 if exponent == 10 else base ** exponent + 1


def letters(words):
    return (w for w in words)  # a generator


class Lying(list):
    def __eq__(self, other):
        return True


VOCAB = Lying(["the", "cat", "sat"])
PAIR = ["cat", 1]
TABLE = pd.DataFrame({"count": [1, 2], "word": ["cat", "the"]}).astype({"count": "int32"})
COUNTS = {"The": 2, "cat": 1}
'''

OTHER_ORDER = '''
from collections import Counter

import numpy as np
import pandas as pd


def top_words(words, k):
    return [("b", 2), ("a", 2)]  # the tie in the other order


def shuffled(words):
    return ["c", "b", "a"]


def titles(words):
    return ["THE", "cat."]


def count_frame(words):
    frame = pd.DataFrame(sorted(Counter(words).items()), columns=["word", "count"])
    return frame[["count", "word"]]  # columns in another order: fine unless `ordered`


def letters(words):
    return np.array(["a", "b"])


TABLE = pd.DataFrame({"count": [1, 2], "word": ["cat", "the"]})
'''


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rubric")
    (folder / "ref.py").write_text(REFERENCE)
    data = {"title": "Words", "reference": "ref.py", "entry": "words.py",
            "limits": {"call_timeout": 10, "submission_timeout": 60},
            "questions": [{"id": "1a", "checks": CHECKS}]}
    (folder / "rubric.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return prepare(load_rubric(folder / "rubric.yaml"))


@pytest.fixture(scope="module")
def graded(plan, tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    results = {}
    with Runner.for_rubric(plan.rubric, confinement=choose("auto")) as runner:
        for name, source in [("correct", CORRECT), ("wrong", WRONG), ("other", OTHER_ORDER)]:
            path = folder / f"{name}.py"
            path.write_text(textwrap.dedent(source))
            student = grade_submission(plan, read_submission(path, entry_module="words.py"), runner)
            results[name] = {c.check: c for c in student.checks}
    return results


def test_the_reference_itself_passes_every_check(graded):
    failing = {k: (c.outcome, c.feedback) for k, c in graded["correct"].items() if c.outcome != "passed"}
    assert failing == {}


@pytest.mark.parametrize("check,outcome,words", [
    ("tokenize", "failed", "returned a list in which 3 of 7 items differ, e.g. at index 0 (a different string, "
                           "which differs only in upper and lower case)"),
    ("counts", "failed", "returned a dict in which key 'cat' is missing"),
    ("vocabulary", "failed", "returned a frozenset, expected a set"),
    ("first_last", "failed", "returned a list, expected a tuple"),
    ("top_words", "failed", "returned a wrong answer (a word is listed with a count it does not have)"),
    ("shuffled", "failed", "returned a list of 3 items, expected 3"),
    ("titles", "failed", "returned a list in which 2 of 2 items differ"),
    ("count_frame", "failed", "returned a DataFrame in which column 'count' has dtype float64, expected int64"),
    ("power", "failed", "returned a different number"),
    ("letters", "failed", "returned a generator, which cannot be graded; return None, a bool"),
    ("VOCAB", "failed", "returned a __main__.Lying"),
    ("PAIR", "failed", "`PAIR` is a list, expected a tuple"),
    ("TABLE", "failed", "`TABLE` is a DataFrame in which column 'count' has dtype int32, expected int64"),
    ("COUNTS", "mistake", "Lower-case the words first."),
])
def test_wrong_answers_are_named(graded, check, outcome, words):
    result = graded["wrong"][check]
    if check == "shuffled":  # the same length: the multiset differs
        words = "returned a list in which 1 of 3 items matches no expected item"
    if check == "VOCAB":
        words = "which cannot be graded"
    assert result.outcome == outcome and words in result.feedback, result.feedback
    assert result.auto_points == (1.0 if check == "top_words" else 0), (check, result.feedback)  # half of 2 points
    if check == "top_words":
        assert "Partial credit: 50%." in result.feedback


def test_other_orders_and_spellings_pass_where_the_rule_allows_them(graded):
    other = graded["other"]
    for check in ("top_words", "titles", "count_frame", "TABLE"):
        assert other[check].outcome == "passed", (check, other[check].feedback)
    assert other["shuffled"].outcome == "passed"  # the same items in another order
    assert other["letters"].outcome == "passed"


def test_a_big_int_crosses_and_is_compared_exactly(graded):
    assert graded["correct"]["power"].outcome == "passed"  # 3 ** 20000: 9,543 digits


# ---------------------------------------------------------------- rubric preparation


def prepare_with(tmp_path, check: dict, reference: str = REFERENCE):
    (tmp_path / "ref.py").write_text(reference)
    data = {"title": "T", "reference": "ref.py", "questions": [{"id": "1a", "checks": [check]}]}
    (tmp_path / "rubric.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return prepare(load_rubric(tmp_path / "rubric.yaml"))


def test_a_judge_that_does_not_exist_is_refused_at_preparation(tmp_path):
    check = {**CHECKS[4], "judge": "judge_nowhere"}
    with pytest.raises(RubricError, match="no function `judge_nowhere` to judge with"):
        prepare_with(tmp_path, check)


def test_a_judge_that_is_not_callable_or_takes_other_arguments_is_refused(tmp_path):
    with pytest.raises(RubricError, match="no function `VOCAB`"):
        prepare_with(tmp_path, {**CHECKS[4], "judge": "VOCAB"})
    with pytest.raises(RubricError, match=r"must take \(expected, actual, args\)"):
        prepare_with(tmp_path, {**CHECKS[4], "judge": "tokenize"})


def test_a_judge_that_rejects_or_breaks_on_the_references_own_answer_is_refused(tmp_path):
    refuses = REFERENCE + "\ndef judge_no(expected, actual, args):\n    return False\n"
    with pytest.raises(RubricError, match="does not give the reference's own answer to case 1 full credit"):
        prepare_with(tmp_path, {**CHECKS[4], "judge": "judge_no"}, refuses)
    raises = REFERENCE + "\ndef judge_raises(expected, actual, args):\n    raise KeyError(expected)\n"
    with pytest.raises(RubricError, match="judge `judge_raises` raised KeyError"):
        prepare_with(tmp_path, {**CHECKS[4], "judge": "judge_raises"}, raises)


def test_a_judge_that_raises_while_grading_is_a_grader_error_for_that_check_only(tmp_path):
    from grader.kinds.function import judge_function

    plan = prepare_with(tmp_path, {**CHECKS[0], "judge": "judge_that_breaks"})
    fplan = plan.functions["1a", "tokenize"]
    question = plan.rubric.questions[0]
    result = judge_function(question, fplan, [Reply("ok", value=["nope"])], plan.rubric.tolerance)
    assert result.outcome == "error" and result.auto_points == 0
    assert "judge `judge_that_breaks` raised ZeroDivisionError" in result.feedback
    assert "problem of the grader, not of your answer" in result.feedback
    assert "line" in result.feedback and "the" not in result.feedback.split("raised")[1].split("(")[0]
    right = judge_function(question, fplan, [Reply("ok", value=fplan.expected[0])], plan.rubric.tolerance)
    assert right.outcome == "passed"


def test_value_checks_judge_with_the_plans_judge(tmp_path):
    reference = REFERENCE + '''
def judge_vocab(expected, actual, args):
    assert args is None
    return {w.lower() for w in actual} == expected
'''
    plan = prepare_with(tmp_path, {"id": "VOCAB", "kind": "value", "name": "VOCAB", "type": "set", "points": 2,
                                   "judge": "judge_vocab"}, reference)
    question, check = plan.rubric.questions[0], plan.rubric.questions[0].checks[0]
    judge = plan.judges["1a", "VOCAB"]
    expected = plan.values["1a", "VOCAB"]
    assert judge_value(question, check, expected, Reply("ok", value={"THE", "Cat", "sat"}), plan.rubric.tolerance,
                       judge=judge).outcome == "passed"
    result = judge_value(question, check, expected, Reply("ok", value={"dog"}), plan.rubric.tolerance, judge=judge)
    assert (result.outcome, result.auto_points) == ("failed", 0)
    result = judge_value(question, check, expected, Reply("ok", value=["the"]), plan.rubric.tolerance, judge=judge)
    assert result.outcome == "failed" and "is a list, expected a set" in result.feedback
    without = judge_value(question, check, expected, Reply("ok", value={"the"}), plan.rubric.tolerance)
    assert without.outcome == "error" and "was not given the judge" in without.feedback


@pytest.mark.parametrize("check,message", [
    ({"id": "c", "kind": "value", "name": "X", "type": "dataframe", "points": 1, "expected": {"a": [1]}},
     "a DataFrame cannot be written in the rubric"),
    ({"id": "c", "kind": "value", "name": "X", "type": "set", "points": 1, "expected": "abc"},
     "not of the check's type set"),
    ({"id": "c", "kind": "value", "name": "X", "type": "int", "points": 1, "compare": "unordered"},
     "`compare: unordered` compares lists"),
    ({"id": "c", "kind": "value", "name": "X", "type": "float", "points": 1, "compare": "normalized"},
     "`compare: normalized` compares strings"),
    ({"id": "c", "kind": "function", "name": "f", "points": 1, "compare": "judge", "cases": [{"x": 1}]},
     "`compare: judge` needs `judge: NAME`"),
    ({"id": "c", "kind": "function", "name": "f", "points": 1, "compare": "exact", "judge": "j", "cases": [{"x": 1}]},
     "`judge` is given but `compare` is exact"),
    ({"id": "c", "kind": "function", "name": "f", "points": 1, "compare": "fuzzy", "cases": [{"x": 1}]},
     "compare"),
])
def test_the_rubric_refuses_rules_that_cannot_apply(tmp_path, check, message):
    data = {"title": "T", "reference": "ref.py", "questions": [{"id": "1a", "checks": [check]}]}
    (tmp_path / "rubric.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(RubricError, match=message):
        load_rubric(tmp_path / "rubric.yaml")


def test_expected_values_written_in_the_rubric_take_the_checks_type(tmp_path):
    for kind, written, made in [("tuple", [1, "a"], (1, "a")), ("set", ["a", "b"], {"a", "b"}),
                                ("list", [1, [2]], [1, [2]]), ("dict", {"a": 1}, {"a": 1}), ("any", [1], [1])]:
        plan = prepare_with(tmp_path, {"id": "c", "kind": "value", "name": "NOWHERE", "type": kind, "points": 1,
                                       "expected": written})
        assert plan.values["1a", "c"] == made and type(plan.values["1a", "c"]) is type(made)
    plan = prepare_with(tmp_path, {"id": "c", "kind": "value", "name": "NOWHERE", "type": "array", "points": 1,
                                   "expected": [[1, 2], [3, 4]]})
    assert np.array_equal(plan.values["1a", "c"], [[1, 2], [3, 4]])


def test_a_reference_value_of_another_type_is_refused(tmp_path):
    with pytest.raises(RubricError, match="the expected value a set is not of type list"):
        prepare_with(tmp_path, {"id": "c", "kind": "value", "name": "VOCAB", "type": "list", "points": 1})


def test_numpy_scalars_of_the_reference_count_as_python_kinds_for_scalar_value_checks(tmp_path):
    reference = "import numpy as np\nN = np.int64(96)\nF = np.float32(0.5)\n"
    plan = prepare_with(tmp_path, {"id": "c", "kind": "value", "name": "N", "type": "int", "points": 1}, reference)
    assert plan.values["1a", "c"] == 96 and type(plan.values["1a", "c"]) is int
    question, check = plan.rubric.questions[0], plan.rubric.questions[0].checks[0]
    for answer in (96, np.int64(96), 96.0, np.float32(96)):
        assert judge_value(question, check, 96, Reply("ok", value=answer), plan.rubric.tolerance).outcome == "passed"


def test_judge_dataframe_value_check_directly(plan):
    question = plan.rubric.questions[0]
    check = next(c for c in question.checks if c.id == "TABLE")
    expected = plan.values["1a", "TABLE"]
    assert type(expected) is pd.DataFrame
    for answer, words in [(expected.iloc[::-1].reset_index(drop=True),
                           "`TABLE` is a DataFrame in which column 'word' differs in 2 of 2 rows, e.g. at row 0 "
                           "(a different string)"),
                          (expected.iloc[::-1], "`TABLE` is a DataFrame whose index differs in 2 of 2 rows"),
                          (expected.rename(columns={"count": "n"}), "`TABLE` is a DataFrame without column 'count'"),
                          (expected["count"], "`TABLE` is a Series, expected a DataFrame")]:
        result = judge_value(question, check, expected, Reply("ok", value=answer), plan.rubric.tolerance)
        assert result.outcome == "failed" and result.feedback.startswith(words), result.feedback


def test_the_self_check_leaves_a_judged_check_to_grading_and_checks_forms_of_new_types(tmp_path):
    import json

    from grader.assign import bundle_for
    from grader.selfcheck import check_submission, load_bundle

    (tmp_path / "ref.py").write_text(REFERENCE)
    checks = [c for c in CHECKS if c["id"] != "letters"]  # the bundle's forms of string arrays: not yet
    data = {"title": "Words", "reference": "ref.py", "entry": "words.py", "questions": [{"id": "1a", "checks": checks}]}
    (tmp_path / "rubric.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    bundle = bundle_for(prepare(load_rubric(tmp_path / "rubric.yaml")))
    for entry in bundle["questions"][0]["checks"]:
        if entry["id"] == "top_words":
            entry["compare"] = "judge"  # what the bundle says of a judged check (the judge stays with the grader)
    (tmp_path / "words-check.json").write_text(json.dumps(bundle))
    (tmp_path / "words.py").write_text(textwrap.dedent(WRONG))
    lines = {line.check: line for line in check_submission(load_bundle(tmp_path / "words-check.json"),
                                                           tmp_path / "words.py")}
    assert lines["top_words"].verdict == "format only" and "decided when your work is graded" in \
        lines["top_words"].message
    assert lines["first_last"].verdict == "failed"
    assert "returned a list, expected a tuple" in lines["first_last"].message
    assert lines["count_frame"].verdict == "format only"  # a DataFrame, as asked: its values are graded later
    assert lines["PAIR"].verdict == "failed" and "is a list, expected a tuple" in lines["PAIR"].message
    assert lines["TABLE"].verdict == "format only"
