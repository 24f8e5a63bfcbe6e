"""Rubric files: what each question is worth and how to check it.

A rubric is YAML written by hand. It is parsed into frozen pydantic models (the *spec*;
results live elsewhere) and refused as a whole, with one line naming the file, the
question and the field, when anything in it is wrong.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import regex
import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
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


class ToySpec(Spec):
    """A toy language model `p`, built in the student's process from a random table."""

    toy: Literal["clm", "mlm"]
    vocab: Annotated[int, Field(ge=2)]
    rows: Annotated[int, Field(ge=1)] = 11


JsonLiteral = Union[bool, int, float, str, list[Any]]
ArgSpec = Union[ArraySpec, ToySpec, JsonLiteral]


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

    value: Union[bool, int, float, str, None] = None
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
    description: str = ""


class FunctionCheck(CheckBase):
    kind: Literal["function"]
    name: str
    reference: str | None = None
    seed: int = 0
    cases: Annotated[list[dict[str, ArgSpec]], Field(min_length=1)]
    # cases for the self-check bundle only, never graded (default: the graded cases that draw
    # arrays or toys, drawn again from a practice stream; see cases.py)
    practice: list[dict[str, ArgSpec]] = []
    rtol: Annotated[float, Field(ge=0.0)] | None = None
    atol: Annotated[float, Field(ge=0.0)] | None = None
    call_timeout: Annotated[float, Field(gt=0)] | None = None
    docstring: str = ""  # what the student's template says of the function (shapes, conventions)
    mistakes: list[FunctionMistake] = []

    @property
    def reference_name(self) -> str:
        return self.reference or self.name


class ValueCheck(CheckBase):
    kind: Literal["value"]
    name: str
    type: Literal["int", "float", "bool", "str"]
    expected: Union[bool, int, float, str, None] = None
    rtol: Annotated[float, Field(ge=0.0)] | None = None
    atol: Annotated[float, Field(ge=0.0)] | None = None
    accept: list[str] = []
    mistakes: list[ValueMistake] = []

    @model_validator(mode="after")
    def _values_fit_the_type(self) -> ValueCheck:
        fits = {"int": (int, float), "float": (int, float), "bool": (bool,), "str": (str,)}[self.type]
        named = [("`expected`", self.expected)] + [(f"mistake {m.id}", m.value) for m in self.mistakes]
        for what, value in named:
            if value is not None and (type(value) not in fits or (self.type != "bool" and type(value) is bool)):
                hint = " (YAML reads 175.0e9 as text: write 1.75e+11 or 175000000000)" if type(value) is str else ""
                raise ValueError(f"{what} is {value!r}, not of the check's type {self.type}{hint}")
        return self


class Criterion(Spec):
    points: Annotated[float, Field(gt=0)]
    description: Annotated[str, Field(min_length=1)]
    any: Annotated[list[str], Field(min_length=1)]

    @field_validator("any")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        # compiled as the grader runs them: with the `regex` engine, whose searches take a timeout
        for pattern in patterns:
            try:
                regex.compile(pattern, TEXT_FLAGS)
            except (regex.error, ValueError, TypeError, OverflowError, RecursionError) as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regex: {exc}") from None
        return patterns


class TextCheck(CheckBase):
    kind: Literal["text"]
    answer: str | None = None
    criteria: Annotated[list[Criterion], Field(min_length=1)]
    min_words: Annotated[int, Field(ge=0)] = 3

    @model_validator(mode="after")
    def _criteria_add_up(self) -> TextCheck:
        total = sum(c.points for c in self.criteria)
        if abs(total - self.points) > 1e-9:
            raise ValueError(f"criteria points add up to {total:g}, but the check is worth {self.points:g}")
        return self


CheckSpec = Annotated[Union[FunctionCheck, ValueCheck, TextCheck], Field(discriminator="kind")]


# ---------------------------------------------------------------- questions and rubric


class Question(Spec):
    id: Annotated[str, Field(pattern=r"^[0-9]+[a-z]*$")]
    title: str = ""
    prompt: str = ""  # the question as the sheet asks it (Markdown), for the student's template
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


class Rubric(Spec):
    title: str
    reference: str
    entry: str | None = None  # the entry module of a folder submission, e.g. ex07.py
    sandbox: Literal["auto", "required", "off"] = "auto"
    deadline: AwareDatetime | None = None  # with a time zone, e.g. 2025-05-20T23:59:00+02:00
    late: LatePolicy = LatePolicy()
    limits: Limits = Limits()
    tolerance: Tolerance = Tolerance()
    questions: Annotated[list[Question], Field(min_length=1)]
    path: Path | None = Field(default=None, exclude=True)

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
    """Parse and validate a rubric file, or raise RubricError with one readable line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RubricError(f"{path}: rubric file not found; pass an existing file with --rubric") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RubricError(f"{path}: cannot read the rubric ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RubricError(f"{path}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise RubricError(f"{path}: a rubric is a YAML mapping with `title`, `reference` and `questions`")
    try:
        return Rubric.model_validate({**data, "path": path})
    except ValidationError as exc:
        raise RubricError(f"{path}: {describe_validation_error(exc, data)}") from None


def describe_validation_error(exc: ValidationError, data: dict) -> str:
    """The first pydantic error as 'question 2c, check lora: field `points`: ...'."""
    errors = exc.errors()
    first = errors[0]
    where = _describe_location(first["loc"], data)
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    message = first["msg"].removeprefix("Value error, ")
    return f"{where}: {message}{more}"


_LISTS = {"questions", "checks", "mistakes", "criteria", "cases"}
_UNION_TAGS = {"function", "value", "text", "ArraySpec", "ToySpec", "bool", "int", "float", "str", "list[any]"}


def _describe_location(loc: tuple, data: Any) -> str:
    parts: list[str] = []
    node = data
    field: str | None = None
    for key in loc:
        if isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
            label = node.get("id") if isinstance(node, dict) else None
            kind = {"questions": "question", "checks": "check", "mistakes": "mistake",
                    "criteria": "criterion", "cases": "case"}.get(field or "", field or "item")
            parts.append(f"{kind} {label}" if label is not None else f"{kind} #{key + 1}")
            field = None
        elif isinstance(key, str) and key in _UNION_TAGS and not (isinstance(node, dict) and key in node):
            continue  # pydantic's name for a union branch, not a field of the file
        else:
            field = str(key)
            node = node.get(key) if isinstance(node, dict) else None
            if field not in _LISTS:
                parts.append(f"field `{field}`")
    if field in _LISTS:  # the error is about the list itself (missing or empty): name it
        parts.append(f"field `{field}`")
    return ", ".join(parts) if parts else "top level"
