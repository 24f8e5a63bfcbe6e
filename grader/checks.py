"""Judging what came back, on the trusted side. Pure functions: data in, CheckResult out.

Function checks compare every case with the reference's output (shape, NaN, tolerance,
arguments left untouched); when they differ, the known mistakes are tried so the feedback
can name the mistake. Value checks compare numbers within tolerance (numpy scalars count as
their Python kind), bools exactly and strings against synonyms. Text checks only suggest
points from the rubric's criteria and are marked for review.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .cases import describe_case
from .hashed import HashedNumber
from .reference import FunctionPlan, Raised
from .rubric import Question, TextCheck, Tolerance, ValueCheck
from .runner import Reply

# outcomes: passed, mistake, failed, error, timeout, missing, needs_review, not_run
ERROR_OUTCOMES = {"error", "timeout"}
TEXT_PLACEHOLDER = "YOUR ANSWER HERE"  # what the released template's answer cells hold


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

    @property
    def points(self) -> float:
        return self.manual_points if self.manual_points is not None else self.auto_points


def result(question: Question, check, outcome: str, feedback: str, fraction: float = 0.0,
           mistake: str | None = None) -> CheckResult:
    return CheckResult(question.id, check.id, check.kind, check.points, round(check.points * fraction, 6),
                       outcome, feedback, check.visibility, mistake)


# ---------------------------------------------------------------- function checks


def judge_function(question: Question, plan: FunctionPlan, replies: list[Reply], tolerance: Tolerance) -> CheckResult:
    check = plan.check
    if len(replies) != len(plan.cases):
        raise ValueError(f"{len(replies)} replies for {len(plan.cases)} cases of {check.id}")
    name = f"`{check.name}`"
    rtol, atol = _tolerances(check, tolerance)
    for reply in replies:
        if reply.status == "missing":
            return result(question, check, "missing", f"{name} is not defined; define a function named {check.name}.")
        if reply.status == "not_callable":
            return result(question, check, "failed", f"{name} is a {reply.detail}, not a function.")
    if all(r.status == "error" and (r.error or {}).get("type") == "NotImplementedError" for r in replies):
        return result(question, check, "missing", f"{name} is not implemented yet (it raises NotImplementedError).")
    problems = []
    for number, (args, expected, reply) in enumerate(zip(plan.cases, plan.expected, replies), start=1):
        problem = _case_problem(plan, args, expected, reply, rtol, atol)
        if problem:
            problems.append((number, args, reply, problem))
    if not problems:
        return result(question, check, "passed", f"{name} is correct on all {len(plan.cases)} cases.", 1.0)
    mistake = _matching_mistake(plan, replies, rtol, atol)
    if mistake is not None:
        return result(question, check, "mistake", mistake.feedback, mistake.credit, mistake.id)
    number, args, reply, problem = problems[0]
    where = f"case {number} of {len(plan.cases)} ({describe_case(plan.arg_names, args)})"
    outcome = {"timeout": "timeout", "crashed": "error", "error": "error"}.get(reply.status, "failed")
    failing = f"; {len(problems)} of {len(plan.cases)} cases fail" if len(problems) > 1 else ""
    return result(question, check, outcome, f"{name} {problem} in {where}{failing}.")


def _case_problem(plan: FunctionPlan, args: tuple, expected: Any, reply: Reply, rtol: float, atol: float) -> str | None:
    if reply.status == "timeout":
        return f"{reply.detail} (an endless loop, or far too slow?)"
    if reply.status == "crashed":
        return f"crashed: {reply.detail}"
    if reply.status == "error":
        error = reply.error or {}
        line = f" (line {error['line']})" if error.get("line") else ""
        message = f": {error['message']}" if error.get("message") else ""
        return f"raised {error.get('type', 'an exception')}{message}{line}"
    if reply.status != "ok":
        return reply.detail or "gave no usable answer"
    problem = compare(expected, reply.value, rtol, atol)
    if problem:
        return problem
    if reply.mutated:
        names = ", ".join(f"`{plan.arg_names[i]}`" for i in reply.mutated if i < len(plan.arg_names))
        return f"modified its argument {names} in place (work on a copy)"
    return None


def _matching_mistake(plan: FunctionPlan, replies: list[Reply], rtol: float, atol: float):
    for mistake in plan.check.mistakes:
        if mistake.raises is not None:
            pattern = re.compile(mistake.message, re.IGNORECASE)
            if any(r.status == "error" and (r.error or {}).get("type") == mistake.raises
                   and pattern.search((r.error or {}).get("message", "")) for r in replies):
                return mistake
            continue
        outputs = plan.variants[mistake.id]
        if all(_same_as_variant(out, reply, rtol, atol) for out, reply in zip(outputs, replies)):
            return mistake
    return None


def _same_as_variant(output: Any, reply: Reply, rtol: float, atol: float) -> bool:
    if isinstance(output, Raised):
        return reply.status == "error" and (reply.error or {}).get("type") == output.type
    return reply.status == "ok" and compare(output, reply.value, rtol, atol) is None


def _tolerances(check, tolerance: Tolerance) -> tuple[float, float]:
    rtol = check.rtol if check.rtol is not None else tolerance.rtol
    atol = check.atol if check.atol is not None else tolerance.atol
    return rtol, atol


# ---------------------------------------------------------------- comparing one answer


def compare(expected: Any, actual: Any, rtol: float, atol: float) -> str | None:
    """None when `actual` answers `expected`, else what is wrong, without revealing it."""
    if isinstance(expected, HashedNumber):  # a self-check bundle's number
        return None if expected.matches(actual) else "returned a different number"
    if isinstance(expected, np.ndarray):
        return _compare_arrays(expected, actual, rtol, atol)
    if type(expected) is bool:
        if type(actual) is not bool:
            return f"returned {_kind(actual)}, expected True or False"
        return None if actual == expected else "returned the wrong truth value"
    if type(expected) in (int, float):
        return _compare_numbers(expected, actual, rtol, atol)
    if type(expected) is str:
        if type(actual) is not str:
            return f"returned {_kind(actual)}, expected a string"
        return None if normalize(actual) == normalize(expected) else "returned a different string"
    if type(expected) is list:
        if type(actual) is not list or len(actual) != len(expected):
            return f"returned {_kind(actual)}, expected a list of {len(expected)} items"
        for e, a in zip(expected, actual):
            problem = compare(e, a, rtol, atol)
            if problem:
                return problem
        return None
    return None if actual == expected else "returned a different value"


def _compare_arrays(expected: np.ndarray, actual: Any, rtol: float, atol: float) -> str | None:
    if type(actual) is list:
        try:
            actual = np.asarray(actual, dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            return "returned a list that is not a numeric array"
    if not isinstance(actual, np.ndarray):
        return f"returned {_kind(actual)}, expected a NumPy array of shape {expected.shape}"
    if actual.shape != expected.shape:
        return f"returned shape {actual.shape}, expected shape {expected.shape}"
    if actual.dtype.kind == "b" and expected.dtype.kind != "b":
        return "returned a boolean array, expected numbers"
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    bad_a, bad_e = ~np.isfinite(a), ~np.isfinite(e)
    if (bad_a & ~bad_e).any():
        what = "NaN" if np.isnan(a[bad_a & ~bad_e]).any() else "infinite values"
        return f"returned {what} in {int((bad_a & ~bad_e).sum())} of {a.size} entries"
    if a.size == 0:
        return None
    scale = float(np.max(np.abs(np.where(bad_e, 0.0, e)), initial=0.0))
    allowed = atol + rtol * np.abs(e) + rtol * 1e-2 * scale
    difference = np.where(bad_e, np.where(a == e, 0.0, np.inf), np.abs(a - e))
    wrong = difference > allowed
    if not wrong.any():
        return None
    worst = np.unravel_index(int(np.argmax(np.where(wrong, difference, -1))), a.shape)
    return (f"returned values that differ from the expected ones in {int(wrong.sum())} of {a.size} entries "
            f"(e.g. at index {tuple(int(i) for i in worst)})")


def _compare_numbers(expected: float, actual: Any, rtol: float, atol: float) -> str | None:
    if type(actual) not in (int, float) or type(actual) is bool:
        if isinstance(actual, np.ndarray) and actual.size == 1:
            actual = float(actual.reshape(()))
        else:
            return f"returned {_kind(actual)}, expected a number"
    if isinstance(actual, float) and math.isnan(actual):
        return "returned NaN"
    if isinstance(actual, float) and math.isinf(actual):
        return "returned an infinite value"
    try:
        difference = abs(actual - expected)
    except OverflowError:  # an int beyond float range, against a float
        return "returned a different number"
    if difference <= atol + rtol * abs(expected):
        return None
    return "returned a different number"


def normalize(text: str) -> str:
    """Lower case, punctuation and hyphens as spaces, single spaces."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def _kind(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


# ---------------------------------------------------------------- value checks


def judge_value(question: Question, check: ValueCheck, expected: Any, reply: Reply | None,
                tolerance: Tolerance) -> CheckResult:
    name = f"`{check.name}`"
    if reply is None or reply.status == "missing":
        return result(question, check, "missing", f"{name} is not defined; set {check.name} at the top level.")
    if reply.status in ("timeout", "crashed"):
        return result(question, check, "error", f"{name} could not be read: {reply.detail}.")
    if reply.status != "ok":
        return result(question, check, "failed", f"{name}: {reply.detail or 'no usable value'}.")
    value = reply.value
    if value is None:
        return result(question, check, "missing", f"{name} is not answered yet (it is None).")
    rtol, atol = _tolerances(check, tolerance)
    problem = _value_problem(check, expected, value, rtol, atol)
    if problem is None:
        note = _matching_value_mistake(check, value, rtol, atol, tight=True)
        extra = f" Note: {note.feedback}" if note else ""
        return result(question, check, "passed", f"{name} is correct.{extra}", 1.0)
    mistake = _matching_value_mistake(check, value, rtol, atol)
    if mistake is not None:
        return result(question, check, "mistake", mistake.feedback, mistake.credit, mistake.id)
    return result(question, check, "failed", f"{name} {problem}.")


def _value_problem(check: ValueCheck, expected: Any, value: Any, rtol: float, atol: float) -> str | None:
    if check.type == "str":
        if type(value) is not str:
            return f"is {_kind(value)}, expected a string"
        if len(value.split()) > 8:
            return "should be a short name, not a sentence"
        answer = f" {normalize(value)} "
        accepted = [normalize(a) for a in [str(expected), *check.accept]]
        return None if any(f" {a} " in answer for a in accepted if a) else "is not the right answer"
    if check.type == "bool":
        if type(value) is not bool:
            return f"is {_kind(value)}, expected True or False"
        return None if value == expected else "is not the right truth value"
    problem = _compare_numbers(expected, value, rtol, atol)
    return None if problem is None else problem.replace("returned", "is", 1)


def _matching_value_mistake(check: ValueCheck, value: Any, rtol: float, atol: float, tight: bool = False):
    for mistake in check.mistakes:
        if mistake.when == "not_integer":
            if not tight and type(value) is float and math.isfinite(value) and not value.is_integer():
                return mistake
            continue
        if mistake.value is None:
            continue
        if tight:
            matched = type(value) in (int, float) and type(mistake.value) in (int, float) \
                and value == mistake.value and value != 0
        else:
            matched = _value_problem(check, mistake.value, value,
                                     mistake.rtol if mistake.rtol is not None else rtol, atol) is None
        if matched:
            return mistake
    return None


# ---------------------------------------------------------------- text checks


def judge_text(question: Question, check: TextCheck, answer: Any, source: str) -> CheckResult:
    if answer is None:
        return result(question, check, "missing",
                      f"No answer found: write it in a markdown cell tagged `{question.answer_tag}` "
                      f"or a string `{question.answer_name(check)}`.")
    if type(answer) is not str:
        return result(question, check, "failed", f"{source} should be a string, not {_kind(answer)}.")
    if not answer.strip() or answer.strip() == TEXT_PLACEHOLDER:
        return result(question, check, "missing", f"{source} is not answered yet.")
    if len(answer.split()) < check.min_words:
        return replace(result(question, check, "needs_review", "The answer is too short to suggest points; "
                              "a reviewer will read it."), answer=answer)
    met, missed, points = [], [], 0.0
    for criterion in check.criteria:
        if any(re.search(pattern, answer, re.IGNORECASE | re.DOTALL) for pattern in criterion.any):
            met.append(criterion.description)
            points += criterion.points
        else:
            missed.append(criterion.description)
    feedback = f"Suggested {points:g}/{check.points:g}, to be confirmed by a reviewer."
    if met:
        feedback += f" Covers: {'; '.join(met)}."
    if missed:
        feedback += f" Not found: {'; '.join(missed)}."
    return CheckResult(question.id, check.id, check.kind, check.points, points, "needs_review", feedback,
                       check.visibility, answer=answer)
