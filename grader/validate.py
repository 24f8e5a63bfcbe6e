"""`grade validate RUBRIC`: every problem of a rubric at once, or a summary of a valid one.

`grade` itself stops at the first problem (one line). Here the whole file is checked and
every problem is listed, one line each, naming the file, the question, the check and the
field, and saying what to do. Then the reference runs on every case of every check that is
valid on its own, so a rubric with a broken check still gets its other checks tried: a
check the reference refutes (a missing function, a case it raises on) is a problem too,
one per check. A valid rubric gets a one-screen summary instead.
"""

from __future__ import annotations

import shlex
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from .errors import GradeError
from .reference import Plan, load_reference, prepare
from .rubric import (CheckSpec, FunctionCheck, ObjectCheck, Question, Rubric, TextCheck, ValueCheck, describe_validation_errors,
                     read_rubric_data)


@dataclass
class Validation:
    path: Path
    problems: list[str] = field(default_factory=list)  # one line each, starting with the file
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why
    rubric: Rubric | None = None
    plan: Plan | None = None


def validate(path: str | Path) -> Validation:
    path = Path(path)
    result = Validation(path)
    try:
        data = read_rubric_data(path)
    except GradeError as exc:  # not found, not YAML, not a mapping: nothing more to check
        result.problems.append(str(exc))
        return result
    try:
        rubric = Rubric.model_validate({**data, "path": path})
    except ValidationError as exc:
        result.problems += [f"{path}: {line}" for line in describe_validation_errors(exc, data)]
        rubric = _valid_part(data, path, {error["loc"][0] for error in exc.errors() if error["loc"]})
        if rubric is None:
            result.notes.append("The reference was not run: fix the problems above, then validate again.")
            return result
    try:
        reference = load_reference(rubric)
    except GradeError as exc:
        result.problems.append(str(exc))
        return result
    for question, check in rubric.checks():  # one check at a time, so that every check is tried
        alone = rubric.model_copy(update={"questions": [question.model_copy(update={"checks": [check]})]})
        try:
            prepare(alone, reference)
        except GradeError as exc:
            result.problems.append(str(exc))
    if not result.problems:
        try:  # the whole, exactly as `grade` prepares it
            result.rubric, result.plan = rubric, prepare(rubric, reference)
        except GradeError as exc:
            result.problems.append(str(exc))
    if result.plan is not None:  # a student's own draws: a few sample students, as grading draws them
        for student in SAMPLE_STUDENTS:
            try:
                result.plan.for_student(student)
            except GradeError as exc:
                result.problems.append(str(exc))
                break
    return result


SAMPLE_STUDENTS = ("sample-student-1", "sample-student-2", "sample-student-3")  # whose draws `validate` tries


def _valid_part(data: dict, path: Path, broken: set) -> Rubric | None:
    """The rubric made of the checks and questions that are valid on their own, with the
    defaults for broken settings (their problems are listed already), so the reference can
    still be tried on them; None if even that fails (no reference, no valid question)."""
    questions = data.get("questions")
    if not isinstance(questions, list) or "reference" in broken:
        return None
    data = {key: value for key, value in data.items() if key not in broken or key == "questions"}
    data.setdefault("title", "")
    one_check = TypeAdapter(CheckSpec)
    kept, question_ids = [], set()
    for question in questions:
        if not isinstance(question, dict) or not isinstance(question.get("checks"), list):
            continue
        checks, check_ids = [], set()
        for check in question["checks"]:
            try:
                one_check.validate_python(check)
            except ValidationError:
                continue
            if check.get("id") not in check_ids:
                check_ids.add(check.get("id"))
                checks.append(check)
        try:
            Question.model_validate({**question, "checks": checks})
        except ValidationError:
            continue
        if question.get("id") not in question_ids:
            question_ids.add(question.get("id"))
            kept.append({**question, "checks": checks})
    try:
        return Rubric.model_validate({**data, "questions": kept, "path": path})
    except ValidationError:
        return None


# ---------------------------------------------------------------- what it prints


def render(result: Validation) -> str:
    if result.problems:
        count = len(result.problems)
        lines = [*result.problems, *result.notes,
                 f"{result.path}: {count} problem{'s' if count > 1 else ''}; fix {'them' if count > 1 else 'it'} "
                 f"and run `grade validate {shlex.quote(str(result.path))}` again."]
        return "\n".join(lines)
    return summary(result.rubric, result.plan)


def summary(rubric: Rubric, plan: Plan) -> str:
    """One screen: questions and points, checks per kind, public and hidden, cases the
    reference ran, the self-check bundle, known mistakes, free text, settings, template."""
    checks = [check for _, check in rubric.checks()]
    hidden = [c for c in checks if c.visibility == "hidden"]
    kinds = Counter(c.kind for c in checks)
    functions = [plan.functions[q.id, c.id] for q, c in rubric.checks() if isinstance(c, FunctionCheck)]
    objects = [plan.objects[q.id, c.id] for q, c in rubric.checks() if isinstance(c, ObjectCheck)]
    graded_cases = sum(len(f.cases) for f in functions)
    steps = sum(len(steps) for o in objects for steps in o.cases)
    own_draws = [c for _, c in rubric.checks() if getattr(c, "per_student", False)]
    public = [f for f in functions if f.check.visibility == "public"]
    drawn = [f for f in public if f.practice is not None]
    public_objects = [o for o in objects if o.check.visibility == "public"]
    stepped = [o for o in public_objects if o.practice is not None and o.check.compare != "judge"]
    practice_cases = sum(len(f.practice.cases) for f in drawn)
    mistakes = Counter(_mistake_rule(m) for c in checks for m in getattr(c, "mistakes", []))
    texts = [c for c in checks if isinstance(c, TextCheck)]
    values = [c for c in checks if isinstance(c, ValueCheck)]
    limits, tolerance = rubric.limits, rubric.tolerance

    per_question = ", ".join(f"{q.id} {_n(q.max_points)}" for q in rubric.questions)
    hidden_points = sum(c.points for c in hidden)
    lines = [
        f"{rubric.path}: valid. {rubric.title}",
        *_field("questions", f"{len(rubric.questions)}, {_n(rubric.max_total)} points: {per_question}"),
        *_field("checks", f"{len(checks)}: " + ", ".join(f"{count} {kind}" for kind, count in kinds.items())
                + f"; {len(checks) - len(hidden)} public ({_points(rubric.max_total - hidden_points)}), "
                f"{len(hidden)} hidden ({_points(hidden_points)})"),
        *_field("reference", f"{_shown(rubric.reference_path)}, ran {graded_cases} graded and {practice_cases} "
                f"practice cases of {_count(len(functions), 'function')}"
                + (f", {_count(sum(len(o.cases) for o in objects), 'case')} ({_count(steps, 'step')}) of "
                   f"{_count(len(objects), 'class', 'classes')}" if objects else "")
                + f", read {_count(len(values), 'value')}"),
        *_field("own draws", (f"{_count(len(own_draws), 'check')} ({', '.join(c.id for c in own_draws)}) with "
                              f"random arguments drawn for each student, tried for {len(SAMPLE_STUDENTS)} sample "
                              "students") if own_draws else "none: every student gets the same cases"),
        *_field("self-check", f"{_count(len(drawn), 'function')} on practice draws, {len(public) - len(drawn)} on "
                f"the form of their answers only, {_count(sum(1 for c in values if c.visibility == 'public'), 'value')}"
                + (f", {_count(len(stepped), 'class', 'classes')} on practice steps, {len(public_objects) - len(stepped)} "
                   "on the form of their steps only" if public_objects else "")
                + f"; {_count(len(hidden), 'hidden check')} only as points"),
        *_field("mistakes", f"{sum(mistakes.values())} named"
                + (": " + ", ".join(_count(count, rule) for rule, count in mistakes.items()) if mistakes else "")),
        *_field("free text", f"{_count(len(texts), 'answer')} with {sum(len(c.criteria) for c in texts)} criteria "
                f"for {_n(sum(c.points for c in texts))} points: suggested, then reviewed by hand"),
        *_field("grading", f"entry {rubric.entry or '(the one .py or notebook)'}, sandbox {rubric.sandbox}, "
                f"{_n(limits.call_timeout)} s per call, {_n(limits.submission_timeout)} s per submission, "
                f"{limits.memory_mb} MB, rtol {tolerance.rtol:g}, atol {tolerance.atol:g}"),
        *_field("deadline", _deadline(rubric)),
        *_field("template", "imports " + (", ".join(rubric.template_imports) or "nothing")),
    ]
    return "\n".join(lines)


def _field(name: str, text: str, width: int = 92) -> list[str]:
    """`  name       text`, wrapped after commas where it can (so "2f 2" stays together)."""
    indent = " " * 13
    lines, line = [], f"  {name:<11}"
    for number, part in enumerate(text.split(", ")):
        piece = part if number == 0 else ", " + part
        if number and len(line) + len(piece) + 1 > width:  # + the comma that ends the line
            lines.append(line + ",")
            line, piece = indent, part
        line += piece
    lines.append(line)
    return [short for line in lines
            for short in textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False)]


def _count(number: int, thing: str, things: str | None = None) -> str:
    return f"{number} {thing if number == 1 else things or thing + 's'}"


def _mistake_rule(mistake) -> str:
    for attribute, rule in (("variant", "reference variant"), ("raises", "exception"), ("value", "value"),
                            ("when", "`when` rule")):
        if getattr(mistake, attribute, None) is not None:
            return rule
    return "other rule"


def _deadline(rubric: Rubric) -> str:
    if rubric.deadline is None:
        return "none (no late penalty)"
    late = rubric.late
    text = f"{rubric.deadline.isoformat()}, {late.per_day:.0%} of the points per day late"
    if late.zero_after_days is not None:
        text += f", 0 after {_n(late.zero_after_days)} days"
    if late.grace_minutes:
        text += f", {_n(late.grace_minutes)} minutes of grace"
    return text


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _points(number: float) -> str:
    return f"{number:g} point{'' if number == 1 else 's'}"


def _n(number: float) -> str:
    return f"{number:g}"
