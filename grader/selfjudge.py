"""The judging side of `grade check` and `grader.check`: the bundle's checks made into the
plans the kinds judge with (kinds/function.py, kinds/object.py, kinds/value.py, kinds/text.py),
what to ask the student's code, and each check's line from the replies, with the same words
as the final grade. Loaded by selfcheck.py once the student's process is starting.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .cases import describe_call, from_wire_form
from .checks import CheckResult, compare, result
from .compare import as_array
from .child import wire
from .compare import kind as _kind
from .compare import python_scalar
from .errors import GradeError
from .hashed import HashedNumber
from .kinds.function import FunctionPlan, _case_problem, _matching_mistake, _mutated_names, judge_function
from .kinds.object import bundle_plan, judge_forms, judge_object, object_requests
from .kinds.text import _text_answer, filled
from .kinds.value import _type_problem
from .reference import Raised
from .runner import Reply, Request
from .selfcheck import Bundle, BundleTolerance, Line, place_of

if TYPE_CHECKING:
    from .rubric import ValueCheck

# A bundle's check is judged as a record of the fields its kind reads (`_CheckStandIn`), not
# as the rubric's model: `grade check` does not build (or import) the rubric's pydantic models.
_RULES = ("auto", "exact", "unordered", "normalized")  # a judge stays with the grader


def judge_lines(bundle: Bundle, plans, submission, report) -> list[Line]:
    """Each planned check's line from the replies in `report` (the CLI's, from a child
    process; `grader.check`'s, from the notebook's own namespace). The number answers'
    salted hashes (about 15 ms each) are computed in threads beside the other checks'
    judging (PBKDF2 runs without the GIL); their lines come last, in their places."""
    hashing = _hash_numbers(plans, report)
    lines: dict[int, Line] = {}
    for number, (question, check, plan) in enumerate(plans):
        if check["kind"] != "value":
            lines[number] = _judge(bundle, question, check, plan, submission, report)
    for thread in hashing:
        thread.join()
    for number, (question, check, plan) in enumerate(plans):
        if check["kind"] == "value":
            lines[number] = _judge(bundle, question, check, plan, submission, report)
    return [lines[number] for number in range(len(plans))]


def _hash_numbers(plans, report) -> list[threading.Thread]:
    """Threads hashing each number answer as its value check will (`_value_line`): the hash is
    kept (hashed.py caches it), so the check finds it done."""
    threads = []
    for q, c, _ in plans:
        reply = report.replies.get(f"{q['id']}/{c['id']}")
        if c["kind"] != "value" or c["visibility"] == "hidden" or "expected" not in c or reply is None \
                or reply.status != "ok":
            continue
        value = python_scalar(reply.value)
        if type(value) not in (int, float):
            continue

        def work(expected=c["expected"], value=value) -> None:
            try:
                HashedNumber.from_dict(expected).matches(value)
            except Exception:  # a malformed entry: the check itself says so, in its own line
                pass

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        threads.append(thread)
    return threads


def _plans_and_requests(bundle: Bundle, submission, support=None):
    plans = plans_of(bundle, support)
    return plans, requests_of(plans, submission)


def plans_of(bundle: Bundle, support=None, questions=None) -> list[tuple[dict, dict, FunctionPlan | None]]:
    """(question, check, plan) of every check of the bundle (or of the `questions` named);
    GradeError, in one line, for a bundle whose checks this version cannot read."""
    try:
        return _plans_of(bundle, support, questions)
    except (wire.WireError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise GradeError(f"{bundle.path}: this self-check bundle cannot be read by this version of grade "
                         f"({type(exc).__name__}: {str(exc)[:200]}); ask for the current one") from None


def _plans_of(bundle: Bundle, support=None, questions=None) -> list[tuple[dict, dict, FunctionPlan | None]]:
    plans = []
    for q in bundle.questions:
        if questions is not None and q["id"] not in questions:
            continue
        for c in q["checks"]:
            if c["visibility"] != "hidden" and c["kind"] == "function":
                plan = _function_plan(q, c)
                plan.support = support
                plans.append((q, c, plan))
            elif c["visibility"] != "hidden" and c["kind"] == "object":
                plans.append((q, c, bundle_plan(_CheckStandIn.of(c), c, support)))
            else:
                plans.append((q, c, None))
    return plans


def requests_of(plans, submission) -> list[Request]:
    """What to ask the student's code for the planned checks."""
    requests = []
    for q, c, plan in plans:
        key = f"{q['id']}/{c['id']}"
        if c["visibility"] == "hidden":
            continue
        if c["kind"] == "function":
            requests += [Request.call(f"{key}/{i}", c["name"], args, c.get("call_timeout"))
                         for i, args in enumerate(plan.cases)]
        elif c["kind"] == "object":
            requests += object_requests(key, plan)
        elif c["kind"] == "value":
            requests.append(Request(key, "get", c["name"]))
        elif not filled(submission.answers.get(q["id"])):  # the string, unless the cell is filled in
            requests.append(Request(key, "get", c["answer"]))
    return requests


def _function_plan(q: dict, c: dict) -> FunctionPlan:
    """The check's plan; for a check of fixed numbers (`forms`), `expected` holds the forms."""
    check = _CheckStandIn.of(c)
    if type(c["arg_names"]) is not list or not all(type(name) is str for name in c["arg_names"]):
        raise ValueError(f"check {check.id}: its argument names are not a list of names")
    cases = [from_wire_form(case) for case in c["cases"]]
    if "forms" in c:  # a case that raises is told by the exception it expects
        return FunctionPlan(check, c["arg_names"], cases, [_output(f) if "raised" in f else f for f in c["forms"]])
    variants = {m["id"]: [_output(o) for o in m["outputs"]] for m in c["mistakes"] if "outputs" in m}
    return FunctionPlan(check, c["arg_names"], cases, [_output(o) for o in c["expected"]], variants)


def _output(data: dict):
    return Raised(data["raised"]) if "raised" in data else wire.decode(data)


def _judge(bundle: Bundle, q: dict, c: dict, plan, submission, report) -> Line:
    line = _judged(bundle, q, c, plan, submission, report)
    line.where = place_of(c)
    return line


class _TextQuestion:
    """What `kinds.text` asks of a question, from the bundle."""

    def __init__(self, q: dict, c: dict) -> None:
        self.id, self.answer = q["id"], c["answer"]

    @property
    def answer_tag(self) -> str:
        return f"answer:{self.id}"

    def answer_name(self, check=None) -> str:
        return self.answer


def _text_line(q: dict, c: dict, submission, reply: Reply | None) -> Line:
    """A free-text answer read as the final grade reads it (kinds/text.py): the tagged cell
    when filled in, else the string; the placeholder or nothing is missing on both sides."""
    question = _TextQuestion(q, c)
    answer, source = _text_answer(question, None, submission, reply)
    read = f" Read from {source}, since {source.why}." if getattr(source, "why", "") else ""
    if answer is None:
        return Line(q["id"], c["id"], "missing", c["points"],
                    f"No answer found: write it in a markdown cell tagged `{question.answer_tag}` "
                    f"or a string `{question.answer}`.")
    if type(answer) is np.str_:
        answer = str(answer)
    if type(answer) is not str:
        return Line(q["id"], c["id"], "failed", c["points"], f"{source} should be a string, not {_kind(answer)}.{read}")
    if not filled(answer):
        return Line(q["id"], c["id"], "missing", c["points"], f"{source} is not answered yet.")
    return Line(q["id"], c["id"], "graded later", c["points"], "free text, read by a person." + read)


def _judged(bundle: Bundle, q: dict, c: dict, plan, submission, report) -> Line:
    key = f"{q['id']}/{c['id']}"
    if c["visibility"] == "hidden":
        return Line(q["id"], c["id"], "graded later", c["points"], "a hidden check, run when your work is graded")
    if c["kind"] == "text":
        return _text_line(q, c, submission, report.replies.get(key))
    if c["kind"] == "object":
        return _object_line(q, c, plan, report, bundle.tolerance)
    question = _QuestionStandIn(q["id"], [plan.check if plan else _CheckStandIn.of(c)])
    if c["kind"] == "function":
        replies = [report.replies.get(f"{key}/{i}", Reply("missing")) for i in range(len(plan.cases))]
        if c.get("compare") == "judge":
            return _judged_later(question, plan, replies, bundle.tolerance)
        if "forms" in c:
            return _form_line(question, plan, replies, bundle.tolerance)
        return _line(judge_function(question, plan, replies, bundle.tolerance))
    return _value_line(question, c, report.replies.get(key))


@dataclass(frozen=True)
class _MistakeStandIn:
    """A known mistake of a function or object check (rubric.FunctionMistake), from the bundle:
    named by its outputs (`variant`, the mistake's own id) or by the exception it raises."""

    id: str
    feedback: str
    credit: float
    variant: str | None = None
    raises: str | None = None
    message: str = ""


@dataclass
class _CheckStandIn:
    """What the kinds' judges read of a function, object or value check (the rubric's models
    FunctionCheck, ObjectCheck, ValueCheck), from the bundle. The check's comparison rule as
    the bundle names it; a judge is the reference's and stays with the grader (such a check is
    self-checked for its form only, see `_judged_later`)."""

    kind: str
    id: str
    name: str
    points: float
    rtol: float | None = None
    atol: float | None = None
    call_timeout: float | None = None
    mistakes: list = field(default_factory=list)
    compare: str = "auto"
    ordered: bool = False
    loose_types: bool = False
    type: str = "any"
    accept: list = field(default_factory=list)
    visibility: str = "public"
    judge: str | None = None

    @classmethod
    def of(cls, c: dict) -> _CheckStandIn:
        """The check of a bundle entry; ValueError for one this version cannot read."""
        kind, points = str(c["kind"]), c["points"]
        if type(points) not in (int, float) or not points > 0:
            raise ValueError(f"check {c.get('id')!r}: its points are {points!r}")
        check = cls(kind, str(c["id"]), str(c["name"]), float(points), compare=c.get("compare", "auto")
                    if c.get("compare", "auto") in _RULES else "auto", ordered=bool(c.get("ordered", False)),
                    loose_types=bool(c.get("loose_types", False)))
        if kind == "value":
            check.type = str(c["type"])
            return check
        check.rtol, check.atol, check.call_timeout = (_limit(c.get(name), name) for name in ("rtol", "atol", "call_timeout"))
        check.mistakes = [_MistakeStandIn(str(m["id"]), str(m["feedback"]), float(m["credit"]),
                                          None if "raises" in m else str(m["id"]),
                                          str(m["raises"]) if m.get("raises") is not None else None,
                                          str(m.get("message") or "")) for m in c["mistakes"]]
        return check


def _limit(value, name: str) -> float | None:
    if value is None:
        return None
    if type(value) not in (int, float) or value < 0:
        raise ValueError(f"`{name}` is {value!r}")
    return float(value)


@dataclass
class _QuestionStandIn:
    """What a judge reads of the question (its id), and the check judged."""

    id: str
    checks: list = field(default_factory=list)


def _object_line(q: dict, c: dict, plan, report, tolerance: BundleTolerance) -> Line:
    """A class, by the steps of its practice cases, judged as the final grade judges it
    (kinds/object.py); a class held by its forms (fixed values only, or a judge's): the form
    of every step's outcome, whether the values are right is graded later."""
    question = _QuestionStandIn(q["id"])
    replies = [report.replies.get(f"{q['id']}/{c['id']}/{i}", Reply("missing")) for i in range(len(plan.cases))]
    if "forms" not in c:
        return _line(judge_object(question, plan, replies, tolerance))
    problem = judge_forms(question, plan, replies, tolerance, _form_problem)
    if problem is not None:
        return _line(problem)
    count = len(plan.cases)
    why = "its answers are decided by a judge" if c.get("compare") == "judge" else "its cases are fixed values"
    return Line(q["id"], c["id"], "format only", c["points"],
                f"`{c['name']}` takes all the steps of its {count} case{'s' * (count != 1)} with answers in the right "
                f"form; {why}, so whether they are right is graded later")


def _form_line(question, plan: FunctionPlan, replies: list[Reply], tolerance: BundleTolerance) -> Line:
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


def _judged_later(question, plan: FunctionPlan, replies: list[Reply], tolerance: BundleTolerance) -> Line:
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
    """The rubric's own ValueCheck for a bundle's value check (the self-check judges with
    `_CheckStandIn`, which reads the same fields)."""
    from .rubric import ValueCheck

    return ValueCheck(kind="value", id=c["id"], name=c["name"], type=c["type"], points=c["points"],
                      loose_types=bool(c.get("loose_types", False)))


def _value_line(question, c: dict, reply: Reply | None) -> Line:
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
    return Line(check.question, check.check, verdict, check.max_points, check.feedback, earned=check.points)


