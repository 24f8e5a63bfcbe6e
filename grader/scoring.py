"""Scores from check results: pure functions, no I/O.

A student's points on a question are the sum of its checks' points, where a check's points
are its manual score when a reviewer gave one and its automatic score otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import datetime

from .checks import ERROR_OUTCOMES, CheckResult
from .rubric import Rubric
from .untrusted import seconds

# A row's status is ok, error, load_error, empty, unreadable, duplicate or missing, possibly
# followed by notes in parentheses: code run outside the sandbox says so.
UNSANDBOXED = " (not sandboxed)"


def base_status(status: str) -> str:
    """The status without its notes: `ok (not sandboxed)` -> `ok`."""
    return status.split(" (", 1)[0]


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

    def as_data(self) -> dict:
        """`dataclasses.asdict(self)` for JSON, without its deep copies (a result's values are
        strings, numbers and None): the same keys in the same order."""
        data = {name: getattr(self, name) for name in _RESULT_FIELDS}
        data["checks"] = [{name: getattr(check, name) for name in _CHECK_FIELDS} for check in self.checks]
        data["notes"] = list(self.notes)
        return data


_RESULT_FIELDS = tuple(f.name for f in fields(StudentResult))
_CHECK_FIELDS = tuple(f.name for f in fields(CheckResult))


PROVISIONAL = ("needs_review", "needs_rereview")  # suggested points no reviewer has confirmed


def counted(check: CheckResult, count_suggested: bool = True) -> float:
    """The points a check counts with: a reviewer's when given; a suggestion for free text
    that no reviewer confirmed counts only if the rubric says so (`count_suggested`)."""
    if not count_suggested and check.manual_points is None and check.outcome in PROVISIONAL:
        return 0.0
    return check.points


def question_points(rubric: Rubric, checks: tuple[CheckResult, ...]) -> dict[str, float]:
    points = {qid: 0.0 for qid in rubric.question_ids}
    for check in checks:
        points[check.question] = round(points[check.question] + counted(check, rubric.count_suggested), 6)
    return points


def total_points(checks: tuple[CheckResult, ...], count_suggested: bool = True) -> float:
    return round(sum(counted(c, count_suggested) for c in checks), 6)


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
    submitted: datetime | None = None
    days_late: float = 0.0
    late_penalty: float = 0.0  # points subtracted from the questions' sum to give `total`


def row_of(rubric: Rubric, result: StudentResult, submitted: datetime | None = None) -> StudentRow:
    earned = total_points(result.checks, rubric.count_suggested)
    days, penalty = late_penalty(rubric, submitted, earned)
    return StudentRow(result.student, result.status, question_points(rubric, result.checks),
                      round(earned - penalty, 6), result.to_review, seconds(result.seconds),
                      seconds(result.code_seconds), submitted, days, penalty)


def late_penalty(rubric: Rubric, submitted: datetime | None, earned: float) -> tuple[float, float]:
    """(days late, points lost) under the rubric's deadline and policy; pure."""
    if rubric.deadline is None or submitted is None:
        return 0.0, 0.0
    late = (submitted - rubric.deadline).total_seconds() - rubric.late.grace_minutes * 60
    if late <= 0:
        return 0.0, 0.0
    days = late / 86400
    policy = rubric.late
    if policy.zero_after_days is not None and days > policy.zero_after_days:
        return round(days, 3), earned
    return round(days, 3), round(min(1.0, math.ceil(days) * policy.per_day) * earned, 6)
