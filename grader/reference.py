"""The trusted reference: loaded in the grader's process only, never in a student's.

`prepare` turns a rubric into a grading plan: each check prepared by its kind (kinds/): for a
function the generated cases with the reference's outputs and every known-mistake variant's
outputs, and the same for the self-check bundle's practice cases (never graded); for a class
the outcome of every step; for a value the expected value. Everything is validated then,
before any submission is graded, so a typo in the rubric or a broken reference stops the
run with one line; that includes a check's judge (`compare: judge`, `checked_judge`): it
must be a function of the reference taking (expected, actual, args), and it must accept the
reference's own answers. What the kinds share lives here: the reference and the support
module loaded, `Raised`, `as_plain`, `drawn`.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import sys
import threading
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

from .child import wire
from .compare import JudgeError, run_judge
from .errors import ReferenceLoadError, RubricError

if TYPE_CHECKING:  # the rubric's models are not built by `grade check`
    from .rubric import Rubric

SUPPORT_MODULE = "grade_support"  # the name the support module has on both sides


@dataclass(frozen=True)
class Raised:
    """A reference variant that raises on a case (kept so a mistake can be matched by it)."""

    type: str


@dataclass
class Plan:
    rubric: Rubric
    functions: dict[tuple[str, str], Any]  # (qid, check id) -> kinds.function.FunctionPlan
    values: dict[tuple[str, str], Any] = field(repr=False)  # (qid, check id) -> expected value
    judges: dict[tuple[str, str], Callable] = field(default_factory=dict)  # value checks with `compare: judge`
    objects: dict[tuple[str, str], Any] = field(default_factory=dict)  # (qid, check id) -> kinds.object.ObjectPlan
    reference: ModuleType | None = field(default=None, repr=False)
    support: ModuleType | None = field(default=None, repr=False)
    _drawn: dict = field(default_factory=dict, repr=False)  # (qid, check id, student) -> that student's plan
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @functools.cached_property
    def per_student(self) -> list[tuple[Any, Any]]:
        """The (question, check) pairs whose random arguments are drawn per student (read
        once: the rubric does not change, and every submission asks)."""
        return [(q, c) for q, c in self.rubric.checks() if getattr(c, "per_student", False)]

    def for_student(self, student: str) -> Plan:
        """The plan as it grades `student`: the checks with `per_student: true` get that
        student's own draw, with the reference's answers to it (computed once per student
        and kept; the reference runs on the grader's side, one draw at a time)."""
        drawn = self.per_student
        if not drawn:
            return self
        from .kinds import kind_of

        own = replace(self, functions=dict(self.functions), objects=dict(self.objects))
        for question, check in drawn:
            key = (question.id, check.id, student)
            plans = getattr(own, kind_of(check).PLANS)  # where the kind keeps its checks' plans
            with self._lock:
                if key not in self._drawn:
                    where = f"{self.rubric.path}: question {question.id}, check {check.id} (drawn for {student!r})"
                    kind_of(check).prepare(own, question, check, where, student)
                    self._drawn[key] = plans[question.id, check.id]
                    if len(self._drawn) > MAX_DRAWS_KEPT:
                        self._drawn.pop(next(iter(self._drawn)))
                plans[question.id, check.id] = self._drawn[key]
        return own


MAX_DRAWS_KEPT = 1024  # own draws kept in memory (a student's result is kept in the store anyway)


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
    """The grading plan: every check prepared by its kind (kinds/), in sheet order."""
    from .kinds import kind_of  # the kinds build on this module

    plan = Plan(rubric, {}, {}, reference=reference or load_reference(rubric), support=load_support(rubric))
    for question, check in rubric.checks():
        kind_of(check).prepare(plan, question, check, f"{rubric.path}: question {question.id}, check {check.id}")
    return plan


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


def exception_names(kind: type) -> list[str]:
    """The names of an exception class and of the classes it derives from."""
    return [k.__name__ for k in kind.__mro__]


def as_plain(value: Any, where: str) -> Any:
    """Pass a trusted value through the wire format so it compares like a student's."""
    try:
        return wire.decode(wire.encode(value))
    except wire.WireError as exc:
        raise ReferenceLoadError(f"{where} returns a value that cannot be compared: {exc}") from None


