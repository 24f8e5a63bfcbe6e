"""Arguments for function checks, generated from the rubric's case specs.

Each case draws from its own generator, seeded by (check seed, case number), so cases are
the same on every run and machine and adding a case does not change the others. The result
is plain data (arrays, numbers, lists, fixtures as plain data) that can be sent to the
student's process and handed to the reference alike. A fixture (`{fixture: NAME, ...}`) is
built by the rubric's support module, `NAME(rng, **params)`, from the case's generator; as
plain data it records the generator's state, and each side builds it from that state.

There are two streams. The *grading* stream gives the cases that are graded. The *practice*
stream gives the cases of the self-check bundle: the same specs (or the rubric's `practice`
cases), drawn from a generator spawned from the same seed, so they are independent of the
graded ones. The bundle shows the shapes and kinds of arguments grading uses and lets the
self-check name the same mistakes, but a table of the bundle's inputs and outputs answers
no graded case. A case made only of fixed numbers cannot be drawn again: it has no practice
twin (see `generate_cases`).

A case is a tuple of positional values, or, when it passes some by keyword or says it
raises, a `Call`: its positional values (the tuple itself), its keyword values, the names of
both, and the exception the reference raises on it. Which argument
goes by position and which by keyword follows the reference's signature (`arrange`).
"""

from __future__ import annotations

import copy
import hashlib
import inspect
from typing import TYPE_CHECKING, Any

import numpy as np

from .child import wire as _wire
from .errors import RubricError

if TYPE_CHECKING:  # the rubric's models are not built by `grade check`; the functions that
    from .rubric import FunctionCheck  # read a rubric's case specs import them when called


GRADING, PRACTICE = "grading", "practice"
PRACTICE_SPAWN_KEY = 1  # the practice stream is numpy's spawned child 1 of (seed, case number)
STUDENT_SPAWN_KEY = 2  # a student's own draws (`per_student: true`): child 2 of (seed, case number, student)


class Call(tuple):
    """One case's arguments: the positional values (the tuple itself, so a case without
    keywords is the tuple it always was), the keyword values (`kwargs`, in the case's order),
    the names of both, and `raises`, the exception the reference raises on it (or None)."""

    def __new__(cls, args=(), kwargs=(), names=(), raises: str | None = None) -> Call:
        self = super().__new__(cls, args)
        self.kwargs = dict(kwargs)
        self.names = tuple(names)
        self.raises = raises
        return self

    def __repr__(self) -> str:
        return f"Call({tuple(self)!r}, kwargs={self.kwargs!r}, raises={self.raises!r})"


def keywords(case: tuple) -> dict[str, Any]:
    """A case's keyword arguments (none for a plain tuple)."""
    return getattr(case, "kwargs", None) or {}


def raises(case: tuple) -> str | None:
    """The exception a case expects, or None."""
    return getattr(case, "raises", None)


def argument_names(case: tuple, default: list[str]) -> list[str]:
    """The names of a case's positional then keyword arguments (for a plain tuple, `default`)."""
    names = getattr(case, "names", None)
    return [*names, *keywords(case)] if names is not None else list(default)


def wire_form(case: tuple):
    """A case as plain data for the wire and the bundle: its positional values as a tuple, or
    {"args": ..., "kwargs": ..., "raises": ...} for a case with keywords or an exception."""
    from .child import wire

    args = wire.encode(tuple(case))
    if not keywords(case) and raises(case) is None:
        return args
    return {"args": args, "kwargs": [[name, wire.encode(value)] for name, value in keywords(case).items()],
            "names": list(getattr(case, "names", ())), "raises": raises(case)}


def from_wire_form(data) -> Call:
    """The case `wire_form` made (its arrays decoded, fixtures kept as plain data)."""
    from .child import wire

    if isinstance(data, dict) and "args" in data and "kwargs" in data:
        args = tuple(wire.decode(data["args"], allow_fixtures=True))
        kwargs = {str(name): wire.decode(value, allow_fixtures=True) for name, value in data["kwargs"]}
        names = [str(n) for n in data.get("names") or []]
        raised = data.get("raises")
        return Call(args, kwargs, names if len(names) == len(args) else [], raised if type(raised) is str else None)
    return tuple(wire.decode(data, allow_fixtures=True))


def generate_cases(check: FunctionCheck, stream: str = GRADING, signature: inspect.Signature | None = None,
                   support: Any = None, student: str | None = None) -> list[tuple]:
    """The arguments of every graded case of `check` (GRADING), or of every case of the
    self-check bundle (PRACTICE): the rubric's `practice` cases if it gives any, else the
    graded cases that draw something (a random array or a fixture), drawn again. A case of
    fixed numbers only would be the same case with the same answer, so it has no practice
    twin; a check made only of such cases has no practice cases at all.

    Values are drawn in the order the case names them. With the reference's `signature`,
    they are arranged as it takes them (`arrange`); without, all go by position in that order.
    `support` is the rubric's support module, which builds the fixtures. For a check with
    `per_student: true`, `student` names whose graded draw it is (see `generator`)."""
    from .rubric import case_arguments, case_raises

    calls = []
    for i, case in numbered_cases(check, stream):
        rng = generator(check, i, stream, student)
        values = {name: materialize(spec, rng, support) for name, spec in case_arguments(case).items()}
        if signature is None:
            calls.append(_plain_or_call(tuple(values.values()), {}, tuple(values), case_raises(case)))
        else:
            calls.append(arrange(values, signature, case_raises(case)))
    return calls


def argument_problems(names: list[str], signature: inspect.Signature) -> list[str]:
    """What keeps a case naming `names` from calling a function of `signature`: unknown
    names, required parameters left out, a positional-only one after a gap."""
    parameters = signature.parameters
    takes_more = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    named = [p for p in parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    problems = []
    for name in names:
        if name in parameters and parameters[name].kind is not parameters[name].VAR_POSITIONAL \
                and parameters[name].kind is not parameters[name].VAR_KEYWORD:
            continue
        if name not in parameters and takes_more:
            continue
        problems.append(f"unknown argument `{name}`")
    for parameter in named:
        if parameter.name not in names and parameter.default is parameter.empty:
            problems.append(f"missing required argument `{parameter.name}`")
    gap = False
    for parameter in named:
        if parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            break
        if parameter.name not in names:
            gap = True
        elif gap and parameter.kind is parameter.POSITIONAL_ONLY:
            problems.append(f"positional-only argument `{parameter.name}` cannot be given after one left out")
    return problems


def arrange(values: dict[str, Any], signature: inspect.Signature, raised: str | None = None) -> Call:
    """A case's values as the signature takes them: the positional-or-keyword parameters it
    names by position, up to the first one it leaves out; every other one by keyword."""
    positional, names = [], []
    for parameter in signature.parameters.values():
        if parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD) \
                or parameter.name not in values:
            break
        positional.append(values[parameter.name])
        names.append(parameter.name)
    kwargs = {name: value for name, value in values.items() if name not in names}
    return _plain_or_call(tuple(positional), kwargs, names, raised)


def _plain_or_call(args: tuple, kwargs: dict, names, raised: str | None) -> tuple:
    """A case that passes everything by position and raises nothing stays the plain tuple it
    always was (its names are the first of the check's, in the signature's order); any other
    is a `Call`."""
    return Call(args, kwargs, names, raised) if kwargs or raised is not None else args


def numbered_cases(check, stream: str) -> list[tuple[int, Any]]:
    """The case specs of a stream with their numbers (which seed their generators): every
    graded case; for practice, the rubric's `practice` cases, else the graded ones that draw."""
    if stream == GRADING:
        return list(enumerate(check.cases))
    if stream == PRACTICE:
        return list(enumerate(check.practice)) if check.practice else \
            [(i, case) for i, case in enumerate(check.cases) if is_drawn(case)]
    raise ValueError(f"unknown stream {stream!r}")


def is_drawn(case: Any) -> bool:
    """Whether a case spec (of arguments, or of an object's steps) draws anything."""
    from .rubric import ArraySpec, FixtureSpec, case_arguments

    steps = getattr(case, "steps", None)
    specs = [spec for step in steps for spec in step.arguments.values()] if steps is not None \
        else list(case_arguments(case).values())
    return any(isinstance(spec, (ArraySpec, FixtureSpec)) for spec in specs)


def generator(check, number: int, stream: str, student: str | None = None) -> np.random.Generator:
    """The generator of case `number`: seeded by (check seed, case number) for the graded
    stream; for a `per_student` check and a `student`, by (check seed, case number, student
    id), so each student has their own draw, the same on every run; the practice stream is
    spawned apart from both."""
    if stream == GRADING and student is not None and getattr(check, "per_student", False):
        return np.random.default_rng(np.random.SeedSequence([check.seed, number, *student_words(student)],
                                                            spawn_key=(STUDENT_SPAWN_KEY,)))
    if stream == GRADING:  # unchanged since the first release: graded cases stay what they were
        return np.random.default_rng([check.seed, number])
    return np.random.default_rng(np.random.SeedSequence([check.seed, number], spawn_key=(PRACTICE_SPAWN_KEY,)))


def student_words(student: str) -> list[int]:
    """A student id as four 32-bit words for a seed (from its SHA-256: any id, any length)."""
    digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).digest()
    return [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]


def materialize(spec: Any, rng: np.random.Generator, support: Any = None) -> Any:
    """One argument's value from its spec (drawing from `rng` if it is random)."""
    from .rubric import ArraySpec, DataFrameSpec, DictSpec, FixtureSpec, NdarraySpec, SetSpec, TupleSpec

    if isinstance(spec, ArraySpec):
        shape = tuple(spec.array)
        if spec.dist == "normal":
            values = rng.normal(scale=spec.scale, size=shape)
        elif spec.dist == "uniform":
            values = rng.uniform(spec.low, spec.high, size=shape)
        else:
            values = rng.integers(int(spec.low), int(spec.high), size=shape)
        return values.astype(spec.dtype)
    if isinstance(spec, FixtureSpec):
        value = {"__fixture__": spec.fixture, "params": copy.deepcopy(spec.params), "seed": _wire.fixture_seed(rng)}
        build_fixture(value, support, rng)  # the draws the fixture makes: later arguments draw after them
        return value
    if isinstance(spec, NdarraySpec):
        return np.array(spec.ndarray, dtype=spec.dtype)
    if isinstance(spec, DictSpec):
        return copy.deepcopy(spec.dict_)
    if isinstance(spec, TupleSpec):
        return tuple(copy.deepcopy(spec.tuple_))
    if isinstance(spec, SetSpec):
        return set(spec.set_)
    if isinstance(spec, DataFrameSpec):
        import pandas

        return pandas.DataFrame(copy.deepcopy(spec.dataframe), index=spec.index)
    return copy.deepcopy(spec)


def for_reference(args: tuple[Any, ...], support: Any = None) -> list[Any]:
    """Fresh copies of a case's positional arguments, with fixtures built by `support`."""
    return [_fresh(arg, support) for arg in args]


def for_reference_keywords(case: tuple, support: Any = None) -> dict[str, Any]:
    """Fresh copies of a case's keyword arguments, with fixtures built by `support`."""
    return {name: _fresh(arg, support) for name, arg in keywords(case).items()}


def _fresh(arg: Any, support: Any) -> Any:
    return build_fixture(arg, support) if _wire.is_fixture(arg) else copy.deepcopy(arg)


def build_fixture(value: dict, support: Any, rng: np.random.Generator | None = None) -> Any:
    """The object a fixture (as plain data) stands for: the support module's NAME(rng, **params),
    with a generator in the recorded state (or `rng`, already in it)."""
    name = value["__fixture__"]
    function = fixture_function(support, name)
    return function(rng if rng is not None else _wire.fixture_rng(value["seed"]), **copy.deepcopy(value["params"]))


def fixture_function(support: Any, name: str):
    """The support module's fixture `name`, or RubricError."""
    if support is None:
        raise RubricError(f"the case argument {{fixture: {name}}} needs a support module; name one with `support:` "
                          "in the rubric")
    function = getattr(support, name, None) if not name.startswith("_") else None
    if not callable(function):
        raise RubricError(f"the support module has no fixture `{name}` (a function {name}(rng, ...))")
    return function


def describe_call(case: tuple, default_names: list[str], support: Any = None) -> str:
    """`describe_case` for a case with its own names and keywords."""
    return describe_case(argument_names(case, default_names), (*case, *keywords(case).values()), support)


def describe_case(names: list[str], args: tuple[Any, ...], support: Any = None) -> str:
    """A short human description, e.g. `X (1, 4), W_up (4, 16), alpha=2.0`."""
    parts = []
    for name, arg in zip(names, args):
        if isinstance(arg, np.ndarray):
            parts.append(f"{name} {tuple(arg.shape)}")
        elif _wire.is_fixture(arg):
            parts.append(f"{name} {describe_fixture(arg, support)}")
        elif type(arg).__name__ == "DataFrame":
            parts.append(f"{name} a DataFrame of shape {tuple(arg.shape)}")
        else:
            text = stable_repr(arg)
            parts.append(f"{name}={text if len(text) <= 40 else text[:37] + '...'}")
    return ", ".join(parts)


def stable_repr(value: Any) -> str:
    """`repr`, but the same on every run: a set's items sorted (Python's set order follows
    string hashes, which change from one process to the next)."""
    if type(value) in (set, frozenset):
        items = sorted(stable_repr(item) for item in value)
        if not items:
            return f"{type(value).__name__}()"
        inner = "{" + ", ".join(items) + "}"
        return inner if type(value) is set else f"frozenset({inner})"
    if type(value) is list:
        return "[" + ", ".join(stable_repr(item) for item in value) + "]"
    if type(value) is tuple:
        return "(" + ", ".join(stable_repr(item) for item in value) + ("," if len(value) == 1 else "") + ")"
    if type(value) is dict:
        return "{" + ", ".join(f"{stable_repr(k)}: {stable_repr(v)}" for k, v in value.items()) + "}"
    return repr(value)


def describe_fixture(value: dict, support: Any = None) -> str:
    """What a fixture is, in a few words: the support module's `describe_NAME(params)` if it has
    one, else the fixture's name and parameters."""
    name, params = value["__fixture__"], value["params"]
    describe = getattr(support, f"describe_{name}", None) if support is not None else None
    if callable(describe):
        try:
            return str(describe(copy.deepcopy(params)))
        except Exception:
            pass
    shown = ", ".join(f"{key}={item!r}" for key, item in params.items())
    return f"a {name} fixture" + (f" ({shown})" if shown else "")
