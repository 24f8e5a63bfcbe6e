"""`grade check`: the public checks, on a student's own machine, with honest feedback.

The bundle (see `assign.bundle_for`) is rebuilt into the same plan objects the instructor's
run uses, so a function check reports the same mistake with the same words, on practice
cases drawn like the graded ones but not the same (the bundle holds no graded answer). What
cannot be decided here is said so: hidden checks and free text are "graded later"; bools,
short names and functions whose cases are fixed numbers are checked for their form only.
It never says "all passed" while points remain open.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cases import describe_call, from_wire_form
from .checks import CheckResult, as_array, compare, result
from .child import wire
from .compare import python_scalar
from .errors import GradeError
from .hashed import HashedNumber
from .compare import kind as _kind
from .kinds.function import FunctionPlan, _case_problem, _matching_mistake, _mutated_names, judge_function
from .kinds.value import _type_problem
from .reference import Raised, support_module
from .rubric import FunctionCheck, FunctionMistake, Limits, Question, Tolerance, ValueCheck
from .runner import Reply, Request, Runner
from .sandbox import Plain
from .submissions import read_submission

BUNDLE_FORMAT = 2  # 2: practice cases, forms of fixed-number checks, one salt per value check


@dataclass
class Line:
    """One check as the student sees it."""

    question: str
    check: str
    verdict: str  # passed | mistake | failed | missing | error | timeout | format only | graded later
    points: float
    message: str


class Bundle:
    def __init__(self, data: dict, path: Path) -> None:
        try:
            if data.get("format") != BUNDLE_FORMAT:
                raise ValueError(f"format {data.get('format')!r}, not {BUNDLE_FORMAT}")
            self.title = str(data["title"])
            self.entry = data.get("entry")
            self.limits = Limits(**data["limits"])
            self.tolerance = Tolerance(**data["tolerance"])
            self.questions = data["questions"]
            # the source of the rubric's support module (its fixtures), or None
            self.support = data.get("support")
            if self.support is not None and type(self.support) is not str:
                raise ValueError("`support` is not Python source")
        except (KeyError, TypeError, ValueError) as exc:
            raise GradeError(f"{path}: not a self-check bundle of this version of grade ({exc}); "
                             "ask for the current one") from None


def load_bundle(path: Path) -> Bundle:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GradeError(f"{path}: no such bundle; pass the -check.json file that came with the exercise "
                         "with --bundle") from None
    except (OSError, ValueError) as exc:
        raise GradeError(f"{path}: cannot read the bundle ({exc})") from None
    return Bundle(data if isinstance(data, dict) else {}, path)


def default_bundle(submission: Path) -> Path:
    """`<entry>-check.json` beside the submission or in the current folder."""
    for folder in (submission if submission.is_dir() else submission.parent, Path.cwd()):
        found = sorted(folder.glob("*-check.json"))
        if len(found) == 1:
            return found[0]
    raise GradeError("no self-check bundle found beside the submission; pass it with --bundle FILE")


def check_submission(bundle: Bundle, path: Path) -> list[Line]:
    submission = read_submission(path, entry_module=bundle.entry)
    if submission.status != "ok":
        raise GradeError(f"{path}: {submission.problem}")
    support = support_module(bundle.support) if bundle.support is not None else None
    plans, requests = _plans_and_requests(bundle, submission, support)
    with Runner(bundle.limits, confinement=Plain("a self-check runs your own code"), support=bundle.support) as runner:
        report = runner.run(submission, requests)
    lines = []
    for question, check, plan in plans:
        lines.append(_judge(bundle, question, check, plan, submission, report))
    return lines


def _plans_and_requests(bundle: Bundle, submission, support=None):
    plans, requests = [], []
    for q in bundle.questions:
        for c in q["checks"]:
            key = f"{q['id']}/{c['id']}"
            if c["visibility"] == "hidden":
                plans.append((q, c, None))
            elif c["kind"] == "function":
                plan = _function_plan(q, c)
                plan.support = support
                plans.append((q, c, plan))
                requests += [Request.call(f"{key}/{i}", c["name"], args, c.get("call_timeout"))
                             for i, args in enumerate(plan.cases)]
            elif c["kind"] in ("value", "object"):
                plans.append((q, c, None))
                requests.append(Request(key, "get", c["name"]))
            else:
                plans.append((q, c, None))
                if q["id"] not in submission.answers:
                    requests.append(Request(key, "get", c["answer"]))
    return plans, requests


def _function_plan(q: dict, c: dict) -> FunctionPlan:
    """The check's plan; for a check of fixed numbers (`forms`), `expected` holds the forms."""
    mistakes = [FunctionMistake(id=m["id"], feedback=m["feedback"], credit=m["credit"],
                                variant=None if "raises" in m else m["id"],
                                raises=m.get("raises"), message=m.get("message", "")) for m in c["mistakes"]]
    # the check's comparison rule, if the bundle names it; a judge is the reference's and stays
    # with the grader (such a check is self-checked for its form only, see `_judged_later`)
    compare = c.get("compare", "auto") if c.get("compare", "auto") in ("auto", "exact", "unordered", "normalized") \
        else "auto"
    check = FunctionCheck(kind="function", id=c["id"], name=c["name"], points=c["points"], rtol=c["rtol"],
                          atol=c["atol"], call_timeout=c["call_timeout"], mistakes=mistakes,
                          cases=[{name: 0 for name in c["arg_names"]}], compare=compare,
                          ordered=bool(c.get("ordered", False)), loose_types=bool(c.get("loose_types", False)))
    cases = [from_wire_form(case) for case in c["cases"]]
    if "forms" in c:  # a case that raises is told by the exception it expects
        return FunctionPlan(check, c["arg_names"], cases, [_output(f) if "raised" in f else f for f in c["forms"]])
    variants = {m["id"]: [_output(o) for o in m["outputs"]] for m in c["mistakes"] if "outputs" in m}
    return FunctionPlan(check, c["arg_names"], cases, [_output(o) for o in c["expected"]], variants)


def _output(data: dict):
    return Raised(data["raised"]) if "raised" in data else wire.decode(data)


def _judge(bundle: Bundle, q: dict, c: dict, plan, submission, report) -> Line:
    key = f"{q['id']}/{c['id']}"
    if c["visibility"] == "hidden":
        return Line(q["id"], c["id"], "graded later", c["points"], "a hidden check, run when your work is graded")
    if c["kind"] == "text":
        reply = report.replies.get(key)
        given = q["id"] in submission.answers or (reply is not None and reply.status == "ok"
                                                  and isinstance(reply.value, str) and reply.value.strip())
        if given:
            return Line(q["id"], c["id"], "graded later", c["points"], "free text, read by a person")
        return Line(q["id"], c["id"], "missing", c["points"],
                    f"no answer yet: a markdown cell tagged answer:{q['id']} or a string {c['answer']}")
    if c["kind"] == "object":  # its steps' answers would be graded answers: only whether it is there
        reply = report.replies.get(key)
        if reply is None or reply.status == "missing":
            return Line(q["id"], c["id"], "missing", c["points"], f"`{c['name']}` is not defined; define a class "
                        f"named {c['name']}")
        return Line(q["id"], c["id"], "graded later", c["points"], f"`{c['name']}` is there; what its objects do "
                    "is checked when your work is graded")
    question = Question(id=q["id"], title=q["title"], checks=[plan.check if plan else _stand_in(c)])
    if c["kind"] == "function":
        replies = [report.replies.get(f"{key}/{i}", Reply("missing")) for i in range(len(plan.cases))]
        if c.get("compare") == "judge":
            return _judged_later(question, plan, replies, bundle.tolerance)
        if "forms" in c:
            return _form_line(question, plan, replies, bundle.tolerance)
        return _line(judge_function(question, plan, replies, bundle.tolerance))
    return _value_line(question, c, report.replies.get(key))


def _form_line(question: Question, plan: FunctionPlan, replies: list[Reply], tolerance: Tolerance) -> Line:
    """A function whose cases are fixed numbers: the bundle holds the form of each answer
    (an array's shape, a number), not its values, which would be the graded answers."""
    check = plan.check
    if any(r.status in ("missing", "not_callable") for r in replies) or all(
            r.status == "error" and (r.error or {}).get("type") == "NotImplementedError" for r in replies):
        return _line(judge_function(question, plan, replies, tolerance))  # decided before any value is compared
    problems = []
    for number, (args, form, reply) in enumerate(zip(plan.cases, plan.expected, replies), start=1):
        if isinstance(form, Raised):  # the exception asked for is no secret: the case says it
            problem = _case_problem(plan, args, form, reply, 0.0, 0.0)
        elif reply.status != "ok":
            problem = _case_problem(plan, args, None, reply, 0.0, 0.0)
        else:
            problem = _form_problem(form, reply.value)
            if problem is None and reply.mutated:
                problem = f"modified its argument {_mutated_names(plan, args, reply)} in place (work on a copy)"
        if problem:
            problems.append((number, args, reply, problem))
    name = f"`{check.name}`"
    if not problems:
        return Line(question.id, check.id, "format only", check.points,
                    f"{name} answers all {len(plan.cases)} cases in the right form; its cases are fixed numbers, "
                    "so whether the values are right is graded later")
    mistake = _matching_mistake(plan, replies, 0.0, 0.0)  # only mistakes named by their exception
    if mistake is not None:
        return _line(result(question, check, "mistake", mistake.feedback, mistake.credit, mistake.id))
    number, args, reply, problem = problems[0]
    where = f"case {number} of {len(plan.cases)} ({describe_call(args, plan.arg_names, plan.support)})"
    outcome = {"timeout": "timeout", "crashed": "error", "error": "error"}.get(reply.status, "failed")
    return _line(result(question, check, outcome, f"{name} {problem} in {where}."))


def _judged_later(question: Question, plan: FunctionPlan, replies: list[Reply], tolerance: Tolerance) -> Line:
    """A check whose answers a judge of the reference decides (`compare: judge`): here only
    whether the function answers every case with a value that can be graded."""
    check = plan.check
    if any(r.status in ("missing", "not_callable") for r in replies) or all(
            r.status == "error" and (r.error or {}).get("type") == "NotImplementedError" for r in replies):
        return _line(judge_function(question, plan, replies, tolerance))
    for number, (args, reply) in enumerate(zip(plan.cases, replies), start=1):
        expected = plan.expected[number - 1] if isinstance(plan.expected[number - 1], Raised) else None
        problem = _case_problem(plan, args, expected, reply, 0.0, 0.0) \
            if reply.status != "ok" or expected is not None else None
        if problem is None and reply.mutated:
            problem = f"modified its argument {_mutated_names(plan, args, reply)} in place (work on a copy)"
        if problem:
            where = f"case {number} of {len(plan.cases)} ({describe_call(args, plan.arg_names, plan.support)})"
            outcome = {"timeout": "timeout", "crashed": "error", "error": "error"}.get(reply.status, "failed")
            return _line(result(question, check, outcome, f"`{check.name}` {problem} in {where}."))
    return Line(question.id, check.id, "format only", check.points,
                f"`{check.name}` answers all {len(plan.cases)} cases; whether the answers are right is decided "
                "when your work is graded")


_NUMBER_FORMS = {"int", "float"} | {np.dtype(code).name for code in "bBhHiIlLqQefdg"}


def _form_problem(form: dict, value) -> str | None:
    if form.get("form") == "array":
        value = as_array(value, tuple(form["shape"]))
        if isinstance(value, str):
            return value
        if form.get("finite") and not np.isfinite(value.astype(np.float64)).all():
            return "returned NaN or infinite values"
        return None
    if form.get("form") == "number" or form.get("form") in _NUMBER_FORMS:  # numpy scalars count as numbers
        if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biuf":
            value = float(value.reshape(()))
        value = python_scalar(value)
        if type(value) not in (int, float):
            return f"returned {_kind(value)}, expected a number"
        return None if type(value) is int or math.isfinite(value) else "returned NaN or an infinite value"
    if type(python_scalar(value)).__name__ == form.get("form"):
        return None
    return f"returned {_kind(value)}, expected a {form.get('form')}"


def _stand_in(c: dict) -> ValueCheck:
    return ValueCheck(kind="value", id=c["id"], name=c["name"], type=c["type"], points=c["points"],
                      loose_types=bool(c.get("loose_types", False)))


def _value_line(question: Question, c: dict, reply: Reply | None) -> Line:
    check = question.checks[0]
    name = f"`{c['name']}`"
    if reply is None or reply.status == "missing" or (reply.status == "ok" and reply.value is None):
        return _line(result(question, check, "missing", f"{name} is not answered yet."))
    if reply.status != "ok":
        return _line(result(question, check, "error", f"{name} could not be read: {reply.detail}."))
    value = python_scalar(reply.value)  # numpy scalars count as their Python kind
    if c["type"] not in ("int", "float", "bool", "str"):  # a list, dict, array, DataFrame ...: its type only
        problem = _type_problem(check, value)
        if problem:
            return _line(result(question, check, "failed", f"{name} {problem}."))
        return Line(question.id, c["id"], "format only", c["points"],
                    f"a {c['type']} value, as asked; whether it is right is graded later" if c["type"] != "any"
                    else "a value that can be graded; whether it is right is graded later")
    if c["type"] == "bool":
        ok = type(value) is bool
        return Line(question.id, c["id"], "format only" if ok else "failed", c["points"],
                    "a bool, as asked; whether it is right is graded later" if ok else f"{name} should be True or False")
    if c["type"] == "str":
        ok = type(value) is str and 0 < len(value.split()) <= 8
        return Line(question.id, c["id"], "format only" if ok else "failed", c["points"],
                    "a short name, as asked; whether it is right is graded later" if ok
                    else f"{name} should be a short name (a string of a few words)")
    if type(value) not in (int, float) or (isinstance(value, float) and not math.isfinite(value)):
        return _line(result(question, check, "failed", f"{name} should be a number."))
    if compare(HashedNumber.from_dict(c["expected"]), value, 0, 0) is None:
        return _line(result(question, check, "passed", f"{name} is correct (within the self-check's tolerance).", 1.0))
    for m in c["mistakes"]:
        hit = (m["when"] == "not_integer" and isinstance(value, float) and not value.is_integer()) or \
              (m["value"] is not None and HashedNumber.from_dict(m["value"]).matches(value))
        if hit:
            return _line(result(question, check, "mistake", m["feedback"], m["credit"], m["id"]))
    return _line(result(question, check, "failed", f"{name} is not the right number."))


def _line(check: CheckResult) -> Line:
    verdict = "known mistake" if check.outcome == "mistake" else check.outcome
    return Line(check.question, check.check, verdict, check.max_points, check.feedback)


def render(bundle: Bundle, lines: list[Line]) -> str:
    width = max(len(f"{line.question} {line.check}") for line in lines)
    out = [f"Self-check: {bundle.title}", ""]
    for line in lines:
        out.append(f"  {f'{line.question} {line.check}'.ljust(width)}  {line.verdict:<13} {line.message}")
    passed = sum(line.points for line in lines if line.verdict == "passed")
    checked = sum(line.points for line in lines if line.verdict not in ("graded later", "format only"))
    later = sum(line.points for line in lines if line.verdict in ("graded later", "format only"))
    out += ["", f"Checked here: {passed:g} of {checked:g} points pass."]
    if later:
        out.append(f"Still to be decided when your work is graded: {later:g} points "
                   "(hidden checks, free text, and answers checked here for their form only). "
                   "Passing here does not mean full marks.")
    return "\n".join(out)
