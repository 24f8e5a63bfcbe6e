"""The class's free-text answers and suggestions on disk while a run lasts (grader/answerbook.py):
the same suggestions as the class held in memory, no memory that grows with the class, and
nothing left behind for the next run to take."""

from __future__ import annotations

import csv
import functools
import os
import tracemalloc

import pytest

from conftest import EXAMPLES, ROOT
from grader.answerbook import AnswerBook
from grader.cli import main
from grader.kinds.text import judge_text
from grader.pipeline import _in_order
from grader.rubric import load_rubric
from grader.scoring import StudentResult
from grader.suggestions import Suggestions, unscored
from test_text_learning import STRONG_CLASS, WEAK_CLASS

RUBRIC = ROOT / "rubrics" / "ex07.yaml"


@pytest.fixture(scope="module")
def rubric():
    return load_rubric(RUBRIC)


def _class(rubric):
    """Results of a class answering two free-text checks: weak and strong answers, a name and
    an answer with a lone surrogate, an empty answer, a student off the roster."""
    texts = [(q, c) for q, c in rubric.checks() if c.kind == "text"][:2]
    answers = WEAK_CLASS + STRONG_CLASS + ["broken \udcff text", ""]
    results = {}
    for i, text in enumerate(answers):
        name = "s\udce9" if i == 3 else f"s{i:02d}"
        checks = tuple(judge_text(q, c, text if n == 0 else text[::-1], f"`ANSWER_{q.id.upper()}`", suggest=False)
                       for n, (q, c) in enumerate(texts))
        results[name] = StudentResult(name, "ok", checks)
    return texts, results


def test_the_class_kept_on_disk_gets_the_suggestions_the_class_in_memory_gets(rubric, tmp_path):
    texts, results = _class(rubric)
    where = (texts[0][0].id, texts[0][1].id)
    enrolled = set(list(results)[:-3])  # the last three handed in under ids not on the roster
    decided = {("s01", *where)}  # a reviewer scored s01's first answer
    options = dict(decided=decided, enrolled=enrolled)
    in_memory = Suggestions(rubric, {s: unscored(r) for s, r in results.items()}, **options)
    book = AnswerBook(tmp_path / "answers.db")
    for position, (student, result) in enumerate(results.items()):
        book.add(position, student, unscored(result))
    book.flush()
    on_disk = Suggestions(rubric, book, **options)
    on_disk.score_all(copies=2)  # two forked copies, each writing its check to the file
    assert book.is_scored(where) and book.digest(where) is not None
    for student, result in results.items():
        assert on_disk.fill(result) == in_memory.fill(result), student
    for q, c in texts:
        assert on_disk.digest((q.id, c.id)) == in_memory.digest((q.id, c.id))
    outsider = StudentResult("yan", "ok", (judge_text(*texts[0], STRONG_CLASS[1], "`X`", suggest=False),))
    assert on_disk.fill(outsider) == in_memory.fill(outsider)  # placed among the class, moving nobody
    book.clear()
    assert list(tmp_path.iterdir()) == []


def test_answers_waiting_for_their_suggestion_take_no_memory_that_grows_with_the_class(tmp_path):
    book = AnswerBook(tmp_path / "answers.db")
    answer = "An answer of some length. " * 200  # 5 KB
    tracemalloc.start()
    try:
        for position in range(4000):  # 20 MB of answers
            book.add(position, f"s{position:05d}", {("1a", "answer"): answer + str(position)})
        book.flush()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, peak
    members = book.members(("1a", "answer"))
    assert len(members) == 4000 and members["s03999"] == answer + "3999"
    assert list(members)[:3] == ["s00000", "s00001", "s00002"]  # in the class's order
    book.clear()


def test_submissions_are_handed_to_the_threads_a_window_at_a_time_and_a_slow_one_holds_up_only_itself():
    import threading
    from concurrent.futures import ThreadPoolExecutor

    others = threading.Event()
    outstanding, most, lock = [0], [0], threading.Lock()

    class Counting(ThreadPoolExecutor):
        def submit(self, fn, *args):
            with lock:
                outstanding[0] += 1
                most[0] = max(most[0], outstanding[0])
            future = super().submit(fn, *args)
            future.add_done_callback(lambda _: self._finished())
            return future

        def _finished(self):
            with lock:
                outstanding[0] -= 1

    def work(position):
        if position == 0:  # an endless loop's timeout: the others go on meanwhile
            return others.wait(timeout=20)
        if position == 499:
            others.set()
        return position * 2

    with Counting(max_workers=4) as pool:
        assert _in_order(pool, lambda p: functools.partial(work, p), 500, 12) == [True] + [2 * p for p in range(1, 500)]
    assert most[0] <= 12


def test_the_first_failure_of_a_submission_is_raised():
    from concurrent.futures import ThreadPoolExecutor

    from grader.errors import OutputError

    def work(position):
        if position == 30:
            raise OutputError("disk full")
        return position

    with ThreadPoolExecutor(max_workers=4) as pool, pytest.raises(OutputError, match="disk full"):
        _in_order(pool, lambda p: functools.partial(work, p), 500, 12)


def test_a_killed_runs_answers_and_suggestions_are_swept_not_taken(tmp_path):
    clean, out = tmp_path / "clean", tmp_path / "out"
    main(submissions=EXAMPLES, rubric=RUBRIC, out=clean, jobs=2)
    # a run killed after suggesting left its file; its suggestions give everyone full points
    book = AnswerBook(out / ".grade" / "answers.db")
    rubric = load_rubric(RUBRIC)
    for q, c in rubric.checks():
        if c.kind == "text":
            full = [c.points, c.points, [], 1.0, [], "forged", []]
            book.put_scored((q.id, c.id), {student: full for student in ("alice", "bob", "carol", "dave", "erin", "nina")}, "forged")
    book.add(0, "alice", {("1a", "answer"): "forged"})
    book.release()
    main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)
    assert not (out / ".grade" / "answers.db").exists()
    with open(clean / "results.csv", newline="") as a, open(out / "results.csv", newline="") as b:
        assert list(csv.reader(a)) == list(csv.reader(b))
    assert "forged" not in (out / "results.csv").read_text()


def test_a_copy_opens_its_own_connection(tmp_path):
    """SQLite forbids using a connection across fork: a forked copy opens its own."""
    book = AnswerBook(tmp_path / "answers.db")
    book.add(0, "ann", {("1a", "answer"): "text"})
    book.flush()
    inherited = book._db()
    pid = os.fork()
    if pid == 0:
        os._exit(0 if book._db() is not inherited and book.of_student("ann") == {("1a", "answer"): ("text", None)} else 1)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    book.clear()


def test_a_file_that_cannot_be_written_is_a_one_line_output_error(tmp_path):
    from grader.errors import OutputError

    blocker = tmp_path / "taken"
    blocker.write_text("a file where the folder would be")
    book = AnswerBook(blocker / "answers.db")
    with pytest.raises(OutputError, match="cannot keep the class's free-text answers there"):
        book.add(0, "ann", {("1a", "answer"): "text"})
        book.flush()


def test_a_second_run_into_a_folder_being_written_stops_before_it_sweeps_anything(tmp_path):
    import subprocess
    import sys
    import time

    from grader.errors import OutputError

    out = tmp_path / "out"
    (out / ".grade").mkdir(parents=True)
    aside = out / ".grade" / "answers.db"
    aside.write_bytes(b"the running run's answers")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"f = open({str(out / '.grade' / 'run.lock')!r}, 'a+')\n"
        "fcntl.flock(f, fcntl.LOCK_EX)\n"
        "f.truncate(0); f.write(str(os.getpid())); f.flush()\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputError, match=f"another grade run \\(process {holder.pid}\\) is writing there"):
            main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)
        assert aside.read_bytes() == b"the running run's answers"  # nothing of it swept
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)  # the folder is free again
    assert not aside.exists() and (out / "gradebook.csv").is_file()


def test_the_folder_lock_is_never_taken_through_a_link(tmp_path):
    from grader.errors import OutputError

    out, elsewhere = tmp_path / "out", tmp_path / "notes.txt"
    (out / ".grade").mkdir(parents=True)
    elsewhere.write_text("an instructor's notes")
    (out / ".grade" / "run.lock").symlink_to(elsewhere)
    with pytest.raises(OutputError, match="cannot write the results there"):
        main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)
    assert elsewhere.read_text() == "an instructor's notes"


def test_the_folder_lock_is_never_another_files_hard_link(tmp_path):
    from grader.errors import OutputError

    out, elsewhere = tmp_path / "out", tmp_path / "notes.txt"
    (out / ".grade").mkdir(parents=True)
    elsewhere.write_text("an instructor's notes")
    os.link(elsewhere, out / ".grade" / "run.lock")
    with pytest.raises(OutputError, match="not this folder's own lock file"):
        main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)
    assert elsewhere.read_text() == "an instructor's notes"


def test_a_full_disk_is_named_as_the_cause(tmp_path):
    from grader.errors import OutputError

    book = AnswerBook(tmp_path / "answers.db")
    book.add(0, "ann", {("1a", "answer"): "text"})
    book.flush()
    book._db().execute("pragma max_page_count = 8")  # as full as a disk can be
    with pytest.raises(OutputError, match="full"):
        for position in range(1, 2000):
            book.add(position, f"s{position}", {("1a", "answer"): "an answer " * 100})
    book._waiting.clear()
    with pytest.raises(OutputError, match="full"):
        book.put_scored(("1a", "answer"), {f"s{i}": [1.0, 2.0, [], 0.5, [], "x" * 500, []] for i in range(2000)})
    assert book.of_student("ann") == {("1a", "answer"): ("text", None)}  # what was written stays


def test_a_run_that_cannot_start_lets_the_folder_go(tmp_path):
    from grader.errors import OutputError

    out = tmp_path / "out"
    planted = out / ".grade" / "answers.db"
    planted.mkdir(parents=True)  # a folder where the run's file goes
    with pytest.raises(OutputError) as failed:
        main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)
    planted.rmdir()
    main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)  # while the failure is still held
    assert failed.value is not None and (out / "gradebook.csv").is_file()


def test_a_write_sqlite_rolled_back_itself_raises_its_own_error(tmp_path):
    """A full disk makes SQLite roll the transaction back itself: rolling back again would
    raise "no transaction is active" and hide the cause."""
    import sqlite3

    book = AnswerBook(tmp_path / "answers.db")
    with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
        with book._lock, book._transaction() as db:
            db.execute("insert into digests values ('1a', 'answer', 'x')")
            db.execute("rollback")  # what SQLite does on SQLITE_FULL
            raise sqlite3.OperationalError("database or disk is full")
    assert book.digest(("1a", "answer")) is None
