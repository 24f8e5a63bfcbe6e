"""A roster adds students who handed in nothing; a deadline and late policy cost points."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone

import pandas as pd
import pytest

from conftest import EXAMPLES, ROOT
from grader.cli import main
from grader.rubric import LatePolicy
from grader.scoring import late_penalty


@pytest.fixture
def folder(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("alice.py", "dave.py", "erin.py"):
        shutil.copy(EXAMPLES / name, subs / name)
    return subs


def late_rubric(tmp_path, policy: str) -> os.PathLike:
    text = (ROOT / "rubrics" / "ex07.yaml").read_text().replace(
        "reference: ../reference/ex07.py",
        f"reference: {ROOT / 'reference' / 'ex07.py'}\ndeadline: 2025-05-20T23:59:00+02:00\nlate: {policy}").replace(
        "support: ../reference/ex07_support.py", f"support: {ROOT / 'reference' / 'ex07_support.py'}")
    path = tmp_path / "late.yaml"
    path.write_text(text)
    return path


def book(out):
    return pd.read_csv(out / "gradebook.csv").set_index("student")


def test_a_roster_adds_the_missing_and_flags_strangers(folder, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email\nalice,Alice A,alice@uni.example\ndave,Dave D,dave@uni.example\n"
                      "zed,Zed Z,zed@uni.example\n")
    summary = main(submissions=folder, out=tmp_path / "out", jobs=2, roster=roster)
    grades = book(tmp_path / "out")
    assert list(grades.index) == ["alice", "dave", "erin", "zed"]
    assert grades.loc["zed", "status"] == "missing" and grades.loc["zed", "total"] == 0
    assert grades.loc["erin", "status"].endswith("(not on roster)")
    assert not grades.loc["alice", "status"].endswith("(not on roster)")
    assert "not on the roster: erin" in " ".join(summary.warnings) and summary.count("missing") == 1
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (results[results["student"] == "zed"]["feedback"] == "no submission was found for this student").all()


def test_a_late_submission_is_penalised_as_the_rubric_says(folder, tmp_path):
    rubric = late_rubric(tmp_path, "{per_day: 0.1, zero_after_days: 3}")
    times = tmp_path / "times.csv"
    times.write_text("id,submitted_at\nalice,2025-05-20T23:00:00+02:00\n"
                     "dave,2025-05-22T11:59:00+02:00\nerin,2025-05-25T10:00:00+02:00\n")
    main(submissions=folder, rubric=rubric, out=tmp_path / "out", jobs=2, timestamps=times)
    grades = book(tmp_path / "out")
    questions = [c for c in grades.columns if c[0].isdigit()]
    assert list(grades.columns[len(questions) + 1:]) == ["days_late", "late_penalty", "total", "max_total", "status"]
    earned = grades[questions].sum(axis=1)
    assert grades.loc["alice", "late_penalty"] == 0 and grades.loc["alice", "total"] == earned["alice"]
    assert grades.loc["dave", "days_late"] == pytest.approx(1.5)
    assert grades.loc["dave", "late_penalty"] == pytest.approx(0.2 * earned["dave"])  # 2 days begun, 10 % each
    assert grades.loc["dave", "total"] == pytest.approx(0.8 * earned["dave"])
    assert grades.loc["erin", "total"] == 0 and grades.loc["erin", "days_late"] > 3
    # the student's page says the gradebook's total and why it is lower (it said the points before the penalty)
    page = (tmp_path / "out" / "feedback" / "dave.md").read_text()
    total = grades.loc["dave", "total"]
    assert f"**Total: {total:g} / " in page
    assert (f"Handed in 1.5 days after the deadline: {grades.loc['dave', 'late_penalty']:g} of the "
            f"{earned['dave']:g} points earned are taken off") in page
    assert "after the deadline" not in (tmp_path / "out" / "feedback" / "alice.md").read_text()


def test_without_timestamps_the_files_modification_times_count(folder, tmp_path):
    rubric = late_rubric(tmp_path, "{per_day: 0.25}")
    late = datetime(2025, 5, 21, 18, 0, tzinfo=timezone.utc).timestamp()  # 0.83 days after the deadline
    os.utime(folder / "dave.py", (late, late))
    early = datetime(2025, 5, 1, tzinfo=timezone.utc).timestamp()
    for name in ("alice.py", "erin.py"):
        os.utime(folder / name, (early, early))
    main(submissions=folder, rubric=rubric, out=tmp_path / "out", jobs=2)
    grades = book(tmp_path / "out")
    assert grades.loc["alice", "late_penalty"] == 0
    questions = [c for c in grades.columns if c[0].isdigit()]
    assert grades.loc["dave", "total"] == pytest.approx(0.75 * grades.loc["dave", questions].sum())


def test_late_penalty_is_pure_and_graceful(rubric):
    deadline = datetime(2025, 5, 20, 22, tzinfo=timezone.utc)
    strict = rubric.model_copy(update={"deadline": deadline, "late": LatePolicy(per_day=0.5, grace_minutes=10)})
    assert late_penalty(strict, datetime(2025, 5, 20, 22, 5, tzinfo=timezone.utc), 40) == (0.0, 0.0)
    assert late_penalty(strict, datetime(2025, 5, 22, 22, 30, tzinfo=timezone.utc), 40)[1] == 40  # capped at all
    assert late_penalty(rubric, datetime(2030, 1, 1, tzinfo=timezone.utc), 40) == (0.0, 0.0)  # no deadline


def test_grading_again_without_roster_and_times_uses_the_last_runs_and_says_so(folder, tmp_path):
    """The hint after a review import ("run `grade SUBMISSIONS --rubric R --out OUT` again")
    dropped --roster and --timestamps: the roster's students vanished and, with the files'
    copy times, everyone was late and scored 0."""
    from grader.record import regrade_command

    rubric = late_rubric(tmp_path, "{per_day: 0.1, zero_after_days: 3}")
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email\nalice,A,a@uni.example\ndave,D,d@uni.example\nerin,E,e@uni.example\n"
                      "zed,Z,z@uni.example\n")
    times = tmp_path / "times.csv"
    times.write_text("id,submitted_at\nalice,2025-05-20T23:00:00+02:00\ndave,2025-05-20T23:00:00+02:00\n"
                     "erin,2025-05-20T23:00:00+02:00\n")
    out = tmp_path / "out"
    main(submissions=folder, rubric=rubric, out=out, jobs=2, roster=roster, timestamps=times)
    first = (out / "gradebook.csv").read_text()
    command = regrade_command(out)
    assert f"--roster {roster}" in command and f"--timestamps {times}" in command
    summary = main(submissions=folder, rubric=rubric, out=out, jobs=2)
    assert (out / "gradebook.csv").read_text() == first
    assert f"--roster {roster}, as in the last run of {out}" in " ".join(summary.warnings)
    # a first run without hand-in times, where the files' times make most students late, is warned about
    fresh = main(submissions=folder, rubric=rubric, out=tmp_path / "fresh", jobs=2)
    assert "3 of 3 submissions count as late by their files' modification times" in " ".join(fresh.warnings)


def test_a_roster_that_is_not_utf8_is_one_line_that_says_how_to_save_it(tmp_path):
    from grader.course import read_roster
    from grader.errors import GradeError

    roster = tmp_path / "roster.csv"
    roster.write_bytes("id,name,email\nzoe,Zoë Zed,zoe@uni.example\n".encode("latin-1"))
    with pytest.raises(GradeError, match=r"roster.csv: a roster is not UTF-8 text \(byte \d+\); save it as \"CSV UTF-8\""):
        read_roster(roster)
