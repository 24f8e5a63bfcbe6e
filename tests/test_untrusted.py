"""What a student controls (ids, times, texts) is made safe before it reaches a file, a CSV or the ledger."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from grader.checks import CheckResult
from grader.course import read_roster, submission_times
from grader.ledger import Ledger
from grader.scoring import StudentResult
from grader.submissions import Submission
from grader.untrusted import clean_text, clip, file_stem, seconds, student_id

ODD_IDS = ["x" * 240, "é" * 200, "a/b", "a\\b", "..", ".", ".hidden", "new\nline", "tab\t", "esc\x1b[31m",
           "caf\udce9", "right\u202eleft", "zero\u200bwidth", " padded ", "", "CON", "a~b", "-rf", "x."]


@pytest.mark.parametrize("raw", ODD_IDS)
def test_an_id_becomes_a_printable_short_id(raw):
    student = student_id(raw)
    assert student and len(student.encode("utf-8")) <= 100
    assert not any(c in student for c in "/\\\n\t\x1b\u202e\u200b")
    assert student == student.strip() and student not in (".", "..")
    assert student_id(raw) == student  # stable across runs


@pytest.mark.parametrize("raw", ["alice", "bob_2", "s1234.x", "José Ñ", "Anna-Lena Müller", "李雷", "<img src=x>"])
def test_a_printable_id_stays_as_it_was(raw):
    assert student_id(raw) == raw


def test_different_ids_stay_different():
    readable = [student_id(raw) for raw in ODD_IDS + ["x" * 239 + "y", "a_b", "new_line"]]
    assert len(set(readable)) == len(readable)


@pytest.mark.parametrize("student", [*ODD_IDS, *(student_id(raw) for raw in ODD_IDS)])
def test_a_file_stem_is_a_plain_short_name(student):
    stem = file_stem(student)
    assert 0 < len(stem.encode("ascii")) <= 80
    assert "/" not in stem and "\\" not in stem and not stem.startswith((".", "-")) and not stem.endswith(".")
    assert stem not in (".", "..")
    assert file_stem(student) == stem


def test_plain_ids_name_their_files_as_they_are_and_others_never_collide_with_them():
    assert [file_stem(s) for s in ("alice", "bob_2", "s1234.x")] == ["alice", "bob_2", "s1234.x"]
    stems = [file_stem(s) for s in ["a b", "a_b", "a/b", "a\\b", "a~b", "é", "e", "x" * 240, "x" * 239 + "y"]]
    assert len(set(stems)) == len(stems)
    hashed = file_stem("a b")  # an id spelled like another's hashed stem is not plain: it is hashed too
    assert file_stem(hashed) != hashed


def test_text_is_cut_with_a_note_and_always_encodes():
    assert clip("short", 10) == "short"
    cut = clip("x" * 100, 10, "answer")
    assert cut.startswith("x" * 10) and "cut at 10 characters" in cut and len(cut) < 60
    assert clean_text("a\ud800b").encode("utf-8") == "a\ufffdb".encode("utf-8")


@pytest.mark.parametrize(("value", "expected"), [(1.5, 1.5), (0, 0.0), (float("nan"), 0.0), (float("inf"), 0.0),
                                                 (-3.0, 0.0), (None, 0.0), ("12", 0.0), (True, 0.0)])
def test_a_time_is_finite_and_not_negative(value, expected):
    assert seconds(value) == expected


def test_the_ledger_records_a_run_whatever_the_result_holds(tmp_path):
    """NaN seconds became NULL in a NOT NULL column: IntegrityError, and no run for anyone."""
    check = CheckResult("1a", "answer", "text", 2.0, float("nan"), "needs_review", "x\ud800" * 10_000,
                        answer="y\udce9" * 100_000)
    poisoned = StudentResult("mallory\ud800", "ok", (check,), problem="p" * 1_000_000,
                             seconds=float("inf"), code_seconds=float("nan"))
    honest = StudentResult("alice", "ok", (CheckResult("1a", "answer", "text", 2.0, 2.0, "needs_review", "fine"),),
                           seconds=1.0, code_seconds=0.5)
    ledger = Ledger(tmp_path)
    ledger.record_run("Exercise 7", [poisoned, honest])
    ledger.close()
    with sqlite3.connect(tmp_path / "grade.db") as db:
        assert db.execute("select count(*) from students").fetchone() == (2,)
        assert db.execute("select seconds, code_seconds from students where student = 'alice'").fetchone() == (1.0, 0.5)
        assert db.execute("select seconds, code_seconds from students where student like 'mallory%'").fetchone() == (0, 0)
        assert db.execute("select max(length(problem)) from students").fetchone()[0] < 10_000
        assert db.execute("select max(length(answer)), max(length(feedback)) from results").fetchone() < (100_000, 10_000)
        assert db.execute("select auto_points from results where student like 'mallory%'").fetchone() == (0,)


def test_roster_and_timestamp_ids_are_read_as_submission_ids_are(tmp_path):
    roster = tmp_path / "roster.csv"
    long_id = "r" * 240
    roster.write_text(f"id,name,email\n{long_id},Long,l@example.org\n../../escape,Esc,e@example.org\n",
                      encoding="utf-8")
    people = read_roster(roster)
    assert set(people) == {student_id(long_id), student_id("../../escape")}
    assert all("/" not in student and len(student.encode()) <= 100 for student in people)
    times = tmp_path / "times.csv"
    times.write_text(f"id,submitted_at\n{long_id},2025-05-21T09:30:00+02:00\n", encoding="utf-8")
    assert set(submission_times([], times)) == {student_id(long_id)}


def test_a_modification_time_beyond_the_calendar_is_ignored_not_fatal(tmp_path, monkeypatch):
    folder = tmp_path / "carol"
    folder.mkdir()
    (folder / "ex07.py").write_text("x = 1\n")
    (folder / "future.txt").write_text("")
    os.utime(folder / "ex07.py", (1.7e9, 1.7e9))
    real_stat = Path.stat

    def stat(self, **kwargs):  # some file systems keep times far beyond what datetime can hold
        result = real_stat(self, **kwargs)
        if self.name != "future.txt":
            return result
        fields = list(result)
        fields[8] = 10**20  # st_mtime
        return os.stat_result(fields)

    monkeypatch.setattr(Path, "stat", stat)
    times = submission_times([Submission("carol", folder)], None)
    assert times == {"carol": datetime.fromtimestamp(1.7e9, tz=timezone.utc)}


def test_a_result_is_bounded_before_it_is_kept():
    from grader.pipeline import bounded
    from grader.runnotes import notes as run_notes
    from grader.runner import RunReport

    report = RunReport(cells=[{"label": f"cell {i}", "error": {"type": "ValueError", "message": "m" * 500,
                                                              "line": 1}} for i in range(10_000)])
    notes = run_notes(report)
    assert len(notes) == 21 and "9980 more cells raised errors" in notes[-1]
    check = CheckResult("1a", "answer", "text", 2.0, 0.0, "failed", "f\ud800" * 1_000_000, answer="a\udce9")
    result = bounded(StudentResult("s", "load_error", (check,), problem="p" * 10_000_000,
                                   notes=tuple("n" * 100_000 for _ in range(1_000)),
                                   seconds=float("nan"), code_seconds=-1.0))
    assert len(result.problem) < 2_100 and "cut at 2,000 characters" in result.problem
    assert len(result.notes) == 21 and all(len(note) < 1_100 for note in result.notes)
    assert len(result.checks[0].feedback) < 2_100
    assert result.checks[0].answer.encode("utf-8") and result.checks[0].feedback.encode("utf-8")
    assert (result.seconds, result.code_seconds) == (0.0, 0.0)
