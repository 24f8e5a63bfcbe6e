"""What the instructor hands out: the student's template and the self-check bundle.

`build_release` writes, for a rubric whose entry is `ex07.py`:
- `ex07.ipynb`: the questions as Markdown, each function as a stub with its signature and a
  docstring (shapes, conventions), each value as a placeholder, and a Markdown cell tagged
  `answer:<qid>` for each free-text answer;
- `ex07.py`: the same as a module;
- `ex07-check.json`: what `grade check` needs for the public checks and nothing more (see
  `bundle_for`): no reference source, no hidden check, no value answer in the clear, and no
  output of a graded case: its function cases are practice draws (cases.py), independent of
  the graded ones, so a table of its inputs and outputs answers nothing that is graded.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import nbformat
import numpy as np
from nbformat import v4

from .checks import TEXT_PLACEHOLDER
from .child import wire
from .gradebook import write_atomically
from .hashed import hash_number, new_salt
from .reference import FunctionPlan, Plan, Raised
from .rubric import FunctionCheck, Question, TextCheck, ValueCheck
from .selfcheck import BUNDLE_FORMAT


def release_name(plan: Plan) -> str:
    return Path(plan.rubric.entry).stem if plan.rubric.entry else "assignment"


def build_release(plan: Plan, out: Path) -> list[Path]:
    name = release_name(plan)
    paths = [out / f"{name}.ipynb", out / f"{name}.py", out / f"{name}-check.json"]
    write_atomically(paths[0], nbformat.writes(template_notebook(plan)))
    write_atomically(paths[1], template_module(plan))
    write_atomically(paths[2], json.dumps(bundle_for(plan), indent=1))
    return paths


# ---------------------------------------------------------------- the template


def _stub(plan: Plan, question: Question, check: FunctionCheck) -> str:
    arguments = ", ".join(plan.functions[question.id, check.id].arg_names)
    doc = textwrap.indent(check.docstring.strip() or check.description or check.name, "    ")
    return f'def {check.name}({arguments}):\n    """\n{doc}\n    """\n    raise NotImplementedError("{check.name}")\n'


def _placeholder(check: ValueCheck) -> str:
    what = check.description or f"your answer, a {check.type}"
    return f"{check.name} = None  # {what}\n"


def template_notebook(plan: Plan):
    name = release_name(plan)
    cells = [v4.new_markdown_cell(
        f"# {plan.rubric.title}\n\nFill in the code cells and the answer cells. Keep the names and "
        "signatures of functions and values; write each free-text answer in its marked cell. "
        f"Check your work before you hand it in:\n\n    grade check {name}.ipynb --bundle {name}-check.json"),
        v4.new_code_cell("import numpy as np")]
    for question in plan.rubric.questions:
        cells.append(v4.new_markdown_cell(f"## {question.id}. {question.title}\n\n{question.prompt}".rstrip()))
        for check in question.checks:
            tags = {"tags": [f"check:{question.id}/{check.id}"]}
            if isinstance(check, FunctionCheck):
                cells.append(v4.new_code_cell(_stub(plan, question, check), metadata=tags))
            elif isinstance(check, ValueCheck):
                cells.append(v4.new_code_cell(_placeholder(check), metadata=tags))
            elif isinstance(check, TextCheck):
                cells.append(v4.new_markdown_cell(TEXT_PLACEHOLDER, metadata={"tags": [question.answer_tag]}))
    return v4.new_notebook(cells=cells)


def template_module(plan: Plan) -> str:
    parts = [f'"""{plan.rubric.title}\n\nFill in every function, value and ANSWER_ string; keep the names.\n'
             f'Check your work: grade check {release_name(plan)}.py --bundle {release_name(plan)}-check.json\n"""\n\n'
             "import numpy as np\n"]
    for question in plan.rubric.questions:
        prompt = textwrap.fill(question.prompt, 88, initial_indent="# ", subsequent_indent="# ")
        parts.append(f"\n\n# {'-' * 70} {question.id}. {question.title}\n{prompt}\n")
        for check in question.checks:
            if isinstance(check, FunctionCheck):
                parts.append("\n\n" + _stub(plan, question, check))
            elif isinstance(check, ValueCheck):
                parts.append("\n" + _placeholder(check))
            elif isinstance(check, TextCheck):
                parts.append(f'\n{question.answer_name(check)} = """\n"""\n')
    return "".join(parts)


# ---------------------------------------------------------------- the self-check bundle


def bundle_for(plan: Plan) -> dict:
    """The public checks with what `grade check` needs, and nothing a student could hand in as
    a graded answer. A function check holds its practice cases (drawn apart from the graded
    ones) with their outputs and the known mistakes' outputs; a function check whose cases are
    all fixed numbers holds the graded cases but only the form of their outputs (type, shape).
    A value check holds a number only as a salted hash, a bool or a name not at all. Hidden
    checks keep only their points."""
    rubric = plan.rubric
    questions = []
    for question in rubric.questions:
        checks = []
        for check in question.checks:
            entry = {"id": check.id, "kind": check.kind, "points": check.points, "visibility": check.visibility}
            if check.visibility == "public" and isinstance(check, FunctionCheck):
                entry.update(_function_entry(check, plan.functions[question.id, check.id]))
            elif check.visibility == "public" and isinstance(check, ValueCheck):
                entry.update(_value_entry(check, plan.values[question.id, check.id], rubric.tolerance.rtol))
            elif isinstance(check, TextCheck):
                entry["answer"] = question.answer_name(check)
            checks.append(entry)
        questions.append({"id": question.id, "title": question.title, "checks": checks})
    return {"format": BUNDLE_FORMAT, "title": rubric.title, "entry": rubric.entry,
            "limits": rubric.limits.model_dump(), "tolerance": rubric.tolerance.model_dump(), "questions": questions}


def _function_entry(check: FunctionCheck, plan: FunctionPlan) -> dict:
    entry = {"name": check.name, "arg_names": plan.arg_names, "rtol": check.rtol, "atol": check.atol,
             "call_timeout": check.call_timeout}
    practice = plan.practice
    if practice is None:  # fixed numbers only: the outputs would be the graded answers
        raising = [{"id": m.id, "feedback": m.feedback, "credit": m.credit, "raises": m.raises, "message": m.message}
                   for m in check.mistakes if m.raises is not None]
        return {**entry, "cases": [wire.encode(args) for args in plan.cases],
                "forms": [_form(out) for out in plan.expected], "mistakes": raising}
    mistakes = []
    for mistake in check.mistakes:
        item = {"id": mistake.id, "feedback": mistake.feedback, "credit": mistake.credit}
        if mistake.raises is not None:
            item.update(raises=mistake.raises, message=mistake.message)
        else:
            item["outputs"] = [_output(out) for out in practice.variants[mistake.id]]
        mistakes.append(item)
    return {**entry, "cases": [wire.encode(args) for args in practice.cases],
            "expected": [_output(out) for out in practice.expected], "mistakes": mistakes}


def _output(value) -> dict:
    return {"raised": value.type} if isinstance(value, Raised) else wire.encode(value)


def _form(value) -> dict:
    """What an answer must look like, without its values: an array's shape, a number."""
    if isinstance(value, np.ndarray):
        return {"form": "array", "shape": list(value.shape), "finite": bool(np.isfinite(value).all())}
    if type(value) in (int, float):
        return {"form": "number"}
    return {"form": type(value).__name__}


def _value_entry(check: ValueCheck, expected, default_rtol: float) -> dict:
    entry = {"name": check.name, "type": check.type}
    if check.type in ("int", "float"):  # bools and short names would be guessed: format only
        rtol = check.rtol if check.rtol is not None else default_rtol
        salt = new_salt()  # one per check: an answer is hashed once per tolerance, not per value
        entry["expected"] = hash_number(expected, rtol, salt).as_dict()
        entry["mistakes"] = [
            {"id": m.id, "feedback": m.feedback, "credit": m.credit, "when": m.when,
             "value": hash_number(m.value, m.rtol if m.rtol is not None else rtol, salt).as_dict()
             if type(m.value) in (int, float) else None}
            for m in check.mistakes]
    return entry
