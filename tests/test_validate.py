"""`grade validate RUBRIC`: every problem of a rubric at once (file, question, check, field,
what to do), the reference run on every case, a one-screen summary of a valid rubric; exit
status 0 when valid, 2 when not. `grade` itself keeps its one line, pointing here."""

from __future__ import annotations

import copy
import re

import yaml
from click.testing import CliRunner

from conftest import ROOT
from grader.cli import cli
from grader.rubric import load_rubric
from test_rubric import REFERENCE

GOOD = {
    "title": "Tiny",
    "reference": "ref.py",
    "questions": [
        {"id": "1a", "checks": [
            {"id": "answer", "kind": "text", "points": 2, "criteria": [
                {"points": 1, "description": "says first", "any": ["first"]},
                {"points": 1, "description": "says second", "any": ["second"]}]},
        ]},
        {"id": "2c", "checks": [
            {"id": "scale", "kind": "function", "name": "scale", "points": 2,
             "cases": [{"x": 1.0, "factor": 2.0}, {"x": {"array": [2, 3]}, "factor": 0.5}],
             "mistakes": [{"id": "forgot_factor", "variant": "scale__forgot_factor", "feedback": "no factor"},
                          {"id": "wrong_type", "raises": "TypeError", "message": "unsupported",
                           "feedback": "types"}]},
            {"id": "COUNT", "kind": "value", "name": "COUNT", "type": "int", "points": 1, "visibility": "hidden"},
        ]},
    ],
}


def write(folder, data, reference=REFERENCE):
    (folder / "ref.py").write_text(reference)
    path = folder / "rubric.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))  # keep key order: it is the argument order
    return path


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def several_problems() -> dict:
    """A rubric broken in six places: four the file shows, two only the reference does."""
    data = copy.deepcopy(GOOD)
    text, scale, count = data["questions"][0]["checks"][0], *data["questions"][1]["checks"]
    scale["points"] = -1                                   # 1: out of range
    scale["cases"][1]["x"] = {"array": [2, -3]}            # 2: a negative shape, inside a union of forms
    count["pionts"] = count.pop("points")                  # 3 and 4: misspelt, so `points` is missing
    text["criteria"][1]["any"] = ["(unclosed"]             # 5: not a regex
    data["questions"][1]["checks"] += [
        {"id": "scaled", "kind": "function", "name": "scael", "points": 1, "cases": [{"x": 1.0, "factor": 2.0}]},
        {"id": "raises", "kind": "function", "name": "scale", "points": 1, "cases": [{"x": "a", "factor": 0.5}]},
    ]                                                      # 6, 7: no such function; the reference raises
    return data


def test_every_problem_is_listed_at_once(tmp_path):
    path = write(tmp_path, several_problems())
    result = invoke("validate", path)
    assert result.exit_code == 2, result.output
    lines = result.stdout.strip().splitlines()
    problems, last = lines[:-1], lines[-1]
    assert all(line.startswith(f"{path}: ") for line in problems)
    expected = [
        ("question 2c, check scale, field `points`", "greater than 0", "-1"),
        ("question 2c, check scale, case #2, field `x`, field `array`", "greater than or equal to 0", "-3"),
        ("question 2c, check COUNT, field `points`", "missing; add it"),
        ("question 2c, check COUNT, field `pionts`", "did you mean `points`?"),
        ("question 1a, check answer, criterion #2, field `any`", "(unclosed", "regex"),
        ("question 2c, check scaled", "no function `scael`", "fix the name"),
        ("question 2c, check raises", "raises on case 1", "TypeError"),
    ]
    for fragments in expected:
        assert sum(all(f in line for f in fragments) for line in problems) == 1, (fragments, problems)
    assert len(problems) == len(expected)  # each once, and nothing about forms `x` was not meant to have
    assert last == f"{path}: 7 problems; fix them and run `grade validate {path}` again."


def test_grade_keeps_one_line_and_points_to_validate(tmp_path):
    path = write(tmp_path, several_problems())
    (tmp_path / "subs").mkdir()
    result = invoke(tmp_path / "subs", "--rubric", path, "--out", tmp_path / "out")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"grade: error: {path}: question 1a, check answer, criterion #2, field `any`")
    assert line.endswith(f"(and 4 more problems: `grade validate {path}` lists them all)")


def test_a_problem_only_the_reference_shows_points_to_validate_too(tmp_path):
    data = copy.deepcopy(GOOD)
    data["questions"][1]["checks"][0]["name"] = "scael"
    path = write(tmp_path, data)
    (tmp_path / "subs").mkdir()
    result = invoke(tmp_path / "subs", "--rubric", path, "--out", tmp_path / "out")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "no function `scael`" in line and f"`grade validate {path}` lists every problem" in line
    result = invoke("assign", path, "--out", tmp_path / "release")
    assert result.exit_code == 2 and f"`grade validate {path}`" in result.stderr


def test_a_valid_rubric_gets_a_one_screen_summary(tmp_path):
    path = write(tmp_path, GOOD)
    result = invoke("validate", path)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith(f"{path}: valid. Tiny\n")
    assert "questions  2, 5 points: 1a 2, 2c 3" in text
    assert "checks     3: 1 text, 1 function, 1 value; 2 public (4 points), 1 hidden (1 point)" in text
    assert "ran 2 graded and 1 practice cases of 1 function" in text  # the reference ran every case
    assert "mistakes   2 named: 1 reference variant, 1 exception" in text
    assert "template   imports numpy as np" in text
    assert len(text.splitlines()) <= 24 and max(len(line) for line in text.splitlines()) <= 100


def test_the_exercise_7_rubric_is_valid():
    rubric = load_rubric(ROOT / "rubrics" / "ex07.yaml")
    result = invoke("validate", ROOT / "rubrics" / "ex07.yaml")
    assert result.exit_code == 0, result.output
    assert f"questions  {len(rubric.questions)}, {rubric.max_total:g} points" in result.stdout
    hidden = sum(1 for _, c in rubric.checks() if c.visibility == "hidden")
    assert re.search(rf"checks     {len(list(rubric.checks()))}: .*; \d+ public .*, {hidden} hidden", result.stdout)


def test_an_unreadable_rubric_is_one_problem(tmp_path):
    path = tmp_path / "rubric.yaml"
    path.write_text("title: [unclosed\n")
    result = invoke("validate", path)
    assert result.exit_code == 2
    assert result.stdout.splitlines()[0].startswith(f"{path}: not valid YAML")
    assert result.stdout.splitlines()[-1] == f"{path}: 1 problem; fix it and run `grade validate {path}` again."


def test_a_broken_setting_does_not_stop_the_reference_from_running(tmp_path):
    data = copy.deepcopy(GOOD)
    data["limits"] = {"memry_mb": 512}
    data["questions"][1]["checks"][1]["name"] = "CONUT"
    result = invoke("validate", write(tmp_path, data))
    assert result.exit_code == 2
    assert "field `limits`, field `memry_mb`: not a field here" in result.stdout
    assert "did you mean `memory_mb`?" in result.stdout
    assert "question 2c, check COUNT: give `expected`, or define `CONUT` in the reference" in result.stdout


def test_without_a_reference_to_run_it_says_so(tmp_path):
    data = copy.deepcopy(GOOD)
    del data["reference"]
    result = invoke("validate", write(tmp_path, data))
    assert result.exit_code == 2
    assert "field `reference`: missing; add it" in result.stdout
    assert "The reference was not run" in result.stdout


def test_a_missing_reference_file_is_a_problem(tmp_path):
    data = copy.deepcopy(GOOD)
    data["reference"] = "nowhere.py"
    result = invoke("validate", write(tmp_path, data))
    assert result.exit_code == 2 and "nowhere.py not found" in result.stdout


def test_a_value_that_is_none_of_the_forms_is_one_problem_naming_them(tmp_path):
    data = copy.deepcopy(GOOD)
    data["questions"][1]["checks"][0]["cases"][0]["factor"] = None
    result = invoke("validate", write(tmp_path, data))
    problems = result.stdout.strip().splitlines()[:-1]
    assert len(problems) == 1, problems
    assert "case #1, field `factor`: write true or false, an integer, a number, text, a list, {array: " in problems[0]
    assert problems[0].endswith("(it is None)")
