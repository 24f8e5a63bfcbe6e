"""Judging what came back, on the trusted side. Pure functions: data in, CheckResult out.

Function checks compare every case with the reference's output under the check's
`compare` rule (compare.py: shape, NaN, tolerance, types, order; or the rubric's judge) and
want the arguments left untouched; when they differ, the known mistakes are tried so the
feedback can name the mistake. Value checks compare numbers within tolerance (numpy scalars
count as their Python kind), bools exactly and short names against synonyms; lists, tuples,
dicts, sets, arrays and DataFrames by the same rules as function results. Text checks only
suggest points from the rubric's criteria and are marked for review.
"""

from __future__ import annotations

import functools
import math
import re
import sys
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import regex

from .cases import argument_names, describe_call
from .compare import as_array  # noqa: F401  (selfcheck reads an answer's form with it)
from .compare import JudgeError, Rules, fold, normalize, python_scalar, rules_for, run_judge
from .compare import compare as compare_values
from .compare import kind as _kind
from .hashed import HashedNumber
from .reference import FunctionPlan, Raised, rubric_value
from .rubric import TEXT_FLAGS, Question, TextCheck, Tolerance, ValueCheck
from .runner import Reply
from .untrusted import ANSWER_CHARS, clean_text

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


def article(noun: str) -> str:
    """`an int`, `a list`: a type's name with its indefinite article."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


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
            return result(question, check, "failed", f"{name} is {article(reply.detail)}, not a function.")
    if all(r.status == "error" and (r.error or {}).get("type") == "NotImplementedError" for r in replies):
        return result(question, check, "missing", f"{name} is not implemented yet (it raises NotImplementedError).")
    problems, fractions = [], []
    for number, (args, expected, reply) in enumerate(zip(plan.cases, plan.expected, replies), start=1):
        try:
            problem, fraction = _case_verdict(plan, args, expected, reply, rtol, atol)
        except JudgeError as exc:
            return result(question, check, "error", f"{name} could not be graded on case {number} of "
                          f"{len(plan.cases)}: {exc}. This is a problem of the grader, not of your answer.")
        fractions.append(fraction)
        if problem:
            problems.append((number, args, reply, problem))
    if not problems:
        return result(question, check, "passed", f"{name} is correct on all {len(plan.cases)} cases.", 1.0)
    mistake = _matching_mistake(plan, replies, rtol, atol)
    if mistake is not None:
        return result(question, check, "mistake", mistake.feedback, mistake.credit, mistake.id)
    number, args, reply, problem = problems[0]
    if isinstance(plan.expected[number - 1], Raised):  # the problem names the arguments already
        where = f"case {number} of {len(plan.cases)}"
    else:
        where = f"case {number} of {len(plan.cases)} ({describe_call(args, plan.arg_names, plan.support)})"
    outcome = {"timeout": "timeout", "crashed": "error", "error": "error"}.get(reply.status, "failed")
    failing = f"; {len(problems)} of {len(plan.cases)} cases fail" if len(problems) > 1 else ""
    fraction = sum(fractions) / len(fractions) if check.compare == "judge" else 0.0
    partial = f" Partial credit: {fraction:.0%}." if fraction > 0 else ""
    return result(question, check, outcome, f"{name} {problem} in {where}{failing}.{partial}", fraction)


def _case_problem(plan: FunctionPlan, args: tuple, expected: Any, reply: Reply, rtol: float, atol: float) -> str | None:
    """What is wrong with one case's reply (None if nothing), by the check's rule."""
    return _case_verdict(plan, args, expected, reply, rtol, atol)[0]


def _case_verdict(plan: FunctionPlan, args: tuple, expected: Any, reply: Reply, rtol: float,
                  atol: float) -> tuple[str | None, float]:
    """What is wrong with one case's reply (None if nothing) and the fraction of the case it
    earns (a judge may give part; otherwise 1 or 0). Raises JudgeError if the judge fails."""
    if reply.status == "timeout":
        return f"{reply.detail} (an endless loop, or far too slow?)", 0.0
    if reply.status == "crashed":
        return f"crashed: {reply.detail}", 0.0
    if isinstance(expected, Raised):
        problem = _raise_problem(plan, args, expected.type, reply)
        return problem, 0.0 if problem else 1.0
    if reply.status == "error":
        error = reply.error or {}
        line = f" (line {error['line']})" if error.get("line") else ""
        message = f": {error['message']}" if error.get("message") else ""
        return f"raised {error.get('type', 'an exception')}{message}{line}", 0.0
    if reply.status != "ok":
        return reply.detail or "gave no usable answer", 0.0
    check = plan.check
    if check.compare == "judge" and plan.judge is not None:
        fraction, note = run_judge(plan.judge, check.judge, expected, reply.value, args)
        note = clean_text(note)[:300]
        problem = None if fraction >= 1.0 else "returned a wrong answer" + (f" ({note})" if note else "")
    else:
        fraction = 1.0
        problem = compare(expected, reply.value, rtol, atol, rules=_rules(check, rtol, atol))
    if problem:
        return problem, fraction if check.compare == "judge" else 0.0
    if reply.mutated:
        return f"modified its argument {_mutated_names(plan, args, reply)} in place (work on a copy)", 0.0
    return None, 1.0


def _raise_problem(plan: FunctionPlan, args: tuple, wanted: str, reply: Reply) -> str | None:
    """What is wrong with a reply to a case on which the function must raise `wanted` (or a
    subclass: the child reports the names of the exception's classes)."""
    if reply.status == "error":
        error = reply.error or {}
        raised = error.get("type", "an exception")
        if wanted == raised or wanted in (error.get("mro") or []):
            return None
        message = f" ({error['message']})" if error.get("message") else ""
        return f"raised {raised}{message}, expected {wanted}"
    arguments = describe_call(args, plan.arg_names, plan.support)
    given = f" for {arguments}" if arguments else ""
    if reply.status == "ok":
        return f"should raise {wanted}{given}, but returned {_kind(reply.value)}"
    return f"should raise {wanted}{given}, but {reply.detail or 'gave no usable answer'}"


def _mutated_names(plan: FunctionPlan, args: tuple, reply: Reply) -> str:
    """The arguments a reply says were modified (positional ones, then keyword ones)."""
    names = argument_names(args, plan.arg_names)
    return ", ".join(f"`{names[i]}`" for i in reply.mutated if i < len(names))


def _rules(check, rtol: float, atol: float) -> Rules:
    """A check's comparison rules; a judge's check names mistakes by the auto rule."""
    rules = rules_for(check, rtol, atol)
    return Rules(rtol, atol, "auto", rules.ordered, rules.loose_types) if rules.mode == "judge" else rules


def _matching_mistake(plan: FunctionPlan, replies: list[Reply], rtol: float, atol: float):
    rules = _rules(plan.check, rtol, atol)
    for mistake in plan.check.mistakes:
        if mistake.raises is not None:
            if any(r.status == "error" and raised_kind(r.error, mistake.raises)
                   and _message_matches(mistake.message, (r.error or {}).get("message", "")) for r in replies):
                return mistake
            continue
        outputs = plan.variants[mistake.id]
        if all(_same_as_variant(out, reply, rules) for out, reply in zip(outputs, replies)):
            return mistake
    return None


def raised_kind(error: dict | None, name: str) -> bool:
    """Whether an exception the student's code raised is `name` or a subclass of it (the
    child reports the names of its classes)."""
    error = error or {}
    return error.get("type") == name or name in (error.get("mro") or [])


def _message_matches(pattern: str, message: str) -> bool:
    """Whether a mistake's message pattern occurs in a student's exception message, with the
    same time limit as a text criterion: the message is the student's, the pattern may
    backtrack."""
    try:
        return regex.search(pattern, str(message)[:1000], regex.IGNORECASE, timeout=SEARCH_SECONDS) is not None
    except TimeoutError:
        return False


def _same_as_variant(output: Any, reply: Reply, rules: Rules) -> bool:
    if isinstance(output, Raised):
        return reply.status == "error" and (reply.error or {}).get("type") == output.type
    return reply.status == "ok" and compare_values(output, reply.value, rules) is None


def _tolerances(check, tolerance: Tolerance) -> tuple[float, float]:
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


# A short name may name its one answer with an article and a generic noun ("the FNN layers"),
# with its abbreviation in parentheses ("Feed-forward network (FFN)"), or by several names
# that are all right ("MLP / FNN"); a hedge ("attention/embedding/fnn", "attention or fnn",
# "fnn, attention") is judged by every name in it, so it never passes.
_HEDGE = re.compile(r"\s*(?:[/|,;&+()]|\b(?:or|and|vs)\b\.?)\s*")
_ARTICLE = re.compile(r"^the ")  # not "a": "A B" must not name B
_GENERIC = re.compile(r" (?:layers?|sub ?layers?|(?:neural )?(?:networks?|nets?)|blocks?|modules?|parts?|components?"
                      r"|weights?)$")


def _name(text: str) -> str:
    """One name without an article or a trailing generic noun: "the fnn layers" -> "fnn"."""
    name = _ARTICLE.sub("", normalize(text))
    return _GENERIC.sub("", name) or name


def _names_given(answer: str) -> list[str]:
    """The names a short answer gives: one, or each name of a hedge."""
    return [_name(part) for part in _HEDGE.split(normalize(answer)) if _name(part)]


def _names_one_of(answer: str, accepted: list[str]) -> bool:
    """Whether the answer, as a whole, names one of `accepted` (every name it gives does)."""
    names = {normalize(a) for a in accepted} | {_name(a) for a in accepted}
    names.discard("")
    if normalize(answer) in names:
        return True
    given = _names_given(answer)
    return bool(given) and all(name in names for name in given)


def _names_mistake(answer: str, wrong: str, candidates: list[str]) -> bool:
    """Whether every name the answer gives is the wrong answer `wrong`, possibly qualified by
    words that name no other candidate ("multi-head attention" is "attention")."""
    wrong = _name(wrong)
    others = {_name(c) for c in candidates} - {wrong, ""}
    given = _names_given(answer)

    def names_it(name: str) -> bool:
        if name == wrong:
            return True
        qualifier = name.removesuffix(f" {wrong}")
        return qualifier != name and not any(f" {other} " in f" {qualifier} " for other in others)

    return bool(given) and bool(wrong) and all(names_it(name) for name in given)


# ---------------------------------------------------------------- value checks


SCALAR_TYPES = ("int", "float", "bool", "str")


def judge_value(question: Question, check: ValueCheck, expected: Any, reply: Reply | None,
                tolerance: Tolerance, judge=None) -> CheckResult:
    """A top-level value against the expected one. `judge` is the reference's function for a
    check with `compare: judge` (the plan's `judges`)."""
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
    if check.type in SCALAR_TYPES:
        value = python_scalar(value)  # numpy scalars count as their Python kind
    rtol, atol = _tolerances(check, tolerance)
    if check.compare == "judge":
        return _judged_value(question, check, expected, value, judge, rtol, atol)
    problem = _value_problem(check, expected, value, rtol, atol)
    if problem is None:
        note = _matching_value_mistake(check, value, rtol, atol, tight=True)
        extra = f" Note: {note.feedback}" if note else ""
        return result(question, check, "passed", f"{name} is correct.{extra}", 1.0)
    mistake = _matching_value_mistake(check, value, rtol, atol, expected=expected)
    if mistake is not None:
        return result(question, check, "mistake", mistake.feedback, mistake.credit, mistake.id)
    return result(question, check, "failed", f"{name} {problem}.")


def _judged_value(question: Question, check: ValueCheck, expected: Any, value: Any, judge, rtol: float,
                  atol: float) -> CheckResult:
    name = f"`{check.name}`"
    if judge is None:
        return result(question, check, "error", f"{name} could not be graded: the grader was not given the judge "
                      f"`{check.judge}`. This is a problem of the grader, not of your answer.")
    problem = _type_problem(check, value)
    if problem:
        return result(question, check, "failed", f"{name} {problem}.")
    try:
        fraction, note = run_judge(judge, check.judge, expected, value, None)
    except JudgeError as exc:
        return result(question, check, "error", f"{name} could not be graded: {exc}. "
                      "This is a problem of the grader, not of your answer.")
    if fraction >= 1.0:
        return result(question, check, "passed", f"{name} is correct.", 1.0)
    mistake = _matching_value_mistake(check, value, rtol, atol, expected=expected)
    if mistake is not None:
        return result(question, check, "mistake", mistake.feedback, mistake.credit, mistake.id)
    note = clean_text(note)[:300]
    partial = f" Partial credit: {fraction:.0%}." if fraction > 0 else ""
    return result(question, check, "failed", f"{name} is not right{f' ({note})' if note else ''}.{partial}", fraction)


_TYPE_NAMES = {"list": (list,), "tuple": (tuple,), "dict": (dict,), "set": (set,), "array": (np.ndarray,)}
_LOOSE_TYPES = {"list": (list, tuple), "tuple": (list, tuple), "set": (set, frozenset),
                "array": (np.ndarray, list, tuple)}


def _type_problem(check: ValueCheck, value: Any) -> str | None:
    """What is wrong with the type of a value (None if nothing) for the check's `type`."""
    if check.type in ("any", *SCALAR_TYPES):
        return None
    if check.type == "dataframe":
        pandas = sys.modules.get("pandas")
        ok = pandas is not None and type(value) is pandas.DataFrame
        return None if ok else f"is {_kind(value)}, expected a DataFrame"
    kinds = _LOOSE_TYPES.get(check.type, _TYPE_NAMES[check.type]) if check.loose_types else _TYPE_NAMES[check.type]
    if type(value) in kinds:
        return None
    wanted = "a NumPy array" if check.type == "array" else f"a {check.type}"
    return f"is {_kind(value)}, expected {wanted}"


def _value_problem(check: ValueCheck, expected: Any, value: Any, rtol: float, atol: float) -> str | None:
    if check.type not in SCALAR_TYPES:
        problem = _type_problem(check, value)
        if problem:
            return problem
        problem = compare_values(expected, value, _rules(check, rtol, atol))
        return None if problem is None else problem.replace("returned", "is", 1)
    if check.type == "str":
        if type(value) is not str:
            return f"is {_kind(value)}, expected a string"
        accepted = [str(expected), *check.accept]
        if check.compare == "exact":
            return None if value in accepted else "is not the right answer"
        if check.compare == "normalized":
            return None if fold(value) in {fold(a) for a in accepted} else "is not the right answer"
        if len(value.split()) > 8:
            return "should be a short name, not a sentence"
        return None if _names_one_of(value, accepted) else "is not the right answer"
    if check.type == "bool":
        if type(value) is not bool:
            return f"is {_kind(value)}, expected True or False"
        return None if value == expected else "is not the right truth value"
    if check.compare == "exact":
        wanted = int if check.type == "int" else float
        if type(value) is not wanted:
            return f"is {_kind(value)}, expected {_kind(wanted())}"
        return None if value == expected else "is a different number"
    problem = compare_values(expected, value, Rules(rtol, atol))
    return None if problem is None else problem.replace("returned", "is", 1)


def _matching_value_mistake(check: ValueCheck, value: Any, rtol: float, atol: float, tight: bool = False,
                            expected: Any = None):
    structured = check.type not in SCALAR_TYPES
    candidates = [str(c) for c in [expected, *check.accept, *(m.value for m in check.mistakes)] if c is not None] \
        if check.type == "str" else []
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
        elif structured:
            matched = _value_problem(check, rubric_value(check.type, mistake.value), value,
                                     mistake.rtol if mistake.rtol is not None else rtol, atol) is None
        elif check.type == "str" and check.compare == "auto":
            matched = type(value) is str and len(value.split()) <= 8 \
                and _names_mistake(value, str(mistake.value), candidates)
        else:
            matched = _value_problem(check.model_copy(update={"accept": []}) if check.type == "str" else check,
                                     mistake.value, value,
                                     mistake.rtol if mistake.rtol is not None else rtol, atol) is None
        if matched:
            return mistake
    return None


# ---------------------------------------------------------------- text checks


def judge_text(question: Question, check: TextCheck, answer: Any, source: str, *,
               max_chars: int = ANSWER_CHARS, budget: MatchBudget | None = None) -> CheckResult:
    """Suggested points from the criteria met. An answer longer than `max_chars` is cut
    (and the feedback says so); each pattern searches under a time limit drawn from
    `budget` (one per submission; a fresh one if none is given): a search that runs out of
    time counts as not matched and the criterion is flagged for the reviewer."""
    if answer is None:
        return result(question, check, "missing",
                      f"No answer found: write it in a markdown cell tagged `{question.answer_tag}` "
                      f"or a string `{question.answer_name(check)}`.")
    if type(answer) is np.str_:  # numpy scalars count as their Python kind
        answer = str(answer)
    if type(answer) is not str:
        return result(question, check, "failed", f"{source} should be a string, not {_kind(answer)}.")
    cut = len(answer) > max_chars
    answer = clean_text(answer[:max_chars])
    note = f" The answer was truncated at {max_chars:,} characters; only that part was read." if cut else ""
    if not answer.strip() or answer.strip() == TEXT_PLACEHOLDER:
        return result(question, check, "missing", f"{source} is not answered yet.")
    if len(answer.split()) < check.min_words:
        return replace(result(question, check, "needs_review", "The answer is too short to suggest points; "
                              "a reviewer will read it." + note), answer=answer)
    budget = budget if budget is not None else MatchBudget()
    met, missed, unchecked, points = [], [], [], 0.0
    for criterion in check.criteria:
        found = [_search_text(pattern, answer, budget) for pattern in criterion.any]
        if True in found:
            met.append(criterion.description)
            points += criterion.points
        elif None in found:
            unchecked.append(criterion.description)
        else:
            missed.append(criterion.description)
    feedback = f"Suggested {points:g}/{check.points:g}, to be confirmed by a reviewer."
    if met:
        feedback += f" Covers: {'; '.join(met)}."
    if missed:
        feedback += f" Not found: {'; '.join(missed)}."
    if unchecked:
        feedback += (f" Not checked (matching took too long; the reviewer decides): {'; '.join(unchecked)}.")
    return CheckResult(question.id, check.id, check.kind, check.points, points, "needs_review", feedback + note,
                       check.visibility, answer=answer)


SEARCH_SECONDS = 0.1  # the longest one criterion pattern may search one answer
MATCH_SECONDS = 0.5  # all pattern searches of one submission's answers together


class MatchBudget:
    """The time left for matching one submission's free-text answers against the criteria.

    Patterns such as `adapter.*lora` take time quadratic in the answer's length on some
    texts; the answer is capped and every search has a time limit, and all searches of a
    submission together have this budget, so no answer costs the grader more than a moment."""

    def __init__(self, seconds: float = MATCH_SECONDS) -> None:
        self.left = seconds
        self.lock = threading.Lock()

    def spend(self, seconds: float) -> None:
        with self.lock:
            self.left -= seconds


@functools.lru_cache(maxsize=4096)
def text_pattern(pattern: str) -> regex.Pattern:
    """A criterion's pattern as the grader runs it (compiled once)."""
    return regex.compile(pattern, TEXT_FLAGS)


def _search_text(pattern: str, answer: str, budget: MatchBudget) -> bool | None:
    """Whether `pattern` occurs in `answer`; None when the search ran out of time."""
    limit = min(SEARCH_SECONDS, budget.left)
    if limit <= 0:
        return None
    started = time.perf_counter()
    try:
        return text_pattern(pattern).search(answer, timeout=limit) is not None
    except TimeoutError:
        return None
    finally:
        budget.spend(time.perf_counter() - started)
