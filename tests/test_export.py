"""`grade export`: each format has exactly its documented columns and the gradebook's totals."""

from __future__ import annotations

import csv
import json
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import EXAMPLES, ROOT
from grader.cli import cli, main
from grader.errors import GradeError
from grader.export import export
from grader.rubric import load_rubric

RUBRIC = ROOT / "rubrics" / "ex07.yaml"
MOODLE = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
          "Last modified (submission)", "Online text", "Last modified (grade)", "Feedback comments"]
CANVAS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
ROSTER = ('id,name,email,moodle_id,canvas_id,section\n'
          'alice,"Liddell, Alice",alice@uni.example,12,501,Tutorial A\n'
          'erin,"Erinson, Erin",erin@uni.example,,,\n')


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """An output folder of three students: alice (all right), erin (mistakes), leo (does not load)."""
    base = tmp_path_factory.mktemp("export")
    submissions = base / "submissions"
    submissions.mkdir()
    for name in ("alice", "erin", "leo"):
        shutil.copy(EXAMPLES / f"{name}.py", submissions / f"{name}.py")
    main(submissions=submissions, out=base / "out", jobs=1)
    (base / "roster.csv").write_text(ROSTER)
    return base


@pytest.fixture(scope="module")
def exported(graded):
    result = invoke("export", "--out", graded / "out", "--roster", graded / "roster.csv")
    assert result.exit_code == 0, result.output
    return graded / "out" / "export", result


@pytest.fixture(scope="module")
def gradebook(graded):
    return pd.read_csv(graded / "out" / "gradebook.csv", dtype={"student": str})


def totals(gradebook) -> dict[str, float]:
    return dict(zip(gradebook["student"], gradebook["total"]))


def copy_outputs(graded, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("gradebook.csv", "results.csv"):
        shutil.copy(graded / "out" / name, out / name)
    return out


def read(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_one_line_per_file_written(exported):
    folder, result = exported
    lines = result.stdout.strip().splitlines()
    files = [folder / "gradebook.csv", folder / "moodle.csv", folder / "canvas.csv",
             *(folder / "gradescope" / s / "results.json" for s in ("alice", "erin", "leo"))]
    assert lines == [f"Wrote {path}" for path in files]
    assert all(path.is_file() for path in files)
    assert not list(folder.rglob("*.tmp")), "temporary files were left behind"
    assert "leo" in result.stderr and "not in the roster" in result.stderr
    assert "no reviewer has confirmed" in result.stderr


def test_the_gradebook_format_has_the_gradebooks_columns(exported, graded, gradebook):
    frame = pd.read_csv(exported[0] / "gradebook.csv", dtype={"student": str})
    assert list(frame.columns) == ["student", *load_rubric(RUBRIC).question_ids, "total", "max_total", "status"]
    pd.testing.assert_frame_equal(frame, gradebook)


def test_the_moodle_worksheet(exported, gradebook):
    frame = read(exported[0] / "moodle.csv")
    assert list(frame.columns) == MOODLE
    assert {name: float(grade) for name, grade in zip(frame["Full name"], frame["Grade"])} == \
        {"Liddell, Alice": totals(gradebook)["alice"], "Erinson, Erin": totals(gradebook)["erin"],
         "leo": totals(gradebook)["leo"]}
    assert set(frame["Maximum Grade"].astype(float)) == {55.0}
    assert list(frame["Email address"]) == ["alice@uni.example", "erin@uni.example", ""]
    assert list(frame["Identifier"]) == ["Participant 12", "", ""]  # only where the roster gives moodle_id
    assert set(frame["Grade can be changed"]) == {"Yes"}
    assert all(frame["Last modified (grade)"])
    erin = frame[frame["Full name"] == "Erinson, Erin"].iloc[0]
    assert "51/55" in erin["Feedback comments"] and "2e 3/5" in erin["Feedback comments"]
    assert "load_error" in frame[frame["Full name"] == "leo"].iloc[0]["Feedback comments"]


def test_the_canvas_import(exported, gradebook):
    frame = read(exported[0] / "canvas.csv")
    title = load_rubric(RUBRIC).title
    assert list(frame.columns) == [*CANVAS, title]
    points = frame.iloc[0]
    assert points["Student"].strip() == "Points Possible" and float(points[title]) == 55.0
    assert points["Student"] == "    Points Possible"  # as Canvas writes it
    students = frame.iloc[1:]
    assert {sid: float(total) for sid, total in zip(students["SIS User ID"], students[title])} == totals(gradebook)
    alice = students[students["SIS User ID"] == "alice"].iloc[0]
    assert (alice["Student"], alice["ID"], alice["Section"]) == ("Liddell, Alice", "501", "Tutorial A")
    assert list(students["Student"]) == ["Liddell, Alice", "Erinson, Erin", "leo"]


def test_the_canvas_assignment_can_carry_its_id(graded, tmp_path):
    result = invoke("export", "--out", graded / "out", "--to", tmp_path, "--format", "canvas",
                    "--assignment", "Exercise 7 (12345)")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Wrote {tmp_path / 'canvas.csv'}"
    frame = read(tmp_path / "canvas.csv")
    assert list(frame.columns) == [*CANVAS, "Exercise 7 (12345)"]
    assert list(frame["Student"][1:]) == ["alice", "erin", "leo"]  # no roster: the name is the id


def test_gradescope_results(exported, graded, gradebook):
    rubric = load_rubric(RUBRIC)
    hidden = {f"{q.id} {c.id}" for q, c in rubric.checks() if c.visibility == "hidden"}
    assert hidden, "the rubric should have hidden checks for this test to mean something"
    results = pd.read_csv(graded / "out" / "results.csv", dtype={"student": str})
    for student, total in totals(gradebook).items():
        document = json.loads((exported[0] / "gradescope" / student / "results.json").read_text())
        assert list(document) == ["score", "output", "output_format", "test_output_format", "test_name_format",
                                  "stdout_visibility", "tests"]
        assert document["output_format"] == document["test_output_format"] == document["test_name_format"] == "text"
        assert document["score"] == pytest.approx(total)
        assert sum(test["score"] for test in document["tests"]) == pytest.approx(document["score"])
        mine = results[results["student"] == student]
        assert [t["name"] for t in document["tests"]] == [f"{q} {c}" for q, c in zip(mine["question"], mine["check"])]
        for test in document["tests"]:
            assert list(test) == ["name", "score", "max_score", "output", "visibility"]
            assert test["visibility"] == ("after_published" if test["name"] in hidden else "visible")
        assert document["stdout_visibility"] in ("hidden", "after_due_date", "after_published", "visible")


def test_a_late_penalty_is_a_test_so_the_scores_still_add_up(graded, tmp_path):
    out = copy_outputs(graded, tmp_path)
    frame = pd.read_csv(out / "gradebook.csv", dtype={"student": str})
    at = list(frame.columns).index("total")
    frame.insert(at, "late_penalty", [5.1, 0.0, 0.0])
    frame.insert(at, "days_late", [1.5, 0.0, 0.0])
    frame.insert(at, "submitted", ["2025-05-22T11:00:00+00:00", "", ""])
    frame["total"] = frame["total"].astype(float) - frame["late_penalty"]
    frame.to_csv(out / "gradebook.csv", index=False)
    export(out, RUBRIC, formats=["gradescope", "moodle"])
    document = json.loads((out / "export" / "gradescope" / "alice" / "results.json").read_text())
    assert document["score"] == pytest.approx(49.9)
    assert sum(t["score"] for t in document["tests"]) == pytest.approx(49.9)
    assert document["tests"][-1]["name"] == "late penalty" and document["tests"][-1]["max_score"] == 0
    moodle = read(out / "export" / "moodle.csv")
    assert float(moodle["Grade"][0]) == pytest.approx(49.9) and "Late penalty" in moodle["Feedback comments"][0]


def test_a_duplicate_gets_no_grade(graded, tmp_path):
    out = copy_outputs(graded, tmp_path)
    frame = pd.read_csv(out / "gradebook.csv", dtype={"student": str})
    frame.loc[frame["student"] == "leo", "status"] = "duplicate"
    frame.to_csv(out / "gradebook.csv", index=False)
    _, warnings = export(out, RUBRIC)
    assert not (out / "export" / "gradescope" / "leo").exists()
    assert read(out / "export" / "moodle.csv")["Grade"][2] == ""
    assert read(out / "export" / "canvas.csv")[load_rubric(RUBRIC).title][3] == ""
    assert any("duplicate" in w for w in warnings)


def test_a_missing_output_folder_is_one_line_and_exit_2(tmp_path):
    result = invoke("export", "--out", tmp_path / "nowhere")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grade: error:")
    assert f"run `grade SUBMISSIONS --out {tmp_path / 'nowhere'}` first" in lines[0]
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("args, words", [
    (["--format", "moodle,blackboard"], "--format"),
    (["--roster", "missing.csv"], "roster"),
])
def test_bad_options_are_one_line(graded, tmp_path, args, words):
    result = invoke("export", "--out", graded / "out", "--to", tmp_path / "x", *args)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr
    assert "Traceback" not in result.output


def test_a_roster_without_its_columns_is_refused(graded, tmp_path):
    (tmp_path / "roster.csv").write_text("student,name\nalice,Alice\n")
    with pytest.raises(GradeError, match="email, id"):
        export(graded / "out", RUBRIC, tmp_path / "x", roster=tmp_path / "roster.csv")


def test_another_rubric_is_refused(graded, tmp_path):
    rubric = tmp_path / "other.yaml"
    rubric.write_text("title: Other\nreference: ref.py\nquestions:\n  - id: '1a'\n    checks:\n"
                      "      - {id: answer, kind: text, points: 2,\n"
                      "         criteria: [{points: 2, description: d, any: [x]}]}\n")
    with pytest.raises(GradeError, match="does not match the rubric"):
        export(graded / "out", rubric, tmp_path / "x")


def test_files_that_disagree_are_refused(graded, tmp_path):
    out = copy_outputs(graded, tmp_path)
    frame = pd.read_csv(out / "gradebook.csv", dtype={"student": str})
    frame.loc[1, "total"] = 1
    frame.to_csv(out / "gradebook.csv", index=False)
    with pytest.raises(GradeError, match="disagree on erin"):
        export(out, RUBRIC)
    assert not (out / "export").exists()


def test_export_has_help():
    result = invoke("export", "--help")
    assert result.exit_code == 0 and "Usage:" in result.stdout and "--roster" in result.stdout


def test_no_exported_cell_is_a_spreadsheet_formula(graded, tmp_path):
    """Ids, names and feedback that look like formulas are neutralised in every CSV export,
    and the files are read back as the students' own text (gradescope folders, totals)."""
    out = copy_outputs(graded, tmp_path)
    for name, column in (("gradebook.csv", "student"), ("results.csv", "student")):
        frame = pd.read_csv(out / name, dtype=str, keep_default_na=False)
        frame[column] = frame[column].replace({"leo": "'=1+2"})  # as `grade` writes the id =1+2
        if name == "results.csv":
            frame.loc[frame["student"] == "'=1+2", "feedback"] = "'=HYPERLINK(\"http://evil.example\")"
        frame.to_csv(out / name, index=False)
    roster = tmp_path / "roster.csv"
    roster.write_text('id,name,email,section\nalice,"=cmd|\' /C calc\'!A0",@alice,-A\n')
    written, _ = export(out, RUBRIC, roster=roster)
    assert (out / "export" / "gradescope" / "=1+2" / "results.json").is_file()
    document = json.loads((out / "export" / "gradescope" / "=1+2" / "results.json").read_text())
    assert document["tests"][0]["output"] == "=HYPERLINK(\"http://evil.example\")"  # JSON: the text itself
    for path in written:
        if path.suffix == ".csv":
            for row in csv.reader(open(path, newline="", encoding="utf-8")):
                for cell in row:
                    assert not cell.startswith(("=", "+", "@", "\t", "\r")) and not (
                        cell.startswith("-") and not cell.lstrip("-").replace(".", "", 1).isdigit()), (path, cell)
    moodle = read(out / "export" / "moodle.csv")
    assert list(moodle["Full name"][:1]) == ["'=cmd|' /C calc'!A0"] and list(moodle["Email address"][:1]) == ["'@alice"]
    assert "'=1+2" in list(read(out / "export" / "gradebook.csv")["student"])
