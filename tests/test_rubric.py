"""Loading and validating rubrics, and `prepare` checking a rubric against its reference.

A broken rubric must stop the run before anything is graded, with one line that names the
file, the question and the field. Most tests write a tiny rubric (and a tiny reference) to
`tmp_path`, break one thing in it and look at the message.
"""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from pydantic import ValidationError

from grader.cli import cli
from grader.errors import ReferenceLoadError, RubricError
from grader.reference import Raised, prepare
from grader.rubric import FunctionCheck, Limits, TextCheck, ValueCheck, load_rubric

ROOT = Path(__file__).resolve().parents[1]
EX07 = ROOT / "rubrics" / "ex07.yaml"

SHEET_ORDER = ["1a", "1b", "1c", "1d", "1e", "1f",
               "2a", "2b", "2c", "2d", "2e", "2f", "2g",
               "3a", "3b", "3c", "3d", "3e"]


# ---------------------------------------------------------------- the Exercise 7 rubric


@pytest.fixture(scope="module")
def ex07():
    return load_rubric(EX07)


@pytest.fixture(scope="module")
def ex07_raw() -> dict:
    """The rubric as plain YAML data, to count points without the models."""
    return yaml.safe_load(EX07.read_text(encoding="utf-8"))


def test_ex07_questions_are_in_sheet_order(ex07):
    assert ex07.question_ids == SHEET_ORDER


def test_ex07_uses_every_check_kind(ex07):
    kinds = {type(check) for _, check in ex07.checks()}
    assert kinds == {FunctionCheck, ValueCheck, TextCheck}


def test_ex07_max_total_is_the_sum_of_the_points_in_the_file(ex07, ex07_raw):
    per_question = {q["id"]: sum(c["points"] for c in q["checks"]) for q in ex07_raw["questions"]}
    assert {q.id: q.max_points for q in ex07.questions} == per_question
    assert ex07.max_total == sum(per_question.values())
    assert ex07.max_total > 0


def test_ex07_settings_are_read(ex07):
    assert ex07.entry == "ex07.py"
    assert ex07.limits.call_timeout == 3
    assert ex07.reference_path == (ROOT / "reference" / "ex07.py").resolve()


def test_free_text_answers_are_capped_at_20000_characters_unless_the_rubric_says_otherwise(ex07):
    assert ex07.limits.answer_chars == 20_000
    assert Limits(answer_chars=5_000).answer_chars == 5_000


def test_ex07_text_answers_default_to_the_contract_names(ex07):
    question = next(q for q in ex07.questions if q.id == "1a")
    (check,) = question.checks
    assert question.answer_name(check) == "ANSWER_1A"
    assert question.answer_tag == "answer:1a"


def test_ex07_prepares_against_its_reference(ex07):
    plan = prepare(ex07)
    function_checks = {(q.id, c.id) for q, c in ex07.checks() if isinstance(c, FunctionCheck)}
    value_checks = {(q.id, c.id) for q, c in ex07.checks() if isinstance(c, ValueCheck)}
    assert set(plan.functions) == function_checks
    assert set(plan.values) == value_checks
    assert plan.values["3d", "N_HEADS"] == 96
    assert plan.values["2d", "HOULSBY_FNN_ONLY"] is False
    fnn = plan.functions["2b", "fnn"]
    assert fnn.arg_names == ["X", "W_up", "W_down"]
    assert len(fnn.expected) == len(fnn.cases) == 4
    assert set(fnn.variants) == {"no_relu", "relu_after_down"}
    # a mistake matched by the exception it raises has no variant to run
    assert set(plan.functions["2e", "lora_fnn"].variants) == {"no_scaling", "alpha_not_over_r"}


def test_rubric_is_frozen(ex07):
    with pytest.raises(ValidationError):
        ex07.title = "changed"


# ---------------------------------------------------------------- a tiny rubric to break

REFERENCE = '''
def scale(x, factor):
    return x * factor

def scale__forgot_factor(x, factor):
    return x

COUNT = 3
'''

TINY = {
    "title": "Tiny",
    "reference": "ref.py",
    "questions": [
        {"id": "1a", "checks": [
            {"id": "answer", "kind": "text", "points": 2, "criteria": [
                {"points": 1, "description": "says first", "any": ["first"]},
                {"points": 1, "description": "says second", "any": ["second"]},
            ]},
        ]},
        {"id": "2c", "checks": [
            {"id": "scale", "kind": "function", "name": "scale", "points": 2,
             "cases": [{"x": 1.0, "factor": 2.0}, {"x": {"array": [2, 3]}, "factor": 0.5}],
             "mistakes": [
                 {"id": "forgot_factor", "variant": "scale__forgot_factor", "feedback": "no factor"},
                 {"id": "wrong_type", "raises": "TypeError", "message": "unsupported", "feedback": "types"},
             ]},
            {"id": "COUNT", "kind": "value", "name": "COUNT", "type": "int", "points": 1},
        ]},
    ],
}


def tiny() -> dict:
    return copy.deepcopy(TINY)


def check_of(data: dict, qid: str, check_id: str) -> dict:
    question = next(q for q in data["questions"] if q["id"] == qid)
    return next(c for c in question["checks"] if c["id"] == check_id)


def write_rubric(folder: Path, data, name: str = "rubric.yaml", reference: str | None = REFERENCE) -> Path:
    if reference is not None:
        (folder / "ref.py").write_text(reference)
    path = folder / name
    # keep key order: the order of a case's keys is the order of the arguments
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def refusal(path: Path, error=RubricError) -> str:
    """The one-line message of loading (and preparing) a rubric that must be refused."""
    with pytest.raises(error) as caught:
        prepare(load_rubric(path))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


def test_the_tiny_rubric_is_valid(tmp_path):
    rubric = load_rubric(write_rubric(tmp_path, tiny()))
    plan = prepare(rubric)
    assert rubric.question_ids == ["1a", "2c"]
    assert rubric.max_total == 5
    assert rubric.reference_path == (tmp_path / "ref.py").resolve()
    assert plan.functions["2c", "scale"].expected[0] == 2.0
    assert set(plan.functions["2c", "scale"].variants) == {"forgot_factor"}
    assert plan.values["2c", "COUNT"] == 3


def test_reference_path_is_relative_to_the_rubric_not_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "rubrics").mkdir()
    data = tiny()
    data["reference"] = "../ref.py"
    path = write_rubric(tmp_path / "rubrics", data, reference=None)
    (tmp_path / "ref.py").write_text(REFERENCE)
    monkeypatch.chdir(ROOT)
    assert prepare(load_rubric(path)).values["2c", "COUNT"] == 3


def _negative_points(d):
    check_of(d, "2c", "scale")["points"] = -1


def _unknown_kind(d):
    check_of(d, "2c", "COUNT")["kind"] = "number"


def _missing_cases(d):
    del check_of(d, "2c", "scale")["cases"]


def _no_cases(d):
    check_of(d, "2c", "scale")["cases"] = []


def _criteria_do_not_add_up(d):
    check_of(d, "1a", "answer")["criteria"][1]["points"] = 2


def _duplicate_question(d):
    d["questions"].append(copy.deepcopy(d["questions"][0]))


def _duplicate_check(d):
    d["questions"][1]["checks"].append(copy.deepcopy(check_of(d, "2c", "COUNT")))


def _variant_and_raises(d):
    check_of(d, "2c", "scale")["mistakes"][0]["raises"] = "ValueError"


def _neither_variant_nor_raises(d):
    del check_of(d, "2c", "scale")["mistakes"][0]["variant"]


def _bad_criterion_regex(d):
    check_of(d, "1a", "answer")["criteria"][1]["any"] = ["second", "(unclosed"]


def _bad_mistake_regex(d):
    check_of(d, "2c", "scale")["mistakes"][1]["message"] = "[unclosed"


def _tiny_answer_cap(d):
    d["limits"] = {**d.get("limits", {}), "answer_chars": 10}


def _misspelt_field(d):
    check = check_of(d, "2c", "COUNT")
    check["pionts"] = check.pop("points")


def _bad_question_id(d):
    d["questions"][1]["id"] = "2C"


def _missing_questions(d):
    del d["questions"]


def _negative_array_shape(d):
    check_of(d, "2c", "scale")["cases"][1]["x"] = {"array": [2, -3]}


BREAKAGES = [
    (_negative_points, ["question 2c", "check scale", "`points`"]),
    (_unknown_kind, ["question 2c", "check COUNT", "kind", "number"]),
    (_missing_cases, ["question 2c", "check scale", "`cases`"]),
    (_no_cases, ["question 2c", "check scale", "`cases`"]),
    (_criteria_do_not_add_up, ["question 1a", "check answer", "criteria", "points"]),
    (_duplicate_question, ["question id", "'1a'", "twice"]),
    (_duplicate_check, ["question 2c", "check id", "'COUNT'", "twice"]),
    (_variant_and_raises, ["question 2c", "check scale", "mistake forgot_factor", "variant", "raises"]),
    (_neither_variant_nor_raises, ["question 2c", "check scale", "mistake forgot_factor", "variant"]),
    (_bad_criterion_regex, ["question 1a", "check answer", "criterion #2", "`any`", "(unclosed", "regex"]),
    (_bad_mistake_regex, ["question 2c", "check scale", "mistake wrong_type", "message", "[unclosed", "regex"]),
    (_tiny_answer_cap, ["`limits`", "`answer_chars`", "100"]),
    (_misspelt_field, ["question 2c", "check COUNT", "`points`"]),  # required, and `pionts` is extra
    (_bad_question_id, ["question 2C", "`id`"]),
    (_missing_questions, ["`questions`"]),
    (_negative_array_shape, ["question 2c", "check scale", "case #2", "`x`", "`array`"]),
]


@pytest.mark.parametrize(("breakage", "fragments"), BREAKAGES,
                         ids=[breakage.__name__.strip("_") for breakage, _ in BREAKAGES])
def test_a_broken_rubric_is_refused_with_one_line(tmp_path, breakage, fragments):
    data = tiny()
    breakage(data)
    message = refusal(write_rubric(tmp_path, data))
    for fragment in fragments:
        assert fragment in message


def test_negative_points_in_the_real_rubric_names_2c_and_points(tmp_path):
    data = yaml.safe_load(EX07.read_text(encoding="utf-8"))
    data["reference"] = str(ROOT / "reference" / "ex07.py")
    question = next(q for q in data["questions"] if q["id"] == "2c")
    question["checks"][1]["points"] = -1
    message = refusal(write_rubric(tmp_path, data, reference=None))
    assert "question 2c" in message and "check houlsby_params" in message and "`points`" in message


def test_yaml_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "rubric.yaml"
    path.write_text(textwrap.dedent("""\
        title: Tiny
        reference: ref.py
        questions:
          - id: "1a"
           checks: []
        """))
    message = refusal(path)
    assert "not valid YAML" in message
    assert "line 5" in message


@pytest.mark.parametrize("text", ["- id: 1a\n- id: 1b\n", "", "just a string\n"],
                         ids=["list", "empty", "scalar"])
def test_a_rubric_that_is_not_a_mapping_is_refused(tmp_path, text):
    path = tmp_path / "rubric.yaml"
    path.write_text(text)
    assert "mapping" in refusal(path)


def test_a_missing_rubric_file_is_refused(tmp_path):
    message = refusal(tmp_path / "nope.yaml")
    assert "not found" in message


def test_a_folder_instead_of_a_rubric_is_refused(tmp_path):
    assert "cannot read" in refusal(tmp_path)


def test_a_rubric_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "rubric.yaml"
    path.write_bytes(b"title: \xff\xfe\n")
    assert "cannot read" in refusal(path)


# ---------------------------------------------------------------- prepare: rubric vs reference


def test_prepare_refuses_a_function_the_reference_lacks(tmp_path):
    data = tiny()
    check_of(data, "2c", "scale")["name"] = "scael"
    message = refusal(write_rubric(tmp_path, data))
    assert "question 2c" in message and "check scale" in message and "`scael`" in message


def test_prepare_refuses_a_mistake_variant_the_reference_lacks(tmp_path):
    data = tiny()
    check_of(data, "2c", "scale")["mistakes"][0]["variant"] = "scale__nope"
    message = refusal(write_rubric(tmp_path, data))
    assert "question 2c" in message and "mistake forgot_factor" in message and "`scale__nope`" in message


def test_prepare_refuses_cases_with_too_many_arguments(tmp_path):
    data = tiny()
    check_of(data, "2c", "scale")["cases"] = [{"x": 1.0, "factor": 2.0, "offset": 1.0}]
    message = refusal(write_rubric(tmp_path, data))
    assert "question 2c" in message and "check scale" in message and "offset" in message


def test_prepare_refuses_cases_whose_arguments_differ_from_case_to_case(tmp_path):
    data = tiny()
    check_of(data, "2c", "scale")["cases"] = [{"x": 1.0, "factor": 2.0}, {"x": 1.0, "f": 2.0}]
    message = refusal(write_rubric(tmp_path, data))
    assert "question 2c" in message and "case 2" in message


def test_prepare_refuses_cases_whose_argument_names_do_not_fit(tmp_path):
    data = tiny()
    check_of(data, "2c", "scale")["cases"] = [{"y": 1.0, "factor": 2.0}]
    message = refusal(write_rubric(tmp_path, data))
    assert "question 2c, check scale, case 1: unknown argument `y`" in message
    assert "case 1: missing required argument `x`" in message and "scale(x, factor)" in message


def test_a_case_may_name_its_arguments_in_any_order(tmp_path):
    """Arguments follow the reference's signature, not the order the case names them in."""
    data = tiny()
    check_of(data, "2c", "scale")["cases"] = [{"factor": 2.0, "x": 3.0}, {"x": 1.0, "factor": 5.0}]
    plan = prepare(load_rubric(write_rubric(tmp_path, data))).functions["2c", "scale"]
    assert plan.cases == [(3.0, 2.0), (1.0, 5.0)] and plan.expected == [6.0, 5.0]
    assert plan.arg_names == ["x", "factor"]


def test_every_unknown_and_missing_argument_is_listed_with_its_case(tmp_path):
    data = tiny()
    check_of(data, "2c", "scale")["cases"] = [{"x": 1.0, "factor": 2.0, "offset": 1.0}, {"x": 1.0},
                                              {"x": 1.0, "factor": 2.0}, {"factr": 2.0, "y": 1.0}]
    message = refusal(write_rubric(tmp_path, data))
    where = f"{tmp_path / 'rubric.yaml'}: question 2c, check scale"
    for problem in ("case 1: unknown argument `offset`", "case 2: missing required argument `factor`",
                    "case 4: unknown argument `factr`", "case 4: unknown argument `y`",
                    "case 4: missing required argument `x`", "case 4: missing required argument `factor`"):
        assert f"{where}, {problem}" in message
    assert "case 3" not in message


KEYWORDS = '''
def power(base, exp=2, *, mod=None, sign=1):
    value = sign * base ** exp
    return value if mod is None else value % mod

def positional(a, b=1, /, c=2):
    return a + b + c

def mean(xs):
    if len(xs) == 0:
        raise ValueError("no numbers")
    return sum(xs) / len(xs)

def parse(text):
    return int(text)
'''


def keyword_rubric(folder: Path, checks: list[dict]) -> Path:
    data = {"title": "Keywords", "reference": "ref.py", "questions": [{"id": "1", "checks": checks}]}
    return write_rubric(folder, data, reference=KEYWORDS)


def test_keyword_only_and_left_out_arguments_follow_the_signature(tmp_path):
    check = {"id": "power", "kind": "function", "name": "power", "points": 1, "cases": [
        {"base": 3}, {"base": 3, "exp": 3}, {"base": 3, "mod": 5}, {"mod": 7, "exp": 3, "base": 2},
        {"base": 2, "sign": -1}]}
    plan = prepare(load_rubric(keyword_rubric(tmp_path, [check]))).functions["1", "power"]
    calls = [(tuple(c), getattr(c, "kwargs", {})) for c in plan.cases]
    assert calls == [((3,), {}), ((3, 3), {}), ((3,), {"mod": 5}), ((2, 3), {"mod": 7}), ((2,), {"sign": -1})]
    assert [type(c) is tuple for c in plan.cases] == [True, True, False, False, False]  # positional only: a tuple
    assert plan.expected == [9, 27, 4, 1, -4]
    assert plan.arg_names == ["base", "exp", "mod", "sign"]  # every name a case uses, in the signature's order
    assert [c.names for c in plan.cases[2:]] == [("base",), ("base", "exp"), ("base",)]


def test_a_positional_only_argument_after_one_left_out_is_refused(tmp_path):
    check = {"id": "positional", "kind": "function", "name": "positional", "points": 1,
             "cases": [{"a": 1, "c": 5}, {"a": 1, "b": 2}, {"a": 1}]}
    plan = prepare(load_rubric(keyword_rubric(tmp_path, [check]))).functions["1", "positional"]
    assert plan.expected == [7, 5, 4]
    check["cases"] = [{"a": 1}, {"b": 2, "c": 3}]
    message = refusal(keyword_rubric(tmp_path, [check]))
    assert "case 2: missing required argument `a`" in message
    assert "case 2: positional-only argument `b` cannot be given after one left out" in message


def test_a_raising_case_is_checked_against_the_reference(tmp_path):
    check = {"id": "mean", "kind": "function", "name": "mean", "points": 1,
             "cases": [{"xs": [1, 2]}, {"args": {"xs": []}, "raises": "ValueError"}]}
    plan = prepare(load_rubric(keyword_rubric(tmp_path, [check]))).functions["1", "mean"]
    assert plan.expected[0] == 1.5 and plan.expected[1] == Raised("ValueError")
    assert plan.cases[1].raises == "ValueError" and type(plan.cases[0]) is tuple
    # a base class of what the reference raises is fine: the student must raise that or a subclass
    check["cases"][1]["raises"] = "Exception"
    assert prepare(load_rubric(keyword_rubric(tmp_path, [check]))).functions["1", "mean"].expected[1] == \
        Raised("Exception")
    # the reference returns there: refused
    check["cases"][1] = {"args": {"xs": [4]}, "raises": "ValueError"}
    message = refusal(keyword_rubric(tmp_path, [check]))
    assert "question 1, check mean" in message and "does not raise ValueError on case 2" in message
    # the reference raises something else there: refused
    check["cases"][1] = {"args": {"xs": []}, "raises": "KeyError"}
    message = refusal(keyword_rubric(tmp_path, [check]), ReferenceLoadError)
    assert "raises on case 2: ValueError, not KeyError" in message


def test_a_raising_case_with_unknown_arguments_is_refused_like_any_other(tmp_path):
    check = {"id": "mean", "kind": "function", "name": "mean", "points": 1,
             "cases": [{"xs": [1, 2]}, {"args": {"ys": []}, "raises": "ValueError"}]}
    message = refusal(keyword_rubric(tmp_path, [check]))
    assert "case 2: unknown argument `ys`" in message and "case 2: missing required argument `xs`" in message


@pytest.mark.parametrize("case, words", [
    ({"args": {"xs": []}, "raises": "not a name"}, "field `raises`"),
    ({"xs": {"ndarray": [[1, 2], [3]]}}, "cannot be made an array"),
    ({"xs": {"ndarray": [1, 2], "dtype": "float128"}}, "field `dtype`"),
    ({"xs": {"set": [[1], [2]]}}, "case #1"),
    ({"xs": {"dataframe": [{"a": 1}], "index": ["r", "s"]}}, "`index` has 2 labels for 1 records"),
    ({"xs": {"tuple": [1], "dtype": "int64"}}, "case #1"),
], ids=["raises", "ragged", "dtype", "set", "index", "extra"])
def test_broken_argument_forms_are_refused_when_the_rubric_is_loaded(tmp_path, case, words):
    check = {"id": "mean", "kind": "function", "name": "mean", "points": 1, "cases": [case]}
    path = keyword_rubric(tmp_path, [check])
    with pytest.raises(RubricError) as caught:
        load_rubric(path)
    message = str(caught.value)
    assert "\n" not in message and "question 1, check mean, case #1" in message and words in message, message


def test_prepare_refuses_a_value_the_reference_lacks(tmp_path):
    data = tiny()
    check_of(data, "2c", "COUNT")["name"] = "CONUT"
    message = refusal(write_rubric(tmp_path, data))
    assert "question 2c" in message and "check COUNT" in message and "CONUT" in message


def test_prepare_refuses_an_expected_value_of_the_wrong_type(tmp_path):
    data = tiny()
    check_of(data, "2c", "COUNT")["expected"] = "three"
    message = refusal(write_rubric(tmp_path, data))
    assert "question 2c" in message and "check COUNT" in message and "int" in message


def test_prepare_refuses_a_missing_reference(tmp_path):
    path = write_rubric(tmp_path, tiny(), reference=None)
    message = refusal(path, ReferenceLoadError)
    assert str(tmp_path / "ref.py") in message and "not found" in message


def test_prepare_refuses_a_reference_that_fails_to_load(tmp_path):
    path = write_rubric(tmp_path, tiny(), reference="import no_such_module_here\n")
    with pytest.raises(ReferenceLoadError) as caught:
        prepare(load_rubric(path))
    message = str(caught.value)
    assert "\n" not in message and "ref.py" in message and "ModuleNotFoundError" in message


def test_prepare_refuses_a_reference_that_raises_on_a_case(tmp_path):
    data = tiny()
    check_of(data, "2c", "scale")["cases"].append({"x": "a", "factor": 0.5})
    message = refusal(write_rubric(tmp_path, data), ReferenceLoadError)
    assert "question 2c" in message and "check scale" in message and "case 3" in message


# ---------------------------------------------------------------- through the CLI


def _cli_bad_points(folder: Path) -> Path:
    data = tiny()
    check_of(data, "2c", "scale")["points"] = -1
    return write_rubric(folder, data)


def _cli_yaml_error(folder: Path) -> Path:
    path = folder / "rubric.yaml"
    path.write_text("title: [unclosed\n")
    return path


def _cli_missing_file(folder: Path) -> Path:
    return folder / "missing.yaml"


def _cli_unknown_function(folder: Path) -> Path:
    data = tiny()
    check_of(data, "2c", "scale")["name"] = "scael"
    return write_rubric(folder, data)


def _cli_missing_reference(folder: Path) -> Path:
    return write_rubric(folder, tiny(), reference=None)


@pytest.mark.parametrize("make_rubric", [_cli_bad_points, _cli_yaml_error, _cli_missing_file,
                                         _cli_unknown_function, _cli_missing_reference],
                         ids=lambda f: f.__name__.removeprefix("_cli_"))
def test_cli_stops_on_a_bad_rubric_before_grading(tmp_path, make_rubric):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    (submissions / "alice.py").write_text("COUNT = 3\n")
    rubric = make_rubric(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", str(submissions), "--rubric", str(rubric), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("grade: error: ")
    assert str(rubric) in lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert not out.exists()


def test_cli_shows_the_traceback_with_verbose(tmp_path):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    rubric = _cli_bad_points(tmp_path)
    result = CliRunner().invoke(cli, ["run", str(submissions), "--rubric", str(rubric),
                                      "--out", str(tmp_path / "out"), "-v"])
    assert isinstance(result.exception, RubricError)


# ---------------------------------------------------------------- one line, and where the full list is


def test_one_problem_counts_once_however_many_forms_pydantic_tried(tmp_path):
    """A case argument may be a number, a list, {array: ...} or {fixture: ...}: pydantic explains
    why it is none of them, but the file has one problem, not eight."""
    data = tiny()
    _negative_array_shape(data)
    message = refusal(write_rubric(tmp_path, data))
    assert "more problem" not in message
    assert message.endswith(f"(`grade validate {tmp_path / 'rubric.yaml'}` lists every problem of the rubric)")


def test_several_problems_say_how_many_more_and_where_to_see_them(tmp_path):
    data = tiny()
    _negative_points(data)
    _misspelt_field(data)
    message = refusal(write_rubric(tmp_path, data))
    assert message.endswith(f"(and 2 more problems: `grade validate {tmp_path / 'rubric.yaml'}` lists them all)")


def test_a_misspelt_field_is_named_with_a_guess(tmp_path):
    from grader.validate import validate

    data = tiny()
    _misspelt_field(data)
    problems = validate(write_rubric(tmp_path, data)).problems
    assert any("field `pionts`: not a field here; remove it or fix its spelling (did you mean `points`?)" in p
               for p in problems), problems


@pytest.mark.parametrize("spec, problem", [
    ({"array": [3], "dist": "randint"}, "`dist: randint` draws integers from `low` up to but not including `high`"),
    ({"array": [3], "dist": "randint", "low": 2, "high": 3}, "one value at most"),
    ({"array": [3], "dist": "uniform", "low": 1, "high": 1}, "`dist: uniform` draws from `low` to `high`"),
])
def test_a_random_array_that_could_draw_one_value_only_is_refused(spec, problem):
    """`dist: randint` without `low` and `high` drew zeros only, and the rubric was then
    refused for a practice case equal to a graded one."""
    from pydantic import ValidationError

    from grader.rubric import ArraySpec

    with pytest.raises(ValidationError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        ArraySpec.model_validate(spec)
    ArraySpec.model_validate({**spec, "low": 0, "high": 10})


def test_a_dict_argument_with_a_key_yaml_read_as_a_boolean_is_refused_with_the_reason(tmp_path):
    """`{dict: {the: 3, on: 1}}` silently became the key True."""
    (tmp_path / "ref.py").write_text("def f(d):\n    return d\n")
    (tmp_path / "r.yaml").write_text('title: t\nreference: ref.py\nquestions:\n  - id: "1"\n    checks:\n'
                                     '      - {id: f, kind: function, name: f, points: 1,\n'
                                     '         cases: [{d: {dict: {the: 3, on: 1}}}]}\n')
    with pytest.raises(RubricError, match=r'YAML reads on, off, yes, no, true and false as booleans; quote the key'):
        load_rubric(tmp_path / "r.yaml")


@pytest.mark.parametrize("check, problem", [
    ({"id": "t", "kind": "text", "points": 1, "criteria": [{"points": 1, "description": "d", "any": ["\bword"]}]},
     "holds the control character '\\x08': in YAML's double quotes \\b is a backspace"),
    ({"id": "v", "kind": "value", "name": "V", "type": "int", "points": 1, "accept": ["3"]},
     "`accept` lists other right names for a `type: str` answer, and this check's type is int"),
])
def test_what_a_rubric_would_silently_ignore_is_refused(check, problem):
    """A pattern written in double quotes ("\\bword") held a backspace and never matched;
    `accept` on a number was ignored. `grade validate` said the rubric was valid."""
    from pydantic import TypeAdapter, ValidationError

    from grader.rubric import CheckSpec

    with pytest.raises(ValidationError) as error:
        TypeAdapter(CheckSpec).validate_python(check)
    assert problem in str(error.value)
