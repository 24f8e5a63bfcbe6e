"""Manual review of free text: sheets, imports, precedence over automatic scores, re-review."""

from __future__ import annotations

import csv
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import EXAMPLES
from grader.cli import cli, main


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def course(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("alice.py", "dave.py", "erin.py", "frank.py"):
        shutil.copy(EXAMPLES / name, folder / name)
    out = tmp_path / "grades"
    main(submissions=folder, out=out, jobs=2)
    return folder, out


def fill(sheet, points: dict[str, str], comment: str = "") -> None:
    rows = list(csv.DictReader(open(sheet, newline="")))
    for row in rows:
        if row["student"] in points:
            row["points"], row["comment"] = points[row["student"]], comment
    with open(sheet, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def results_of(out, question="1a"):
    results = pd.read_csv(out / "results.csv", dtype={"question": str, "reviewer": str})
    return results[results["question"] == question].set_index("student")


def test_a_review_sheet_lists_every_answer_with_its_suggestion(course):
    _, out = course
    result = invoke("review", "1a", "--out", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(out / "review" / "1a.csv")))
    assert sorted(r["student"] for r in rows) == ["alice", "dave", "erin", "frank"]
    assert all(r["answer"] and r["suggested_points"] and r["answer_hash"] and r["points"] == "" for r in rows)
    page = (out / "review" / "1a.html").read_text()
    assert "unlabelled raw text" in page and page.count("<section>") == 4 and "<script" not in page
    assert page.count("<article class=group") == len({r["group"] for r in rows})


def test_the_sheet_is_ordered_by_groups_identical_answers_first(course):
    folder, out = course
    source = (folder / "alice.py").read_text()
    (folder / "zoe.py").write_text(source + "\nANSWER_1A = " + repr("  " + _answer(source, "ANSWER_1A").upper() + "  ") + "\n")
    (folder / "yan.py").write_text(source + "\nANSWER_1A = " + repr(_answer(source, "ANSWER_1A").replace(" ", "  ")) + "\n")
    main(submissions=folder, out=out, jobs=2)
    result = invoke("review", "1a", "--out", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(out / "review" / "1a.csv")))
    assert list(rows[0])[:6] == ["student", "question", "check", "group", "group_size", "outlier"]
    assert [r["student"] for r in rows[:3]] == ["alice", "yan", "zoe"]  # the same answer, up to case and spacing
    assert {(r["group"], r["group_size"]) for r in rows[:3]} == {("1", "3")}
    groups = [int(r["group"]) for r in rows]
    assert groups == sorted(groups), "a group's answers are together, groups in order"
    for number in set(groups):
        assert groups.count(number) == int(next(r["group_size"] for r in rows if int(r["group"]) == number))
    page = (out / "review" / "1a.html").read_text()
    assert "Group 1: 3 identical answers" in page
    fill(out / "review" / "1a.csv", {"zoe": "1"})  # the import reads the new columns as before
    result = invoke("review", "--import", out / "review" / "1a.csv", "--reviewer", "ta", "--out", out)
    assert result.exit_code == 0 and "Recorded 1 scores by ta" in result.stdout


def _answer(source: str, name: str) -> str:
    """The example's own answer string (the constant assigned to `name`)."""
    import ast

    return next(ast.literal_eval(node.value) for node in ast.parse(source).body
                if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets))


def test_a_manual_score_wins_and_survives_regrades(course):
    folder, out = course
    assert invoke("review", "1a", "--out", out).exit_code == 0
    fill(out / "review" / "1a.csv", {"alice": "1.5"}, comment="say what the data is")
    result = invoke("review", "--import", out / "review" / "1a.csv", "--reviewer", "ta-ann", "--out", out)
    assert result.exit_code == 0 and "Recorded 1 scores by ta-ann" in result.stdout
    for force in (False, True):
        main(submissions=folder, out=out, jobs=2, force=force)
        alice = results_of(out).loc["alice"]
        assert (alice["outcome"], alice["points"], alice["manual_points"], alice["auto_points"]) == ("reviewed", 1.5, 1.5, 2)
        assert alice["reviewer"] == "ta-ann" and "say what the data is" in alice["feedback"]
        book = pd.read_csv(out / "gradebook.csv").set_index("student")
        assert book.loc["alice", "1a"] == 1.5
        assert "Reviewed by ta-ann" in (out / "feedback" / "alice.md").read_text()


def test_a_changed_answer_is_flagged_for_re_review(course):
    folder, out = course
    invoke("review", "1a", "--out", out)
    fill(out / "review" / "1a.csv", {"alice": "0"})
    invoke("review", "--import", out / "review" / "1a.csv", "--reviewer", "ta-ann", "--out", out)
    source = (folder / "alice.py").read_text()
    start = source.index("ANSWER_1A")
    (folder / "alice.py").write_text(source[:start] + 'ANSWER_1A = "Pre-training is a generic first stage on unlabelled raw text."\n'
                                     + "ANSWER_1A_OLD" + source[start + len("ANSWER_1A"):])
    main(submissions=folder, out=out, jobs=2)
    alice = results_of(out).loc["alice"]
    assert alice["outcome"] == "needs_rereview" and pd.isna(alice["manual_points"])
    assert alice["points"] == alice["auto_points"] and "has changed since" in alice["feedback"]
    assert invoke("review", "1a", "--out", out).exit_code == 0  # the new answer is on the next sheet, unscored
    row = next(r for r in csv.DictReader(open(out / "review" / "1a.csv")) if r["student"] == "alice")
    assert row["points"] == "" and "generic first stage" in row["answer"]


def test_two_reviewers_with_a_share_each_merge(course):
    folder, out = course
    for share, reviewer, points in (("1/2", "ta-ann", "1"), ("2/2", "ta-bo", "0.5")):
        assert invoke("review", "1b", "--out", out, "--share", share).exit_code == 0
        sheet = out / "review" / f"1b-{share.replace('/', '-of-')}.csv"
        students = [r["student"] for r in csv.DictReader(open(sheet))]
        fill(sheet, dict.fromkeys(students, points))
        assert invoke("review", "--import", sheet, "--reviewer", reviewer, "--out", out).exit_code == 0
    main(submissions=folder, out=out, jobs=2)
    rows = results_of(out, "1b")
    assert set(rows["outcome"]) == {"reviewed"} and set(rows["reviewer"]) == {"ta-ann", "ta-bo"}
    assert sorted(rows["manual_points"]) == sorted(rows["reviewer"].map({"ta-ann": 1.0, "ta-bo": 0.5}))


def test_a_bad_sheet_is_refused_whole(course):
    _, out = course
    invoke("review", "1a", "--out", out)
    fill(out / "review" / "1a.csv", {"alice": "1", "dave": "9"})
    result = invoke("review", "--import", out / "review" / "1a.csv", "--reviewer", "ta", "--out", out)
    assert result.exit_code == 2 and "line 3: points 9 are outside 0..2" in result.stderr
    result = invoke("review", "--import", out / "review" / "1a.csv", "--out", out)
    assert result.exit_code == 2 and "--reviewer" in result.stderr


def test_review_needs_a_graded_folder_and_a_known_question(tmp_path, course):
    _, out = course
    assert "run `grade SUBMISSIONS" in invoke("review", "1a", "--out", tmp_path / "nothing").stderr
    assert "no question '9z'" in invoke("review", "9z", "--out", out).stderr


def test_every_run_is_recorded(course):
    import sqlite3

    folder, out = course
    main(submissions=folder, out=out, jobs=1)
    with sqlite3.connect(out / "grade.db") as db:
        runs = db.execute("select count(*), min(students) from runs where finished is not null").fetchone()
        results = db.execute("select count(*) from results where run = (select max(id) from runs)").fetchone()[0]
    assert runs == (2, 4) and results == 4 * 34


def test_a_sheet_with_formula_like_cells_round_trips(course):
    """Cells that would be formulas are written with a leading quote; the import takes them
    back, whether the spreadsheet program kept the quote or dropped it."""
    folder, out = course
    invoke("review", "1a", "--out", out)
    fill(out / "review" / "1a.csv", {"alice": "1"}, comment="=HYPERLINK(\"http://evil.example\")")
    assert invoke("review", "--import", out / "review" / "1a.csv", "--reviewer", "+ta", "--out", out).exit_code == 0
    main(submissions=folder, out=out, jobs=2)
    results = open(out / "results.csv").read()
    assert ",'+ta," in results and ",+ta" not in results  # the reviewer's name is a cell too
    assert invoke("review", "1a", "--out", out).exit_code == 0  # the next sheet shows the recorded score
    rows = list(csv.DictReader(open(out / "review" / "1a.csv", newline="")))
    alice = next(r for r in rows if r["student"] == "alice")
    assert (alice["points"], alice["comment"]) == ("1", "'=HYPERLINK(\"http://evil.example\")")
    for text in (open(out / "review" / "1a.csv").read(), open(out / "review" / "1a.csv").read().replace("'=", "=")):
        (out / "review" / "again.csv").write_text(text)
        result = invoke("review", "--import", out / "review" / "again.csv", "--reviewer", "ta", "--out", out)
        assert result.exit_code == 0
        main(submissions=folder, out=out, jobs=2)
        assert "Reviewer's comment: =HYPERLINK(" in results_of(out).loc["alice", "feedback"]
    results = open(out / "results.csv").read()
    assert "\n=" not in results and ",=HYPERLINK" not in results
