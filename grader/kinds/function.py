"""Function checks (`kind: function`): the student's function, called on every case.

On the grader's side (`prepare`), the cases are drawn (cases.py) and the reference answers
each, as do the known mistakes' variants; the self-check bundle's practice cases are drawn
apart. The student's process gets one call per case (`requests`). `judge` compares each
reply with the reference's answer under the check's `compare` rule (compare.py: shape, NaN,
tolerance, types, order; or the rubric's judge) and wants the arguments left untouched;
when they differ, the known mistakes are tried so the feedback can name the mistake.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

from ..cases import (GRADING, PRACTICE, argument_names, argument_problems, describe_call, for_reference,
                     for_reference_keywords, generate_cases, raises, wire_form)
from ..checks import CheckResult, case_replies, article, compare, comparison_rules, message_matches, on_all_cases, raised_kind, result, tolerances
from ..compare import JudgeError, Rules, run_judge
from ..compare import compare as compare_values
from ..compare import kind as _kind
from ..errors import ReferenceLoadError, RubricError
from ..reference import Plan, Raised, as_plain, checked_judge, drawn, exception_names
from ..runner import Reply, Request, RunReport
from ..untrusted import clean_text

if TYPE_CHECKING:
    from ..rubric import FunctionCheck, Question, Tolerance


PLANS = "functions"  # the field of the Plan that holds these checks' plans (kinds/__init__.py)


# ---------------------------------------------------------------- the trusted side


def prepare(plan: Plan, question: Question, check: FunctionCheck, where: str, student: str | None = None) -> None:
    """The check's cases and the reference's answers, into `plan.functions`."""
    plan.functions[question.id, check.id] = _plan_function(check, plan.reference, where, plan.support, student)


@dataclass
class FunctionPlan:
    check: FunctionCheck
    arg_names: list[str]
    # not in the repr: an int of more than 4,300 digits cannot be shown (Python's int <-> str limit)
    cases: list[tuple] = field(repr=False)
    expected: list[Any] = field(repr=False)
    variants: dict[str, list[Any]] = field(default_factory=dict, repr=False)  # mistake id -> outputs per case
    # the self-check bundle's cases, drawn apart from the graded ones (cases.py); None for a
    # hidden check, and when every case is fixed numbers and the rubric gives no `practice`
    practice: FunctionPlan | None = None
    judge: Callable | None = None  # the reference's judge, for `compare: judge`
    support: ModuleType | None = field(default=None, repr=False)  # the rubric's support module (fixtures)


def _plan_function(check: FunctionCheck, reference: ModuleType, where: str,
                   support: ModuleType | None = None, student: str | None = None) -> FunctionPlan:
    from ..rubric import case_arguments

    function = _reference_function(reference, check.reference_name, where)
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        raise RubricError(f"{where}: the reference's {check.reference_name} has no signature to call it by; "
                          "make it a Python function") from None
    # the cases follow the reference's signature: every name one of its parameters, every
    # required parameter named; which go by position and which by keyword, the signature says
    problems = [f"{where}, {what} {number}: {problem}"
                for what, listed in (("case", check.cases), ("practice case", check.practice))
                for number, case in enumerate(listed, start=1)
                for problem in argument_problems(list(case_arguments(case)), signature)]
    if problems:
        shown = f"{check.reference_name}{signature}"
        raise RubricError(f"{'; '.join(problems)} (the reference is {shown})")
    named = {name for case in [*check.cases, *check.practice] for name in case_arguments(case)}
    arg_names = [name for name in signature.parameters if name in named] + \
        sorted(named - set(signature.parameters))  # all names the cases use, in the signature's order
    cases = _generate(check, GRADING, signature, support, where, student)
    plan = _run_cases(check, reference, function, arg_names, cases, where, "case", support)
    if check.compare == "judge":
        plan.judge = checked_judge(check, reference, where, [(out, args) for out, args in zip(plan.expected, cases)
                                                      if not isinstance(out, Raised)])
    # hidden: no bundle; a student's own draw: the bundle has the published plan's
    practice = _generate(check, PRACTICE, signature, support, where) \
        if check.visibility == "public" and student is None else []
    if practice:
        graded = [_same_call_key(args) for args in cases]
        for number, args in enumerate(practice, start=1):
            if _same_call_key(args) in graded:
                raise RubricError(f"{where}: practice case {number} is also a graded case; the self-check "
                                  "bundle would hold its answer")
        plan.practice = _run_cases(check, reference, function, arg_names, practice, where, "practice case", support)
        plan.practice.judge = plan.judge
    return plan


def _generate(check: FunctionCheck, stream: str, signature, support: ModuleType | None, where: str,
              student: str | None = None) -> list[tuple]:
    return drawn(generate_cases, where, check, stream, signature, support, student)


def _same_call_key(args: tuple) -> str:
    """A case as plain text: equal for the same arguments given the same way."""
    return json.dumps(wire_form(args), sort_keys=True)


def _run_cases(check: FunctionCheck, reference: ModuleType, function, arg_names: list[str], cases: list[tuple],
               where: str, what: str, support: ModuleType | None = None) -> FunctionPlan:
    expected = [_run(function, args, f"{where}: the reference {check.reference_name}", number, what, support)
                for number, args in enumerate(cases, start=1)]
    variants: dict[str, list[Any]] = {}
    for mistake in check.mistakes:
        if mistake.variant is None:
            continue
        variant = _reference_function(reference, mistake.variant, f"{where}, mistake {mistake.id}")
        variants[mistake.id] = [_run_variant(variant, args, support) for args in cases]
    return FunctionPlan(check, arg_names, cases, expected, variants, support=support)


def _reference_function(reference: ModuleType, name: str, where: str):
    function = getattr(reference, name, None)
    if not callable(function):
        raise RubricError(f"{where}: the reference has no function `{name}`; fix the name in the rubric")
    return function


def _run(function, args: tuple, where: str, number: int, what: str = "case", support: ModuleType | None = None) -> Any:
    """The reference's answer to a case; on a case that says `raises`, Raised(that name),
    after making sure the reference does raise it (or a subclass) there."""
    wanted = raises(args)
    try:
        result = function(*for_reference(args, support), **for_reference_keywords(args, support))
    except Exception as exc:
        if wanted is not None and wanted in exception_names(type(exc)):
            return Raised(wanted)
        expected = f", not {wanted}" if wanted is not None else ""
        raise ReferenceLoadError(f"{where} raises on {what} {number}: {type(exc).__name__}{expected}: {exc}") from None
    if wanted is not None:
        raise RubricError(f"{where} does not raise {wanted} on {what} {number} (it returns "
                          f"{type(result).__name__}); fix the case's `raises` or its arguments")
    return as_plain(result, f"{where} on {what} {number}")


def _run_variant(function, args: tuple, support: ModuleType | None = None) -> Any:
    try:
        result = function(*for_reference(args, support), **for_reference_keywords(args, support))
    except Exception as exc:
        return Raised(type(exc).__name__)
    return as_plain(result, f"variant {function.__name__}")


# ---------------------------------------------------------------- asking and judging


def requests(plan: Plan, key: str, question: Question, check: FunctionCheck, submission) -> list[Request]:
    """One call per case."""
    return [Request.call(f"{key}/{i}", check.name, args, check.call_timeout)
            for i, args in enumerate(plan.functions[question.id, check.id].cases)]


def judge(plan: Plan, key: str, question: Question, check: FunctionCheck, report: RunReport, submission,
          budget) -> CheckResult:
    function_plan = plan.functions[question.id, check.id]
    return judge_function(question, function_plan, case_replies(report, key, len(function_plan.cases)), plan.rubric.tolerance)


def judge_function(question: Question, plan: FunctionPlan, replies: list[Reply], tolerance: Tolerance) -> CheckResult:
    check = plan.check
    if len(replies) != len(plan.cases):
        raise ValueError(f"{len(replies)} replies for {len(plan.cases)} cases of {check.id}")
    name = f"`{check.name}`"
    rtol, atol = tolerances(check, tolerance)
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
        return result(question, check, "passed", f"{name} is correct {on_all_cases(len(plan.cases))}.", 1.0)
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
        problem = compare(expected, reply.value, rtol, atol, rules=comparison_rules(check, rtol, atol))
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
    return ", ".join(f"`{names[i]}`" for i in reply.mutated if 0 <= i < len(names))


def _matching_mistake(plan: FunctionPlan, replies: list[Reply], rtol: float, atol: float):
    rules = comparison_rules(plan.check, rtol, atol)
    for mistake in plan.check.mistakes:
        if mistake.raises is not None:
            if any(r.status == "error" and raised_kind(r.error, mistake.raises)
                   and message_matches(mistake.message, (r.error or {}).get("message", "")) for r in replies):
                return mistake
            continue
        outputs = plan.variants[mistake.id]
        if all(_same_as_variant(out, reply, rules) for out, reply in zip(outputs, replies)):
            return mistake
    return None


def _same_as_variant(output: Any, reply: Reply, rules: Rules) -> bool:
    if isinstance(output, Raised):
        return reply.status == "error" and (reply.error or {}).get("type") == output.type
    return reply.status == "ok" and compare_values(output, reply.value, rules) is None
