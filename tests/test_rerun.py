"""A rerun costs what changed: an unchanged student's feedback is neither rendered nor
written again, and the ledger records the run as references to results it already keeps."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT
from grader.cli import main
from grader.ledger import Ledger, answer_hash
from grader.review import import_sheet
from grader.rubric import load_rubric

RUBRIC = ROOT / "rubrics" / "ex07.yaml"


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("graded") / "out"
    main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)
    return out


@pytest.fixture
def out(graded, tmp_path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(graded, copy)
    return copy


def files(out: Path) -> dict[str, int]:
    """Every file of the folder and its inode: a file written again (atomically) has a new one."""
    return {str(path.relative_to(out)): path.stat().st_ino for path in sorted(out.rglob("*")) if path.is_file()}


def rewritten(before: dict[str, int], after: dict[str, int], under: str = "feedback/") -> set[str]:
    return {name for name, inode in after.items() if name.startswith(under) and before.get(name) != inode}


def count(out: Path, sql: str) -> int:
    with sqlite3.connect(out / "grade.db") as db:
        return db.execute(sql).fetchone()[0]


def review(out: Path, rows: list[dict]) -> None:
    sheet = out.parent / "sheet.csv"
    with open(sheet, "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["student", "question", "check", "points", "comment", "answer_hash"])
        writer.writeheader()
        writer.writerows(rows)
    ledger = Ledger(out)
    import_sheet(load_rubric(RUBRIC), ledger, sheet, "ann")
    ledger.close()


def test_an_unchanged_rerun_writes_no_feedback_and_copies_no_result(out):
    before, kept = files(out), count(out, "select count(*) from kept")
    previous = (out / "results.csv").read_text()
    main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)
    after = files(out)
    assert len([name for name in after if name.startswith("feedback/")]) == 30
    assert rewritten(before, after) == set()
    assert rewritten(before, after, ".grade/results/") == set()
    assert (out / "results.csv").read_text() == previous
    assert count(out, "select count(*) from kept") == kept, "the rerun copied results the ledger keeps"
    assert count(out, "select count(*) from runs") == 2
    with sqlite3.connect(out / "grade.db") as db:  # the second run reads as the first, row by row
        first = db.execute("select student, question, check_id, auto_points, feedback from results where run = 1")
        second = db.execute("select student, question, check_id, auto_points, feedback from results where run = 2")
        assert first.fetchall() == second.fetchall()


def test_an_unchanged_rerun_hands_no_student_to_the_grading_threads_and_a_changed_one_only_that_one(
        out, tmp_path, monkeypatch):
    from grader import pipeline

    handed = []  # per run, how many students went to the grading threads
    in_order = pipeline._in_order

    def counting(pool, step, count, window):
        handed.append(0)

        def counted(position):
            made = step(position)
            handed[-1] += callable(made)
            return made
        return in_order(pool, counted, count, window)

    monkeypatch.setattr(pipeline, "_in_order", counting)
    main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)
    assert handed == [0]  # each student a look-up in the grader's own thread
    folder = tmp_path / "submissions"
    shutil.copytree(EXAMPLES, folder)
    (folder / "erin.py").write_text((folder / "erin.py").read_text() + "\n# changed\n")
    main(submissions=folder, rubric=RUBRIC, out=out, jobs=2)
    assert handed == [0, 1]


def test_a_rerun_after_one_review_import_rewrites_only_that_students_feedback(out):
    review(out, [{"student": "dave", "question": "2b", "check": "fnn", "points": "1.5", "comment": "close",
                  "answer_hash": answer_hash(None)}])
    before, kept = files(out), count(out, "select count(*) from kept")
    main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)
    assert rewritten(before, files(out)) == {"feedback/dave.md", "feedback/dave.html"}
    assert "Reviewed by ann: 1.5/2" in (out / "feedback" / "dave.md").read_text()
    assert count(out, "select count(*) from kept") == kept  # dave's automatic result is the one kept already
    with open(out / "results.csv", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["student"] == "dave" and r["check"] == "fnn")
    assert (row["points"], row["manual_points"], row["reviewer"]) == ("1.5", "1.5", "ann")


def test_a_reviewed_answer_rewrites_the_pages_whose_content_changed_and_no_other(out):
    """A reviewed free-text answer is learned from for everyone's suggestion on that check:
    the pages it changes are written again, every other page is left alone."""
    answer = next(r for r in Ledger(out).latest_results("2a") if r["student"] == "erin")
    review(out, [{"student": "erin", "question": "2a", "check": "answer", "points": "0.5", "comment": "",
                  "answer_hash": answer["answer_hash"]}])
    before = files(out)
    pages = {name: (out / name).read_text() for name in before if name.startswith("feedback/")}
    main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)
    changed = {name for name, text in pages.items() if (out / name).read_text() != text}
    assert {"feedback/erin.md", "feedback/erin.html"} <= changed
    assert rewritten(before, files(out)) == changed


def test_a_changed_submission_is_graded_and_shown_again_alone(out, tmp_path):
    submissions = tmp_path / "submissions"
    shutil.copytree(EXAMPLES, submissions)
    main(submissions=submissions, rubric=RUBRIC, out=out, jobs=2)  # the same files, elsewhere: nothing to do
    before, kept = files(out), count(out, "select count(*) from kept")
    frank = submissions / "frank.py"
    frank.write_text(frank.read_text() + "\nEXTRA = 1\n")
    main(submissions=submissions, rubric=RUBRIC, out=out, jobs=2)
    after = files(out)
    kept_of_frank = {name for name in after if name.startswith(".grade/results/frank")}
    assert rewritten(before, after, ".grade/results/") == kept_of_frank
    assert rewritten(before, after) <= {"feedback/frank.md", "feedback/frank.html"}
    assert count(out, "select count(*) from kept") == kept + 1  # frank's new result, and no copy of another


def test_a_deleted_feedback_page_is_written_again(out):
    (out / "feedback" / "alice.md").unlink()
    main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)
    assert (out / "feedback" / "alice.md").is_file()


def test_a_ledger_entry_that_cannot_be_read_shows_that_student_again_and_no_other(out):
    """What the last run showed a student is read only when needed, from the ledger's text:
    an entry that is not JSON, or not an object, costs that student a fresh showing (their
    pages written again), never an error row."""
    with sqlite3.connect(out / "grade.db") as db:
        db.execute("update shown set entry = '{not json' where student = 'dave'")
        db.execute("update shown set entry = '[1, 2]' where student = 'erin'")
    before = files(out)
    previous = {name: (out / name).read_text() for name in ("results.csv", "gradebook.csv")}
    main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)
    after = files(out)
    assert rewritten(before, after) == {f"feedback/{name}.{ext}" for name in ("dave", "erin") for ext in ("md", "html")}
    assert rewritten(before, after, ".grade/results/") == set()
    assert {name: (out / name).read_text() for name in previous} == previous
    with sqlite3.connect(out / "grade.db") as db:
        kept = dict(db.execute("select student, json_extract(entry, '$.kept') from shown"))
    assert kept["dave"] is not None and kept["erin"] is not None  # their entries are whole again


def test_a_ledger_entry_that_refers_to_no_kept_result_shows_that_student_afresh(out):
    """An entry whose `kept` is not the id of a kept result (a list, text, a bool) is not
    taken as last time's: the student is shown afresh, and the run is written whole."""
    with sqlite3.connect(out / "grade.db") as db:
        db.execute("""update shown set entry = json_set(entry, '$.kept', json('["x.jsonl", 0, 10]'))
                      where student = 'frank'""")
        db.execute("update shown set entry = json_set(entry, '$.kept', '3') where student = 'grace'")
        db.execute("update shown set entry = json_set(entry, '$.kept', json('true')) where student = 'heidi'")
    previous = {name: (out / name).read_text() for name in ("results.csv", "gradebook.csv")}
    main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)
    assert {name: (out / name).read_text() for name in previous} == previous
    with sqlite3.connect(out / "grade.db") as db:
        kept = dict(db.execute("select student, json_extract(entry, '$.kept') from shown"))
        last = db.execute("select kept from run_students where run = (select max(id) from runs) order by position")
        assert all(type(number) is int for number, in last)
    assert all(type(kept[student]) is int for student in ("frank", "grace", "heidi"))


def test_a_ledger_of_an_earlier_version_reads_the_same_once_converted(tmp_path):
    """Earlier ledgers kept a copy of every result per run in tables `results` and `students`."""
    with sqlite3.connect(tmp_path / "grade.db") as db:
        db.executescript("""
            create table runs (id integer primary key, started text not null, finished text, rubric text not null,
                               students integer);
            create table results (run integer not null, student text not null, question text not null,
                check_id text not null, kind text not null, auto_points real not null, max_points real not null,
                outcome text not null, feedback text not null, answer text, answer_hash text not null,
                mistake text, visibility text not null);
            create table students (run integer not null, student text not null, status text not null,
                seconds real not null, code_seconds real not null, problem text not null);
            create index results_by_run on results(run, question);
            insert into runs values (1, 'then', 'then', 'Exercise 7', 2), (2, 'later', 'later', 'Exercise 7', 1);
            insert into students values (1, 'ann', 'ok', 1.5, 1.0, ''), (1, 'bo', 'error', 2, 1, 'x'),
                                        (2, 'ann', 'ok', 1.0, 0.5, '');
            insert into results values
                (1, 'ann', '1a', 'answer', 'text', 1, 2, 'needs_review', 'Covers: x.', 'Adapters.', 'h1', null,
                 'public'),
                (1, 'ann', '2b', 'fnn', 'function', 2, 2, 'passed', '', null, 'h0', null, 'public'),
                (1, 'bo', '2b', 'fnn', 'function', 0, 2, 'error', 'boom', null, 'h0', null, 'public'),
                (2, 'ann', '2b', 'fnn', 'function', 2, 2, 'passed', '', null, 'h0', null, 'public');
        """)
    ledger = Ledger(tmp_path)
    assert ledger.rows("select student, question, auto_points, answer, confidence from results where run = 1") == [
        {"student": "ann", "question": "1a", "auto_points": 1.0, "answer": "Adapters.", "confidence": None},
        {"student": "ann", "question": "2b", "auto_points": 2.0, "answer": None, "confidence": None},
        {"student": "bo", "question": "2b", "auto_points": 0.0, "answer": None, "confidence": None}]
    assert ledger.rows("select student, seconds from students where run = 2") == [{"student": "ann", "seconds": 1.0}]
    assert ledger.latest_results("2b", "function")[0]["student"] == "ann"
    ledger.close()
    Ledger(tmp_path).close()  # opened again: nothing left to convert
    assert count(tmp_path.parent / tmp_path.name, "select count(*) from results") == 4


def test_the_progress_bar_counts_the_grading_then_the_showing_of_every_student(out, monkeypatch):
    """`grade --progress` hears of each student twice: when their result is kept, and when
    they are shown (after the class's free-text suggestions), all graded before any shown."""
    from grader import pipeline

    heard = []
    grade_all = pipeline.grade_all

    def listening(*args, on_done=None, **kwargs):
        def done(student, step):
            heard.append(step)
            on_done(student, step)
        return grade_all(*args, on_done=done, **kwargs)

    monkeypatch.setattr(pipeline, "grade_all", listening)
    summary = main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2, progress=True)
    assert heard == ["graded"] * len(summary.students) + ["shown"] * len(summary.students)
