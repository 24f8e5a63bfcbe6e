"""What every kind of check judges with, on the trusted side: the result of one check of
one submission (`CheckResult`), and the small rules the kinds share (tolerances, comparing
one answer, matching an exception or its message). Each kind's own judging is in
kinds/<kind>.py. Pure functions: data in, CheckResult out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import regex

from .compare import Rules, python_scalar, rules_for
from .compare import compare as compare_values
from .hashed import HashedNumber
from .runner import Reply, RunReport

if TYPE_CHECKING:  # the rubric's models are not built by `grade check`
    from .rubric import Question, Tolerance

SEARCH_SECONDS = 0.1  # the longest one pattern may search one text of the student's (an answer, a message)

# outcomes: passed, mistake, failed, error, timeout, missing, needs_review, not_run
ERROR_OUTCOMES = {"error", "timeout"}


@dataclass(frozen=True)
class CheckResult:
    """What happened to one check of one submission. Automatic and manual scores stay
    apart; the manual one, once given, wins."""

    question: str
    check: str
    kind: str
    max_points: float
    auto_points: float
    outcome: str
    feedback: str
    visibility: str = "public"
    mistake: str | None = None
    manual_points: float | None = None
    answer: str | None = None  # the free text a reviewer reads (text checks only)
    reviewer: str | None = None  # who gave manual_points, with their comment
    comment: str | None = None
    confidence: float | None = None  # how sure a suggestion for free text is (0..1); None: not a suggestion
    flags: str | None = None  # for the reviewer only, e.g. "reads like a keyword list"

    @property
    def points(self) -> float:
        return self.manual_points if self.manual_points is not None else self.auto_points


def article(noun: str) -> str:
    """`an int`, `a list`: a type's name with its indefinite article."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def on_all_cases(count: int) -> str:
    """"on all 3 cases", or "on its one case"."""
    return "on its one case" if count == 1 else f"on all {count} cases"


def result(question: Question, check, outcome: str, feedback: str, fraction: float = 0.0,
           mistake: str | None = None) -> CheckResult:
    return CheckResult(question.id, check.id, check.kind, check.points, round(check.points * fraction, 6),
                       outcome, feedback, check.visibility, mistake)


# ---------------------------------------------------------------- function checks


def raised_kind(error: dict | None, name: str) -> bool:
    """Whether an exception the student's code raised is `name` or a subclass of it (the
    child reports the names of its classes)."""
    error = error or {}
    return error.get("type") == name or name in (error.get("mro") or [])


def message_matches(pattern: str, message: str) -> bool:
    """Whether a mistake's message pattern occurs in a student's exception message, with the
    same time limit as a text criterion: the message is the student's, the pattern may
    backtrack."""
    try:
        return regex.search(pattern, str(message)[:1000], regex.IGNORECASE, timeout=SEARCH_SECONDS) is not None
    except TimeoutError:
        return False


def tolerances(check, tolerance: Tolerance) -> tuple[float, float]:
    rtol = check.rtol if check.rtol is not None else tolerance.rtol
    atol = check.atol if check.atol is not None else tolerance.atol
    return rtol, atol


# ---------------------------------------------------------------- comparing one answer


def compare(expected: Any, actual: Any, rtol: float, atol: float, rules: Rules | None = None) -> str | None:
    """None when `actual` answers `expected`, else what is wrong, without revealing it: by
    `rules` (compare.py), by default the auto rule with these tolerances."""
    if isinstance(expected, HashedNumber):  # a self-check bundle's number
        return None if expected.matches(python_scalar(actual)) else "returned a different number"
    return compare_values(expected, actual, rules if rules is not None else Rules(rtol, atol))


# ---------------------------------------------------------------- value checks


# ---------------------------------------------------------------- text checks




def comparison_rules(check, rtol: float, atol: float) -> Rules:
    """A check's comparison rules; a judge's check names mistakes by the auto rule."""
    rules = rules_for(check, rtol, atol)
    return Rules(rtol, atol, "auto", rules.ordered, rules.loose_types) if rules.mode == "judge" else rules


def case_replies(report: RunReport, key: str, count: int) -> list[Reply]:
    """The replies to a check's `count` cases (requests `KEY/0`, `KEY/1`, ...), `missing` where none came."""
    return [report.replies.get(f"{key}/{i}", Reply("missing")) for i in range(count)]


def bundle_comparison(check) -> dict:
    """The check's comparison rule, as the self-check applies it (a judge stays with the
    grader: the bundle says only that there is one)."""
    return {"compare": check.compare, "ordered": check.ordered, "loose_types": check.loose_types}


def bundle_mistakes(check, key: str | None = None, shown: Callable[[str], Any] | None = None) -> list[dict]:
    """The check's known mistakes as a self-check bundle carries them: each that raises, with
    its exception and message; with `key`, also each other one, holding `shown(mistake id)`
    (what its variant gives on the practice cases) under `key`."""
    items = []
    for mistake in check.mistakes:
        item = {"id": mistake.id, "feedback": mistake.feedback, "credit": mistake.credit}
        if mistake.raises is not None:
            item.update(raises=mistake.raises, message=mistake.message)
        elif key is None:
            continue
        else:
            item[key] = shown(mistake.id)
        items.append(item)
    return items
