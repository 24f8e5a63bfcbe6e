"""Free text graded by meaning and fitted to what reviewers decided (kinds/text.py with
semantic.py): the next run's suggestions follow the reviewed answers nearest in meaning."""

from __future__ import annotations

import csv
import shutil
import sqlite3

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import EXAMPLES
from grader.cli import cli, main

TWIN = ("A pre-trained model has gone through a first, generic training stage on a very large corpus before it is "
        "adapted (fine-tuned) to the tasks we actually care about.")


@pytest.fixture
def course(tmp_path):
    """Four students; ann's and bob's answers to 1a are the same but for one word."""
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("alice", "dave", "erin"):
        shutil.copy(EXAMPLES / f"{name}.py", folder / f"{name}.py")
    source = (EXAMPLES / "alice.py").read_text()
    (folder / "ann.py").write_text(source + f"\nANSWER_1A = {TWIN!r}\n")
    (folder / "bob.py").write_text(source + f"\nANSWER_1A = {TWIN.replace('very large', 'huge')!r}\n")
    out = tmp_path / "grades"
    main(submissions=folder, out=out, jobs=2)
    return folder, out


def results_1a(out):
    results = pd.read_csv(out / "results.csv", dtype={"question": str}).set_index("student")
    return results[results["question"] == "1a"]


def test_suggestions_are_fitted_to_the_reviewed_answers_nearest_in_meaning(course):
    folder, out = course
    before = results_1a(out)
    assert before.loc["bob", "auto_points"] >= 1 and before.loc["ann", "auto_points"] >= 1
    assert before["confidence"].notna().all() and before["confidence"].between(0, 1).all()
    # a reviewer finds ann's answer worth nothing
    assert CliRunner().invoke(cli, ["review", "1a", "--out", str(out)]).exit_code == 0
    sheet = out / "review" / "1a.csv"
    rows = list(csv.DictReader(open(sheet, newline="")))
    for row in rows:
        row["points"] = "0" if row["student"] == "ann" else ""
    with open(sheet, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    assert CliRunner().invoke(cli, ["review", "--import", str(sheet), "--reviewer", "ta", "--out", str(out)]).exit_code == 0
    main(submissions=folder, out=out, jobs=2)
    after = results_1a(out)
    assert after.loc["ann", "points"] == 0 and after.loc["ann", "outcome"] == "reviewed"
    # bob's answer says the same in other words: its suggestion follows the review, surely
    assert after.loc["bob", "auto_points"] < before.loc["bob", "auto_points"]
    assert after.loc["bob", "points"] == after.loc["bob", "auto_points"] and after.loc["bob", "outcome"] == "needs_review"
    assert after.loc["bob", "confidence"] > before.loc["bob", "confidence"]
    # the ledger keeps for the reviewer what the suggestion was fitted from
    db = sqlite3.connect(out / "grade.db")
    flags = db.execute("select flags from results where student = 'bob' and question = '1a' "
                       "and run = (select max(id) from runs)").fetchone()[0]
    assert "fitted from 1 reviewed answer" in flags


def test_unconfirmed_suggestions_can_be_left_out_of_totals(course, tmp_path):
    folder, out = course
    from conftest import ROOT

    text = (ROOT / "rubrics" / "ex07.yaml").read_text().replace(
        "reference: ../reference/ex07.py", f"reference: {ROOT / 'reference' / 'ex07.py'}\ncount_suggested: false"
    ).replace("support: ../reference/ex07_support.py", f"support: {ROOT / 'reference' / 'ex07_support.py'}")
    strict = tmp_path / "strict.yaml"
    strict.write_text(text)
    main(submissions=folder, rubric=strict, out=tmp_path / "strict", jobs=2)
    counted = pd.read_csv(out / "gradebook.csv").set_index("student")
    uncounted = pd.read_csv(tmp_path / "strict" / "gradebook.csv").set_index("student")
    results = pd.read_csv(out / "results.csv")
    suggested = results[results["outcome"] == "needs_review"].groupby("student")["auto_points"].sum()
    for student in ("alice", "ann"):
        assert uncounted.loc[student, "total"] == pytest.approx(counted.loc[student, "total"] - suggested[student])


def test_the_review_sheet_tells_the_reviewer_the_confidence_and_the_flags(course):
    folder, out = course
    soup = "first generic unlabeled raw text self-supervised causal masked pretraining corpus downstream"
    (folder / "kim.py").write_text((EXAMPLES / "alice.py").read_text() + f"\nANSWER_1A = {soup!r}\n")
    main(submissions=folder, out=out, jobs=2)
    assert CliRunner().invoke(cli, ["review", "1a", "--out", str(out)]).exit_code == 0
    rows = {row["student"]: row for row in csv.DictReader(open(out / "review" / "1a.csv", newline=""))}
    assert "Confidence 0." in rows["bob"]["notes"]
    assert "Flags: reads like a keyword list" in rows["kim"]["notes"]


def test_refit_places_a_suggestion_among_the_class_answers():
    """kinds/text.refit with the class's answers (`cohort`) and no review yet: each suggestion
    is placed among them (semantic.py); the same answer's suggestion depends on the class, and
    without a class or a review the result is as it was."""
    from conftest import ROOT

    from grader.kinds.text import judge_text, refit
    from grader.rubric import load_rubric
    from grader.scoring import StudentResult

    rubric = load_rubric(ROOT / "rubrics" / "ex07.yaml")
    question, check = next((q, c) for q, c in rubric.checks() if q.id == "1a" and c.kind == "text")
    answer = "A model first trained on a lot of text."
    result = StudentResult("zoe", "ok", (judge_text(question, check, answer, "`ANSWER_1A`"),))
    assert refit(result, rubric, {}) is result
    weak = [f"Pre-trained means it was trained before ({i})." for i in range(6)] + [
        "It is a model.", "It was made earlier.", "Training happened first.", "Someone trained it already.",
        "The weights exist before we start."]
    strong = [TWIN.replace("very large", word) for word in ("huge", "big", "vast", "massive", "giant")] + [
        "Pre-training learns general language from huge unlabelled text corpora with self-supervision, before "
        f"fine-tuning on the labelled task ({i})." for i in range(6)]
    points = {}
    for name, cohort in (("weak", weak), ("strong", strong)):
        fitted = refit(result, rubric, {}, cohort={("1a", check.id): cohort})
        (check_result,) = fitted.checks
        assert check_result.outcome == "needs_review" and check_result.answer == answer
        points[name] = check_result.points
    assert points["weak"] > points["strong"]
