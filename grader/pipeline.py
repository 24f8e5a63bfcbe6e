"""Grading a folder, step by step: plan, discover, run and judge each submission, write.

Each step is one function so the order is visible and a step can be swapped in tests
(the runner is injected, the way pypa/build injects its subprocess runner).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from . import timing
from .checks import CheckResult
from .errors import OutputError
from .reference import Plan
from .followon import with_follow_on
from .kinds import kind_of
from .kinds.text import MatchBudget
from .outputs import Outputs
from . import runnotes
from .runner import Aborted, Request, RunReport, Runner
from .store import ResultStore
from .suggestions import Suggestions, unscored
from .showing import show_all
from .scoring import UNSANDBOXED, StudentResult, StudentRow, base_status, run_status
from .submissions import Submission, read_submission
from .untrusted import FEEDBACK_CHARS, MAX_NOTES, NOTE_CHARS, PROBLEM_CHARS, clean_text, clip, seconds


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


def grade_all(plan: Plan, submissions: list[Submission], runner: Runner, store: ResultStore,
              outputs: Outputs, *, jobs: int = 1, regrade: frozenset[str] = frozenset(),
              on_done: Callable[[str, str], None] | None = None) -> list[StudentRow]:
    """Grade every submission (in parallel children), then show each, in the order given.

    First every submission gets a kept result: a stored result whose key still matches is
    used as it is (except for the students named in `regrade`), and one whose student was
    shown it last time is not even read (its answers awaiting a suggestion come from the
    ledger); each new result is stored as soon as it exists, and `on_done(student, "graded")`
    hears of each. Then the free-text points are suggested for the whole class at once
    (suggestions.py), and each student is shown (`on_done(student, "shown")`; showing.py):
    a student of whom nothing the outputs show changed is only looked up (outputs.py), the
    others are shown afresh, by forked copies of the grader once there are enough of them
    (copies.py). On Ctrl-C every running child is killed and nothing half-graded is stored.
    A submission that trips up the grader anywhere on its way gets an `error` row; the
    others go on.

    `jobs` submissions run at once; THREADS_PER_JOB times as many are on their way, so that
    while one is judged and stored, the next one already runs in the slot.
    """
    gated = _Gated(runner, max(1, jobs))

    def kept_or_graded(submission: Submission, key: str) -> StudentResult:
        with timing.stage("read kept result"):
            result = store.get(submission, key) if submission.student not in regrade else None
        if result is None:
            if submission.status == "unread":
                with timing.stage("parse"):
                    submission = read_submission(submission.path, submission.student, plan.rubric.entry)
            result = grade_submission(plan, submission, gated, suggest=False)
            if runner.aborted:
                raise Aborted()
            with timing.stage("keep result"):
                store.put(submission, result, key)
        return result

    def look_up(position: int) -> tuple[str, dict | None] | Exception:
        """In the grader's own thread, before any grading: the submission's key, and the
        answers the last run showed it with if its kept result is still the one shown (the
        submission is then neither read nor graded: a rerun costs no thread a look-up); or
        what went wrong, which `keep_one` makes the submission's error row."""
        submission = submissions[position]
        try:
            with timing.stage("cache key"):
                key = store.key(submission)
            if not store.reuse or submission.student in regrade:
                return key, None
            with timing.stage("unchanged look-up"):
                return key, outputs.last_answers(submission, key, store.stamp(submission))
        except (Aborted, OutputError):
            raise
        except Exception as exc:
            return exc

    def keep_one(position: int, found: tuple[str, dict | None] | Exception) -> tuple[str, bool]:
        """The submission's key, and whether its answers awaiting a suggestion are the last
        run's (its result then stays unread); the answers wait on disk (answerbook.py).
        `found`: what `look_up` found."""
        submission, key = submissions[position], ""
        try:
            if isinstance(found, Exception):
                raise found
            key, answers = found
            result = None if answers is not None else kept_or_graded(submission, key)
        except (Aborted, OutputError):
            raise
        except Exception as exc:  # whatever this one submission did, the others keep their rows
            problem = f"the grader could not grade this submission ({type(exc).__name__}: {exc}); grade it again"
            result = bounded(not_graded(plan, replace(submission, status="error", problem=problem)))
            store.put(submission, result, key or None)
        outputs.answers.add(position, submission.student, unscored(result) if result is not None else answers)
        if on_done:
            on_done(submission.student, "graded")
        return key, result is None

    def as_last_time(position: int) -> StudentRow | None:
        """The student's row, if nothing they are shown changed since the last run."""
        submission, (key, unread) = submissions[position], kept[position]
        if not unread:
            return None
        with timing.stage("unchanged look-up"):
            return outputs.unchanged(submission, key, store.stamp(submission))

    def afresh(position: int) -> StudentRow:
        submission, (key, _) = submissions[position], kept[position]
        with timing.stage("read kept result"):
            result = store.load(submission)
        return outputs.add(result, key, store.stamp(submission))

    pool = ThreadPoolExecutor(max_workers=THREADS_PER_JOB * max(1, jobs))
    try:
        with timing.stage("grading (wall)"):
            def step(position: int):
                found = look_up(position)
                if not isinstance(found, Exception) and found[1] is not None:  # as last time: no thread needed
                    return keep_one(position, found)
                return functools.partial(keep_one, position, found)  # read from the store, or graded

            kept = _in_order(pool, step, len(submissions), WINDOW_PER_JOB * max(1, jobs))
    except BaseException:
        runner.abort()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
    outputs.suggest()
    shown = (lambda position: on_done(submissions[position].student, "shown")) if on_done else None
    with timing.stage("showing (wall)"):
        return show_all(len(submissions), as_last_time, afresh, outputs, max(1, jobs), shown)


THREADS_PER_JOB = 2
WINDOW_PER_JOB = 16  # submissions handed to the threads and not yet finished, per job


def _in_order(pool: ThreadPoolExecutor, step: Callable[[int], Any], count: int, window: int) -> list:
    """The result of each position 0 .. count - 1, in order. `step(position)` runs in this
    thread and gives the position's result, or a function for `pool` to run that gives it;
    at most `window` of those are handed over and unfinished at once: what waits to be graded
    costs no memory however large the class, and one slow submission (an endless loop's
    timeout) holds up only its own place. The first exception raised by one of them is
    raised, as soon as it is seen."""
    results: list = [None] * count
    room = threading.Semaphore(window)
    failures: list[BaseException] = []

    def take(position: int, future) -> None:
        try:
            results[position] = future.result()
        except BaseException as exc:
            failures.append(exc)
        finally:
            room.release()

    for position in range(count):
        made = step(position)
        if not callable(made):
            results[position] = made
            continue
        room.acquire()
        if failures:  # the caller stops the others
            raise failures[0]
        pool.submit(made).add_done_callback(functools.partial(take, position))
    for _ in range(window):  # every one handed over has finished
        room.acquire()
        if failures:
            raise failures[0]
    return results


class _Gated:
    """The runner, with at most `jobs` submissions running in it at once."""

    def __init__(self, runner: Runner, jobs: int) -> None:
        self.runner = runner
        self.gate = threading.BoundedSemaphore(jobs)

    def run(self, submission: Submission, requests: list[Request]) -> RunReport:
        with self.gate:
            return self.runner.run(submission, requests)


def grade_submission(plan: Plan, submission: Submission, runner: Runner, *, suggest: bool = True) -> StudentResult:
    """The submission's result, every text in it bounded and every time a finite number.
    Its free-text points are suggested for it alone; without `suggest` its answers await
    the class's suggestions (suggestions.py)."""
    if submission.status != "ok":
        return bounded(not_graded(plan, submission))
    try:
        result = bounded(_run_and_judge(plan, submission, runner))
        return Suggestions(plan.rubric, {result.student: unscored(result)}).fill(result) if suggest else result
    except Aborted:
        raise
    except Exception as exc:  # one submission's trouble must not cost the others their rows
        problem = f"the grader could not grade this submission ({type(exc).__name__}: {exc}); grade it again"
        return bounded(not_graded(plan, replace(submission, status="error", problem=problem)))


def _run_and_judge(plan: Plan, submission: Submission, runner: Runner) -> StudentResult:
    plan = plan.for_student(submission.student)  # a `per_student` check's cases are this student's own
    with timing.stage("build requests"):
        requests = build_requests(plan, submission)
    report = runner.run(submission, requests)
    timing.add("sandbox: session, load, requests (less student code)", report.seconds - report.code_seconds)
    timing.add("student code (load and calls)", report.code_seconds)
    timing.add("requests sent", 0.0, len(requests))
    with timing.stage("judge"):
        checks = with_follow_on(plan.rubric, judge_all(plan, submission, report, MatchBudget()), submission)
    load_problem = runnotes.load_problem(submission, report)
    status = run_status(checks, bool(load_problem))
    if not report.sandboxed:
        status += UNSANDBOXED
    return StudentResult(submission.student, status, checks, problem=load_problem, notes=runnotes.notes(report),
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


