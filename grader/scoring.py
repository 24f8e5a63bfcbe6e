"""Scores from check results: pure functions, no I/O.

A student's points on a question are the sum of its checks' points, where a check's points
are its manual score when a reviewer gave one and its automatic score otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .checks import ERROR_OUTCOMES, CheckResult
from .rubric import Rubric

# Status of a student's row, from best to worst; code run outside the sandbox says so.
STATUSES = ("ok", "error", "load_error", "unreadable", "duplicate")
UNSANDBOXED = " (not sandboxed)"


@dataclass(frozen=True)
class StudentResult:
    student: str
    status: str
    checks: tuple[CheckResult, ...]
    problem: str = ""  # why the status is not ok, in one line
    notes: tuple[str, ...] = field(default_factory=tuple)  # cell errors, magics not run
    seconds: float = 0.0  # wall time of grading it
    code_seconds: float = 0.0  # of which the student's own code ran (loading and calls)

    @property
    def to_review(self) -> int:
        return sum(1 for c in self.checks
                   if c.outcome == "needs_rereview" or (c.outcome == "needs_review" and c.manual_points is None))


def question_points(rubric: Rubric, checks: tuple[CheckResult, ...]) -> dict[str, float]:
    points = {qid: 0.0 for qid in rubric.question_ids}
    for check in checks:
        points[check.question] = round(points[check.question] + check.points, 6)
    return points


def total_points(checks: tuple[CheckResult, ...]) -> float:
    return round(sum(c.points for c in checks), 6)


def run_status(checks: tuple[CheckResult, ...], load_failed: bool) -> str:
    """`load_error` when the code did not load cleanly, `error` when a check errored."""
    if load_failed:
        return "load_error"
    if any(c.outcome in ERROR_OUTCOMES for c in checks):
        return "error"
    return "ok"


@dataclass(frozen=True)
class StudentRow:
    """What the gradebook keeps of a graded student; small, so a course of any size fits."""

    student: str
    status: str
    points: dict[str, float]
    total: float
    to_review: int
    seconds: float = 0.0
    code_seconds: float = 0.0


def row_of(rubric: Rubric, result: StudentResult) -> StudentRow:
    return StudentRow(result.student, result.status, question_points(rubric, result.checks),
                      total_points(result.checks), result.to_review, result.seconds, result.code_seconds)
