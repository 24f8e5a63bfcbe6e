"""Grading a folder, step by step: plan, discover, run and judge each submission, write.

Each step is one function so the order is visible and a step can be swapped in tests
(the runner is injected, the way pypa/build injects its subprocess runner).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from .checks import CheckResult
from .errors import OutputError
from .feedback import render_html, render_markdown
from .gradebook import gradebook_frame, results_file, write_atomically, write_csv
from .ledger import Ledger, apply_manual
from .record import record_of, write_record
from .reference import Plan
from .followon import with_follow_on
from .kinds import kind_of
from .kinds.text import MatchBudget, refit
from .runner import Aborted, Request, RunReport, Runner
from .store import ResultStore
from .scoring import UNSANDBOXED, StudentResult, StudentRow, base_status, row_of, run_status
from .submissions import Submission, read_submission
from .untrusted import (FEEDBACK_CHARS, MAX_NOTES, NOTE_CHARS, PROBLEM_CHARS, clean_text, clip, file_stem,
                        seconds)


NOT_ON_ROSTER = " (not on roster)"


@dataclass
class Summary:
    students: list[StudentRow]
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for s in self.students if base_status(s.status) == status)

    @property
    def unsandboxed(self) -> int:
        return sum(1 for s in self.students if s.status.endswith(UNSANDBOXED))

    @property
    def to_review(self) -> int:
        return sum(s.to_review for s in self.students)


class Outputs:
    """The output folder: each student's feedback as soon as it is graded, then the
    gradebook and the results. Only a small row per student stays in memory."""

    def __init__(self, plan: Plan, out: Path, manual: dict | None = None) -> None:
        self.plan = plan
        self.out = out
        self.manual = manual or {}  # reviewers' scores from the ledger; they win over automatic ones
        # answers reviewers scored, per (question, check): free-text suggestions are fitted to them
        self.reviewed: dict[tuple[str, str], list] = {}
        self.times: dict[str, datetime] = {}  # when each student handed in, for the late policy
        self.roster: set[str] | None = None  # enrolled ids; others are flagged
        self.record = record_of(plan.rubric)  # the rubric file as it is when grading starts

    def prepare(self) -> None:
        """Make sure results can be written before anything is graded, and sweep away the
        temporary files of a run that was killed halfway through writing one."""
        try:
            (self.out / ".grade").mkdir(parents=True, exist_ok=True)
            for leftover in [*self.out.glob(".*.tmp"), *self.out.glob("*/.*.tmp"),
                             *self.out.glob(".grade/*/.*.tmp")]:
                leftover.unlink(missing_ok=True)
            probe = self.out / ".grade" / ".writable"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise self._error(exc) from None

    def reviewed_result(self, result: StudentResult) -> StudentResult:
        """A result as the outputs show it: the reviewers' scores applied, and every other
        free-text suggestion fitted to the answers they scored (kinds/text.py)."""
        return apply_manual(refit(result, self.plan.rubric, self.reviewed, self.manual.keys()), self.manual)

    def add(self, result: StudentResult) -> StudentRow:
        result = self.reviewed_result(result)
        stem = file_stem(result.student)  # never a path, never too long, whatever the id
        row = row_of(self.plan.rubric, result, self.times.get(result.student))
        try:
            write_atomically(self.out / "feedback" / f"{stem}.md", render_markdown(self.plan.rubric, result, row))
            write_atomically(self.out / "feedback" / f"{stem}.html", render_html(self.plan.rubric, result, row))
        except OSError as exc:
            raise self._error(exc) from None
        if self.roster is not None and result.student not in self.roster:
            row = replace(row, status=row.status + NOT_ON_ROSTER)
        return row

    def finish(self, rows: list[StudentRow], results: Iterable[StudentResult], ledger: Ledger | None = None) -> None:
        """gradebook.csv from the rows; in one pass over `results` (the kept results, same
        order): results.csv with the reviewers' scores applied, and the raw run in the ledger
        (one transaction; a failure leaves the previous results.csv and ledger as they were).
        Last, the folder's record of the rubric it was graded with (record.py)."""
        try:
            write_csv(gradebook_frame(self.plan.rubric, rows), self.out / "gradebook.csv")
            with results_file(self.out / "results.csv", self.plan.rubric.count_suggested) as add:
                def written():  # the ledger keeps the run's results, suggestions fitted as shown
                    for result in results:
                        fitted = refit(result, self.plan.rubric, self.reviewed, self.manual.keys())
                        add(apply_manual(fitted, self.manual))
                        yield fitted

                if ledger is not None:
                    ledger.record_run(self.plan.rubric.title, written())
                else:
                    for _ in written():
                        pass
        except OSError as exc:
            raise self._error(exc) from None
        write_record(self.out, self.record)

    def _error(self, exc: OSError) -> OutputError:
        return OutputError(f"{self.out}: cannot write the results there ({exc.strerror or exc}); "
                           "choose another folder with --out")


def grade_all(plan: Plan, submissions: list[Submission], runner: Runner, store: ResultStore,
              outputs: Outputs, *, jobs: int = 1, regrade: frozenset[str] = frozenset(),
              on_done: Callable[[StudentRow], None] | None = None) -> list[StudentRow]:
    """Grade every submission (in parallel children), in the order given.

    A stored result whose key still matches is used as it is (except for the students named
    in `regrade`); each new result is stored and its feedback written as soon as it exists.
    On Ctrl-C every running child is killed and nothing half-graded is stored. A submission
    that trips up the grader anywhere on its way gets an `error` row; the others go on.
    """
    def kept_or_graded(submission: Submission) -> StudentResult:
        result = store.get(submission) if submission.student not in regrade else None
        if result is None:
            if submission.status == "unread":
                submission = read_submission(submission.path, submission.student, plan.rubric.entry)
            result = grade_submission(plan, submission, runner)
            if runner.aborted:
                raise Aborted()
            store.put(submission, result)
        return result

    def grade_one(submission: Submission) -> StudentRow:
        try:
            result = kept_or_graded(submission)
        except (Aborted, OutputError):
            raise
        except Exception as exc:  # whatever this one submission did, the others keep their rows
            problem = f"the grader could not grade this submission ({type(exc).__name__}: {exc}); grade it again"
            result = bounded(not_graded(plan, replace(submission, status="error", problem=problem)))
            store.put(submission, result)
        row = outputs.add(result)
        if on_done:
            on_done(row)
        return row

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = [pool.submit(grade_one, submission) for submission in submissions]
        return [future.result() for future in futures]
    except BaseException:
        runner.abort()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


def grade_submission(plan: Plan, submission: Submission, runner: Runner) -> StudentResult:
    """The submission's result, every text in it bounded and every time a finite number."""
    if submission.status != "ok":
        return bounded(not_graded(plan, submission))
    try:
        return bounded(_run_and_judge(plan, submission, runner))
    except Aborted:
        raise
    except Exception as exc:  # one submission's trouble must not cost the others their rows
        problem = f"the grader could not grade this submission ({type(exc).__name__}: {exc}); grade it again"
        return bounded(not_graded(plan, replace(submission, status="error", problem=problem)))


def _run_and_judge(plan: Plan, submission: Submission, runner: Runner) -> StudentResult:
    plan = plan.for_student(submission.student)  # a `per_student` check's cases are this student's own
    requests = build_requests(plan, submission)
    report = runner.run(submission, requests)
    checks = with_follow_on(plan.rubric, judge_all(plan, submission, report, MatchBudget()), submission)
    load_problem = _load_problem(submission, report)
    status = run_status(checks, bool(load_problem))
    if not report.sandboxed:
        status += UNSANDBOXED
    return StudentResult(submission.student, status, checks, problem=load_problem, notes=_notes(report),
                         seconds=report.seconds, code_seconds=report.code_seconds)


def not_graded(plan: Plan, submission: Submission) -> StudentResult:
    """Every check with 0 points and the reason: `not_run`, or `missing` for an empty file."""
    outcome = "missing" if submission.status == "empty" else "not_run"
    checks = tuple(
        CheckResult(q.id, c.id, c.kind, c.points, 0.0, outcome, submission.problem, c.visibility)
        for q, c in plan.rubric.checks())
    return StudentResult(submission.student, submission.status, checks, problem=submission.problem)


def bounded(result: StudentResult) -> StudentResult:
    """The result as it may be kept: every text the student could make long (error messages,
    cell labels, printed output) is cut with a note, every text encodes as UTF-8, and times
    are finite and non-negative. Text answers were already cut when judged."""
    checks = tuple(replace(c, feedback=clip(c.feedback, FEEDBACK_CHARS, "feedback"),
                           answer=None if c.answer is None else clean_text(c.answer),
                           mistake=None if c.mistake is None else clean_text(c.mistake))
                   for c in result.checks)
    notes = [clip(note, NOTE_CHARS, "note") for note in result.notes[:MAX_NOTES]]
    if len(result.notes) > MAX_NOTES:
        notes.append(f"... and {len(result.notes) - MAX_NOTES} more notes like these.")
    return replace(result, student=clean_text(result.student), status=clip(result.status, 200, "status"),
                   checks=checks, problem=clip(result.problem, PROBLEM_CHARS, "problem"), notes=tuple(notes),
                   seconds=seconds(result.seconds), code_seconds=seconds(result.code_seconds))


def build_requests(plan: Plan, submission: Submission) -> list[Request]:
    """What to ask the student's process, in sheet order: each check's kind says (kinds/)."""
    return [request for question, check in plan.rubric.checks()
            for request in kind_of(check).requests(plan, f"{question.id}/{check.id}", question, check, submission)]


def judge_all(plan: Plan, submission: Submission, report: RunReport,
              budget: MatchBudget | None = None) -> tuple[CheckResult, ...]:
    """Every check judged by its kind, in sheet order; one budget for all of a submission's
    free-text answers."""
    budget = budget if budget is not None else MatchBudget()
    return tuple(kind_of(check).judge(plan, f"{question.id}/{check.id}", question, check, report, submission, budget)
                 for question, check in plan.rubric.checks())


def _load_problem(submission: Submission, report: RunReport) -> str:
    if report.load_failure:
        return report.load_failure
    if submission.kind == "py" and report.cells and report.cells[0]["error"]:
        error = report.cells[0]["error"]
        line = f" at line {error['line']}" if error.get("line") else ""
        if error["type"] in ("SyntaxError", "IndentationError", "TabError"):
            return f"{submission.entry} has a {error['type']}{line} ({error['message']}), so none of it ran; fix it"
        return (f"{submission.entry} stopped{line} with {error['type']}: {error['message']}; "
                "only what was defined before that line was graded")
    return ""


def _notes(report: RunReport) -> tuple[str, ...]:
    notes = []
    errors = [cell for cell in report.cells if cell["error"]] if len(report.cells) > 1 else []
    for cell in errors[:MAX_NOTES]:
        error = cell["error"]
        line = f" (line {error['line']})" if error.get("line") else ""
        notes.append(f"`{cell['label']}` raised {error['type']}: {error['message']}{line}; "
                     "the cells after it still ran.")
    if len(errors) > MAX_NOTES:
        notes.append(f"{len(errors) - MAX_NOTES} more cells raised errors; the cells after them still ran.")
    if report.ignored:
        shown = ", ".join(f"`{item}`" for item in report.ignored[:5])
        notes.append(f"Not run while grading: {shown}{' and more' if len(report.ignored) > 5 else ''}.")
    if report.restarts:
        notes.append(f"Your code ended or hung the process {report.restarts} time(s); "
                     "a fresh process graded the remaining checks.")
    return tuple(notes)
