"""Students shown by forked copies of the grader (showing.py, copies.py), with the class's
free-text suggestions made by such copies, get exactly what the grader alone would show
them, and a copy that fails or dies costs nothing."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT
from grader import copies, pipeline
from grader.cli import main
from grader.outputs import Outputs

RUBRIC = ROOT / "rubrics" / "ex07.yaml"


def contents(out: Path) -> dict[str, bytes]:
    """Every output file but the ledger and the kept results, with its bytes."""
    return {str(path.relative_to(out)): path.read_bytes() for path in sorted(out.rglob("*"))
            if path.is_file() and ".grade" not in path.parts and path.name != "grade.db"}


def shown(out: Path) -> list[tuple]:
    """What the ledger keeps of each student shown, but where their result lies in this folder."""
    with sqlite3.connect(out / "grade.db") as db:
        rows = db.execute("select student, entry, csv from shown order by student").fetchall()
    return [(student, {**json.loads(entry), "stamp": None}, csv) for student, entry, csv in rows]


@pytest.fixture(scope="module")
def alone(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("alone") / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(copies, "FORK_FROM", 10**9)  # never forked
        main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)
    return out


def kept_only(alone: Path, out: Path) -> Path:
    """A folder with the kept results of `alone` and nothing else: graded again, its
    students get the same results (times included), and each is shown afresh."""
    shutil.copytree(alone / ".grade", out / ".grade")
    return out


def forked(monkeypatch, out: Path, submissions: Path = EXAMPLES, **options):
    """Grade the examples with the suggestions made, then every student shown, by two forked
    copies each; the summary, the number of copies forked, and what the progress bar heard."""
    monkeypatch.setattr(copies, "FORK_FROM", 2)
    monkeypatch.setattr(copies, "CORES", 2)  # whatever the machine has
    forks, heard = [], []
    fork = os.fork

    def counted():
        pid = fork()
        if pid:
            forks.append(pid)
        return pid

    grade_all = pipeline.grade_all

    def listening(*args, on_done=None, **kwargs):
        def done(student, step):
            heard.append((step, student))
            on_done(student, step)
        return grade_all(*args, on_done=done, **kwargs)

    monkeypatch.setattr(os, "fork", counted)
    monkeypatch.setattr(pipeline, "grade_all", listening)
    summary = main(submissions=submissions, rubric=RUBRIC, out=out, jobs=2, progress=True, **options)
    return summary, len(forks), heard


def test_no_more_copies_are_forked_than_the_cores_or_the_jobs(monkeypatch):
    """A copy only computes (and each one that suggests loads the sentence model): the jobs
    may outnumber the cores, which keep the sandboxes busy, but the copies may not."""
    monkeypatch.setattr(copies, "CORES", 2)
    assert [copies.copies_for(1000, jobs) for jobs in (1, 2, 3, 8)] == [1, 2, 2, 2]
    monkeypatch.setattr(copies, "CORES", 8)
    assert [copies.copies_for(students, 3) for students in (63, 64, 1000)] == [1, 2, 3]
    assert copies.copies_for(100, 8) == 3  # at least FORK_FROM / 2 students each


def test_students_shown_by_forked_copies_get_what_the_grader_alone_shows(alone, tmp_path, monkeypatch):
    summary, forks, heard = forked(monkeypatch, kept_only(alone, tmp_path / "out"))
    assert forks == 4  # two to suggest, two to show
    assert contents(tmp_path / "out") == contents(alone)
    assert shown(tmp_path / "out") == shown(alone)
    students = [s.student for s in summary.students]
    assert [step for step, _ in heard] == ["graded"] * len(students) + ["shown"] * len(students)
    assert sorted(student for step, student in heard if step == "shown") == sorted(students)

    inodes = {path: path.stat().st_ino for path in (tmp_path / "out" / "feedback").iterdir()}
    _, forks, _ = forked(monkeypatch, tmp_path / "out")  # nothing changed: nobody is shown afresh
    assert forks == 0
    assert {path: path.stat().st_ino for path in (tmp_path / "out" / "feedback").iterdir()} == inodes


def test_a_student_a_copy_died_showing_is_shown_by_the_grader(alone, tmp_path, monkeypatch):
    grader = os.getpid()
    add = Outputs.add

    def dying(self, result, *args):
        if os.getpid() != grader and result.student in ("bob", "erin"):
            os._exit(9)  # the copy dies halfway through its students
        return add(self, result, *args)

    monkeypatch.setattr(Outputs, "add", dying)
    summary, forks, heard = forked(monkeypatch, kept_only(alone, tmp_path / "out"))
    assert forks == 4  # two to suggest, two to show
    assert contents(tmp_path / "out") == contents(alone)
    assert shown(tmp_path / "out") == shown(alone)
    assert len([1 for step, _ in heard if step == "shown"]) == len(summary.students)


def test_an_error_a_copy_meets_is_raised_by_the_grader_as_without_copies(alone, tmp_path, monkeypatch):
    from grader.errors import OutputError

    def failing(self, result, *args):
        raise OutputError(f"cannot write {result.student}'s page")

    monkeypatch.setattr(Outputs, "add", failing)
    with pytest.raises(OutputError, match="cannot write"):
        forked(monkeypatch, tmp_path / "out")


def test_a_check_a_copy_died_suggesting_is_suggested_by_the_grader(alone, tmp_path, monkeypatch):
    from grader.suggestions import Suggestions

    grader = os.getpid()
    scored_data = Suggestions._scored_data

    def dying(self, where):
        if os.getpid() != grader and where[0] in ("1d", "2c"):
            os._exit(9)
        return scored_data(self, where)

    monkeypatch.setattr(Suggestions, "_scored_data", dying)
    forked(monkeypatch, kept_only(alone, tmp_path / "out"))
    assert contents(tmp_path / "out") == contents(alone)
    assert shown(tmp_path / "out") == shown(alone)


HOSTILE_ANSWERS = {
    "1A": "Adapters \u2028 then \u202e reversed \u0000 NUL \x01 hole </script><script>alert(1)</script>\n## Total: 55",
    "1B": "\ud800 lone surrogate, \x1b[31m ANSWER in red, and a line\nthat goes on\r\nand on " + "word " * 5000,
}


def test_hostile_answers_cross_from_the_copies_as_the_grader_alone_shows_them(tmp_path, monkeypatch):
    """A student's own text (line and paragraph separators, NUL, the answer placeholder,
    markup, lone surrogates, 25,000 characters) travels back from a copy as one JSON line
    and is shown as the grader alone shows it."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in ("alice.py", "dave.py", "erin.py"):
        shutil.copy(EXAMPLES / name, folder / name)
    hostile = (EXAMPLES / "alice.py").read_text()
    hostile += "".join(f"\nANSWER_{question} = {text!r}\n" for question, text in HOSTILE_ANSWERS.items())
    (folder / "mallet.py").write_text(hostile)
    monkeypatch.setattr(copies, "FORK_FROM", 10**9)
    main(submissions=folder, rubric=RUBRIC, out=tmp_path / "alone", jobs=2)
    _, forks, _ = forked(monkeypatch, kept_only(tmp_path / "alone", tmp_path / "out"), submissions=folder)
    assert forks == 4
    assert contents(tmp_path / "out") == contents(tmp_path / "alone")
    assert shown(tmp_path / "out") == shown(tmp_path / "alone")
    page = (tmp_path / "out" / "feedback" / "mallet.md").read_text()
    assert "Adapters" in page and "\ufffd lone surrogate" in page


def test_rows_sent_back_by_copies_keep_each_question_id_once_for_the_class():
    """A row crosses from a copy as JSON, which makes its question ids afresh: read back, the
    ids are the same strings for every student (memory that does not grow with the class)."""
    from grader.scoring import StudentRow

    rows = [Outputs.row_from(json.loads(json.dumps(Outputs.row_json(
        StudentRow(f"s{i}", "ok", {"1a": 1.0, "2b": 0.5}, 1.5, 0))))) for i in range(2)]
    assert rows[0] == StudentRow("s0", "ok", {"1a": 1.0, "2b": 0.5}, 1.5, 0)
    assert all(a is b for a, b in zip(rows[0].points, rows[1].points))
