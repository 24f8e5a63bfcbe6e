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


WEAK_CLASS = [f"Pre-trained means it was trained before ({i})." for i in range(6)] + [
    "It is a model.", "It was made earlier.", "Training happened first.", "Someone trained it already.",
    "The weights exist before we start."]
STRONG_CLASS = [TWIN.replace("very large", word) for word in ("huge", "big", "vast", "massive", "giant")] + [
    "Pre-training learns general language from huge unlabelled text corpora with self-supervision, before "
    f"fine-tuning on the labelled task ({i})." for i in range(6)]


def test_suggestions_place_an_answer_among_the_class_answers():
    """suggestions.Suggestions with the class's answers and no review yet: each suggestion is
    placed among them (semantic.py), so the same answer's suggestion depends on the class; a
    judged answer awaits its suggestion (outcome to_suggest) until it is filled in, and alone
    it gets what judging it alone gives."""
    from conftest import ROOT

    from grader.kinds.text import TO_SUGGEST, judge_text
    from grader.rubric import load_rubric
    from grader.scoring import StudentResult
    from grader.suggestions import Suggestions, unscored

    rubric = load_rubric(ROOT / "rubrics" / "ex07.yaml")
    question, check = next((q, c) for q, c in rubric.checks() if q.id == "1a" and c.kind == "text")
    answer = "A model first trained on a lot of text."
    waiting = judge_text(question, check, answer, "`ANSWER_1A`", suggest=False)
    assert waiting.outcome == TO_SUGGEST and waiting.answer == answer and waiting.auto_points == 0
    result = StudentResult("zoe", "ok", (waiting,))
    alone = Suggestions(rubric, {"zoe": unscored(result)}).fill(result)
    assert alone.checks == (judge_text(question, check, answer, "`ANSWER_1A`"),)
    points = {}
    for name, cohort in (("weak", WEAK_CLASS), ("strong", STRONG_CLASS)):
        answers = {f"s{i}": {("1a", check.id): text} for i, text in enumerate(cohort)}
        fitted = Suggestions(rubric, {**answers, "zoe": unscored(result)}).fill(result)
        (check_result,) = fitted.checks
        assert check_result.outcome == "needs_review" and check_result.answer == answer
        points[name] = check_result.points
    assert points["weak"] > points["strong"]
    assert points["weak"] != alone.checks[0].points or points["strong"] != alone.checks[0].points


def _class_folder(folder, answers):
    folder.mkdir()
    for i, answer in enumerate(answers):
        (folder / f"s{i:02d}.py").write_text(f"ANSWER_1A = {answer!r}\n")
    (folder / "zoe.py").write_text("ANSWER_1A = 'A model first trained on a lot of text.'\n")


def test_grade_suggests_free_text_points_among_the_class_answers(tmp_path):
    """`grade` suggests each free-text answer's points once the class is graded, placed among
    the class's answers: the same answer gets more in a weak class than in a strong one, and
    what the gradebook shows is what suggestions.py gives for the whole class. When one
    classmate's answer changes, the others' suggestions are made again."""
    from conftest import ROOT

    from grader.rubric import load_rubric
    from grader.scoring import StudentResult
    from grader.suggestions import Suggestions
    from grader.kinds.text import judge_text

    rubric = load_rubric(ROOT / "rubrics" / "ex07.yaml")
    question, check = next((q, c) for q, c in rubric.checks() if q.id == "1a" and c.kind == "text")
    zoe = {}
    for name, answers in (("weak", WEAK_CLASS), ("strong", STRONG_CLASS)):
        _class_folder(tmp_path / name, answers)
        main(submissions=tmp_path / name, out=tmp_path / f"{name}-grades", jobs=2, sandbox="auto")
        shown = results_1a(tmp_path / f"{name}-grades")
        zoe[name] = shown.loc["zoe", "auto_points"]
        everyone = {f"s{i:02d}": {("1a", check.id): a} for i, a in enumerate(answers)}
        everyone["zoe"] = {("1a", check.id): "A model first trained on a lot of text."}
        waiting = judge_text(question, check, "A model first trained on a lot of text.", "`ANSWER_1A`", suggest=False)
        expected = Suggestions(rubric, everyone).fill(StudentResult("zoe", "ok", (waiting,))).checks[0]
        assert zoe[name] == expected.auto_points
        assert shown.loc["zoe", "confidence"] == pytest.approx(expected.confidence, abs=0.005)  # shown to 2 places
    assert zoe["weak"] > zoe["strong"]

    # one classmate rewrites their answer: the class changed, so every page is shown again
    (tmp_path / "weak" / "s00.py").write_text(f"ANSWER_1A = {STRONG_CLASS[0]!r}\n")
    main(submissions=tmp_path / "weak", out=tmp_path / "weak-grades", jobs=2, sandbox="auto")
    db = sqlite3.connect(tmp_path / "weak-grades" / "grade.db")
    kept = db.execute("select count(*) from kept").fetchone()[0]
    # 12 results from the first run, s00's new one, and more: the others' suggestions were made again
    assert kept > len(WEAK_CLASS) + 2


def test_only_enrolled_students_make_the_class_a_suggestion_is_placed_among():
    """With a roster, answers handed in under ids not on it (one person's extra files) are
    suggested for, but do not move the class's: a classmate's suggestion is what the enrolled
    class alone gives it."""
    from conftest import ROOT

    from grader.kinds.text import judge_text
    from grader.rubric import load_rubric
    from grader.scoring import StudentResult
    from grader.suggestions import Suggestions, unscored

    rubric = load_rubric(ROOT / "rubrics" / "ex07.yaml")
    question, check = next((q, c) for q, c in rubric.checks() if q.id == "1a" and c.kind == "text")
    zoe = StudentResult("zoe", "ok", (judge_text(question, check, "A model first trained on a lot of text.",
                                                 "`ANSWER_1A`", suggest=False),))
    enrolled = {f"s{i}": {("1a", check.id): text} for i, text in enumerate(WEAK_CLASS)}
    enrolled["zoe"] = unscored(zoe)
    puppets = {f"p{i}": {("1a", check.id): text} for i, text in enumerate(STRONG_CLASS * 3)}
    alone = Suggestions(rubric, enrolled).fill(zoe).checks[0]
    crowded = Suggestions(rubric, {**enrolled, **puppets}).fill(zoe).checks[0]
    guarded = Suggestions(rubric, {**enrolled, **puppets}, enrolled=set(enrolled))
    assert crowded.points < alone.points  # without the roster, the extra ids move zoe's suggestion
    assert guarded.fill(zoe).checks[0] == alone
    puppet = StudentResult("p0", "ok", (judge_text(question, check, STRONG_CLASS[0], "`ANSWER_1A`", suggest=False),))
    assert guarded.fill(puppet).checks[0].outcome == "needs_review"  # still suggested for
    # an answer the class was not made of is placed among it and moves nobody's
    digest = guarded.digest(("1a", check.id))
    outsider = StudentResult("yan", "ok", (judge_text(question, check, STRONG_CLASS[1], "`ANSWER_1A`",
                                                      suggest=False),))
    assert guarded.fill(outsider).checks[0].outcome == "needs_review"
    assert guarded.digest(("1a", check.id)) == digest and guarded.fill(zoe).checks[0] == alone
