"""Broken hand-ins each get a row with a clear status; the run goes on."""

from __future__ import annotations

import json
import os
import sqlite3

import pandas as pd
from nbformat import v3, v4

from conftest import EXAMPLES
from grader.cli import main
from grader.scoring import UNSANDBOXED, base_status as base


def test_every_broken_input_gets_a_row_and_a_reason(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    correct = (EXAMPLES / "alice.py").read_text()
    notebook = json.dumps(v4.new_notebook(cells=[v4.new_code_cell(correct)]))
    (folder / "truncated.ipynb").write_text(notebook[: len(notebook) // 2])
    (folder / "not_json.ipynb").write_text("this is not a notebook")
    (folder / "old_format.ipynb").write_text(json.dumps(v3.new_notebook(worksheets=[
        v3.new_worksheet(cells=[v3.new_code_cell(input=correct)])])))
    (folder / "binary.py").write_bytes(bytes(range(256)) * 40)
    (folder / "latin1.py").write_bytes("ANSWER_1A = 'Vortrainiertes Modell: großer Korpus'\n".encode("latin-1"))
    (folder / "empty.py").write_text("")
    (folder / "no_cells.ipynb").write_text(json.dumps(v4.new_notebook()))
    big = v4.new_notebook(cells=[v4.new_code_cell(correct, outputs=[
        v4.new_output("stream", name="stdout", text="x" * 100_000_000)])])
    (folder / "huge_outputs.ipynb").write_text(json.dumps(big))
    (folder / "fine.py").write_text(correct)

    out = tmp_path / "out"
    summary = main(submissions=folder, out=out, jobs=2)
    book = pd.read_csv(out / "gradebook.csv").set_index("student")
    status = book["status"].str.removesuffix(UNSANDBOXED)
    results = pd.read_csv(out / "results.csv")
    reason = {student: rows["feedback"].iloc[0] for student, rows in results.groupby("student")}

    assert set(book.index) == {"truncated", "not_json", "old_format", "binary", "latin1", "empty",
                               "no_cells", "huge_outputs", "fine"}
    assert status["truncated"] == "unreadable" and "not a readable notebook" in reason["truncated"]
    assert status["not_json"] == "unreadable" and "re-save it from Jupyter" in reason["not_json"]
    assert status["binary"] == "unreadable"
    assert status["latin1"] == "unreadable" and "not UTF-8" in reason["latin1"]
    assert status["empty"] == "empty" and book.loc["empty", "total"] == 0
    assert reason["empty"] == "the file empty.py has no code and no answers"
    assert status["no_cells"] == "empty" and reason["no_cells"] == "the notebook no_cells.ipynb has no code and no answers"
    assert set(results[results["student"] == "empty"]["outcome"]) == {"missing"}
    full = book.loc["fine", "total"]
    assert full == book["max_total"].iloc[0]
    assert book.loc["huge_outputs", "total"] == full  # a 100 MB output costs nothing
    assert book.loc["old_format", "total"] == full  # nbformat 3 is converted, not refused
    assert summary.count("unreadable") == 4


# ---------------------------------------------------------------- what one student controls, nobody else pays for


def _read(out):
    book = pd.read_csv(out / "gradebook.csv", dtype={"student": str}, keep_default_na=False).set_index("student")
    results = pd.read_csv(out / "results.csv", dtype={"student": str}, keep_default_na=False)
    return book, results


def test_a_poisoned_clock_does_not_cost_anyone_their_gradebook(tmp_path, monkeypatch):
    """A student who sets `time.perf_counter = lambda: nan` reports NaN seconds; stored as
    NULL in a NOT NULL column, it failed the whole run, for everyone, on every rerun."""
    from grader.runner import Runner

    real_run = Runner.run

    def poisoned(self, submission, requests):
        report = real_run(self, submission, requests)
        if submission.student == "mallory":
            report.seconds, report.code_seconds = float("inf"), float("nan")
        return report

    monkeypatch.setattr(Runner, "run", poisoned)
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "mallory.py").write_text("x = 1\n")
    (folder / "alice.py").write_text("x = 1\n")
    out = tmp_path / "out"
    main(submissions=folder, out=out, jobs=1)
    book, _ = _read(out)
    assert sorted(book.index) == ["alice", "mallory"]
    with sqlite3.connect(out / "grade.db") as db:
        assert db.execute("select count(*) from runs where finished is not null").fetchone() == (1,)
        assert db.execute("select code_seconds, seconds from students where student = 'mallory'").fetchone() == (0, 0)
    main(submissions=folder, out=out, jobs=1)  # and the rerun, from the kept results
    assert sorted(_read(out)[0].index) == ["alice", "mallory"]


def test_names_no_file_can_hold_still_get_a_row_and_feedback(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    names = ["x" * 240, "new\nline", "José", "tab\there", "<img src=x onerror=alert(1)>"]
    for name in names:
        (folder / f"{name}.py").write_text("x = 1\n")
    os.close(os.open(os.fsencode(folder) + b"/latin\xe9.py", os.O_CREAT | os.O_WRONLY))
    os.mkfifo(folder / "pipe.py")
    (folder / "raises.py").write_text("raise ValueError('\\ud800 not text')\n")
    out = tmp_path / "out"
    summary = main(submissions=folder, out=out, jobs=2)

    book, results = _read(out)
    assert len(book) == len(summary.students) == len(names) + 3
    assert all(len(student.encode()) <= 100 and "\n" not in student and "\t" not in student for student in book.index)
    assert "José" in book.index and "<img src=x onerror=alert(1)>" in book.index  # printable ids stay readable
    assert base(book.loc["pipe", "status"]) == "unreadable"
    assert base(book.loc["raises", "status"]) == "load_error"
    assert "ValueError: \ufffd not text" in (out / "feedback" / "raises.md").read_text(encoding="utf-8")
    feedback = sorted(p.name for p in (out / "feedback").iterdir())
    assert len(feedback) == 2 * len(book)
    assert all(len(name.encode()) <= 80 and not name.startswith(".") for name in feedback)
    assert len(list((out / ".grade" / "results").iterdir())) == len(book)


def test_one_submission_that_trips_up_the_grader_costs_only_its_own_row(tmp_path, monkeypatch):
    from grader.store import ResultStore

    real_key = ResultStore.key

    def key(self, submission):
        if submission.student == "bad" and not getattr(self, "_tripped", False):
            self._tripped = True
            raise RuntimeError("something no one foresaw")
        return real_key(self, submission)

    monkeypatch.setattr(ResultStore, "key", key)
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in ("alice", "bad", "carol"):
        (folder / f"{name}.py").write_text("x = 1\n")
    out = tmp_path / "out"
    main(submissions=folder, out=out, jobs=1)
    book, results = _read(out)
    assert sorted(book.index) == ["alice", "bad", "carol"]
    assert base(book.loc["bad", "status"]) == "error"
    assert "something no one foresaw" in results[results["student"] == "bad"]["feedback"].iloc[0]
    assert base(book.loc["alice", "status"]) == base(book.loc["carol", "status"]) == "ok"


def test_huge_answers_leave_bounded_outputs(tmp_path):
    """Fourteen 10 MB answers from a 1 KB file wrote 281 MB per run and grew grade.db by
    147 MB on every rerun; each answer is now cut at 20,000 characters, with a note."""
    names = [f"ANSWER_{q.upper()}" for q in ("1a", "1b", "1d", "1e", "1f", "2a", "2c", "2d", "2e", "2f", "2g",
                                                "3a", "3b", "3c")]
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "flood.py").write_text("".join(f"{name} = 'pre-training ' + 'x' * 10_000_000\n" for name in names))
    out = tmp_path / "out"
    main(submissions=folder, out=out, jobs=1)
    first = (out / "grade.db").stat().st_size
    main(submissions=folder, out=out, jobs=1, force=True)
    grown = (out / "grade.db").stat().st_size - first
    assert grown < 1_000_000
    (kept,) = (out / ".grade" / "results").iterdir()
    assert kept.stat().st_size < 1_000_000
    assert sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) < 3_000_000
    _, results = _read(out)
    texts = results[results["check"] == "answer"]
    assert len(texts) == 14 and texts["feedback"].str.contains("truncated at 20,000 characters").all()
