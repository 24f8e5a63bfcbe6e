"""The trusted reference: loaded in the grader's process only, never in a student's.

`prepare` turns a rubric into a grading plan: for each function check the generated cases
with the reference's outputs and every known-mistake variant's outputs, and the same for the
self-check bundle's practice cases (never graded); for each value check the expected value.
Everything is validated here, before any submission is graded, so a typo in the rubric or a
broken reference stops the run with one line; that includes a check's judge (`compare:
judge`): it must be a function of the reference taking (expected, actual, args), and it
must accept the reference's own answers.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
import threading
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any, Callable

import numpy as np

from .cases import (GRADING, PRACTICE, argument_problems, for_reference, for_reference_keywords, generate_cases, raises,
                    wire_form)
from .child import wire
from .compare import JudgeError, python_scalar, run_judge
from .errors import ReferenceLoadError, RubricError
from .rubric import FunctionCheck, ObjectCheck, Rubric, TextCheck, ValueCheck, case_arguments

SUPPORT_MODULE = "grade_support"  # the name the support module has on both sides


@dataclass(frozen=True)
class Raised:
    """A reference variant that raises on a case (kept so a mistake can be matched by it)."""

    type: str


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


@dataclass
class Plan:
    rubric: Rubric
    functions: dict[tuple[str, str], FunctionPlan]  # (qid, check id) -> plan
    values: dict[tuple[str, str], Any] = field(repr=False)  # (qid, check id) -> expected value
    judges: dict[tuple[str, str], Callable] = field(default_factory=dict)  # value checks with `compare: judge`
    objects: dict[tuple[str, str], Any] = field(default_factory=dict)  # (qid, check id) -> kinds.object.ObjectPlan
    reference: ModuleType | None = field(default=None, repr=False)
    support: ModuleType | None = field(default=None, repr=False)
    _drawn: dict = field(default_factory=dict, repr=False)  # (qid, check id, student) -> that student's plan
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def per_student(self) -> list[tuple[Any, Any]]:
        """The (question, check) pairs whose random arguments are drawn per student."""
        return [(q, c) for q, c in self.rubric.checks() if getattr(c, "per_student", False)]

    def for_student(self, student: str) -> Plan:
        """The plan as it grades `student`: the checks with `per_student: true` get that
        student's own draw, with the reference's answers to it (computed once per student
        and kept; the reference runs on the grader's side, one draw at a time)."""
        drawn = self.per_student
        if not drawn:
            return self
        functions, objects = dict(self.functions), dict(self.objects)
        for question, check in drawn:
            key = (question.id, check.id, student)
            with self._lock:
                if key not in self._drawn:
                    where = f"{self.rubric.path}: question {question.id}, check {check.id} (drawn for {student!r})"
                    self._drawn[key] = plan_check(check, self.reference, where, self.support, student)
                    if len(self._drawn) > 4 * MAX_DRAWS_KEPT:
                        self._drawn.pop(next(iter(self._drawn)))
                own = self._drawn[key]
            (functions if check.kind == "function" else objects)[question.id, check.id] = own
        return replace(self, functions=functions, objects=objects)


MAX_DRAWS_KEPT = 256  # students whose own draws stay in memory (results are kept in the store anyway)


def load_reference(rubric: Rubric) -> ModuleType:
    path = rubric.reference_path
    if not path.is_file():
        raise ReferenceLoadError(f"{rubric.path}: reference {path} not found; fix `reference:` in the rubric")
    spec = importlib.util.spec_from_file_location(f"grade_reference_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ReferenceLoadError(f"{path}: the reference fails to load: {type(exc).__name__}: {exc}") from None
    sys.modules.pop(spec.name, None)
    return module


def load_support(rubric: Rubric) -> ModuleType | None:
    """The rubric's support module (`support:`), which builds the cases' fixtures, or None."""
    path = rubric.support_path
    if path is None:
        return None
    if not path.is_file():
        raise ReferenceLoadError(f"{rubric.path}: support module {path} not found; fix `support:` in the rubric")
    try:
        return support_module(path.read_text(encoding="utf-8"))
    except Exception as exc:
        raise ReferenceLoadError(f"{path}: the support module fails to load: {type(exc).__name__}: {exc}") from None


def support_module(source: str) -> ModuleType:
    """A support module made from its source, as the student's process makes it (child/__main__.py)."""
    module = ModuleType(SUPPORT_MODULE)
    sys.modules[SUPPORT_MODULE] = module  # while it runs, as for any import (dataclasses look it up)
    try:
        exec(compile(source, f"<{SUPPORT_MODULE}>", "exec"), module.__dict__)
    finally:
        sys.modules.pop(SUPPORT_MODULE, None)
    return module


def prepare(rubric: Rubric, reference: ModuleType | None = None) -> Plan:
    reference = reference or load_reference(rubric)
    support = load_support(rubric)
    functions: dict[tuple[str, str], FunctionPlan] = {}
    values: dict[tuple[str, str], Any] = {}
    judges: dict[tuple[str, str], Callable] = {}
    objects: dict[tuple[str, str], Any] = {}
    for question, check in rubric.checks():
        where = f"{rubric.path}: question {question.id}, check {check.id}"
        if isinstance(check, FunctionCheck):
            functions[question.id, check.id] = plan_check(check, reference, where, support)
        elif isinstance(check, ObjectCheck):
            objects[question.id, check.id] = plan_check(check, reference, where, support)
        elif isinstance(check, ValueCheck):
            values[question.id, check.id] = _expected_value(check, reference, where)
            if check.compare == "judge":
                judges[question.id, check.id] = checked_judge(check, reference, where,
                                                              [(values[question.id, check.id], None)])
        elif isinstance(check, TextCheck):
            pass
    return Plan(rubric, functions, values, judges, objects, reference, support)


def plan_check(check, reference: ModuleType, where: str, support: ModuleType | None = None,
               student: str | None = None):
    """The plan of a function or object check: its cases (a student's own draw for a
    `per_student` check) with the reference's answers."""
    if isinstance(check, ObjectCheck):
        from .kinds.object import plan_object  # the kind's module builds on this one

        return plan_object(check, reference, where, support, student)
    return _plan_function(check, reference, where, support, student)


def _plan_function(check: FunctionCheck, reference: ModuleType, where: str,
                   support: ModuleType | None = None, student: str | None = None) -> FunctionPlan:
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


def drawn(generate: Callable, where: str, *args) -> list:
    """The cases `generate(*args)` draws, or one line naming the check: a rubric problem, or
    a fixture of the support module that fails to build."""
    try:
        return generate(*args)
    except RubricError as exc:
        raise RubricError(f"{where}: {exc}") from None
    except Exception as exc:  # a fixture that fails to build
        raise ReferenceLoadError(f"{where}: a fixture of the support module raises: {type(exc).__name__}: {exc}") \
            from None


def _same_call_key(args: tuple) -> str:
    """A case as plain text: equal for the same arguments given the same way."""
    return json.dumps(wire_form(args), sort_keys=True)


def checked_judge(check, reference: ModuleType, where: str, answers: list[tuple[Any, Any]]) -> Callable:
    """The check's judge from the reference, checked: it takes (expected, actual, args) and
    gives the reference's own answers (expected, args) full credit."""
    judge = getattr(reference, check.judge, None)
    if not callable(judge):
        raise RubricError(f"{where}: the reference has no function `{check.judge}` to judge with; "
                          "fix `judge:` in the rubric")
    try:
        inspect.signature(judge).bind(None, None, None)
    except TypeError:
        raise RubricError(f"{where}: the judge {check.judge}{inspect.signature(judge)} must take "
                          "(expected, actual, args)") from None
    except ValueError:  # no signature to inspect (a builtin): tried below
        pass
    for number, (expected, args) in enumerate(answers, start=1):
        what = f"case {number}" if args is not None else "the expected value"
        try:
            fraction, _ = run_judge(judge, check.judge, expected, expected, args)
        except JudgeError as exc:
            raise RubricError(f"{where}: on the reference's own answer to {what}, {exc}") from None
        if fraction < 1.0:
            raise RubricError(f"{where}: the judge `{check.judge}` does not give the reference's own answer to "
                              f"{what} full credit")
    return judge


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


def exception_names(kind: type) -> list[str]:
    """The names of an exception class and of the classes it derives from."""
    return [k.__name__ for k in kind.__mro__]


def _run_variant(function, args: tuple, support: ModuleType | None = None) -> Any:
    try:
        result = function(*for_reference(args, support), **for_reference_keywords(args, support))
    except Exception as exc:
        return Raised(type(exc).__name__)
    return as_plain(result, f"variant {function.__name__}")


def as_plain(value: Any, where: str) -> Any:
    """Pass a trusted value through the wire format so it compares like a student's."""
    try:
        return wire.decode(wire.encode(value))
    except wire.WireError as exc:
        raise ReferenceLoadError(f"{where} returns a value that cannot be compared: {exc}") from None


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
