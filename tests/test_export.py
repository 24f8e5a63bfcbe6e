"""`grade export`: each format has exactly its documented columns and the gradebook's totals.
How each platform would import the files is in test_lms_import.py; the Gradescope autograder
in test_gradescope_autograder.py."""

from __future__ import annotations

import csv
import json
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import ROOT
from grader.cli import cli
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
def graded(tmp_path_factory, three_graded):
    """An output folder of three students: alice (all right), erin (mistakes), leo (does not load)."""
    base = tmp_path_factory.mktemp("export")
    shutil.copytree(three_graded, base / "out")
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
    files = [folder / name for name in ("gradebook.csv", "gradebook.xlsx", "moodle.csv", "moodle-grades.csv",
                                        "moodle-feedback.zip", "canvas.csv", "canvas-comments.json",
                                        "blackboard.csv", "brightspace.csv")]
    files += [folder / "gradescope" / s / "results.json" for s in ("alice", "erin", "leo")]
    assert lines == [f"Wrote {path}" for path in files]
    assert all(path.is_file() for path in files)
    assert not list(folder.rglob("*.tmp")), "temporary files were left behind"
    assert not (folder / "autograder.zip").exists(), "the autograder is built only when asked for"
    assert "leo" in result.stderr and "not on the roster" in result.stderr
    assert "no reviewer has confirmed" in result.stderr


def test_the_gradebook_format_has_the_gradebooks_columns(exported, graded, gradebook):
    frame = pd.read_csv(exported[0] / "gradebook.csv", dtype={"student": str})
    assert list(frame.columns) == ["student", *load_rubric(RUBRIC).question_ids, "total", "max_total", "status"]
    pd.testing.assert_frame_equal(frame, gradebook)


def test_the_moodle_worksheet(exported, gradebook):
    frame = read(exported[0] / "moodle.csv")
    assert list(frame.columns) == MOODLE
    # only the rows Moodle can match: those whose roster row gives moodle_id
    assert list(frame["Identifier"]) == ["Participant 12"]
    assert float(frame["Grade"][0]) == totals(gradebook)["alice"] and frame["Full name"][0] == "Liddell, Alice"
    assert float(frame["Maximum Grade"][0]) == 55.0 and frame["Email address"][0] == "alice@uni.example"
    assert frame["Grade can be changed"][0] == "Yes" and frame["Last modified (grade)"][0]
    assert "55/55" in frame["Feedback comments"][0]
    assert "moodle.csv: 2 students left out, with no moodle_id" in exported[1].stderr


def test_the_moodle_gradebook_import(exported, gradebook):
    frame = read(exported[0] / "moodle-grades.csv")
    title = load_rubric(RUBRIC).title
    assert list(frame.columns) == ["Email address", "Full name", title, "Feedback"]
    assert dict(zip(frame["Email address"], frame[title].astype(float))) == \
        {"alice@uni.example": totals(gradebook)["alice"], "erin@uni.example": totals(gradebook)["erin"]}
    erin = frame[frame["Full name"] == "Erinson, Erin"].iloc[0]
    assert "51/55" in erin["Feedback"] and "2e 3/5" in erin["Feedback"]
    assert "moodle-grades.csv: 1 student left out, with no email in the roster" in exported[1].stderr


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
    comments = json.loads((exported[0] / "canvas-comments.json").read_text())
    assert list(comments["grade_data"]) == ["501"] and "55/55" in comments["grade_data"]["501"]["text_comment"]


def test_the_canvas_assignment_can_carry_its_id(graded, tmp_path):
    result = invoke("export", "--out", graded / "out", "--to", tmp_path, "--format", "canvas",
                    "--assignment", "Exercise 7 (12345)")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines() == [f"Wrote {tmp_path / 'canvas.csv'}",
                                                  f"Wrote {tmp_path / 'canvas-comments.json'}"]
    frame = read(tmp_path / "canvas.csv")
    assert list(frame.columns) == [*CANVAS, "Exercise 7 (12345)"]
    assert list(frame["Student"][1:]) == ["alice", "erin", "leo"]  # no roster: the name is the id
    assert "names no Canvas assignment id" not in result.stderr


def test_canvas_warns_when_the_assignment_has_no_id(exported):
    assert "names no Canvas assignment id" in exported[1].stderr


def test_gradescope_results(exported, graded, gradebook):
    rubric = load_rubric(RUBRIC)
    hidden = {f"{q.id} {c.id}" for q, c in rubric.checks() if c.visibility == "hidden"}
    assert hidden, "the rubric should have hidden checks for this test to mean something"
    results = pd.read_csv(graded / "out" / "results.csv", dtype={"student": str})
    for student, total in totals(gradebook).items():
        document = json.loads((exported[0] / "gradescope" / student / "results.json").read_text())
        assert list(document) == ["score", "output", "output_format", "test_output_format", "test_name_format",
                                  "visibility", "stdout_visibility", "tests"]
        assert document["output_format"] == document["test_output_format"] == "md"
        assert document["test_name_format"] == "text"
        mine = results[results["student"] == student]
        waiting = {f"{q} {c}" for q, c, o in zip(mine["question"], mine["check"], mine["outcome"])
                   if o == "needs_review"}
        assert document["visibility"] == ("after_published" if waiting else "visible")
        assert document["score"] == pytest.approx(total)
        assert sum(test["score"] for test in document["tests"]) == pytest.approx(document["score"])
        assert [t["name"] for t in document["tests"]] == [f"{q} {c}" for q, c in zip(mine["question"], mine["check"])]
        for test in document["tests"]:
            assert list(test) == ["name", "score", "max_score", "status", "output", "visibility"]
            later = test["name"] in hidden or test["name"] in waiting
            assert test["visibility"] == ("after_published" if later else "visible"), test["name"]
            assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")
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
    export(out, RUBRIC, formats=["gradescope", "canvas"])
    document = json.loads((out / "export" / "gradescope" / "alice" / "results.json").read_text())
    assert document["score"] == pytest.approx(49.9)
    assert sum(t["score"] for t in document["tests"]) == pytest.approx(49.9)
    assert document["tests"][-1]["name"] == "late penalty" and document["tests"][-1]["max_score"] == 0
    assert "Late penalty: -5.1" in document["output"]
    canvas = read(out / "export" / "canvas.csv")
    assert float(canvas[load_rubric(RUBRIC).title][1]) == pytest.approx(49.9)


def test_a_duplicate_gets_no_grade(graded, tmp_path):
    out = copy_outputs(graded, tmp_path)
    frame = pd.read_csv(out / "gradebook.csv", dtype={"student": str})
    frame.loc[frame["student"] == "leo", "status"] = "duplicate"
    frame.to_csv(out / "gradebook.csv", index=False)
    _, warnings = export(out, RUBRIC)
    assert not (out / "export" / "gradescope" / "leo").exists()
    assert "leo" not in list(read(out / "export" / "canvas.csv")["SIS User ID"]), "a blank would erase in Canvas"
    assert "leo" not in list(read(out / "export" / "blackboard.csv")["Username"])
    assert "leo" not in list(read(out / "export" / "brightspace.csv")["Username"])
    for name in ("canvas.csv", "blackboard.csv", "brightspace.csv", "gradescope/"):
        assert any(name in w.split(": ")[0] and "status duplicate" in w and w.endswith(": leo") for w in warnings), name


def test_a_missing_output_folder_is_one_line_and_exit_2(tmp_path):
    result = invoke("export", "--out", tmp_path / "nowhere")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grade: error:")
    assert f"run `grade SUBMISSIONS --out {tmp_path / 'nowhere'}` first" in lines[0]
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("args, words", [
    (["--format", "moodle,sakai"], "--format"),
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
    assert document["tests"][0]["output"] == "\\=HYPERLINK(\"http://evil.example\")"  # inert Markdown
    for path in written:
        if path.suffix == ".csv":
            for row in csv.reader(open(path, newline="", encoding="utf-8")):
                for cell in row:
                    assert not cell.startswith(("=", "+", "@", "\t", "\r")) and not (
                        cell.startswith("-") and not cell.lstrip("-").replace(".", "", 1).isdigit()), (path, cell)
    moodle = read(out / "export" / "moodle-grades.csv")
    assert list(moodle["Full name"][:1]) == ["'=cmd|' /C calc'!A0"] and list(moodle["Email address"][:1]) == ["'@alice"]
    from openpyxl import load_workbook

    book = load_workbook(out / "export" / "gradebook.xlsx")
    texts = [cell for sheet in book for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert not [c.coordinate for c in texts if c.data_type == "f" or c.value.startswith(("=", "+", "@"))]
    assert "'=1+2" in [c.value for c in texts] and "'=cmd|' /C calc'!A0" in [c.value for c in texts]
    assert "'=1+2" in list(read(out / "export" / "gradebook.csv")["student"])


def test_the_spreadsheet_gradebook(exported, graded, gradebook):
    from openpyxl import load_workbook

    book = load_workbook(exported[0] / "gradebook.xlsx")
    assert book.sheetnames == ["Totals", "Questions", "Checks"]
    assert all(sheet.freeze_panes == "B2" for sheet in book)
    totals_sheet = book["Totals"]
    header = [c.value for c in totals_sheet[1]]
    assert header == ["student", "name", "email", "status", "total", "max_total"]
    rows = {r[0]: r for r in totals_sheet.iter_rows(min_row=2, values_only=True)}
    assert {s: r[4] for s, r in rows.items()} == totals(gradebook)
    assert all(isinstance(r[4], (int, float)) and r[5] == 55 for r in rows.values()), "numbers are numbers"
    assert rows["alice"][1:3] == ("Liddell, Alice", "alice@uni.example")
    questions = book["Questions"]
    ids = load_rubric(RUBRIC).question_ids
    assert [c.value for c in questions[1]] == ["student", *ids, "total"]
    maximum = [c.value for c in questions[2]]
    assert maximum[0] == "(maximum)" and sum(maximum[1:-1]) == maximum[-1] == 55.0
    checks = book["Checks"]
    results = pd.read_csv(graded / "out" / "results.csv", dtype={"student": str})
    assert checks.max_row == len(results) + 1
    assert [c.value for c in checks[1]] == ["student", "question", "check", "points", "max_points", "outcome",
                                           "feedback"]
    assert all(isinstance(r[3], (int, float)) for r in checks.iter_rows(min_row=2, values_only=True))


def test_the_moodle_feedback_files(exported, graded):
    import zipfile

    with zipfile.ZipFile(exported[0] / "moodle-feedback.zip") as archive:
        assert archive.namelist() == ["Liddell, Alice_12_assignfeedback_file_feedback.html"]
        page = archive.read("Liddell, Alice_12_assignfeedback_file_feedback.html")
    assert page == (graded / "out" / "feedback" / "alice.html").read_bytes()
