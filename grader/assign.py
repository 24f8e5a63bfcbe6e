"""What the instructor hands out: the student's template and the self-check bundle.

`build_release` writes, for a rubric whose entry is `ex07.py`:
- `ex07.ipynb`: the rubric's `template_imports`, the questions as Markdown, each function
  once (however many checks call it) as a stub with the reference's signature (defaults and
  markers such as `*`, no annotations) and a docstring (shapes, conventions), each value as a
  placeholder, and a Markdown cell tagged `answer:<qid>` for each free-text answer; its
  metadata names the Python 3 kernel;
- `ex07.py`: the same as a module;
- `grade-<version>-py3-none-any.whl`: this package, for students to install the checker
  with one command (wheel.py; nothing of the course is in it);
- `ex07-check.json`: what `grade check` needs for the public checks and nothing more (see
  `bundle_for`): no reference source, no hidden check, no value answer in the clear, and no
  output of a graded case: its function cases are practice draws (cases.py), independent of
  the graded ones, so a table of its inputs and outputs answers nothing that is graded.
"""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import nbformat
import numpy as np
from nbformat import v4

from .kinds.text import TEXT_PLACEHOLDER
from .cases import wire_form
from .checks import bundle_comparison, bundle_mistakes
from .child import wire
from .errors import GradeError
from .gradebook import write_atomically
from .hashed import hash_number, new_salt
from .kinds.function import FunctionPlan
from .kinds.object import bundle_entry as object_bundle_entry
from .reference import Plan, Raised, load_reference
from .rubric import FunctionCheck, ObjectCheck, Question, TextCheck, ValueCheck
from .selfcheck import BUNDLE_FORMAT
from .wheel import build_wheel


def release_name(plan: Plan) -> str:
    return Path(plan.rubric.entry).stem if plan.rubric.entry else "assignment"


def build_release(plan: Plan, out: Path) -> list[Path]:
    name = release_name(plan)
    paths = [out / f"{name}.ipynb", out / f"{name}.py", out / f"{name}-check.json"]
    reference = load_reference(plan.rubric)  # for the functions' signatures
    write_atomically(paths[0], nbformat.writes(template_notebook(plan, reference)))
    write_atomically(paths[1], template_module(plan, reference))
    write_atomically(paths[2], json.dumps(bundle_for(plan), indent=1))
    rubric = plan.rubric  # the checker for `pip install`: the package only, never the course's files
    paths.append(build_wheel(out, never=[rubric.path, rubric.reference_path, rubric.support_path]))
    return paths


# ---------------------------------------------------------------- the template

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
LANGUAGE_INFO = {"name": "python", "file_extension": ".py", "mimetype": "text/x-python",
                 "codemirror_mode": {"name": "ipython", "version": 3}, "pygments_lexer": "ipython3",
                 "nbconvert_exporter": "python"}


@dataclass
class Piece:
    """One thing the student fills in: a stub or placeholder (`code`), a free-text answer
    (`answer`), or a `note` that a name defined in an earlier question is checked here too."""

    kind: str
    source: str
    tags: list[str] = field(default_factory=list)
    name: str = ""


def template_pieces(plan: Plan, reference: ModuleType | None = None) -> list[tuple[Question, list[Piece]]]:
    """Per question, in sheet order, what the student fills in. One stub per function and one
    placeholder per value, however many checks use it: the first check's question holds it,
    and every check's tag is on its cell. An answer per free-text check."""
    reference = reference if reference is not None else load_reference(plan.rubric)
    uses: dict[str, list] = {}  # function or class name -> the checks that use it, in sheet order
    for _, check in plan.rubric.checks():
        if isinstance(check, (FunctionCheck, ObjectCheck)):
            uses.setdefault(check.name, []).append(check)
    written: dict[str, tuple[str, Piece]] = {}  # name -> (question id, its piece)
    template = []
    for question in plan.rubric.questions:
        pieces: list[Piece] = []
        for check in question.checks:
            tag = f"check:{question.id}/{check.id}"
            if isinstance(check, TextCheck):  # the module has one per name, the notebook one per question
                pieces.append(Piece("answer", TEXT_PLACEHOLDER, [question.answer_tag], question.answer_name(check)))
                continue
            if getattr(check, "name", None) in written:
                first, piece = written[check.name]
                piece.tags.append(tag)
                if first != question.id and not any(p.kind == "note" and p.name == check.name for p in pieces):
                    pieces.append(Piece("note", f"`{check.name}` (in {first} above) is checked here too.",
                                        name=check.name))
                continue
            if isinstance(check, FunctionCheck):
                function = getattr(reference, check.reference_name)
                source = _stub(check.name, uses[check.name], function, f"{plan.rubric.path}: question "
                               f"{question.id}, check {check.id}")
            elif isinstance(check, ObjectCheck):
                source = class_stub(check.name, uses[check.name], getattr(reference, check.reference_name),
                                    f"{plan.rubric.path}: question {question.id}, check {check.id}")
            elif isinstance(check, ValueCheck):
                source = _placeholder(check)
            else:
                raise GradeError(f"{plan.rubric.path}: question {question.id}, check {check.id}: `grade assign` "
                                 f"cannot write a template for checks of kind {check.kind} yet")
            written[check.name] = question.id, Piece("code", source, [tag], check.name)
            pieces.append(written[check.name][1])
        template.append((question, pieces))
    return template


def _stub(name: str, checks: list, function, where: str) -> str:
    described = [c.docstring.strip() for c in checks if c.docstring.strip()] or \
        [c.description for c in checks if c.description] or [name]
    doc = textwrap.indent(described[0], "    ")
    return (f'def {name}{signature_of(function, where)}:\n    """\n{doc}\n    """\n'
            f'    raise NotImplementedError("{name}")\n')


def class_stub(name: str, checks: list, cls: type, where: str) -> str:
    """A class with every member the checks use: `__init__` and each method called, with the
    reference's signatures (a property read with `attr:` as a property; an attribute the
    constructor sets is named in the docstring)."""
    described = [c.docstring.strip() for c in checks if c.docstring.strip()] or \
        [c.description for c in checks if c.description] or [name]
    members: list[str] = []  # in the order the cases first use them
    for check in checks:
        for case in [*check.cases, *check.practice]:
            for step in case.steps:
                member = "__init__" if step.new is not None else step.call or step.attr
                if member not in members:
                    members.append(member)
    attributes = []
    parts = []
    for member in members:
        found = inspect.getattr_static(cls, member, None)
        if member == "__init__" and (found is None or found is object.__init__):
            parts.append(f'    def __init__(self):\n        raise NotImplementedError("{name}")\n')
        elif isinstance(found, property):
            parts.append(f'    @property\n    def {member}(self):\n        raise NotImplementedError("{name}.{member}")\n')
        elif isinstance(found, (staticmethod, classmethod)) or inspect.isfunction(found):
            decorator = f"    @{type(found).__name__}\n" if isinstance(found, (staticmethod, classmethod)) else ""
            function = found.__func__ if decorator else found
            what = name if member == "__init__" else f"{name}.{member}"
            parts.append(f'{decorator}    def {member}{signature_of(function, where)}:\n'
                         f'        raise NotImplementedError("{what}")\n')
        else:
            attributes.append(member)
    doc = described[0] + (f"\n\nAttributes read by the checks: {', '.join(attributes)}." if attributes else "")
    return f'class {name}:\n    """\n{textwrap.indent(doc, "    ")}\n    """\n\n' + "\n".join(parts)


class _Code(str):
    """A default value shown as the code that makes it (inspect shows defaults by repr)."""

    def __repr__(self) -> str:
        return str(self)


def signature_of(function, where: str = "") -> str:
    """The reference function's signature as a template writes it: its parameters, defaults and
    markers (`/`, `*`, `*args`, `**kwargs`), without annotations (they may name what the
    template does not import). A default whose repr is not Python is written as in the source."""
    signature = inspect.signature(function)
    sources: dict[str, str] | None = None
    parameters = []
    for parameter in signature.parameters.values():
        parameter = parameter.replace(annotation=inspect.Parameter.empty)
        if parameter.default is not inspect.Parameter.empty:
            text = repr(parameter.default)
            if not _is_literal(text, parameter.default):
                sources = _default_sources(function) if sources is None else sources
                if parameter.name not in sources:
                    raise GradeError(f"{where}: the default of `{parameter.name}` in the reference's "
                                     f"{function.__name__} ({text}) cannot be written in the template; give it a "
                                     "literal default (a number, a string, None, ...)")
                text = sources[parameter.name]
            parameter = parameter.replace(default=_Code(text))
        parameters.append(parameter)
    return str(signature.replace(parameters=parameters, return_annotation=inspect.Signature.empty))


def _is_literal(text: str, value) -> bool:
    try:
        again = ast.literal_eval(text)
        return type(again) is type(value) and bool(again == value)
    except Exception:  # not a literal, or a value whose == is not a bool (an array)
        return False


def _default_sources(function) -> dict[str, str]:
    """Each parameter's default as written in the function's source."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function.__name__:
            arguments = node.args
            positional = arguments.posonlyargs + arguments.args
            found = {a.arg: ast.unparse(d) for a, d in zip(positional[len(positional) - len(arguments.defaults):],
                                                           arguments.defaults)}
            found.update({a.arg: ast.unparse(d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults)
                          if d is not None})
            return found
    return {}


def _placeholder(check: ValueCheck) -> str:
    what = check.description or f"your answer, {'an' if check.type[0] in 'aeiou' else 'a'} {check.type}"
    return f"{check.name} = None  # {what}\n"


def import_lines(plan: Plan) -> str:
    """The rubric's `template_imports` as import statements."""
    return "".join(f"{line}\n" if line.startswith(("import ", "from ")) else f"import {line}\n"
                   for line in plan.rubric.template_imports)


WORK_PLACEHOLDER = "*Your calculation (how you got the answer below; it is not graded automatically):*"


def template_notebook(plan: Plan, reference: ModuleType | None = None):
    name = release_name(plan)
    cells = [v4.new_markdown_cell(
        f"# {plan.rubric.title}\n\nFill in the code cells and the answer cells. Keep the names and "
        "signatures of functions and values; write each free-text answer in its marked cell. "
        f"Check your work before you hand it in:\n\n    grade check {name}.ipynb --bundle {name}-check.json")]
    if plan.rubric.template_imports:
        cells.append(v4.new_code_cell(import_lines(plan).rstrip("\n")))
    answered: set[str] = set()  # a notebook's answers are read by the question's tag: one cell each
    for question, pieces in template_pieces(plan, reference):
        cells.append(v4.new_markdown_cell(f"## {question.id}. {question.title}\n\n{question.prompt}".rstrip()))
        if question.show_work:
            cells.append(v4.new_markdown_cell(WORK_PLACEHOLDER, metadata={"tags": [f"work:{question.id}"]}))
        for piece in pieces:
            if piece.kind == "code":
                cells.append(v4.new_code_cell(piece.source, metadata={"tags": piece.tags}))
            elif piece.kind == "answer" and question.answer_tag not in answered:
                answered.add(question.answer_tag)
                cells.append(v4.new_markdown_cell(piece.source, metadata={"tags": piece.tags}))
            elif piece.kind == "note":
                cells.append(v4.new_markdown_cell(piece.source))
    return v4.new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)})


def template_module(plan: Plan, reference: ModuleType | None = None) -> str:
    parts = [f'"""{plan.rubric.title}\n\nFill in every function, value and ANSWER_ string; keep the names.\n'
             f'Check your work: grade check {release_name(plan)}.py --bundle {release_name(plan)}-check.json\n"""\n\n'
             + import_lines(plan)]
    answered: set[str] = set()
    for question, pieces in template_pieces(plan, reference):
        prompt = textwrap.fill(question.prompt, 88, initial_indent="# ", subsequent_indent="# ")
        parts.append(f"\n\n# {'-' * 70} {question.id}. {question.title}\n{prompt}\n")
        if question.show_work:
            parts.append(f"\n# {WORK_PLACEHOLDER.replace('*', '')}\n#\n")
        for piece in pieces:
            if piece.kind == "code":
                parts.append(("\n\n" if piece.source.startswith("def ") else "\n") + piece.source)
            elif piece.kind == "answer" and piece.name not in answered:
                answered.add(piece.name)
                parts.append(f'\n{piece.name} = """\n"""\n')
            elif piece.kind == "note":
                parts.append(f"\n# {piece.source.replace('`', '')}\n")
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
            elif check.visibility == "public" and isinstance(check, ObjectCheck):
                entry.update(object_bundle_entry(check, plan.objects[question.id, check.id]))
            elif check.visibility == "public" and isinstance(check, ValueCheck):
                entry.update(_value_entry(check, plan.values[question.id, check.id], rubric.tolerance.rtol))
            elif isinstance(check, TextCheck):
                entry["answer"] = question.answer_name(check)
            checks.append(entry)
        questions.append({"id": question.id, "title": question.title, "checks": checks})
    bundle = {"format": BUNDLE_FORMAT, "title": rubric.title, "entry": rubric.entry,
              "limits": rubric.limits.model_dump(), "tolerance": rubric.tolerance.model_dump(), "questions": questions}
    if rubric.support_path is not None:  # the fixtures' builder: the self-check makes them as grading does
        bundle["support"] = rubric.support_path.read_text(encoding="utf-8")
    return bundle


def _function_entry(check: FunctionCheck, plan: FunctionPlan) -> dict:
    entry = {"name": check.name, "arg_names": plan.arg_names, "rtol": check.rtol, "atol": check.atol,
             "call_timeout": check.call_timeout, **bundle_comparison(check)}
    practice = plan.practice
    if practice is None:  # fixed numbers only: the outputs would be the graded answers
        return {**entry, "cases": [wire_form(args) for args in plan.cases],
                "forms": [_form(out) for out in plan.expected], "mistakes": bundle_mistakes(check)}
    mistakes = bundle_mistakes(check, "outputs", lambda mistake: [_output(out) for out in practice.variants[mistake]])
    return {**entry, "cases": [wire_form(args) for args in practice.cases],
            "expected": [_output(out) for out in practice.expected], "mistakes": mistakes}


def _output(value) -> dict:
    return {"raised": value.type} if isinstance(value, Raised) else wire.encode(value)


def _form(value) -> dict:
    """What an answer must look like, without its values: an array's shape, a number; for a
    case that must raise, the exception (the case says it anyway)."""
    if isinstance(value, Raised):
        return {"raised": value.type}
    if isinstance(value, np.ndarray):
        numeric = value.dtype.kind in "biufc"
        return {"form": "array", "shape": list(value.shape), "finite": bool(numeric and np.isfinite(value).all())}
    if type(value) in (int, float):
        return {"form": "number"}
    return {"form": type(value).__name__}


def _value_entry(check: ValueCheck, expected, default_rtol: float) -> dict:
    entry = {"name": check.name, "type": check.type, **bundle_comparison(check)}
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
