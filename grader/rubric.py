"""Rubric files: what each question is worth and how to check it.

A rubric is YAML written by hand. It is parsed into frozen pydantic models (the *spec*;
results live elsewhere) and refused as a whole, with one line naming the file, the
question and the field, when anything in it is wrong.
"""

from __future__ import annotations

import difflib
import re
import shlex
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import regex
import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import RubricError
from .untrusted import ANSWER_CHARS

TEXT_FLAGS = regex.IGNORECASE | regex.DOTALL  # how a text criterion's patterns match an answer


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------- arguments of a case


class ArraySpec(Spec):
    """A random array, drawn from the check's seeded generator."""

    array: tuple[Annotated[int, Field(ge=0)], ...]
    dist: Literal["normal", "uniform", "randint"] = "normal"
    scale: float = 1.0
    low: float = 0.0
    high: float = 1.0
    dtype: Literal["float64", "float32", "int64"] = "float64"

    @model_validator(mode="after")
    def _range_draws_something(self) -> ArraySpec:
        if self.dist == "randint" and int(self.high) - int(self.low) < 2:
            raise ValueError(f"`dist: randint` draws integers from `low` up to but not including `high` "
                             f"({self.low:g} and {self.high:g} here, so one value at most); give e.g. low: 0, high: 10")
        if self.dist == "uniform" and self.high <= self.low:
            raise ValueError(f"`dist: uniform` draws from `low` to `high`, and {self.high:g} is not above {self.low:g}")
        return self


class FixtureSpec(Spec):
    """An object built by the rubric's support module: `{fixture: NAME, param: value, ...}`
    is `NAME(rng, param=value, ...)`, called on each side with generators in the same state."""

    fixture: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
    params: dict[str, Any] = {}  # every other key of the mapping: {fixture: corpus, size: 5} has {size: 5}

    @model_validator(mode="before")
    @classmethod
    def _other_keys_are_params(cls, data: Any) -> Any:
        # only a mapping that names a fixture gathers its other keys; any other mapping keeps
        # them, so they are strangers here and its error is told by the form it is closest to
        if isinstance(data, dict) and "fixture" in data:
            return {"fixture": data["fixture"], "params": {k: v for k, v in data.items() if k != "fixture"}}
        return data

    @model_validator(mode="after")
    def _params_are_plain(self) -> FixtureSpec:
        for name, value in self.params.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"fixture parameter {name!r} is not a Python name")
            if not _plain(value):
                raise ValueError(f"fixture parameter `{name}` is not plain data (numbers, text, lists, mappings)")
        return self


def _plain(value: Any) -> bool:
    if value is None or type(value) in (bool, int, float, str):
        return True
    if type(value) is list:
        return all(_plain(item) for item in value)
    if type(value) is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    return False


ARRAY_DTYPES = ("float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool", "complex128")


class NdarraySpec(Spec):
    """A fixed array, written out: `{ndarray: [[1, 0], [0, 1]], dtype: float32}`."""

    ndarray: Union[list[Any], bool, int, float]
    dtype: Literal[ARRAY_DTYPES] | None = None  # None: what NumPy makes of the numbers

    @model_validator(mode="after")
    def _is_an_array(self) -> NdarraySpec:
        import numpy as np

        try:
            array = np.array(self.ndarray, dtype=self.dtype)
        except (ValueError, TypeError, OverflowError) as exc:
            raise ValueError(f"`ndarray` cannot be made an array: {exc}") from None
        if array.dtype.kind not in "biufc":
            raise ValueError("`ndarray` holds numbers or booleans, in nested lists of equal lengths")
        return self


class DictSpec(Spec):
    """A dict: `{dict: {a: 1, b: [2, 3]}}` (its values are plain YAML values)."""

    dict_: Annotated[dict[Union[bool, int, float, str], Any], Field(alias="dict")]
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _no_boolean_keys(self) -> DictSpec:
        if any(type(key) is bool for key in self.dict_):
            raise ValueError("a key is true or false: YAML reads on, off, yes, no, true and false as booleans; "
                             "quote the key (\"on\") if it is a word")
        return self


class TupleSpec(Spec):
    """A tuple: `{tuple: [1, 2]}`."""

    tuple_: Annotated[list[Any], Field(alias="tuple")]
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class SetSpec(Spec):
    """A set: `{set: [1, 2]}` (of numbers or text)."""

    set_: Annotated[list[Union[bool, int, float, str]], Field(alias="set")]
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class DataFrameSpec(Spec):
    """A pandas DataFrame from records: `{dataframe: [{a: 1, b: x}, ...], index: [...]}`."""

    dataframe: list[dict[str, Any]]
    index: list[Union[bool, int, float, str]] | None = None

    @model_validator(mode="after")
    def _index_fits(self) -> DataFrameSpec:
        if self.index is not None and len(self.index) != len(self.dataframe):
            raise ValueError(f"`index` has {len(self.index)} labels for {len(self.dataframe)} records")
        return self


JsonLiteral = Union[bool, int, float, str, list[Any]]
ArgSpec = Union[ArraySpec, FixtureSpec, NdarraySpec, DictSpec, TupleSpec, SetSpec, DataFrameSpec, JsonLiteral]
Arguments = dict[str, ArgSpec]


class RaisingCase(Spec):
    """A case on which the reference raises `raises`, and the student must raise it too (or
    a subclass): `{args: {x: []}, raises: ValueError}`."""

    args: Arguments
    raises: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


def _case_form(value: Any) -> str:
    is_raising = isinstance(value, (dict, RaisingCase)) and (
        isinstance(value, RaisingCase) or ("raises" in value and isinstance(value.get("args"), dict)))
    return "RaisingCase" if is_raising else "Arguments"


CaseSpec = Annotated[Union[Annotated[RaisingCase, Tag("RaisingCase")], Annotated[Arguments, Tag("Arguments")]],
                     Discriminator(_case_form)]


def case_arguments(case: Any) -> dict[str, Any]:
    """The arguments a case names (name -> spec), whichever form the case has."""
    return case.args if isinstance(case, RaisingCase) else case


def case_raises(case: Any) -> str | None:
    """The exception a case expects (its name), or None."""
    return case.raises if isinstance(case, RaisingCase) else None


# ---------------------------------------------------------------- known mistakes


class Mistake(Spec):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    feedback: Annotated[str, Field(min_length=1)]
    credit: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0


class FunctionMistake(Mistake):
    """Matched when the student's outputs equal a reference variant's on every case,
    or when the student's call raised the named exception (message matching a regex)."""

    variant: str | None = None
    raises: str | None = None
    message: str = ""

    @model_validator(mode="after")
    def _one_rule(self) -> FunctionMistake:
        if (self.variant is None) == (self.raises is None):
            raise ValueError("give exactly one of `variant` or `raises`")
        try:
            re.compile(self.message)
        except re.error as exc:  # pydantic turns only ValueError into a validation error
            raise ValueError(f"`message` {self.message!r} is not a valid regex: {exc}") from None
        return self


class ValueMistake(Mistake):
    """Matched when the answer equals `value` (within `rtol`) or fits the `when` rule."""

    value: Any = None  # of the check's type: a number, bool or str; a list or dict for structured types
    when: Literal["not_integer"] | None = None
    rtol: Annotated[float, Field(ge=0.0)] | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> ValueMistake:
        if (self.value is None) == (self.when is None):
            raise ValueError("give exactly one of `value` or `when`")
        return self


# ---------------------------------------------------------------- checks


class CheckBase(Spec):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    points: Annotated[float, Field(gt=0)]
    visibility: Literal["public", "hidden"] = "public"
    feedback: Literal["shown", "hidden"] = "shown"  # hidden: the student's page shows only the outcome and points
    description: str = ""


CompareMode = Literal["auto", "exact", "unordered", "normalized", "judge"]


class Comparison(Spec):
    """How an answer is compared with the expected one (see compare.py): `compare` names
    the rule, `judge` the reference's function NAME(expected, actual, args) for
    `compare: judge` (giving `judge` alone implies it); `ordered` wants a DataFrame's
    columns in the expected order, `loose_types` lets a tuple answer a list (and a list a
    tuple, a frozenset a set, a list an array) and a column have another dtype."""

    compare: CompareMode = "auto"
    judge: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    ordered: bool = False
    loose_types: bool = False

    @model_validator(mode="before")
    @classmethod
    def _judge_implies_compare(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("judge") is not None and "compare" not in data:
            return {**data, "compare": "judge"}
        return data

    @model_validator(mode="after")
    def _judge_is_named(self) -> Comparison:
        if self.compare == "judge" and self.judge is None:
            raise ValueError("`compare: judge` needs `judge: NAME`, a function NAME(expected, actual, args) "
                             "of the reference")
        if self.judge is not None and self.compare != "judge":
            raise ValueError(f"`judge` is given but `compare` is {self.compare}; use `compare: judge`")
        return self


class FunctionCheck(CheckBase, Comparison):
    kind: Literal["function"]
    name: str
    reference: str | None = None
    seed: int = 0
    per_student: bool = False  # draw the random arguments again for each student (cases.py)
    # each a mapping of arguments, or {args: {...}, raises: ExceptionName}; arguments follow the
    # reference's signature (by position where it allows, else by keyword), defaults may be left out
    cases: Annotated[list[CaseSpec], Field(min_length=1)]
    # cases for the self-check bundle only, never graded (default: the graded cases that draw
    # arrays or fixtures, drawn again from a practice stream; see cases.py)
    practice: list[CaseSpec] = []
    rtol: Annotated[float, Field(ge=0.0)] | None = None
    atol: Annotated[float, Field(ge=0.0)] | None = None
    call_timeout: Annotated[float, Field(gt=0)] | None = None
    docstring: str = ""  # what the student's template says of the function (shapes, conventions)
    mistakes: list[FunctionMistake] = []

    @property
    def reference_name(self) -> str:
        return self.reference or self.name


VALUE_TYPES = ("int", "float", "bool", "str", "list", "tuple", "dict", "set", "array", "dataframe", "any")
# what YAML gives for `expected` (and mistakes' values) of each type; a DataFrame comes from the reference
_RUBRIC_FORMS: dict[str, tuple[type, ...] | None] = {
    "int": (int, float), "float": (int, float), "bool": (bool,), "str": (str,), "list": (list,), "tuple": (list,),
    "set": (list,), "dict": (dict,), "array": (list, int, float), "dataframe": (), "any": None}


class ValueCheck(CheckBase, Comparison):
    kind: Literal["value"]
    name: str
    type: Literal["int", "float", "bool", "str", "list", "tuple", "dict", "set", "array", "dataframe", "any"]
    expected: Any = None  # default: the reference's value of `name`
    rtol: Annotated[float, Field(ge=0.0)] | None = None
    atol: Annotated[float, Field(ge=0.0)] | None = None
    accept: list[str] = []
    mistakes: list[ValueMistake] = []

    @model_validator(mode="after")
    def _values_fit_the_type(self) -> ValueCheck:
        fits = _RUBRIC_FORMS[self.type]
        named = [("`expected`", self.expected)] + [(f"mistake {m.id}", m.value) for m in self.mistakes]
        for what, value in named:
            if value is None or fits is None:
                continue
            if self.type == "dataframe":
                raise ValueError(f"{what}: a DataFrame cannot be written in the rubric; define `{self.name}` "
                                 "(or a judge) in the reference")
            if type(value) not in fits or (self.type != "bool" and type(value) is bool):
                hint = " (YAML reads 175.0e9 as text: write 1.75e+11 or 175000000000)" \
                    if type(value) is str and self.type in ("int", "float") else ""
                raise ValueError(f"{what} is {value!r}, not of the check's type {self.type}{hint}")
        if self.accept and self.type != "str":
            raise ValueError(f"`accept` lists other right names for a `type: str` answer, and this check's type is "
                             f"{self.type}; remove `accept` (for numbers, widen `rtol` instead)")
        if self.compare == "unordered" and self.type in ("int", "float", "bool", "str", "dict", "set"):
            raise ValueError(f"`compare: unordered` compares lists, tuples, arrays and DataFrames, not a {self.type}")
        if self.compare == "normalized" and self.type in ("int", "float", "bool"):
            raise ValueError(f"`compare: normalized` compares strings, not a {self.type}")
        return self


class Criterion(Spec):
    """One thing a free-text answer should say: its `description` in plain words, short
    `examples` of answers that meet it, and `any` patterns (regexes; one signal among others).
    An answer meets it by meaning (semantic.py), not by keywords alone."""

    points: Annotated[float, Field(gt=0)]
    description: Annotated[str, Field(min_length=1)]
    examples: list[Annotated[str, Field(min_length=1)]] = []
    any: list[str] = []

    @field_validator("any")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        # compiled as the grader runs them: with the `regex` engine, whose searches take a timeout
        for pattern in patterns:
            control = next((c for c in pattern if ord(c) < 32 and c not in "\t\n"), None)
            if control is not None:
                raise ValueError(f"pattern {pattern!r} holds the control character {control!r}: in YAML's double "
                                 "quotes \\b is a backspace; write the pattern in single quotes ('\\bword')")
            try:
                regex.compile(pattern, TEXT_FLAGS)
            except (regex.error, ValueError, TypeError, OverflowError, RecursionError) as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regex: {exc}") from None
        return patterns


class TextCheck(CheckBase):
    kind: Literal["text"]
    answer: str | None = None
    # reference answers, one or several; with them `criteria` may be left out (then the whole
    # check is one criterion: saying what the model answer says)
    model_answer: list[Annotated[str, Field(min_length=1)]] = []
    criteria: list[Criterion] = []
    min_words: Annotated[int, Field(ge=0)] = 3

    @field_validator("model_answer", mode="before")
    @classmethod
    def _one_or_several(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _criteria_add_up(self) -> TextCheck:
        if not self.criteria:
            if not self.model_answer:
                raise ValueError("give `criteria` (what the answer should say), a `model_answer`, or both")
            return self
        total = sum(c.points for c in self.criteria)
        if abs(total - self.points) > 1e-9:
            raise ValueError(f"criteria points add up to {total:g}, but the check is worth {self.points:g}")
        return self

    @property
    def scored_criteria(self) -> list[Criterion]:
        """The criteria an answer is scored by: the rubric's, or the model answer as one."""
        if self.criteria:
            return list(self.criteria)
        return [Criterion(points=self.points, description=self.description or "says what the model answer says",
                          examples=list(self.model_answer))]


PYTHON_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Step(Spec):
    """One step of an object case: `new: {ARGS}` makes the object (the constructor's arguments
    by name), `call: METHOD` with `args: {ARGS}` calls a method, `attr: NAME` reads an attribute
    or property; `new` and `call` may say the reference `raises` there."""

    new: Arguments | None = None
    call: Annotated[str, Field(pattern=PYTHON_NAME)] | None = None
    attr: Annotated[str, Field(pattern=PYTHON_NAME)] | None = None
    args: Arguments = {}
    raises: Annotated[str, Field(pattern=PYTHON_NAME)] | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        given = [name for name in ("new", "call", "attr") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("a step is one of `new: {ARGS}`, `call: METHOD` (with `args`) or `attr: NAME`"
                             + (f"; this one gives {' and '.join(given)}" if given else ""))
        if self.args and self.call is None:
            raise ValueError("`args` go with `call: METHOD`; the arguments of `new` are its own mapping")
        if self.raises is not None and self.attr is not None:
            raises = "`raises` goes with `new` or `call`, not with `attr`"
            raise ValueError(raises)
        return self

    @property
    def action(self) -> str:
        return "new" if self.new is not None else "call" if self.call is not None else "attr"

    @property
    def arguments(self) -> dict[str, Any]:
        return self.new if self.new is not None else self.args


class ObjectCase(Spec):
    """An object case: `steps`, the first of which is `new` (the only one)."""

    steps: Annotated[list[Step], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _list_is_steps(cls, data: Any) -> Any:
        return {"steps": data} if isinstance(data, list) else data

    @model_validator(mode="after")
    def _starts_new(self) -> ObjectCase:
        if self.steps[0].new is None:
            raise ValueError("the first step makes the object: `- new: {ARGS}` (`new: {}` without arguments)")
        if any(step.new is not None for step in self.steps[1:]):
            raise ValueError("only the first step is `new`; write a case per object")
        if self.steps[0].raises is not None and len(self.steps) > 1:
            raise ValueError("the first step raises, so no object exists for the steps after it; "
                             "make them another case")
        return self


class ObjectCheck(CheckBase, Comparison):
    """A class: each case makes an object and takes steps with it; each step's result is
    compared with the reference class's at the same step (kinds/object.py)."""

    kind: Literal["object"]
    name: Annotated[str, Field(pattern=PYTHON_NAME)]
    reference: Annotated[str, Field(pattern=PYTHON_NAME)] | None = None
    seed: int = 0
    per_student: bool = False
    cases: Annotated[list[ObjectCase], Field(min_length=1)]
    practice: list[ObjectCase] = []
    rtol: Annotated[float, Field(ge=0.0)] | None = None
    atol: Annotated[float, Field(ge=0.0)] | None = None
    call_timeout: Annotated[float, Field(gt=0)] | None = None  # for one case, all its steps
    docstring: str = ""
    mistakes: list[FunctionMistake] = []  # `variant`: a class of the reference

    @property
    def reference_name(self) -> str:
        return self.reference or self.name


CheckSpec = Annotated[Union[FunctionCheck, ValueCheck, TextCheck, ObjectCheck], Field(discriminator="kind")]


# ---------------------------------------------------------------- questions and rubric


class Question(Spec):
    id: Annotated[str, Field(pattern=r"^[0-9]+[a-z]*$")]
    title: str = ""
    prompt: str = ""  # the question as the sheet asks it (Markdown), for the student's template
    show_work: bool = False  # the template gets a cell for the student's calculation (not graded)
    checks: Annotated[list[CheckSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_check_ids(self) -> Question:
        _refuse_duplicates([c.id for c in self.checks], "check id")
        return self

    @property
    def max_points(self) -> float:
        return sum(c.points for c in self.checks)

    def answer_name(self, check: TextCheck) -> str:
        return check.answer or f"ANSWER_{self.id.upper()}"

    @property
    def answer_tag(self) -> str:
        return f"answer:{self.id}"


class Limits(Spec):
    call_timeout: Annotated[float, Field(gt=0)] = 5.0
    submission_timeout: Annotated[float, Field(gt=0)] = 120.0
    memory_mb: Annotated[int, Field(ge=128)] = 2048
    answer_chars: Annotated[int, Field(ge=100)] = ANSWER_CHARS  # a longer free-text answer is cut, with a note


class Tolerance(Spec):
    rtol: Annotated[float, Field(ge=0.0)] = 1e-4
    atol: Annotated[float, Field(ge=0.0)] = 1e-8


class LatePolicy(Spec):
    """Points lost per day (or part of a day) late, as a fraction of the points earned."""

    per_day: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1
    zero_after_days: Annotated[float, Field(ge=0.0)] | None = None  # later than this: 0 points
    grace_minutes: Annotated[float, Field(ge=0.0)] = 0.0


_NAME = r"[A-Za-z_]\w*"
_IMPORT = re.compile(rf"(?:import\s+)?{_NAME}(?:\.{_NAME})*(?:\s+as\s+{_NAME})?"
                     rf"|from\s+{_NAME}(?:\.{_NAME})*\s+import\s+{_NAME}(?:\s+as\s+{_NAME})?"
                     rf"(?:\s*,\s*{_NAME}(?:\s+as\s+{_NAME})?)*")


class Rubric(Spec):
    title: str
    reference: str
    support: str | None = None  # a Python file of fixtures, shipped into the student's process
    entry: str | None = None  # the entry module of a folder submission, e.g. ex07.py
    sandbox: Literal["auto", "required", "off"] = "auto"
    deadline: AwareDatetime | None = None  # with a time zone, e.g. 2025-05-20T23:59:00+02:00
    late: LatePolicy = LatePolicy()
    limits: Limits = Limits()
    tolerance: Tolerance = Tolerance()
    # whether free-text points a reviewer has not confirmed yet count in totals
    count_suggested: bool = True
    # what the student's template imports (`grade assign`), each `numpy as np` or `from x import y`
    template_imports: list[str] = ["numpy as np"]
    questions: Annotated[list[Question], Field(min_length=1)]
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("template_imports")
    @classmethod
    def _imports_are_imports(cls, lines: list[str]) -> list[str]:
        for line in lines:
            if not _IMPORT.fullmatch(line.strip()):
                raise ValueError(f"{line!r} is not an import; write e.g. `numpy as np` or `from scipy import special`")
        return [" ".join(line.split()) for line in lines]

    @model_validator(mode="after")
    def _unique_question_ids(self) -> Rubric:
        _refuse_duplicates([q.id for q in self.questions], "question id")
        return self

    @property
    def question_ids(self) -> list[str]:
        return [q.id for q in self.questions]

    @property
    def max_total(self) -> float:
        return sum(q.max_points for q in self.questions)

    @property
    def reference_path(self) -> Path:
        base = self.path.parent if self.path else Path.cwd()
        return (base / self.reference).resolve()

    @property
    def support_path(self) -> Path | None:
        if self.support is None:
            return None
        base = self.path.parent if self.path else Path.cwd()
        return (base / self.support).resolve()

    def checks(self):
        """Every (question, check) pair, in sheet order."""
        for question in self.questions:
            for check in question.checks:
                yield question, check


def _refuse_duplicates(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{what} {item!r} appears twice")
        seen.add(item)


# ---------------------------------------------------------------- loading


def load_rubric(path: str | Path) -> Rubric:
    """Parse and validate a rubric file, or raise RubricError with one readable line: the
    first problem, how many more there are, and the command that lists them all."""
    path = Path(path)
    data = read_rubric_data(path)
    try:
        return Rubric.model_validate({**data, "path": path})
    except ValidationError as exc:
        problems = describe_validation_errors(exc, data)
        raise RubricError(f"{path}: {problems[0]}{see_every_problem(path, len(problems) - 1)}") from None


def read_rubric_data(path: Path) -> dict:
    """The rubric file as YAML data, or RubricError: not found, unreadable, not YAML, not a mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RubricError(f"{path}: rubric file not found; pass an existing file with --rubric") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RubricError(f"{path}: cannot read the rubric ({exc})") from None
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # the C parser when built
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RubricError(f"{path}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise RubricError(f"{path}: a rubric is a YAML mapping with `title`, `reference` and `questions`")
    return data


def see_every_problem(path: Path, more: int = 0) -> str:
    """What a one-line rubric error ends with: where the full list of problems is."""
    command = f"`grade validate {shlex.quote(str(path))}`"
    if more:
        return f" (and {more} more problem{'s' if more > 1 else ''}: {command} lists them all)"
    return f" ({command} lists every problem of the rubric)"


def describe_validation_error(exc: ValidationError, data: dict) -> str:
    """The first problem as 'question 2c, check lora, field `points`: ...', and how many more."""
    problems = describe_validation_errors(exc, data)
    more = len(problems) - 1
    return problems[0] + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


_LISTS = {"questions", "checks", "mistakes", "criteria", "cases", "steps"}
_UNION_TAGS = {"function", "value", "text", "object", "ArraySpec", "FixtureSpec", "NdarraySpec", "DictSpec", "TupleSpec", "SetSpec",
               "DataFrameSpec", "RaisingCase", "Arguments", "bool", "int", "float", "str", "list[any]"}


def describe_validation_errors(exc: ValidationError, data: dict) -> list[str]:
    """Every problem pydantic found, one line each ('question 2c, check lora, field `points`:
    Input should be greater than 0 (it is -1)'), each once. Where a value may take several
    forms (a case argument: a number, a list, {array: ...}, {fixture: ...}), pydantic says why it
    is none of them; only the form it came closest to is kept, or one line naming the forms."""
    errors = exc.errors()
    steps = [_steps(error["loc"], data, error["type"]) for error in errors]
    kept, forms = _closest_forms(errors, steps)
    lines: list[str] = []
    for i in kept:
        error = errors[i]
        where = _describe_steps(steps[i])
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):  # the field that picks the kind
            discriminator = str((error.get("ctx") or {}).get("discriminator", "kind")).strip("'")
            where += f", field `{discriminator}`"
        what = _forms_message(forms[i], error) if i in forms else _message(error, errors)
        line = f"{where}: {what}"
        if line not in lines:
            lines.append(line)
    return lines


def _steps(loc: tuple, data: Any, error_type: str = "") -> list[tuple[str, Any, Any]]:
    """Each element of a pydantic location as (what, key, node): `index` into a list of the
    file, `field` of a mapping of the file, or `tag`: pydantic's name for the branch of a union
    (`function`, `ArraySpec`, `int`), which is not in the file."""
    steps: list[tuple[str, Any, Any]] = []
    node = data
    for position, key in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(node, list) and isinstance(key, int) and key < len(node):
            steps.append(("index", key, node[key]))
            node = node[key]
        elif isinstance(node, dict) and key in node:
            steps.append(("field", key, node[key]))
            node = node[key]
        elif isinstance(key, str) and (key in _UNION_TAGS or not (last and error_type == "missing")):
            steps.append(("tag", key, node))  # the value is the same one, seen as one of its forms
        else:
            steps.append(("field", key, None))
            node = None
    return steps


def _describe_steps(steps: list[tuple[str, Any, Any]]) -> str:
    parts: list[str] = []
    field: str | None = None
    for what, key, node in steps:
        if what == "index":
            label = node.get("id") if isinstance(node, dict) else None
            kind = {"questions": "question", "checks": "check", "mistakes": "mistake", "criteria": "criterion",
                    "cases": "case", "practice": "practice case",
                    "steps": "step"}.get(field or "", field or "item")
            parts.append(f"{kind} {label}" if label is not None else f"{kind} #{key + 1}")
            field = None
        elif what == "field":
            field = str(key)
            if field not in _LISTS:
                parts.append(f"field `{field}`")
    if field in _LISTS:  # the error is about the list itself (missing or empty): name it
        parts.append(f"field `{field}`")
    return ", ".join(parts) if parts else "top level"


def _describe_location(loc: tuple, data: Any) -> str:
    return _describe_steps(_steps(loc, data))


def _closest_forms(errors: list[dict], steps: list[list]) -> tuple[list[int], dict[int, list[str]]]:
    """Which errors to tell: at each union with several branches, those of the branch that came
    closest (it got inside the value, with the fewest errors); where none did, the first error
    only, with the names of the forms (returned by error index)."""
    branches: dict[tuple, dict[str, list[int]]] = {}
    for i, error_steps in enumerate(steps):
        for position, (what, key, _) in enumerate(error_steps):
            if what == "tag":
                branches.setdefault(tuple(errors[i]["loc"][:position]), {}).setdefault(key, []).append(i)
    dropped: set[int] = set()
    forms: dict[int, list[str]] = {}
    for prefix in sorted(branches, key=len):  # outer unions first
        alive = {tag: [i for i in found if i not in dropped] for tag, found in branches[prefix].items()}
        alive = {tag: found for tag, found in alive.items() if found}
        if len(alive) < 2:
            continue
        depth = len(prefix) + 1

        def came_close(i: int) -> bool:
            return len(errors[i]["loc"]) > depth or not errors[i]["type"].endswith("_type")

        def has_a_stranger(found: list[int]) -> bool:  # a key of the mapping this form does not know
            return any(errors[i]["type"] == "extra_forbidden" and len(errors[i]["loc"]) == depth + 1 for i in found)

        close = {tag: found for tag, found in alive.items()
                 if any(came_close(i) for i in found) and not has_a_stranger(found)} or \
            {tag: found for tag, found in alive.items() if any(came_close(i) for i in found)}
        if close:
            best = min(close, key=lambda tag: len(close[tag]))
            dropped |= {i for tag, found in alive.items() if tag != best for i in found}
        else:
            first, *others = sorted(i for found in alive.values() for i in found)
            dropped |= set(others)
            forms[first] = list(alive)
    return [i for i in range(len(errors)) if i not in dropped], forms


_FORM_NAMES = {"bool": "true or false", "int": "an integer", "float": "a number", "str": "text", "list[any]": "a list",
               "none": "empty", "ArraySpec": "{array: [shape], ...}", "FixtureSpec": "{fixture: NAME, ...}",
               "NdarraySpec": "{ndarray: [...], dtype: ...}", "DictSpec": "{dict: {...}}", "TupleSpec": "{tuple: [...]}",
               "SetSpec": "{set: [...]}", "DataFrameSpec": "{dataframe: [{column: value, ...}, ...]}"}


def _forms_message(tags: list[str], error: dict) -> str:
    # a form with a validator is tagged 'function-after[_check(), NdarraySpec]': its model's name
    tags = [re.sub(r"^function-\w+\[.*, (\w+)\]$", r"\1", tag) for tag in tags]
    tags = sorted(tags, key=lambda tag: tag[:1].isupper())  # plain values first, then mappings
    names = [_FORM_NAMES.get(tag, tag) for tag in tags]
    listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    return f"write {listed}{_it_is(error)}"


def _message(error: dict, errors: list[dict]) -> str:
    """What is wrong and what to do, for one pydantic error."""
    kind, loc, ctx = error["type"], error["loc"], error.get("ctx") or {}
    if kind == "missing":
        return "missing; add it"
    if kind == "extra_forbidden":
        name = str(loc[-1])
        siblings = [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and e["loc"][:-1] == loc[:-1]]
        guess = difflib.get_close_matches(name, siblings, n=1, cutoff=0.5) or \
            difflib.get_close_matches(name, sorted(_field_names()), n=1, cutoff=0.75)
        hint = f" (did you mean `{guess[0]}`?)" if guess else ""
        return f"not a field here; remove it or fix its spelling{hint}"
    if kind == "union_tag_invalid":
        return f"{ctx.get('tag')!r} is not one of {ctx.get('expected_tags')}; use one of them"
    if kind == "union_tag_not_found":
        return "missing; add it"
    message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return message + ("" if kind in ("value_error", "assertion_error") else _it_is(error))


def _it_is(error: dict) -> str:
    value = error.get("input")
    if isinstance(value, (dict, list)) and len(repr(value)) > 60:
        return ""
    shown = repr(value)
    return f" (it is {shown[:57] + '...' if len(shown) > 60 else shown})"


def _field_names() -> set[str]:
    """Every field name of every part of a rubric (for 'did you mean')."""
    names: set[str] = set()
    todo = [Spec]
    while todo:
        model = todo.pop()
        names |= set(model.model_fields)
        todo += model.__subclasses__()
    return names - {"path"}

