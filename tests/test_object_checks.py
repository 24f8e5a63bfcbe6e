"""Classes (`kind: object`: a case makes an object and takes steps with it, each compared
with the reference class's at the same step) and students' own draws (`per_student: true`)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

from grader.assign import bundle_for, template_module
from grader.errors import RubricError
from grader.pipeline import grade_submission
from grader.reference import load_reference, prepare
from grader.rubric import load_rubric
from grader.runner import Runner
from grader.submissions import read_submission
from grader.validate import render, validate

REFERENCE = '''
import numpy as np

class Vocabulary:
    """Distinct tokens in order of first appearance."""

    def __init__(self, tokens):
        self.words = []
        for token in tokens:
            self.add(token)

    @property
    def size(self):
        return len(self.words)

    def index(self, token):
        if token not in self.words:
            raise KeyError(token)
        return self.words.index(token)

    def add(self, token):
        if token not in self.words:
            self.words.append(token)
        return self

    def encode(self, tokens, *, unknown=-1):
        return [self.words.index(t) if t in self.words else unknown for t in tokens]


class VocabularyWithDuplicates(Vocabulary):
    def add(self, token):
        self.words.append(token)
        return self


def scale(x, factor=2.0):
    return np.asarray(x) * factor
'''

CHECKS = [
    {"id": "vocabulary", "kind": "object", "name": "Vocabulary", "points": 3,
     "docstring": "Distinct tokens, in order of first appearance.",
     "cases": [
         {"steps": [{"new": {"tokens": ["the", "cat", "the"]}}, {"attr": "size"},
                    {"call": "index", "args": {"token": "cat"}},
                    {"call": "index", "args": {"token": "dog"}, "raises": "KeyError"},
                    {"call": "add", "args": {"token": "dog"}}, {"attr": "size"},
                    {"call": "encode", "args": {"tokens": ["dog", "owl"]}},
                    {"call": "encode", "args": {"tokens": ["owl"], "unknown": 0}}]},
         {"steps": [{"new": {"tokens": []}}, {"attr": "size"}]},
         {"steps": [{"new": {"tokens": 5}, "raises": "TypeError"}]}],
     "mistakes": [{"id": "duplicates", "variant": "VocabularyWithDuplicates",
                   "feedback": "Vocabulary keeps duplicate tokens; each token should be stored once."}]},
    {"id": "scale", "kind": "function", "name": "scale", "points": 1, "per_student": True, "seed": 5,
     "cases": [{"x": {"array": [4]}}, {"x": {"array": [3], "dist": "uniform", "low": -1, "high": 1}, "factor": 3.0},
               {"x": [1.0, 2.0]}]},
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("objects")
    (folder / "ref.py").write_text(REFERENCE)
    data = {"title": "Objects", "reference": "ref.py", "entry": "objects.py",
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


def test_the_reference_class_passes_every_step(folder, plan, runner):
    checks = grade(folder, plan, runner, REFERENCE, "copy")
    assert checks["vocabulary"].outcome == "passed", checks["vocabulary"].feedback
    assert checks["vocabulary"].feedback == "`Vocabulary` is correct on all 3 cases."


def test_the_feedback_names_the_first_step_that_differs_after_the_steps_before_it(folder, plan, runner):
    no_key_error = REFERENCE.replace("raise KeyError(token)", "return -1")
    checks = grade(folder, plan, runner, no_key_error, "nokey")
    assert checks["vocabulary"].outcome == "failed"
    assert checks["vocabulary"].feedback == (
        "after `Vocabulary(['the', 'cat', 'the'])`, `.size`, `.index('cat')`, `.index('dog')` should raise "
        "KeyError, but returned an int (case 1 of 3).")


def test_a_wrong_attribute_a_missing_self_and_a_wrong_keyword_default_are_each_told(folder, plan, runner):
    off_by_one = REFERENCE.replace("return len(self.words)", "return len(self.words) + 1")
    result = grade(folder, plan, runner, off_by_one, "offbyone")["vocabulary"]
    assert result.outcome == "failed"
    assert result.feedback.startswith("after `Vocabulary(['the', 'cat', 'the'])`, `.size` is a different number")
    assert "2 of 3 cases fail" in result.feedback
    no_self = REFERENCE.replace("            self.words.append(token)\n        return self",
                                "            self.words.append(token)")
    result = grade(folder, plan, runner, no_self, "noself")["vocabulary"]
    assert "`.add('dog')` returned None, expected the object itself (`return self`)" in result.feedback
    default = REFERENCE.replace("unknown=-1", "unknown=None")
    result = grade(folder, plan, runner, default, "default")["vocabulary"]
    assert "`.encode(['dog', 'owl'])` returned a list whose item at index 1 differs" in result.feedback
    assert "case 1 of 3" in result.feedback


def test_a_subclass_of_the_exception_counts_and_a_constructor_must_refuse_bad_input(folder, plan, runner):
    subclass = REFERENCE.replace("raise KeyError(token)", "raise UnknownToken(token)") + \
        "\nclass UnknownToken(KeyError):\n    pass\n"
    assert grade(folder, plan, runner, subclass, "subclass")["vocabulary"].outcome == "passed"
    lenient = REFERENCE.replace("        for token in tokens:", "        for token in (tokens if "
                                "isinstance(tokens, list) else []):")
    result = grade(folder, plan, runner, lenient, "lenient")["vocabulary"]
    assert result.feedback == "`Vocabulary(5)` should raise TypeError, but made the object (case 3 of 3).", \
        result.feedback


def test_a_known_mistake_is_named_by_the_variant_class(folder, plan, runner):
    duplicates = REFERENCE.replace("        if token not in self.words:\n            self.words.append(token)",
                                   "        self.words.append(token)")
    result = grade(folder, plan, runner, duplicates, "dups")["vocabulary"]
    assert (result.outcome, result.mistake) == ("mistake", "duplicates")
    assert result.feedback.startswith("Vocabulary keeps duplicate tokens")


def test_missing_stubbed_and_non_class_answers_score_nothing(folder, plan, runner):
    assert grade(folder, plan, runner, "x = 1\n", "none")["vocabulary"].outcome == "missing"
    stub = "class Vocabulary:\n    def __init__(self, tokens):\n        raise NotImplementedError\n"
    result = grade(folder, plan, runner, stub, "stub")["vocabulary"]
    assert (result.outcome, result.auto_points) == ("missing", 0)
    assert "not implemented yet" in result.feedback
    result = grade(folder, plan, runner, "Vocabulary = 3\n", "three")["vocabulary"]
    assert (result.outcome, result.feedback) == ("failed", "`Vocabulary` is an int, not a class.")


def test_a_step_that_returns_an_object_of_the_students_own_cannot_be_graded(folder, plan, runner):
    sneaky = REFERENCE.replace("        return len(self.words)\n", "        return Liar()\n", 1) + '''
class Liar:
    def __eq__(self, other):
        return True
'''
    result = grade(folder, plan, runner, sneaky, "sneaky")["vocabulary"]
    assert result.outcome == "failed" and result.auto_points == 0
    assert result.feedback.startswith("after `Vocabulary(['the', 'cat', 'the'])`, `.size` returned a sneaky.Liar, "
                                      "which cannot be graded; return None, a bool")


def test_the_template_has_a_class_stub_with_the_reference_signatures(folder, plan):
    template = template_module(plan, load_reference(plan.rubric))
    assert "class Vocabulary:" in template
    for line in ("    def __init__(self, tokens):", "    @property\n    def size(self):",
                 "    def index(self, token):", "    def add(self, token):",
                 "    def encode(self, tokens, *, unknown=-1):"):
        assert line in template
    assert "Distinct tokens, in order of first appearance." in template
    namespace: dict = {}
    exec(compile(template, "template", "exec"), namespace)  # the template itself is valid Python
    with pytest.raises(NotImplementedError):
        namespace["Vocabulary"](["a"])


def test_the_bundle_holds_no_step_answers(plan):
    bundle = bundle_for(plan)
    entry = bundle["questions"][0]["checks"][0]
    # fixed values only: the steps, with only the form of each outcome (an answer would be a graded one)
    assert entry["name"] == "Vocabulary" and "expected" not in entry and entry["mistakes"] == []
    assert entry["forms"] == [
        [{"step": "made"}, {"form": "number"}, {"form": "number"}, {"raised": "KeyError"}, {"step": "self"},
         {"form": "number"}, {"form": "list"}, {"form": "list"}],
        [{"step": "made"}, {"form": "number"}], [{"raised": "TypeError"}]]


@pytest.mark.parametrize("steps, problem", [
    ([{"attr": "size"}], "the first step makes the object"),
    ([{"new": {}}, {"new": {}}], "only the first step is `new`"),
    ([{"new": {"tokens": []}, "call": "add"}], "this one gives new and call"),
    ([{"new": {"tokens": []}}, {"attr": "size", "raises": "KeyError"}], "`raises` goes with `new` or `call`"),
    ([{"new": {"tokens": []}}, {"attr": "size", "args": {"x": 1}}], "`args` go with `call: METHOD`"),
])
def test_a_malformed_case_of_steps_is_refused_with_what_to_write(tmp_path, steps, problem):
    (tmp_path / "ref.py").write_text(REFERENCE)
    check = {"id": "v", "kind": "object", "name": "Vocabulary", "points": 1, "cases": [{"steps": steps}]}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"title": "t", "reference": "ref.py",
                                                     "questions": [{"id": "1", "checks": [check]}]}))
    with pytest.raises(RubricError, match="question 1, check v, case #1") as error:
        load_rubric(tmp_path / "r.yaml")
    assert problem in str(error.value)


@pytest.mark.parametrize("step, problem", [
    ({"call": "remove", "args": {"token": "a"}}, "the reference's Vocabulary has no method `remove`"),
    ({"call": "size"}, "`size` of the reference's Vocabulary is not a method; read it with `attr: size`"),
    ({"call": "index", "args": {"word": "a"}}, "unknown argument `word`"),
    ({"call": "index", "args": {"token": "a"}}, "does not raise KeyError at step 2"),
    ({"call": "index", "args": {"token": "zzz"}, "raises": "ValueError"}, "raises at step 2"),
])
def test_validate_runs_the_reference_class_on_every_step(tmp_path, step, problem):
    (tmp_path / "ref.py").write_text(REFERENCE)
    if step.get("call") == "index" and step["args"].get("token") == "a":
        step = {**step, "raises": "KeyError"}
    check = {"id": "v", "kind": "object", "name": "Vocabulary", "points": 1,
             "cases": [{"steps": [{"new": {"tokens": ["a"]}}, step]}]}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"title": "t", "reference": "ref.py",
                                                     "questions": [{"id": "1", "checks": [check]}]}))
    text = render(validate(tmp_path / "r.yaml"))
    assert problem in text, text


# ---------------------------------------------------------------- a student's own draw


def test_each_student_has_their_own_draw_the_same_on_every_run(plan, folder):
    scale = ("1", "scale")
    ann, again, bob = plan.for_student("ann"), plan.for_student("ann"), plan.for_student("bob")
    fresh = prepare(load_rubric(folder / "rubric.yaml")).for_student("ann")
    published = plan.functions[scale].cases
    for case in range(2):  # the drawn cases
        assert np.array_equal(ann.functions[scale].cases[case][0], fresh.functions[scale].cases[case][0])
        assert np.array_equal(ann.functions[scale].cases[case][0], again.functions[scale].cases[case][0])
        assert not np.allclose(ann.functions[scale].cases[case][0], bob.functions[scale].cases[case][0])
        assert not np.allclose(ann.functions[scale].cases[case][0], published[case][0])
    # a case of fixed numbers is the same for everyone; the expected answers follow the draw
    assert ann.functions[scale].cases[2] == bob.functions[scale].cases[2] == published[2]
    assert np.allclose(ann.functions[scale].expected[0], ann.functions[scale].cases[0][0] * 2.0)
    # checks without `per_student` keep the plan's own cases
    assert ann.objects["1", "vocabulary"] is plan.objects["1", "vocabulary"]


def test_an_answer_copied_from_a_draw_scores_only_for_that_draw(folder, plan, runner):
    # a student who hard-codes the answers of one draw (as a bundle would show them) fails another's
    published = plan.functions["1", "scale"]
    table = [(np.asarray(case[0]).tolist(), np.asarray(out).tolist())
             for case, out in zip(published.cases, published.expected)]
    copied = REFERENCE.replace("def scale(x, factor=2.0):\n    return np.asarray(x) * factor", f'''
TABLE = {table!r}
def scale(x, factor=2.0):
    for given, answer in TABLE:
        if len(x) == len(given) and np.allclose(np.asarray(x).tolist(), given):
            return np.asarray(answer)
    return np.zeros(len(x))''')
    assert "TABLE" in copied
    result = grade(folder, plan, runner, copied, "copier")["scale"]
    assert result.outcome == "failed" and result.auto_points == 0, result.feedback
    assert grade(folder, plan, runner, REFERENCE, "honest")["scale"].outcome == "passed"


def test_validate_tries_sample_students_draws_and_says_which_checks_draw_per_student(folder):
    text = render(validate(folder / "rubric.yaml"))
    assert "own draws  1 check (scale) with random arguments drawn for each student" in text
    assert "ran 3 graded and 2 practice cases of 1 function, 3 cases (11 steps) of 1 class" in text
    # its class has fixed cases only: the self-check takes the form of its steps
    assert "0 classes on practice steps, 1 on the form of their steps only;" in " ".join(text.split())


def test_a_draw_the_reference_cannot_answer_for_some_student_is_caught_by_validate(tmp_path):
    # the reference answers the published and the practice draw (twice: alone, then in the
    # whole rubric), and refuses the next: the first sample student's
    (tmp_path / "ref.py").write_text('CALLS = []\ndef f(x):\n    CALLS.append(x)\n    if len(CALLS) > 4:\n'
                                     '        raise ValueError("refused")\n    return x\n')
    check = {"id": "f", "kind": "function", "name": "f", "points": 1, "per_student": True, "seed": 0,
             "cases": [{"x": {"array": [1], "scale": 3.0}}]}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"title": "t", "reference": "ref.py",
                                                     "questions": [{"id": "1", "checks": [check]}]}))
    problems = validate(tmp_path / "r.yaml").problems
    assert len(problems) == 1, problems
    assert "question 1, check f (drawn for 'sample-student-1'): the reference f raises on case 1: ValueError: refused" \
        in problems[0]
