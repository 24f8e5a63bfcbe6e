"""Object checks (`kind: object`): a class, checked by what its objects do, step by step.

Each case makes an object (`new: {ARGS}`) and takes steps with it (`call: METHOD` with
`args`, `attr: NAME`). On the grader's side the reference class takes the same steps when
the rubric is prepared (`plan_object`); in the student's process the student's class takes
them, all of a case in one request (op `steps`), and each step's outcome comes back: a value
in the wire format, "made" for `new`, "self" when a method returned the object itself, or
the exception it raised. `judge_object` compares the outcomes step by step by the check's
comparison rule; the feedback names the first step that differs, after the steps that led
to it ("after `Vocabulary(['the', 'cat'])`, `.index('dog')` should raise KeyError").
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

from ..cases import (GRADING, PRACTICE, argument_problems, arrange, for_reference, for_reference_keywords, generator,
                     keywords, materialize, numbered_cases, stable_repr)
from ..checks import (CheckResult, article, bundle_comparison, bundle_mistakes, case_replies, message_matches,
                      on_all_cases, raised_kind, result)
from ..compare import JudgeError, Rules, rules_for, run_judge
from ..compare import compare as compare_values
from ..compare import kind as kind_of
from ..compare import show
from ..errors import ReferenceLoadError, RubricError
from ..reference import Plan, Raised, as_plain, drawn, exception_names
from ..runner import Reply, Request, RunReport
from ..untrusted import clean_text

if TYPE_CHECKING:
    from ..rubric import ObjectCheck, Question, Tolerance


class _Outcome:
    """An outcome of a step that is not a value: the object was made, a method returned the
    object itself, a step did not run because the object could not be made."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MADE, ITSELF, NOT_RUN = _Outcome("made"), _Outcome("the object itself"), _Outcome("not run")


@dataclass(frozen=True)
class StepCall:
    """One step of a case, its arguments drawn: `action` new | call | attr, `name` the class,
    method or attribute, `args` a case (cases.arrange), `raises` what the reference raises."""

    action: str
    name: str
    args: tuple = ()
    raises: str | None = None


@dataclass
class ObjectPlan:
    check: ObjectCheck
    cases: list[list[StepCall]] = field(repr=False)
    expected: list[list[Any]] = field(repr=False)  # per case, per step: MADE, ITSELF, Raised or a value
    variants: dict[str, list[list[Any]]] = field(default_factory=dict, repr=False)  # mistake id -> outcomes
    practice: ObjectPlan | None = None  # the self-check bundle's draws (as for functions)
    judge: Callable | None = None
    support: ModuleType | None = field(default=None, repr=False)


PLANS = "objects"  # the field of the Plan that holds these checks' plans (kinds/__init__.py)


# ---------------------------------------------------------------- the trusted side


def prepare(plan: Plan, question: Question, check: ObjectCheck, where: str, student: str | None = None) -> None:
    """The cases' steps and the reference class's outcomes, into `plan.objects`."""
    plan.objects[question.id, check.id] = plan_object(check, plan.reference, where, plan.support, student)


def plan_object(check: ObjectCheck, reference: ModuleType, where: str, support: ModuleType | None = None,
                student: str | None = None) -> ObjectPlan:
    """The cases with the reference class's outcome at every step, and every variant's;
    RubricError or ReferenceLoadError when the rubric and the reference disagree."""
    cls = _reference_class(reference, check.reference_name, where)
    signatures = _signatures(cls, check, where)
    cases = _generate(check, GRADING, signatures, support, where, student)
    plan = _run_cases(check, reference, cls, cases, where, "case", support)
    if check.compare == "judge":
        from ..reference import checked_judge

        plan.judge = checked_judge(check, reference, where, [
            (out, step.args) for outcomes, steps in zip(plan.expected, cases)
            for out, step in zip(outcomes, steps) if not isinstance(out, (Raised, _Outcome))])
    if check.visibility == "public" and student is None:
        practice = _generate(check, PRACTICE, signatures, support, where)
        if practice:
            plan.practice = _run_cases(check, reference, cls, practice, where, "practice case", support)
            plan.practice.judge = plan.judge
    return plan


def _reference_class(reference: ModuleType, name: str, where: str) -> type:
    cls = getattr(reference, name, None)
    if not isinstance(cls, type):
        raise RubricError(f"{where}: the reference has no class `{name}`; fix the name in the rubric")
    return cls


def _signatures(cls: type, check: ObjectCheck, where: str) -> dict[str, inspect.Signature]:
    """The signature of the constructor (key "") and of every method the cases call,
    checked against the arguments each step names."""
    signatures: dict[str, inspect.Signature] = {}
    try:
        signatures[""] = inspect.signature(cls)
    except (TypeError, ValueError):
        signatures[""] = inspect.Signature([inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
                                            inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)])
    problems = []
    for what, listed in (("case", check.cases), ("practice case", check.practice)):
        for number, case in enumerate(listed, start=1):
            for index, step in enumerate(case.steps, start=1):
                if step.attr is not None:
                    continue
                key = step.call or ""
                if key not in signatures:
                    signatures[key] = _method_signature(cls, key, f"{where}, {what} {number}, step {index}")
                shown = f"{cls.__name__}{signatures['']}" if not key else f"{key}{signatures[key]}"
                problems += [f"{where}, {what} {number}, step {index}: {problem} (the reference is {shown})"
                             for problem in argument_problems(list(step.arguments), signatures[key])]
    if problems:
        raise RubricError("; ".join(problems))
    return signatures


def _method_signature(cls: type, name: str, where: str) -> inspect.Signature:
    found = inspect.getattr_static(cls, name, None)
    if found is None:
        raise RubricError(f"{where}: the reference's {cls.__name__} has no method `{name}`; fix `call:`")
    function = found.__func__ if isinstance(found, (staticmethod, classmethod)) else found
    if not callable(function) or isinstance(found, property):
        raise RubricError(f"{where}: `{name}` of the reference's {cls.__name__} is not a method; read it with "
                          f"`attr: {name}`")
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return inspect.Signature([inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
                                  inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)])
    if isinstance(found, staticmethod):
        return signature
    return signature.replace(parameters=list(signature.parameters.values())[1:])  # without self (or cls)


def generate_steps(check: ObjectCheck, stream: str, signatures: dict[str, inspect.Signature],
                   support: ModuleType | None = None, student: str | None = None) -> list[list[StepCall]]:
    """Every case of a stream as steps with their arguments drawn, in the order the steps
    name them, from the case's generator (cases.generator: the same as a function's)."""
    cases = []
    for number, case in numbered_cases(check, stream):
        rng = generator(check, number, stream, student)
        steps = []
        for step in case.steps:
            values = {name: materialize(spec, rng, support) for name, spec in step.arguments.items()}
            if step.attr is not None:
                steps.append(StepCall("attr", step.attr))
                continue
            args = arrange(values, signatures[step.call or ""])
            steps.append(StepCall(step.action, step.call or check.name, args, step.raises))
        cases.append(steps)
    return cases


def _generate(check, stream, signatures, support, where, student=None) -> list[list[StepCall]]:
    return drawn(generate_steps, where, check, stream, signatures, support, student)


def _run_cases(check: ObjectCheck, reference: ModuleType, cls: type, cases: list[list[StepCall]], where: str,
               what: str, support: ModuleType | None) -> ObjectPlan:
    expected = [_take_steps(cls, steps, support, f"{where}: the reference {cls.__name__}, {what} {number}")
                for number, steps in enumerate(cases, start=1)]
    variants = {}
    for mistake in check.mistakes:
        if mistake.variant is not None:
            variant = _reference_class(reference, mistake.variant, f"{where}, mistake {mistake.id}")
            variants[mistake.id] = [_take_steps(variant, steps, support) for steps in cases]
    return ObjectPlan(check, cases, expected, variants, support=support)


def _take_steps(cls: type, steps: list[StepCall], support: ModuleType | None, where: str | None = None) -> list[Any]:
    """The outcome of every step on a fresh object of `cls`. With `where` (the reference
    itself), a step must raise exactly where the rubric says; without (a variant), whatever
    it does is recorded."""
    obj, outcomes = None, []
    for number, step in enumerate(steps, start=1):
        if obj is None and step.action != "new":
            outcomes.append(NOT_RUN)
            continue
        try:
            args, kwargs = for_reference(step.args, support), for_reference_keywords(step.args, support)
            if step.action == "new":
                obj, outcome = cls(*args, **kwargs), MADE
            else:
                value = getattr(obj, step.name)(*args, **kwargs) if step.action == "call" else getattr(obj, step.name)
                outcome = ITSELF if value is obj else as_plain(value, f"{where or cls.__name__}, step {number}")
        except ReferenceLoadError:
            if where is not None:
                raise
            outcome = Raised("a value that cannot be compared")
        except Exception as exc:
            if where is None:
                outcome = Raised(type(exc).__name__)
            elif step.raises is not None and step.raises in exception_names(type(exc)):
                outcome = Raised(step.raises)
            else:
                wanted = f", not {step.raises}" if step.raises else ""
                raise ReferenceLoadError(f"{where} raises at step {number} ({describe_step(step)}): "
                                         f"{type(exc).__name__}{wanted}: {exc}") from None
        else:
            if where is not None and step.raises is not None:
                raise RubricError(f"{where} does not raise {step.raises} at step {number} ({describe_step(step)}); "
                                  "fix the step's `raises` or its arguments")
        outcomes.append(outcome)
    return outcomes


# ---------------------------------------------------------------- asking the student's process


def requests(plan: Plan, key: str, question: Question, check: ObjectCheck, submission) -> list[Request]:
    """One request per case: all its steps, taken in one go by the student's process."""
    return [Request(f"{key}/{number}", "steps", check.name, timeout=check.call_timeout,
                    steps=tuple((step.action, step.name, tuple(step.args), tuple(keywords(step.args).items()))
                                for step in steps))
            for number, steps in enumerate(plan.objects[question.id, check.id].cases)]


# ---------------------------------------------------------------- judging


def judge(plan: Plan, key: str, question: Question, check: ObjectCheck, report: RunReport, submission,
          budget) -> CheckResult:
    object_plan = plan.objects[question.id, check.id]
    return judge_object(question, object_plan, case_replies(report, key, len(object_plan.cases)), plan.rubric.tolerance)


def judge_object(question: Question, plan: ObjectPlan, replies: list[Reply], tolerance: Tolerance) -> CheckResult:
    check = plan.check
    name = f"`{check.name}`"
    for reply in replies:
        if reply.status == "missing":
            return result(question, check, "missing", f"{name} is not defined; define a class named {check.name}.")
        if reply.status == "not_callable":
            return result(question, check, "failed", f"{name} is {article(reply.detail)}, not a class.")
    if all(_raised_at_once(reply, "NotImplementedError") for reply in replies):
        return result(question, check, "missing", f"{name} is not implemented yet (it raises NotImplementedError).")
    rtol = check.rtol if check.rtol is not None else tolerance.rtol
    atol = check.atol if check.atol is not None else tolerance.atol
    rules = rules_for(check, rtol, atol)
    problems, fractions = [], []
    for number, (steps, expected, reply) in enumerate(zip(plan.cases, plan.expected, replies), start=1):
        try:
            problem, fraction = _case_verdict(plan, steps, expected, reply, rules)
        except JudgeError as exc:
            return result(question, check, "error", f"{name} could not be graded on case {number} of "
                          f"{len(plan.cases)}: {exc}. This is a problem of the grader, not of your answer.")
        fractions.append(fraction)
        if problem:
            problems.append((number, reply, problem))
    count = len(plan.cases)
    if not problems:
        return result(question, check, "passed", f"{name} is correct {on_all_cases(count)}.", 1.0)
    mistake = _matching_mistake(plan, replies, rules)
    if mistake is not None:
        return result(question, check, "mistake", mistake.feedback, mistake.credit, mistake.id)
    number, reply, problem = problems[0]
    outcome = {"timeout": "timeout", "crashed": "error", "error": "error"}.get(reply.status, "failed")
    failing = f"; {len(problems)} of {count} cases fail" if len(problems) > 1 else ""
    fraction = sum(fractions) / count if check.compare == "judge" else 0.0
    partial = f" Partial credit: {fraction:.0%}." if fraction > 0 else ""
    return result(question, check, outcome, f"{problem} (case {number} of {count}{failing}).{partial}", fraction)


def _raised_at_once(reply: Reply, kind: str) -> bool:
    return bool(reply.steps) and reply.steps[0].status == "error" and (reply.steps[0].error or {}).get("type") == kind


def _case_verdict(plan: ObjectPlan, steps: list[StepCall], expected: list[Any], reply: Reply,
                  rules: Rules) -> tuple[str | None, float]:
    """The first step at which the student's object differs (described with the steps that
    led to it), and the fraction of the case earned (a judge may give part)."""
    check = plan.check
    if reply.status == "timeout":
        return f"`{check.name}` {reply.detail} while taking the steps of a case (an endless loop?)", 0.0
    if reply.status != "ok":
        return f"`{check.name}` {reply.detail or 'gave no usable answer'}", 0.0
    fraction = 1.0
    for index, (step, want) in enumerate(zip(steps, expected)):
        got = reply.steps[index] if index < len(reply.steps) else Reply("not_run")
        problem, part = _step_problem(plan, step, want, got, rules)
        fraction = min(fraction, part)
        if problem:
            return _after(plan, steps[:index]) + f"`{describe_step(step, check.name)}` {problem}", \
                fraction if check.compare == "judge" else 0.0
    return None, fraction


def _step_problem(plan: ObjectPlan, step: StepCall, want: Any, got: Reply, rules: Rules) -> tuple[str | None, float]:
    if isinstance(want, Raised):
        if got.status == "error":
            error = got.error or {}
            if raised_kind(error, want.type):
                return None, 1.0
            return f"raised {error.get('type', 'an exception')}{_message(error)}, expected {want.type}", 0.0
        return f"should raise {want.type}, but {_what_it_did(got)}", 0.0
    if got.status == "error":
        error = got.error or {}
        line = f" (line {error['line']})" if error.get("line") else ""
        return f"raised {error.get('type', 'an exception')}{_message(error)}{line}", 0.0
    if want is MADE:
        return (None, 1.0) if got.status == "made" else (f"{_what_it_did(got)}", 0.0)
    if want is ITSELF:
        return (None, 1.0) if got.status == "self" else \
            (f"{_what_it_did(got)}, expected the object itself (`return self`)", 0.0)
    if got.status == "self":
        return f"returned the object itself, expected {kind_of(want)}", 0.0
    if got.status != "ok":
        return _what_it_did(got), 0.0
    if rules.mode == "judge" and plan.judge is not None:
        fraction, note = run_judge(plan.judge, plan.check.judge, want, got.value, step.args)
        note = clean_text(note)[:300]
        return (None, fraction) if fraction >= 1.0 else ("returned a wrong answer" + (f" ({note})" if note else ""),
                                                         fraction)
    problem = compare_values(want, got.value, rules)
    if problem and step.action == "attr":
        problem = problem.replace("returned", "is", 1)
    return problem, 0.0 if problem else 1.0


def _what_it_did(got: Reply) -> str:
    if got.status == "ok":
        return f"returned {kind_of(got.value)}"
    if got.status == "self":
        return "returned the object itself"
    if got.status == "made":
        return "made the object"
    if got.status == "not_run":
        return "was not reached (the object could not be made)"
    return got.detail or "gave no usable answer"


def _message(error: dict) -> str:
    return f" ({error['message']})" if error.get("message") else ""


def _after(plan: ObjectPlan, done: list[StepCall]) -> str:
    """`after X(...), .add(...), ` for the steps that led to a step: the first and the last
    two, with how many were left out between."""
    if not done:
        return ""
    shown = [describe_step(step, plan.check.name) for step in done]
    if len(shown) > 4:
        left_out = len(shown) - 3
        shown = [shown[0], f"{left_out} more step{'s' * (left_out != 1)}", *shown[-2:]]
    return "after " + ", ".join(f"`{text}`" if not text.endswith(("more step", "more steps")) else text for text in shown) + ", "


def describe_step(step: StepCall, class_name: str | None = None) -> str:
    """A step as code: `Vocabulary(['the', 'cat'])`, `.index('dog')`, `.size`."""
    if step.action == "attr":
        return f".{step.name}"
    values = [_short(value) for value in step.args] + \
        [f"{name}={_short(value)}" for name, value in keywords(step.args).items()]
    head = (class_name or step.name) if step.action == "new" else f".{step.name}"
    return f"{head}({', '.join(values)})"


def _short(value: Any) -> str:
    from ..child import wire

    if wire.is_fixture(value):
        return f"<{value['__fixture__']}>"
    if type(value) in (list, tuple, set, frozenset, dict) and len(stable_repr(value)) <= 40:
        return stable_repr(value)
    return show(value)


def _matching_mistake(plan: ObjectPlan, replies: list[Reply], rules: Rules):
    rules = Rules(rules.rtol, rules.atol, "auto", rules.ordered, rules.loose_types) if rules.mode == "judge" else rules
    for mistake in plan.check.mistakes:
        if mistake.raises is not None:
            if any(step.status == "error" and raised_kind(step.error, mistake.raises)
                   and message_matches(mistake.message, (step.error or {}).get("message", ""))
                   for reply in replies for step in reply.steps):
                return mistake
            continue
        outcomes = plan.variants[mistake.id]
        if all(reply.status == "ok" and all(_same(want, got, rules) for want, got in
                                             zip(case, [*reply.steps, *[Reply("not_run")] * len(case)]))
               for case, reply in zip(outcomes, replies)):
            return mistake
    return None


def _same(want: Any, got: Reply, rules: Rules) -> bool:
    if isinstance(want, Raised):
        return got.status == "error" and (got.error or {}).get("type") == want.type
    if want is MADE:
        return got.status == "made"
    if want is ITSELF:
        return got.status == "self"
    if want is NOT_RUN:
        return got.status == "not_run"
    return got.status == "ok" and compare_values(want, got.value, rules) is None


# ---------------------------------------------------------------- the self-check bundle


def bundle_entry(check: ObjectCheck, plan: ObjectPlan) -> dict:
    """A public object check as the self-check bundle holds it, as a function check is held:
    its practice cases' steps with the reference's outcome at every step and each variant's,
    so `grade check` takes the steps and names the same mistakes with the same words. A check
    without practice cases (only fixed values, whose outcomes would be graded answers) or
    judged by a judge of the reference holds its steps with only the form of each outcome
    (made, the object itself, the exception a step must raise, an int, a list, an array's
    shape): its lines say `format only`."""
    from ..cases import wire_form

    entry = {"name": check.name, "call_timeout": check.call_timeout, "rtol": check.rtol, "atol": check.atol,
             **bundle_comparison(check)}
    shown = plan.practice if plan.practice is not None else plan
    cases = [[{"action": step.action, "name": step.name, "args": wire_form(step.args), "raises": step.raises}
              for step in steps] for steps in shown.cases]
    if plan.practice is None or check.compare == "judge":
        return {**entry, "cases": cases, "forms": [[_step_form(out) for out in outcomes] for outcomes in shown.expected],
                "mistakes": bundle_mistakes(check)}
    mistakes = bundle_mistakes(check, "outcomes", lambda mistake: [[_step_data(out) for out in case]
                                                                   for case in shown.variants[mistake]])
    return {**entry, "cases": cases, "expected": [[_step_data(out) for out in outcomes] for outcomes in shown.expected],
            "mistakes": mistakes}


_OUTCOMES = {"made": MADE, "self": ITSELF, "not_run": NOT_RUN}


def _step_data(outcome: Any) -> dict:
    """One step's outcome as plain data: {"step": made | self | not_run}, {"raised": TYPE} or
    {"value": WIRE}."""
    if isinstance(outcome, _Outcome):
        return {"step": next(key for key, known in _OUTCOMES.items() if known is outcome)}
    if isinstance(outcome, Raised):
        return {"raised": outcome.type}
    from ..child import wire

    return {"value": wire.encode(outcome)}


def _step_form(outcome: Any) -> dict:
    """One step's outcome without its value: as `_step_data` for made, self, not run and an
    exception (the case says which it must raise); a value's form (assign._form) otherwise."""
    if isinstance(outcome, (_Outcome, Raised)):
        return _step_data(outcome)
    from ..assign import _form

    return _form(outcome)


def step_outcome(data: dict) -> Any:
    """The outcome `_step_data` wrote (a form, for a check held by its forms, stays a dict)."""
    if "step" in data:
        return _OUTCOMES[data["step"]]
    if "raised" in data:
        return Raised(str(data["raised"]))
    if "value" in data:
        from ..child import wire

        return wire.decode(data["value"])
    return dict(data)


def bundle_plan(check, data: dict, support: ModuleType | None = None) -> ObjectPlan:
    """The plan of a bundle's object check (`bundle_entry`), for `grade check`; `check` stands
    for the rubric's (selfcheck.py). Outcomes of a check held by its forms stay forms."""
    from ..cases import from_wire_form

    cases = [[StepCall(str(step["action"]), str(step["name"]), from_wire_form(step["args"]),
                       step.get("raises") if type(step.get("raises")) is str else None) for step in steps]
             for steps in data["cases"]]
    outcomes = data["forms"] if "forms" in data else data["expected"]
    expected = [[step_outcome(out) for out in case] for case in outcomes]
    variants = {m["id"]: [[step_outcome(out) for out in case] for case in m["outcomes"]]
                for m in data["mistakes"] if "outcomes" in m}
    if len(expected) != len(cases) or any(len(e) != len(s) for e, s in zip(expected, cases)):
        raise ValueError(f"object check {data.get('name')!r}: its outcomes do not match its steps")
    return ObjectPlan(check, cases, expected, variants, support=support)


def object_requests(key: str, plan: ObjectPlan) -> list[Request]:
    """`requests` for a plan of its own (the self-check's)."""
    return [Request(f"{key}/{number}", "steps", plan.check.name, timeout=plan.check.call_timeout,
                    steps=tuple((step.action, step.name, tuple(step.args), tuple(keywords(step.args).items()))
                                for step in steps))
            for number, steps in enumerate(plan.cases)]


def judge_forms(question, plan: ObjectPlan, replies: list[Reply], tolerance: Tolerance, form_problem) -> CheckResult | None:
    """A check held by its forms (`bundle_entry`): what `judge_object` decides before any
    value is compared (not defined, not a class, not implemented), else the first step whose
    outcome has the wrong form (`form_problem(form, value)` says what is wrong with a value),
    else None: every step answered in the right form, whether the values are right is graded
    later."""
    check = plan.check
    if any(r.status in ("missing", "not_callable") for r in replies) or \
            all(_raised_at_once(reply, "NotImplementedError") for reply in replies):
        return judge_object(question, plan, replies, tolerance)
    count = len(plan.cases)
    for number, (steps, forms, reply) in enumerate(zip(plan.cases, plan.expected, replies), start=1):
        problem = _form_case_problem(plan, steps, forms, reply, form_problem)
        if problem is None:
            continue
        mistake = _matching_mistake(plan, replies, Rules())  # only mistakes named by their exception
        if mistake is not None:
            return result(question, check, "mistake", mistake.feedback, mistake.credit, mistake.id)
        outcome = {"timeout": "timeout", "crashed": "error", "error": "error"}.get(reply.status, "failed")
        return result(question, check, outcome, f"{problem} (case {number} of {count}).")
    return None


def _form_case_problem(plan: ObjectPlan, steps: list[StepCall], forms: list[Any], reply: Reply,
                       form_problem) -> str | None:
    check = plan.check
    if reply.status == "timeout":
        return f"`{check.name}` {reply.detail} while taking the steps of a case (an endless loop?)"
    if reply.status != "ok":
        return f"`{check.name}` {reply.detail or 'gave no usable answer'}"
    for index, (step, form) in enumerate(zip(steps, forms)):
        got = reply.steps[index] if index < len(reply.steps) else Reply("not_run")
        if not isinstance(form, dict):  # made, the object itself, an exception: as `judge_object` says
            problem = _step_problem(plan, step, form, got, Rules())[0]
        elif got.status == "error":
            problem = _step_problem(plan, step, form, got, Rules())[0]
        elif got.status == "self":
            problem = "returned the object itself, expected a value"
        elif got.status != "ok":
            problem = _what_it_did(got)
        else:
            problem = form_problem(form, got.value)
            if problem and step.action == "attr":
                problem = problem.replace("returned", "is", 1)
        if problem:
            return _after(plan, steps[:index]) + f"`{describe_step(step, check.name)}` {problem}"
    return None
