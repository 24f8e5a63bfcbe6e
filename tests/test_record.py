"""The output folder remembers its rubric: `grade report`, `review` and `export` need no
`--rubric`, and refuse with one line when the rubric changed (or went) since grading.

A tiny second rubric (questions 9a and 9b, not Exercise 7's) is graded into a folder; before
the folder remembered its rubric, `grade report` on it crashed ("Number of rows must be a
positive integer") because it read the folder with Exercise 7's rubric.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil

import pytest
import yaml
from click.testing import CliRunner

from conftest import ROOT
from grader.cli import cli, main

REFERENCE = '''
def scale(x, factor):
    return x * factor

COUNT = 3
'''

RUBRIC = {
    "title": "Second sheet",
    "reference": "ref.py",
    "questions": [
        {"id": "9a", "checks": [
            {"id": "scale", "kind": "function", "name": "scale", "points": 2,
             "cases": [{"x": 1.0, "factor": 2.0}, {"x": 3.0, "factor": 0.5}]},
            {"id": "secret", "kind": "value", "name": "COUNT", "type": "int", "points": 1, "visibility": "hidden"},
        ]},
        {"id": "9b", "checks": [
            {"id": "answer", "kind": "text", "points": 1, "criteria": [
                {"points": 1, "description": "says why", "any": ["because"]}]},
        ]},
    ],
}

RIGHT = 'def scale(x, factor):\n    return x * factor\n\nCOUNT = 3\nANSWER_9B = "because it is so"\n'
WRONG = 'def scale(x, factor):\n    return x\n\nCOUNT = 4\n'


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_error(result, warnings: bool = False) -> str:
    """The one error line (the only line on stderr, or the last after warnings)."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("grade: error: ") and (warnings or len(lines) == 1), lines
    assert all(line.startswith("grade: warning: ") for line in lines[:-1]), lines
    assert "Traceback" not in result.output
    return lines[-1]


def grade_second_sheet(base):
    """Grade two students with the second sheet's rubric into base/out."""
    (base / "sheet").mkdir()
    (base / "sheet" / "ref.py").write_text(REFERENCE)
    rubric = base / "sheet" / "second.yaml"
    rubric.write_text(yaml.safe_dump(RUBRIC, sort_keys=False))
    submissions = base / "submissions"
    submissions.mkdir()
    (submissions / "ann.py").write_text(RIGHT)
    (submissions / "bob.py").write_text(WRONG)
    main(submissions=submissions, rubric=rubric, out=base / "out", jobs=2)
    return rubric, base / "out"


@pytest.fixture(scope="module")
def second(tmp_path_factory):
    """Graded once, read by tests that change nothing."""
    return grade_second_sheet(tmp_path_factory.mktemp("second"))


@pytest.fixture
def fresh(tmp_path):
    """Graded for one test, which may change the rubric."""
    return grade_second_sheet(tmp_path)


def test_the_folder_records_the_rubric_path_and_hash(second):
    rubric, out = second
    record = json.loads((out / ".grade" / "rubric.json").read_text())
    assert record["path"] == str(rubric.resolve())
    assert record["sha256"] == hashlib.sha256(rubric.read_bytes()).hexdigest()
    assert record["title"] == "Second sheet"


def test_report_without_rubric_uses_the_one_it_was_graded_with(second):
    _, out = second
    result = invoke("report", "--out", out)
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text()
    assert "<h1>Second sheet</h1>" in page and "<td>9a</td><td>scale</td>" in page
    assert "<td>9b</td><td>1</td><td>2</td>" in page  # of the two students, one answered 9b: it awaits review


def test_review_without_rubric_uses_the_one_it_was_graded_with(fresh, tmp_path):
    rubric, out = fresh
    result = invoke("review", "9b", "--out", out)
    assert result.exit_code == 0, result.output
    sheet = out / "review" / "9b.csv"
    rows = list(csv.DictReader(open(sheet, newline="")))
    assert [r["student"] for r in rows] == ["ann", "bob"]
    rows[0]["points"] = "1"
    filled = tmp_path / "9b.csv"
    with open(filled, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = invoke("review", "--import", filled, "--reviewer", "ta", "--out", out)
    assert result.exit_code == 0, result.output
    # the way to update the gradebook names the rubric, so it does not grade with Exercise 7's
    assert f"--rubric {rubric.resolve()} --out {out}" in result.stdout


def test_export_without_rubric_uses_the_one_it_was_graded_with(second, tmp_path):
    _, out = second
    result = invoke("export", "--out", out, "--to", tmp_path / "export", "--format", "gradebook,gradescope")
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "export" / "gradescope" / "ann" / "results.json").read_text())
    assert [t["name"] for t in document["tests"]] == ["9a scale", "9a secret", "9b answer"]
    assert document["tests"][1]["visibility"] == "after_published"  # the second sheet's hidden check


@pytest.mark.parametrize("command", [["report"], ["review", "9b"], ["export"]], ids=lambda c: c[0])
def test_a_changed_rubric_is_refused_with_what_to_do(fresh, command):
    rubric, out = fresh
    rubric.write_text(rubric.read_text().replace("points: 2", "points: 3"))
    line = one_error(invoke(*command, "--out", out))
    assert f"the rubric {rubric.resolve()} has changed since {out} was graded with it" in line
    assert "grade again" in line and f"--rubric {rubric.resolve()} --out {out}" in line
    assert f"pass --rubric {rubric.resolve()}" in line
    assert not (out / "report.html").exists() and not (out / "export").exists()


def test_an_explicit_rubric_overrides_the_record_with_a_warning(fresh):
    rubric, out = fresh
    rubric.write_text(rubric.read_text() + "# a comment added after grading\n")
    result = invoke("report", "--out", out, "--rubric", rubric)
    assert result.exit_code == 0, result.output
    assert "grade: warning:" in result.stderr and "which has changed since" in result.stderr
    assert (out / "report.html").is_file()


def test_an_unchanged_explicit_rubric_gives_no_warning(second):
    rubric, out = second
    result = invoke("report", "--out", out, "--rubric", rubric)
    assert result.exit_code == 0 and result.stderr == ""


def test_a_rubric_that_is_gone_is_refused(fresh):
    rubric, out = fresh
    rubric.unlink()
    line = one_error(invoke("report", "--out", out))
    assert f"graded with the rubric {rubric.resolve()}, which is gone" in line and "--rubric" in line


def test_a_folder_without_a_record_asks_for_the_rubric(fresh):
    _, out = fresh
    (out / ".grade" / "rubric.json").unlink()
    for command in (["report"], ["review", "9b"], ["export"]):
        line = one_error(invoke(*command, "--out", out))
        assert "does not record which rubric graded it" in line and "pass --rubric RUBRIC" in line


def test_regrading_after_a_change_is_accepted_again(fresh):
    rubric, out = fresh
    rubric.write_text(rubric.read_text().replace("points: 2", "points: 3"))
    assert invoke("report", "--out", out).exit_code == 2
    main(submissions=out.parent / "submissions", rubric=rubric, out=out, jobs=2)
    result = invoke("report", "--out", out)
    assert result.exit_code == 0, result.output
    assert "of 5 points" in (out / "report.html").read_text()


def test_report_with_another_rubric_is_one_line_not_a_crash(second):
    _, out = second
    result = invoke("report", "--out", out, "--rubric", ROOT / "rubrics" / "ex07.yaml")
    line = one_error(result, warnings=True)
    assert f"{out} does not match the rubric" in line and "9a" in line and "--rubric" in line
    assert "not this one" in result.stderr  # the warning: this is not the rubric it was graded with


def test_report_of_a_run_without_submissions_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    main(submissions=tmp_path / "empty", out=tmp_path / "out", jobs=1)
    line = one_error(invoke("report", "--out", tmp_path / "out"))
    assert "graded no submission" in line


def test_an_interrupted_regrade_keeps_the_record_of_the_finished_run(fresh, monkeypatch):
    """The record is written with the gradebook, at the end of a run: a run that stops before
    leaves the folder's gradebook and record as they were, and both still agree."""
    import grader.pipeline

    rubric, out = fresh
    before = (out / ".grade" / "rubric.json").read_text()
    other = rubric.with_name("other.yaml")
    shutil.copy(rubric, other)

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(grader.pipeline, "grade_submission", stop)
    with pytest.raises(KeyboardInterrupt):
        main(submissions=out.parent / "submissions", rubric=other, out=out, jobs=1, force=True)
    assert (out / ".grade" / "rubric.json").read_text() == before
