"""Value checks (`kind: value`): a top-level value of the student's module or notebook.

On the grader's side (`prepare`) the expected value is the rubric's `expected`, made the
check's `type`, or the reference's value of the same name. The student's process is asked
for the value (`requests`). `judge` compares numbers within tolerance (numpy scalars count
as their Python kind), bools exactly, short names against synonyms (a hedge of several names
never passes), and lists, tuples, dicts, sets, arrays and DataFrames by the same rules as
function results (compare.py); known mistakes name wrong answers.
"""

from __future__ import annotations

import math
import re
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..checks import CheckResult, comparison_rules, result, tolerances
from ..compare import JudgeError, Rules, fold, normalize, python_scalar, run_judge
from ..compare import compare as compare_values
from ..compare import kind as _kind
from ..errors import RubricError
from ..reference import Plan, as_plain, checked_judge
from ..runner import Reply, Request, RunReport
from ..untrusted import clean_text

if TYPE_CHECKING:
    from ..rubric import Question, Tolerance, ValueCheck


PLANS = "values"  # the field of the Plan that holds these checks' expected values


# ---------------------------------------------------------------- the trusted side


def prepare(plan: Plan, question: Question, check: ValueCheck, where: str, student: str | None = None) -> None:
    """The expected value into `plan.values`, and its judge into `plan.judges`."""
    expected = plan.values[question.id, check.id] = _expected_value(check, plan.reference, where)
    if check.compare == "judge":
        plan.judges[question.id, check.id] = checked_judge(check, plan.reference, where, [(expected, None)])


def _expected_value(check: ValueCheck, reference: ModuleType, where: str) -> Any:
    if check.expected is not None:
        try:
            value = rubric_value(check.type, check.expected)
        except (TypeError, ValueError) as exc:
            raise RubricError(f"{where}: `expected` cannot be made a {check.type}: {exc}") from None
    elif hasattr(reference, check.name):
        value = as_plain(getattr(reference, check.name), where)
    else:
        raise RubricError(f"{where}: give `expected`, or define `{check.name}` in the reference")
    if check.type in ("int", "float", "bool", "str"):
        value = python_scalar(value)  # numpy scalars count as their Python kind
    if not _has_type(check.type, value):
        shown = repr(value) if check.type in ("int", "float", "bool", "str") else f"a {type(value).__name__}"
        raise RubricError(f"{where}: the expected value {shown} is not of type {check.type}")
    return value


def rubric_value(check_type: str, value: Any) -> Any:
    """A value as the rubric's YAML gives it (`expected`, a mistake's `value`), made the
    check's type: a list becomes a tuple, a set or an array as the type says."""
    if check_type == "tuple" and type(value) is list:
        return tuple(value)
    if check_type == "set" and type(value) is list:
        return set(value)
    if check_type == "array" and type(value) in (list, int, float):
        return np.asarray(value)
    return value


def _has_type(check_type: str, value: Any) -> bool:
    kind = type(value)
    if check_type in ("int", "float"):
        return kind in (int, float)
    if check_type == "dataframe":
        pandas = sys.modules.get("pandas")
        return pandas is not None and kind is pandas.DataFrame
    kinds = {"bool": (bool,), "str": (str,), "list": (list,), "tuple": (tuple,), "dict": (dict,),
             "set": (set, frozenset), "array": (np.ndarray,)}
    return check_type == "any" or kind in kinds[check_type]


# ---------------------------------------------------------------- asking and judging


def requests(plan: Plan, key: str, question: Question, check: ValueCheck, submission) -> list[Request]:
    return [Request(key, "get", check.name)]


def judge(plan: Plan, key: str, question: Question, check: ValueCheck, report: RunReport, submission,
          budget) -> CheckResult:
    return judge_value(question, check, plan.values[question.id, check.id], report.replies.get(key),
                       plan.rubric.tolerance, judge=plan.judges.get((question.id, check.id)))


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
    rtol, atol = tolerances(check, tolerance)
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
        problem = compare_values(expected, value, comparison_rules(check, rtol, atol))
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
