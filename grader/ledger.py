"""The gradebook's memory: one SQLite file in the output folder (`grade.db`).

It records every grading run with every check result, and every manual score with who gave
it, when, and for which version of the answer (a hash of its text). Manual scores are never
overwritten: a new one is a new row, and the latest per check counts. Automatic results may
change with every regrade; manual ones stay, and win, as long as they were given for the
answer the student has now. If the answer changed, the check is flagged for re-review.

What goes in is checked on the way, whoever built it: times are finite and non-negative
(a student who poisons their clock gets 0, not a NULL that would fail the whole run), texts
encode as UTF-8 and are cut to a bounded length, points are finite numbers.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
import threading
from collections.abc import Iterable
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
create table if not exists results (
    run integer not null references runs(id), student text not null, question text not null,
    check_id text not null, kind text not null, auto_points real not null, max_points real not null,
    outcome text not null, feedback text not null, answer text, answer_hash text not null,
    mistake text, visibility text not null, confidence real, flags text
);
create table if not exists students (
    run integer not null references runs(id), student text not null, status text not null,
    seconds real not null, code_seconds real not null, problem text not null
);
create index if not exists results_by_run on results(run, question);
create table if not exists manual (
    id integer primary key, student text not null, question text not null, check_id text not null,
    points real not null, comment text not null default '', reviewer text not null, at text not null,
    answer_hash text not null
);
create index if not exists manual_by_check on manual(student, question, check_id, id);
create index if not exists results_by_answer on results(student, question, check_id, answer_hash);
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


class Ledger:
    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / "grade.db"
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._lock = threading.Lock()
        with self._db:
            self._db.executescript(SCHEMA)
            columns = {row[1] for row in self._db.execute("pragma table_info(results)")}
            for column, kind in (("confidence", "real"), ("flags", "text")):  # a ledger of an earlier version
                if column not in columns:
                    self._db.execute(f"alter table results add column {column} {kind}")

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------ runs

    def record_run(self, rubric_title: str, students: Iterable[StudentResult]) -> int:
        """One run and all its results, in one transaction (all or nothing)."""
        with self._lock, self._db:
            run = self._db.execute("insert into runs (started, rubric) values (?, ?)", (now(), rubric_title)).lastrowid
            count = 0
            for student in students:
                count += 1
                name = _text(student.student)
                self._db.executemany(
                    "insert into results (run, student, question, check_id, kind, auto_points, max_points, outcome, "
                    "feedback, answer, answer_hash, mistake, visibility, confidence, flags) "
                    "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(run, name, _text(c.question), _text(c.check), _text(c.kind), _points(c.auto_points),
                      _points(c.max_points), _text(c.outcome), _text(c.feedback, 2 * FEEDBACK_CHARS),
                      None if c.answer is None else _text(c.answer, MAX_TEXT), answer_hash(c.answer),
                      None if c.mistake is None else _text(c.mistake), _text(c.visibility),
                      None if c.confidence is None else _points(c.confidence),
                      None if c.flags is None else _text(c.flags))
                     for c in student.checks])
                self._db.execute("insert into students values (?, ?, ?, ?, ?, ?)",
                                 (run, name, _text(student.status), seconds(student.seconds),
                                  seconds(student.code_seconds), _text(student.problem, 2 * PROBLEM_CHARS)))
            self._db.execute("update runs set finished = ?, students = ? where id = ?", (now(), count, run))
        return run

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
            "select m.question, m.check_id, m.points, (select r.answer from results r where r.student = m.student "
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
