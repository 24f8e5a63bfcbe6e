"""The gradebook's memory: one SQLite file in the output folder (`grade.db`).

It records every grading run with every check result, and every manual score with who gave
it, when, and for which version of the answer (a hash of its text). Manual scores are never
overwritten: a new one is a new row, and the latest per check counts. Automatic results may
change with every regrade; manual ones stay, and win, as long as they were given for the
answer the student has now. If the answer changed, the check is flagged for re-review.

What goes in is checked on the way, whoever built it: times are finite and non-negative
(a student who poisons their clock gets 0, not a NULL that would fail the whole run), texts
encode as UTF-8 and are cut to a bounded length, points are finite numbers.

A result is kept once (`kept`, `kept_checks`, found again by a digest of all of it), and a run
is a list of references to kept results (`run_students`): a rerun in which most results did not
change adds one small row per student, not a copy of every check. The views `results` and
`students` show every run's results as whole rows, as the tables of that name once held them
(a ledger of an earlier version is converted when it is opened). `shown` is what the last run
showed each student (outputs.py), so an unchanged student is neither rendered nor written again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from .checks import CheckResult
from .scoring import StudentResult
from .untrusted import ANSWER_CHARS, FEEDBACK_CHARS, PROBLEM_CHARS, clip, seconds

MAX_TEXT = 4 * ANSWER_CHARS  # no text column of a result takes more (a rubric may allow longer answers)

SCHEMA = """
create table if not exists runs (
    id integer primary key, started text not null, finished text, rubric text not null, students integer
);
create table if not exists kept (
    id integer primary key, digest text not null unique, student text not null, status text not null,
    seconds real not null, code_seconds real not null, problem text not null
);
create table if not exists kept_checks (
    kept integer not null references kept(id), student text not null, question text not null,
    check_id text not null, kind text not null, auto_points real not null, max_points real not null,
    outcome text not null, feedback text not null, answer text, answer_hash text not null,
    mistake text, visibility text not null, confidence real, flags text
);
create index if not exists kept_checks_by_kept on kept_checks(kept);
create index if not exists kept_checks_by_answer on kept_checks(student, question, check_id, answer_hash);
create table if not exists run_students (
    run integer not null references runs(id), position integer not null, kept integer not null references kept(id),
    primary key (run, position)
) without rowid;
create view if not exists results as
    select r.run as run, c.student, c.question, c.check_id, c.kind, c.auto_points, c.max_points, c.outcome,
           c.feedback, c.answer, c.answer_hash, c.mistake, c.visibility, c.confidence, c.flags
    from run_students r join kept_checks c on c.kept = r.kept;
create view if not exists students as
    select r.run as run, k.student, k.status, k.seconds, k.code_seconds, k.problem
    from run_students r join kept k on k.id = r.kept;
create table if not exists shown (student text primary key, entry text not null, csv text not null);
create table if not exists manual (
    id integer primary key, student text not null, question text not null, check_id text not null,
    points real not null, comment text not null default '', reviewer text not null, at text not null,
    answer_hash text not null
);
create index if not exists manual_by_check on manual(student, question, check_id, id);
"""

# A ledger written before results were kept once and referred to by each run: its `results`
# and `students` were tables with a copy per run. They become kept results, one per run and student.
LEGACY = """
insert into kept (digest, student, status, seconds, code_seconds, problem)
    select 'legacy ' || run || ' ' || rowid, student, status, seconds, code_seconds, problem from legacy_students;
insert into run_students (run, position, kept)
    select s.run, s.rowid, k.id from legacy_students s join kept k on k.digest = 'legacy ' || s.run || ' ' || s.rowid;
insert into kept_checks (kept, student, question, check_id, kind, auto_points, max_points, outcome, feedback,
                         answer, answer_hash, mistake, visibility, confidence, flags)
    select k.id, r.student, r.question, r.check_id, r.kind, r.auto_points, r.max_points, r.outcome, r.feedback,
           r.answer, r.answer_hash, r.mistake, r.visibility, r.confidence, r.flags
    from legacy_results r join kept k on k.digest = 'legacy ' || r.run || ' ' || (select min(s.rowid)
        from legacy_students s where s.run = r.run and s.student = r.student)
    order by r.rowid;
drop table legacy_results;
drop table legacy_students;
"""


@dataclass(frozen=True)
class ManualScore:
    student: str
    question: str
    check: str
    points: float
    comment: str
    reviewer: str
    answer_hash: str
    at: str = ""


def answer_hash(answer: str | None) -> str:
    return hashlib.sha256((answer or "").strip().encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _text(value: object, limit: int = 1_000) -> str:
    return clip("" if value is None else value, limit)


def _points(value: object) -> float:
    try:
        value = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def result_digest(result: StudentResult) -> str:
    """What identifies a result as the ledger keeps it: all of it, student and times included."""
    text = json.dumps(result.as_data(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def kept_rows(result: StudentResult) -> list:
    """A result as the ledger keeps it, as plain data: its digest, its row of `kept` and its
    checks' rows of `kept_checks` (`Run.add_kept`)."""
    name = _text(result.student)
    return [result_digest(result),
            [name, _text(result.status), seconds(result.seconds), seconds(result.code_seconds),
             _text(result.problem, 2 * PROBLEM_CHARS)],
            [[name, _text(c.question), _text(c.check), _text(c.kind), _points(c.auto_points), _points(c.max_points),
              _text(c.outcome), _text(c.feedback, 2 * FEEDBACK_CHARS),
              None if c.answer is None else _text(c.answer, MAX_TEXT), answer_hash(c.answer),
              None if c.mistake is None else _text(c.mistake), _text(c.visibility),
              None if c.confidence is None else _points(c.confidence), None if c.flags is None else _text(c.flags)]
             for c in result.checks]]


class Run:
    """One run being recorded: its students in order, each a reference to a kept result."""

    def __init__(self, db: sqlite3.Connection, run: int) -> None:
        self._db = db
        self.id = run
        self.count = 0

    def add(self, student: StudentResult) -> int:
        """Refer to this result, keeping it first unless an identical one is kept; its id."""
        return self.add_kept(*kept_rows(student))

    def add_kept(self, digest: str, kept: list, checks: list) -> int:
        """`add` for a result made `kept_rows` already."""
        found = self._db.execute("select id from kept where digest = ?", (digest,)).fetchone()
        number = found[0] if found else self._keep(digest, kept, checks)
        self.refer(number)
        return number

    def refer(self, kept: int) -> None:
        self._db.execute("insert into run_students (run, position, kept) values (?, ?, ?)", (self.id, self.count, kept))
        self.count += 1

    def show(self, student: str, entry: dict, csv: str) -> None:
        self._db.execute("insert or replace into shown (student, entry, csv) values (?, ?, ?)",
                         (student, json.dumps(entry), csv))

    def _keep(self, digest: str, kept: list, checks: list) -> int:
        number = self._db.execute(
            "insert into kept (digest, student, status, seconds, code_seconds, problem) values (?, ?, ?, ?, ?, ?)",
            (digest, *kept)).lastrowid
        self._db.executemany(
            "insert into kept_checks (kept, student, question, check_id, kind, auto_points, max_points, outcome, "
            "feedback, answer, answer_hash, mistake, visibility, confidence, flags) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(number, *check) for check in checks])
        return number


class Ledger:
    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / "grade.db"
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._lock = threading.Lock()
        with self._db:
            legacy = self._db.execute(
                "select 1 from sqlite_master where type = 'table' and name = 'results'").fetchone()
            if legacy:  # a ledger of an earlier version: a copy of every result per run
                columns = {row[1] for row in self._db.execute("pragma table_info(results)")}
                for column, kind in (("confidence", "real"), ("flags", "text")):
                    if column not in columns:
                        self._db.execute(f"alter table results add column {column} {kind}")
                self._db.execute("alter table results rename to legacy_results")
                self._db.execute("alter table students rename to legacy_students")
                for index in ("results_by_run", "results_by_answer"):
                    self._db.execute(f"drop index if exists {index}")
            self._db.executescript(SCHEMA)
            if legacy:
                self._db.executescript(LEGACY)

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------ runs

    def record_run(self, rubric_title: str, students: Iterable[StudentResult]) -> int:
        """One run and all its results, in one transaction (all or nothing)."""
        with self.recording(rubric_title) as run:
            for student in students:
                run.add(student)
        return run.id

    @contextlib.contextmanager
    def recording(self, rubric_title: str) -> Iterator[Run]:
        """One run, in one transaction: each student's result is added (kept once, however
        many runs it belongs to) or referred to by the id it was kept under."""
        with self._lock, self._db:
            run = Run(self._db, self._db.execute("insert into runs (started, rubric) values (?, ?)",
                                                 (now(), rubric_title)).lastrowid)
            yield run
            self._db.execute("update runs set finished = ?, students = ? where id = ?", (now(), run.count, run.id))

    def shown(self) -> dict[str, str]:
        """What the last runs showed each student (see outputs.py), without the CSV rows: as
        the JSON text kept, read when a student's entry is needed (text is smaller in memory)."""
        return {student: entry for student, entry in self._db.execute("select student, entry from shown")
                if isinstance(entry, str)}

    def shown_csv(self, student: str) -> str:
        row = self._db.execute("select csv from shown where student = ?", (student,)).fetchone()
        return row[0] if row else ""

    def latest_run(self) -> tuple[int, str] | None:
        return self._db.execute("select id, finished from runs where finished is not null "
                                "order by id desc limit 1").fetchone()

    def rows(self, sql: str, *parameters) -> list[dict]:
        cursor = self._db.execute(sql, parameters)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor]

    def latest_results(self, question: str, kind: str = "text") -> list[dict]:
        """The latest run's results for one question, one row per student and check."""
        cursor = self._db.execute(
            "select student, question, check_id, max_points, auto_points, outcome, feedback, answer, answer_hash, "
            "confidence, flags "
            "from results where run = (select max(id) from runs where finished is not null) "
            "and question = ? and kind = ? order by student, check_id", (question, kind))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor]

    # ------------------------------------------------------------ manual scores

    def add_manual(self, scores: list[ManualScore]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "insert into manual (student, question, check_id, points, comment, reviewer, at, answer_hash) "
                "values (?, ?, ?, ?, ?, ?, ?, ?)",
                [(s.student, s.question, s.check, s.points, s.comment, s.reviewer, s.at or now(), s.answer_hash)
                 for s in scores])

    def reviewed_answers(self) -> dict[tuple[str, str], list[tuple[str, float]]]:
        """Per (question, check): every answer a reviewer scored, as (answer, points), from the
        latest manual score of each student's check and the text it was given for."""
        rows = self._db.execute(
            "select m.question, m.check_id, m.points, (select r.answer from kept_checks r where r.student = m.student "
            "and r.question = m.question and r.check_id = m.check_id and r.answer_hash = m.answer_hash "
            "and r.answer is not null limit 1) from manual m where m.id = (select max(id) from manual n "
            "where n.student = m.student and n.question = m.question and n.check_id = m.check_id) "
            "order by m.question, m.check_id, m.student")
        reviewed: dict[tuple[str, str], list[tuple[str, float]]] = {}
        for question, check, points, answer in rows:
            if answer is not None and math.isfinite(points):
                reviewed.setdefault((question, check), []).append((answer, points))
        return reviewed

    def manual_scores(self) -> dict[tuple[str, str, str], ManualScore]:
        """The latest manual score of every check that has one."""
        rows = self._db.execute(
            "select student, question, check_id, points, comment, reviewer, answer_hash, at from manual m "
            "where id = (select max(id) from manual n where n.student = m.student "
            "and n.question = m.question and n.check_id = m.check_id)")
        return {(r[0], r[1], r[2]): ManualScore(*r) for r in rows}


def apply_manual(result: StudentResult, manual: dict[tuple[str, str, str], ManualScore]) -> StudentResult:
    """The result with its manual scores: they win while the answer is the one reviewed;
    a changed answer keeps the automatic suggestion and is flagged for re-review."""
    if not manual:
        return result
    checks = []
    for check in result.checks:
        score = manual.get((result.student, check.question, check.check))
        checks.append(check if score is None else _with_manual(check, score))
    return replace(result, checks=tuple(checks))


def _with_manual(check: CheckResult, score: ManualScore) -> CheckResult:
    if score.answer_hash != answer_hash(check.answer):
        return replace(check, outcome="needs_rereview", feedback=(
            f"{check.feedback} A reviewer ({score.reviewer}) gave {score.points:g} points to an earlier "
            "version of this answer; it has changed since, so it needs reviewing again."))
    comment = f" Reviewer's comment: {score.comment}" if score.comment else ""
    return replace(check, manual_points=score.points, reviewer=score.reviewer, comment=score.comment,
                   outcome="reviewed", feedback=f"Reviewed by {score.reviewer}: {score.points:g}/{check.max_points:g}.{comment}")
