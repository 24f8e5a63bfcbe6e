"""The trusted reference: loaded in the grader's process only, never in a student's.

`prepare` turns a rubric into a grading plan: for each function check the generated cases
with the reference's outputs and every known-mistake variant's outputs, and the same for the
self-check bundle's practice cases (never graded); for each value check the expected value.
Everything is validated here, before any submission is graded, so a typo in the rubric or a
broken reference stops the run with one line.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from .cases import PRACTICE, for_reference, generate_cases
from .child import wire
from .errors import ReferenceLoadError, RubricError
from .rubric import FunctionCheck, Rubric, TextCheck, ValueCheck


@dataclass(frozen=True)
class Raised:
    """A reference variant that raises on a case (kept so a mistake can be matched by it)."""

    type: str


@dataclass
class FunctionPlan:
    check: FunctionCheck
    arg_names: list[str]
    cases: list[tuple]
    expected: list[Any]
    variants: dict[str, list[Any]] = field(default_factory=dict)  # mistake id -> outputs per case
    # the self-check bundle's cases, drawn apart from the graded ones (cases.py); None for a
    # hidden check, and when every case is fixed numbers and the rubric gives no `practice`
    practice: FunctionPlan | None = None


@dataclass
class Plan:
    rubric: Rubric
    functions: dict[tuple[str, str], FunctionPlan]  # (qid, check id) -> plan
    values: dict[tuple[str, str], Any]  # (qid, check id) -> expected value


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


def prepare(rubric: Rubric, reference: ModuleType | None = None) -> Plan:
    reference = reference or load_reference(rubric)
    functions: dict[tuple[str, str], FunctionPlan] = {}
    values: dict[tuple[str, str], Any] = {}
    for question, check in rubric.checks():
        where = f"{rubric.path}: question {question.id}, check {check.id}"
        if isinstance(check, FunctionCheck):
            functions[question.id, check.id] = _plan_function(check, reference, where)
        elif isinstance(check, ValueCheck):
            values[question.id, check.id] = _expected_value(check, reference, where)
        elif isinstance(check, TextCheck):
            pass
    return Plan(rubric, functions, values)


def _plan_function(check: FunctionCheck, reference: ModuleType, where: str) -> FunctionPlan:
    function = _reference_function(reference, check.reference_name, where)
    arg_names = list(check.cases[0].keys())
    for number, case in enumerate(check.cases, start=1):
        if list(case.keys()) != arg_names:
            raise RubricError(f"{where}: case {number} names arguments {list(case)}, case 1 names {arg_names}")
    # students' functions are called positionally, so the names must be the parameters, in order
    parameters = list(inspect.signature(function).parameters)
    if arg_names != parameters[:len(arg_names)]:
        raise RubricError(f"{where}: the cases name the arguments {', '.join(arg_names)}, but the reference "
                          f"is {check.reference_name}{inspect.signature(function)}; use its names in its order")
    try:
        inspect.signature(function).bind(*arg_names)
    except TypeError as exc:
        raise RubricError(f"{where}: the cases' arguments do not fit "
                          f"{check.reference_name}{inspect.signature(function)}: {exc}") from None
    for number, case in enumerate(check.practice, start=1):
        if list(case.keys()) != arg_names:
            raise RubricError(f"{where}: practice case {number} names arguments {list(case)}, "
                              f"the cases name {arg_names}")
    cases = generate_cases(check)
    plan = _run_cases(check, reference, function, arg_names, cases, where, "case")
    practice = generate_cases(check, PRACTICE) if check.visibility == "public" else []  # hidden: no bundle
    if practice:
        graded = [wire.encode(list(args)) for args in cases]
        for number, args in enumerate(practice, start=1):
            if wire.encode(list(args)) in graded:
                raise RubricError(f"{where}: practice case {number} is also a graded case; the self-check "
                                  "bundle would hold its answer")
        plan.practice = _run_cases(check, reference, function, arg_names, practice, where, "practice case")
    return plan


def _run_cases(check: FunctionCheck, reference: ModuleType, function, arg_names: list[str], cases: list[tuple],
               where: str, what: str) -> FunctionPlan:
    expected = [_run(function, args, f"{where}: the reference {check.reference_name}", number, what)
                for number, args in enumerate(cases, start=1)]
    variants: dict[str, list[Any]] = {}
    for mistake in check.mistakes:
        if mistake.variant is None:
            continue
        variant = _reference_function(reference, mistake.variant, f"{where}, mistake {mistake.id}")
        variants[mistake.id] = [_run_variant(variant, args) for args in cases]
    return FunctionPlan(check, arg_names, cases, expected, variants)


def _reference_function(reference: ModuleType, name: str, where: str):
    function = getattr(reference, name, None)
    if not callable(function):
        raise RubricError(f"{where}: the reference has no function `{name}`; fix the name in the rubric")
    return function


def _run(function, args: tuple, where: str, number: int, what: str = "case") -> Any:
    try:
        result = function(*for_reference(args))
    except Exception as exc:
        raise ReferenceLoadError(f"{where} raises on {what} {number}: {type(exc).__name__}: {exc}") from None
    return _as_plain(result, f"{where} on {what} {number}")


def _run_variant(function, args: tuple) -> Any:
    try:
        result = function(*for_reference(args))
    except Exception as exc:
        return Raised(type(exc).__name__)
    return _as_plain(result, f"variant {function.__name__}")


def _as_plain(value: Any, where: str) -> Any:
    """Pass a trusted value through the wire format so it compares like a student's."""
    try:
        return wire.decode(wire.encode(value))
    except wire.WireError as exc:
        raise ReferenceLoadError(f"{where} returns a value that cannot be compared: {exc}") from None


def _expected_value(check: ValueCheck, reference: ModuleType, where: str) -> Any:
    if check.expected is not None:
        value = check.expected
    elif hasattr(reference, check.name):
        value = _as_plain(getattr(reference, check.name), where)
    else:
        raise RubricError(f"{where}: give `expected`, or define `{check.name}` in the reference")
    kinds = {"int": (int, float), "float": (int, float), "bool": (bool,), "str": (str,)}[check.type]
    if type(value) not in kinds or (check.type in ("int", "float") and type(value) is bool):
        raise RubricError(f"{where}: the expected value {value!r} is not of type {check.type}")
    return value
