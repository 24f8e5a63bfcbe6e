"""The output folder: each student's feedback, then the gradebook, results.csv and the run in the ledger.

What a student is shown depends on their kept result, the reviews that apply to it (their own
manual scores), the free-text suggestions made with the class's answers and fitted to the
answers reviewers scored (suggestions.py), when they handed in, whether they are on the
roster, and the rubric (part of the kept result's key). The ledger remembers per student (its
table `shown`) a digest of these inputs, a digest of what the feedback showed, the gradebook
row, the rows of results.csv, the answers awaiting a suggestion and the id of the kept result
the run referred to.

A student whose inputs did not change costs a look-up: their kept result is not read, their
feedback is neither rendered nor written, their rows of results.csv are copied, and the run
refers to the kept result. A student whose inputs changed is shown again from their result,
and their feedback files are written only when what they show changed.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import stat
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from . import __version__, timing
from .errors import OutputError
from .feedback import render_html, render_markdown
from .gradebook import gradebook_text, results_file, results_text, write_atomically
from .ledger import Ledger, apply_manual, kept_rows
from .record import record_of, write_record
from .reference import Plan
from .scoring import StudentResult, StudentRow, row_of
from .spool import Spool
from .answerbook import AnswerBook
from .submissions import Submission
from .suggestions import Suggestions, unscored
from .untrusted import file_stem

NOT_ON_ROSTER = " (not on roster)"


class Outputs:
    """The output folder: each student's feedback as soon as it is graded, then the
    gradebook and the results. Only a small row per student stays in memory."""

    def __init__(self, plan: Plan, out: Path, manual: dict | None = None) -> None:
        self.plan = plan
        self.out = out
        self.manual = manual or {}  # reviewers' scores from the ledger; they win over automatic ones
        # answers reviewers scored, per (question, check): free-text suggestions are fitted to them
        self.reviewed: dict[tuple[str, str], list] = {}
        self.suggestions: Suggestions | None = None  # the class's free-text suggestions (`suggest`)
        self.times: dict[str, datetime] = {}  # when each student handed in, for the late policy
        self.roster: set[str] | None = None  # enrolled ids; others are flagged
        self.record = record_of(plan.rubric)  # the rubric file as it is when grading starts
        self.ledger: Ledger | None = None  # where earlier runs left what they showed each student
        self.written = 0  # feedback files this run wrote
        self._lock = threading.Lock()
        self._last: dict[str, str] | None = None  # what the last run showed, per student (JSON text)
        # what this run shows, per student: the id of the kept result it refers to when the
        # student is as last time, else where their ledger entry, rows of results.csv and
        # result as the ledger keeps it were set aside (spool.py): not in memory
        self._entries: dict[str, int | list] = {}
        self._spool = Spool(out / ".grade" / "spool")
        # every student's answers awaiting a suggestion, and then the suggestions: on disk
        self.answers = AnswerBook(out / ".grade" / "answers.db")
        self._own_manual: dict[str, list] | None = None
        self._held = None  # the folder's lock while this run writes it (`prepare`, `close`)

    def prepare(self) -> None:
        """Make sure results can be written before anything is graded, hold the folder for
        this run (`close` lets it go), and sweep away the temporary files of a run that was
        killed halfway through writing one."""
        try:
            (self.out / ".grade").mkdir(parents=True, exist_ok=True)
            self._hold()
            for leftover in [*self.out.glob(".*.tmp"), *self.out.glob("*/.*.tmp"),
                             *self.out.glob(".grade/*/.*.tmp")]:
                leftover.unlink(missing_ok=True)
            self._spool.clear()
            self.answers.clear()
            probe = self.out / ".grade" / ".writable"
            probe.write_text("")
            probe.unlink()
        except BaseException as exc:
            self.close()  # a run that cannot start holds nothing
            if isinstance(exc, OSError):
                raise self._error(exc) from None
            raise

    def close(self) -> None:
        """Let the folder go: the run is written, or failed."""
        if self._held is not None:
            self._held.close()
            self._held = None

    def _hold(self) -> None:
        """Hold OUT/.grade/run.lock while this run writes the folder (the kernel lets it go
        when the run ends, however it ends): a second run into the same folder would sweep
        away what this one set aside (its spool, the class's answers) and mix its results in."""
        if self._held is not None:
            return
        path = self.out / ".grade" / "run.lock"
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)  # never through a link
        handle = os.fdopen(descriptor, "r+", encoding="ascii", errors="replace")
        state = os.fstat(descriptor)
        if not stat.S_ISREG(state.st_mode) or state.st_nlink != 1:  # a hard link: another file's name too
            handle.close()
            raise OutputError(f"{path}: not this folder's own lock file (a link to another file?); "
                              "remove it, or choose another folder with --out")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read(20).strip()
            handle.close()
            raise OutputError(f"{self.out}: another grade run{f' (process {holder})' if holder.isascii() and holder.isdigit() else ''} "
                              "is writing there; wait for it to end, or choose another folder with --out") from None
        handle.seek(0)
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        self._held = handle

    def fitted(self, result: StudentResult) -> StudentResult:
        """The result as the ledger keeps it: free-text points suggested, reviewers' scores apart."""
        if self.suggestions is None:
            self.suggest({result.student: unscored(result)})
        return self.suggestions.fill(result)

    def suggest(self, answers: dict[str, dict[tuple[str, str], str]] | None = None) -> None:
        """Free-text points are suggested with the class's answers (every student's
        `unscored`; by default those `answers.add` kept), before any student is shown."""
        if answers is None:
            self.answers.flush()
        self.suggestions = Suggestions(self.plan.rubric, self.answers if answers is None else answers,
                                       self.reviewed, self.manual.keys(), self.roster)

    # ------------------------------------------------------------ one student

    def last_answers(self, submission: Submission, key: str, stamp: list[int] | None) -> dict | None:
        """The answers awaiting a suggestion that the last run showed this student with,
        when their kept result is still the one it showed; else None (grade it, or read it)."""
        _, answers = self._last_of(submission.student, key, stamp)
        return answers

    def unchanged(self, submission: Submission, key: str, stamp: list[int] | None) -> StudentRow | None:
        """The student's row as the last run showed it, when nothing it depends on changed
        since (and their feedback files are still there); else None."""
        entry, answers = self._last_of(submission.student, key, stamp)
        if answers is None or entry.get("inputs") != self._inputs(submission.student, key, entry.get("refit")):
            return None
        if not all(path.is_file() for path in self._pages(submission.student)):
            return None
        try:
            row = _row_from(entry["row"])
        except (KeyError, TypeError, ValueError):
            return None
        with self._lock:
            self._entries[submission.student] = entry["kept"]
        return row

    def add(self, result: StudentResult, key: str = "", stamp: list[int] | None = None) -> StudentRow:
        """Show a result: its row, and its feedback pages unless they show this already; its
        rows of results.csv and the result as the ledger keeps it are set aside (spool.py)."""
        answers = unscored(result)
        refittable = sorted([question, check] for question, check in answers)
        with timing.stage("free-text suggestions, reviews"):
            fitted = self.fitted(result)
            result = apply_manual(fitted, self.manual)
        row = row_of(self.plan.rubric, result, self.times.get(result.student))
        if self.roster is not None and result.student not in self.roster:
            row = replace(row, status=row.status + NOT_ON_ROSTER)
        shown = _digest(__version__, result.as_data(), _row_json(row))
        last = self._last_entry(result.student) or {}
        pages = self._pages(result.student)
        if last.get("shown") != shown or not all(path.is_file() for path in pages):
            with timing.stage("feedback: render"):
                markdown = render_markdown(self.plan.rubric, result, row)
                html = render_html(self.plan.rubric, result, row, markdown)
            try:
                with timing.stage("feedback: write"):
                    write_atomically(pages[0], markdown)
                    write_atomically(pages[1], html)
            except OSError as exc:
                raise self._error(exc) from None
            with self._lock:
                self.written += 2
        entry = {"key": key, "stamp": stamp, "inputs": self._inputs(result.student, key, refittable),
                 "refit": refittable, "answers": [[*where, answer] for where, answer in sorted(answers.items())],
                 "shown": shown, "row": _row_json(row)}
        try:
            with timing.stage("results.csv and ledger rows"):
                aside = self._spool.put({"entry": entry, "csv": results_text(result, self.plan.rubric.count_suggested),
                                         "ledger": kept_rows(fitted)})
        except OSError as exc:
            raise self._error(exc) from None
        with self._lock:
            self._entries[result.student] = aside
        return row

    # ------------------------------------------------------------ shown elsewhere (showing.py)

    def ready_to_fork(self, copies: int) -> None:
        """Make now what showing any student reads, so that copies of the grader forked
        after this show students without making it each again: every check's suggestions
        (made by `copies` copies at once), the last run's entries, the reviewers' scores
        per student."""
        if self.suggestions is not None:
            with timing.stage("free-text suggestions, reviews"):
                self.suggestions.score_all(copies)
        self._last_run()
        self._manual_of("")
        self.answers.release()

    def aside_of(self, student: str) -> list:
        """Where what this run keeps of a student it showed afresh was set aside (spool.py)."""
        with self._lock:
            return self._entries[student]

    def take(self, student: str, aside: list, written: int) -> None:
        """A student another copy of the grader showed afresh: where it set aside what this
        run keeps of them (`aside_of`), and the files it wrote."""
        with self._lock:
            self._entries[student] = aside
            self.written += written

    @staticmethod
    def row_json(row: StudentRow) -> dict:
        """A row as plain data (as the ledger keeps it), and back (`row_from`)."""
        return _row_json(row)

    @staticmethod
    def row_from(data: dict) -> StudentRow:
        return _row_from(data)

    # ------------------------------------------------------------ the whole class

    def finish(self, rows: list[StudentRow], submissions: Iterable[Submission], ledger: Ledger | None = None) -> None:
        """gradebook.csv from the rows; in one pass over the submissions (same order, every
        one of them shown by this run): results.csv with the reviewers' scores applied, and
        the run in the ledger (one transaction; a failure leaves the previous results.csv
        and ledger as they were). An unchanged student's rows are copied and their kept
        result referred to; the others' rows and results, made when they were shown, are
        read back from where they were set aside (spool.py). Last, the folder's record of
        the rubric (record.py)."""
        try:
            with timing.stage("gradebook.csv"):
                write_atomically(self.out / "gradebook.csv", gradebook_text(self.plan.rubric, rows))
            started = time.perf_counter()
            with results_file(self.out / "results.csv") as add:
                recording = ledger.recording(self.plan.rubric.title) if ledger is not None else _NoRun()
                with recording as run:
                    for submission in submissions:
                        shown = self._entries[submission.student]
                        if type(shown) is int:  # as last time (only a ledger says so)
                            add(ledger.shown_csv(submission.student))
                            run.refer(shown)
                            continue
                        made = self._spool.get(shown)  # shown afresh: made then, and set aside
                        kept = run.add_kept(*made["ledger"])
                        add(made["csv"])
                        run.show(submission.student, {**made["entry"], "kept": kept}, made["csv"])
            self._spool.clear()
        except OSError as exc:
            raise self._error(exc) from None
        self.answers.clear()
        timing.add("results.csv and ledger", time.perf_counter() - started)
        write_record(self.out, self.record)

    # ------------------------------------------------------------ internals

    def _pages(self, student: str) -> tuple[Path, Path]:
        stem = file_stem(student)  # never a path, never too long, whatever the id
        return self.out / "feedback" / f"{stem}.md", self.out / "feedback" / f"{stem}.html"

    def _last_run(self) -> dict[str, str]:
        with self._lock:
            if self._last is None:
                self._last = self.ledger.shown() if self.ledger is not None else {}
            return self._last

    def _last_of(self, student: str, key: str, stamp: list[int] | None) -> tuple[dict, dict | None]:
        """The last run's entry of a student and the answers it showed them with, when it
        refers to the kept result `key` (of the submission as `stamp` found it) by its id;
        else None."""
        entry = self._last_entry(student) or {}
        if stamp is None or entry.get("key") != key or entry.get("stamp") != stamp \
                or type(entry.get("kept")) is not int or not isinstance(entry.get("answers"), list):
            return entry, None
        try:
            return entry, {(str(question), str(check)): str(answer) for question, check, answer in entry["answers"]}
        except (TypeError, ValueError):
            return entry, None

    def _last_entry(self, student: str) -> dict | None:
        """What the last run showed a student (their ledger entry), if it can be read."""
        text = self._last_run().get(student)
        try:
            entry = json.loads(text) if text is not None else None
        except ValueError:
            return None
        return entry if isinstance(entry, dict) else None

    def _inputs(self, student: str, key: str, refittable) -> str:
        """A digest of everything a student's outputs depend on besides their kept result
        (identified by `key`): their manual scores, what the suggestions of their free-text
        answers depend on (the class's answers, the reviewed ones), their hand-in time, their
        place on the roster."""
        with self._lock:
            suggestions = self.suggestions
            reviewed = [suggestions.digest((question, check)) if suggestions is not None else None
                        for question, check in refittable or ()]
        submitted = self.times.get(student)
        return _digest(__version__, key, self._manual_of(student), refittable or [], reviewed,
                       submitted.isoformat() if submitted else None,
                       None if self.roster is None else student in self.roster)

    def _manual_of(self, student: str) -> list:
        """The reviewers' scores of one student, as plain tuples (all students' made at once)."""
        with self._lock:
            if self._own_manual is None:
                self._own_manual = {}
                for (name, question, check), score in sorted(self.manual.items()):
                    self._own_manual.setdefault(name, []).append(dataclasses.astuple(score))
            return self._own_manual.get(student, [])

    def _error(self, exc: OSError) -> OutputError:
        return OutputError(f"{self.out}: cannot write the results there ({exc.strerror or exc}); "
                           "choose another folder with --out")


class _NoRun:
    """A run recorded nowhere (outputs without a ledger)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    def add_kept(self, digest: str, kept: list, checks: list) -> int:
        return 0

    def refer(self, kept: int) -> None:
        return None

    def show(self, student: str, entry: dict, csv: str) -> None:
        return None


def _digest(*parts) -> str:
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _row_json(row: StudentRow) -> dict:
    data = dataclasses.asdict(row)
    data["submitted"] = row.submitted.isoformat() if row.submitted else None
    return data


def _row_from(data: dict) -> StudentRow:
    submitted = datetime.fromisoformat(data["submitted"]) if data.get("submitted") else None
    # the question ids, read afresh for each row, are kept once for the whole class
    points = {sys.intern(question): points for question, points in data["points"].items()} \
        if isinstance(data.get("points"), dict) else data.get("points")
    return StudentRow(**{**data, "points": points, "submitted": submitted})
