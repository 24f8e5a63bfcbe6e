"""`grade check`: the public checks, on a student's own machine, with honest feedback.

The bundle (see `assign.bundle_for`) is rebuilt into the same plan objects the instructor's
run uses, so a function check reports the same mistake with the same words, on practice
cases drawn like the graded ones but not the same (the bundle holds no graded answer). What
cannot be decided here is said so: hidden checks and free text are "graded later"; bools,
short names and functions whose cases are fixed numbers are checked for their form only.
It never says "all passed" while points remain open.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cases import describe_call, from_wire_form
from .checks import CheckResult, as_array, compare, result
from .child import wire
from .compare import python_scalar
from .errors import GradeError
from .hashed import HashedNumber
from .compare import kind as _kind
from .kinds.text import _text_answer, filled
from .kinds.function import FunctionPlan, _case_problem, _matching_mistake, _mutated_names, judge_function
from .kinds.value import _type_problem
from .reference import Raised, support_module
from .rubric import FunctionCheck, FunctionMistake, Limits, Question, Tolerance, ValueCheck
from .runner import Reply, Request, Runner
from .sandbox import Plain
from .submissions import read_submission

# 2: practice cases, forms of fixed-number checks, one salt per value check; 3: values in the
# typed wire format of every kind (dicts, sets, DataFrames ...), comparison rules, classes
BUNDLE_FORMAT = 3


LATER = ("graded later", "format only")  # verdicts whose points are decided when graded


@dataclass
class Line:
    """One check as the student sees it: the points it earns here of those it is worth
    (`earned` None when they are decided when graded)."""

    question: str
    check: str
    verdict: str  # passed | known mistake | failed | missing | error | timeout | format only | graded later
    points: float
    message: str
    earned: float | None = None
    where: str = "here"  # here | text | hidden | form: where its points are decided, fixed by the bundle

    def __post_init__(self) -> None:
        if self.earned is None and self.verdict not in LATER:
            self.earned = self.points if self.verdict == "passed" else 0.0

    @property
    def outcome(self) -> str:
        """The outcome class shared with the final grade: passed | mistake | failed | missing
        (or `later`, when it is not decided here)."""
        if self.verdict in LATER:
            return "later"
        return {"known mistake": "mistake", "error": "failed", "timeout": "failed"}.get(self.verdict, self.verdict)


class Bundle:
    def __init__(self, data: dict, path: Path) -> None:
        self.path = path
        try:
            if data.get("format") != BUNDLE_FORMAT:
                raise ValueError(f"format {data.get('format')!r}, not {BUNDLE_FORMAT}")
            self.title = str(data["title"])
            self.entry = data.get("entry")
            self.limits = Limits(**data["limits"])
            self.tolerance = Tolerance(**data["tolerance"])
            self.questions = data["questions"]
            # the source of the rubric's support module (its fixtures), or None
            self.support = data.get("support")
            if self.support is not None and type(self.support) is not str:
                raise ValueError("`support` is not Python source")
        except (KeyError, TypeError, ValueError) as exc:
            raise GradeError(f"{path}: not a self-check bundle of this version of grade ({exc}); "
                             "ask for the current one") from None


BUNDLE_BYTES = 32 * 1024 * 1024  # a candidate larger than this is not read when looking for a bundle


def load_bundle(path: Path) -> Bundle:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GradeError(f"{path}: no such bundle; pass the -check.json file that came with the exercise "
                         "with --bundle") from None
    except (OSError, ValueError) as exc:
        raise GradeError(f"{path}: {_what_it_is(path, None)}, not a self-check bundle ({exc}); "
                         f"{_what_to_pass(path)}") from None
    if not _looks_like_bundle(data):
        raise GradeError(f"{path}: {_what_it_is(path, data)}, not a self-check bundle; {_what_to_pass(path)}")
    return Bundle(data, path)


def _looks_like_bundle(data) -> bool:
    return isinstance(data, dict) and "questions" in data and "title" in data and "format" in data


def _what_it_is(path: Path, data) -> str:
    if isinstance(data, dict) and ("cells" in data or "nbformat" in data):
        return "this is a Jupyter notebook (your work)"
    if data is not None:
        return "this JSON file is something else"
    suffix = path.suffix.lower()
    return {".py": "this is Python source", ".ipynb": "this is a notebook that cannot be read",
            ".yaml": "this is a YAML file (a rubric?)", ".yml": "this is a YAML file (a rubric?)"}.get(
        suffix, "this is not a JSON file")


def _what_to_pass(path: Path) -> str:
    found = [b for b in _bundles_in([path.parent, Path.cwd()]) if b[0].resolve() != path.resolve()]
    if found:
        names = ", ".join(f"--bundle '{p.name}' ({data.get('title')})" if p.parent == path.parent
                          else f"--bundle '{p}' ({data.get('title')})" for p, data in found[:3])
        return f"found beside it: pass {names}"
    return "pass the -check.json file that came with the exercise with --bundle FILE"


def _bundles_in(folders) -> list[tuple[Path, dict]]:
    """Every self-check bundle among the small JSON files of `folders` (read as data, never run)."""
    found, seen = [], set()
    for folder in folders:
        try:
            candidates = sorted(folder.glob("*.json"))
        except OSError:
            continue
        for candidate in candidates:
            try:
                key = candidate.resolve()
                if key in seen or not candidate.is_file() or candidate.stat().st_size > BUNDLE_BYTES:
                    continue
                seen.add(key)
                data = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if _looks_like_bundle(data) and isinstance(data.get("questions"), list):
                found.append((candidate, data))
    return found


def _sheet_stem(data: dict) -> str:
    return Path(str(data.get("entry") or "")).stem.lower()


def find_bundle(submission: Path | None, folders=None, names: frozenset[str] = frozenset()) -> tuple[Path, str]:
    """The bundle of this sheet beside the submission (or in `folders`), and a note when a
    choice was made. Every JSON file there is a candidate (`ex07-check (1).json` as a browser
    names a second download too); a bundle belongs to the submission when its entry names it
    (`ex07.py` for `ex07.ipynb`, `ex07_maria.ipynb` or a folder holding `ex07.py`), else when it
    is the only sheet there, else by the names it checks that `names` defines. Copies of one
    sheet: the newest."""
    if folders is None:
        folder = submission if submission is not None and submission.is_dir() else \
            submission.parent if submission is not None else Path.cwd()
        folders = [folder, Path.cwd()]
    found = _bundles_in(folders)
    if not found:
        where = f"beside {submission}" if submission is not None else f"in {Path.cwd()}"
        raise GradeError(f"no self-check bundle found {where}; pass it with --bundle FILE (the -check.json "
                         "file that came with the exercise)")
    sheets: dict[tuple[str, str], list[tuple[Path, dict]]] = {}
    for path, data in found:
        sheets.setdefault((str(data.get("title")), _sheet_stem(data)), []).append((path, data))
    chosen = list(sheets)
    if len(chosen) > 1 and submission is not None:
        stem = submission.stem.lower()
        inside = {p.stem.lower() for p in submission.iterdir()} if submission.is_dir() else set()
        chosen = [k for k in sheets if k[1] and (k[1] == stem or k[1] in inside)] or \
                 [k for k in sheets if k[1] and stem.startswith(k[1])] or chosen
    if len(chosen) > 1 and names:
        score = {k: sum(c.get("name") in names for q in sheets[k][0][1]["questions"] for c in q.get("checks", [])
                        if isinstance(c, dict)) for k in chosen}
        best = max(score.values())
        chosen = [k for k in chosen if score[k] == best] if best else chosen
    if len(chosen) > 1:
        listed = "; ".join(f"{title} ({', '.join(p.name for p, _ in sheets[(title, stem)])})"
                           for title, stem in chosen)
        raise GradeError(f"several self-check bundles found: {listed}; pass the one for this sheet with --bundle FILE")
    copies = sheets[chosen[0]]
    path = max(copies, key=lambda item: (item[0].stat().st_mtime, item[0].name))[0]
    note = f"(using {path.name}, the newest of {len(copies)} copies of this bundle)" if len(copies) > 1 else ""
    return path, note


def default_bundle(submission: Path) -> Path:
    """The bundle of this sheet beside the submission or in the current folder (see `find_bundle`)."""
    return find_bundle(submission)[0]


def check_submission(bundle: Bundle, path: Path) -> list[Line]:
    submission = read_submission(path, entry_module=bundle.entry)
    if submission.status != "ok":
        raise GradeError(f"{path}: {submission.problem}")
    support = support_module(bundle.support) if bundle.support is not None else None
    plans, requests = _plans_and_requests(bundle, submission, support)
    with Runner(bundle.limits, confinement=Plain("a self-check runs your own code"), support=bundle.support) as runner:
        report = runner.run(submission, requests)
    return judge_lines(bundle, plans, submission, report)


def judge_lines(bundle: Bundle, plans, submission, report) -> list[Line]:
    """Each planned check's line from the replies in `report` (the CLI's, from a child
    process; `grader.check`'s, from the notebook's own namespace)."""
    return [_judge(bundle, question, check, plan, submission, report) for question, check, plan in plans]


def _plans_and_requests(bundle: Bundle, submission, support=None):
    plans = plans_of(bundle, support)
    return plans, requests_of(plans, submission)


def plans_of(bundle: Bundle, support=None, questions=None) -> list[tuple[dict, dict, FunctionPlan | None]]:
    """(question, check, plan) of every check of the bundle (or of the `questions` named);
    GradeError, in one line, for a bundle whose checks this version cannot read."""
    try:
        return _plans_of(bundle, support, questions)
    except (wire.WireError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise GradeError(f"{bundle.path}: this self-check bundle cannot be read by this version of grade "
                         f"({type(exc).__name__}: {str(exc)[:200]}); ask for the current one") from None


def _plans_of(bundle: Bundle, support=None, questions=None) -> list[tuple[dict, dict, FunctionPlan | None]]:
    plans = []
    for q in bundle.questions:
        if questions is not None and q["id"] not in questions:
            continue
        for c in q["checks"]:
            if c["visibility"] != "hidden" and c["kind"] == "function":
                plan = _function_plan(q, c)
                plan.support = support
                plans.append((q, c, plan))
            else:
                plans.append((q, c, None))
    return plans


def requests_of(plans, submission) -> list[Request]:
    """What to ask the student's code for the planned checks."""
    requests = []
    for q, c, plan in plans:
        key = f"{q['id']}/{c['id']}"
        if c["visibility"] == "hidden":
            continue
        if c["kind"] == "function":
            requests += [Request.call(f"{key}/{i}", c["name"], args, c.get("call_timeout"))
                         for i, args in enumerate(plan.cases)]
        elif c["kind"] in ("value", "object"):
            requests.append(Request(key, "get", c["name"]))
        elif not filled(submission.answers.get(q["id"])):  # the string, unless the cell is filled in
            requests.append(Request(key, "get", c["answer"]))
    return requests


def place_of(c: dict) -> str:
    """Where a check's points are decided, from the bundle alone (so the total checked here
    is the same whatever the student has done): here | text | hidden | form."""
    if c["visibility"] == "hidden":
        return "hidden"
    if c["kind"] == "text":
        return "text"
    if c["kind"] == "object" or (c["kind"] == "function" and ("forms" in c or c.get("compare") == "judge")) or \
            (c["kind"] == "value" and c.get("type") not in ("int", "float")):
        return "form"
    return "here"


def _function_plan(q: dict, c: dict) -> FunctionPlan:
    """The check's plan; for a check of fixed numbers (`forms`), `expected` holds the forms."""
    mistakes = [FunctionMistake(id=m["id"], feedback=m["feedback"], credit=m["credit"],
                                variant=None if "raises" in m else m["id"],
                                raises=m.get("raises"), message=m.get("message", "")) for m in c["mistakes"]]
    # the check's comparison rule, if the bundle names it; a judge is the reference's and stays
    # with the grader (such a check is self-checked for its form only, see `_judged_later`)
    compare = c.get("compare", "auto") if c.get("compare", "auto") in ("auto", "exact", "unordered", "normalized") \
        else "auto"
    check = FunctionCheck(kind="function", id=c["id"], name=c["name"], points=c["points"], rtol=c["rtol"],
                          atol=c["atol"], call_timeout=c["call_timeout"], mistakes=mistakes,
                          cases=[{name: 0 for name in c["arg_names"]}], compare=compare,
                          ordered=bool(c.get("ordered", False)), loose_types=bool(c.get("loose_types", False)))
    cases = [from_wire_form(case) for case in c["cases"]]
    if "forms" in c:  # a case that raises is told by the exception it expects
        return FunctionPlan(check, c["arg_names"], cases, [_output(f) if "raised" in f else f for f in c["forms"]])
    variants = {m["id"]: [_output(o) for o in m["outputs"]] for m in c["mistakes"] if "outputs" in m}
    return FunctionPlan(check, c["arg_names"], cases, [_output(o) for o in c["expected"]], variants)


def _output(data: dict):
    return Raised(data["raised"]) if "raised" in data else wire.decode(data)


def _judge(bundle: Bundle, q: dict, c: dict, plan, submission, report) -> Line:
    line = _judged(bundle, q, c, plan, submission, report)
    line.where = place_of(c)
    return line


class _TextQuestion:
    """What `kinds.text` asks of a question, from the bundle."""

    def __init__(self, q: dict, c: dict) -> None:
        self.id, self.answer = q["id"], c["answer"]

    @property
    def answer_tag(self) -> str:
        return f"answer:{self.id}"

    def answer_name(self, check=None) -> str:
        return self.answer


def _text_line(q: dict, c: dict, submission, reply: Reply | None) -> Line:
    """A free-text answer read as the final grade reads it (kinds/text.py): the tagged cell
    when filled in, else the string; the placeholder or nothing is missing on both sides."""
    question = _TextQuestion(q, c)
    answer, source = _text_answer(question, None, submission, reply)
    read = f" Read from {source}, since {source.why}." if getattr(source, "why", "") else ""
    if answer is None:
        return Line(q["id"], c["id"], "missing", c["points"],
                    f"No answer found: write it in a markdown cell tagged `{question.answer_tag}` "
                    f"or a string `{question.answer}`.")
    if type(answer) is np.str_:
        answer = str(answer)
    if type(answer) is not str:
        return Line(q["id"], c["id"], "failed", c["points"], f"{source} should be a string, not {_kind(answer)}.{read}")
    if not filled(answer):
        return Line(q["id"], c["id"], "missing", c["points"], f"{source} is not answered yet.")
    return Line(q["id"], c["id"], "graded later", c["points"], "free text, read by a person." + read)


def _judged(bundle: Bundle, q: dict, c: dict, plan, submission, report) -> Line:
    key = f"{q['id']}/{c['id']}"
    if c["visibility"] == "hidden":
        return Line(q["id"], c["id"], "graded later", c["points"], "a hidden check, run when your work is graded")
    if c["kind"] == "text":
        return _text_line(q, c, submission, report.replies.get(key))
    if c["kind"] == "object":  # its steps' answers would be graded answers: only whether it is there
        reply = report.replies.get(key)
        if reply is None or reply.status == "missing":
            return Line(q["id"], c["id"], "missing", c["points"], f"`{c['name']}` is not defined; define a class "
                        f"named {c['name']}")
        return Line(q["id"], c["id"], "graded later", c["points"], f"`{c['name']}` is there; what its objects do "
                    "is checked when your work is graded")
    question = Question(id=q["id"], title=q["title"], checks=[plan.check if plan else _stand_in(c)])
    if c["kind"] == "function":
        replies = [report.replies.get(f"{key}/{i}", Reply("missing")) for i in range(len(plan.cases))]
        if c.get("compare") == "judge":
            return _judged_later(question, plan, replies, bundle.tolerance)
        if "forms" in c:
            return _form_line(question, plan, replies, bundle.tolerance)
        return _line(judge_function(question, plan, replies, bundle.tolerance))
    return _value_line(question, c, report.replies.get(key))


def _form_line(question: Question, plan: FunctionPlan, replies: list[Reply], tolerance: Tolerance) -> Line:
    """A function whose cases are fixed numbers: the bundle holds the form of each answer
    (an array's shape, a number), not its values, which would be the graded answers."""
    check = plan.check
    if any(r.status in ("missing", "not_callable") for r in replies) or all(
            r.status == "error" and (r.error or {}).get("type") == "NotImplementedError" for r in replies):
        return _line(judge_function(question, plan, replies, tolerance))  # decided before any value is compared
    problems = []
    for number, (args, form, reply) in enumerate(zip(plan.cases, plan.expected, replies), start=1):
        if isinstance(form, Raised):  # the exception asked for is no secret: the case says it
            problem = _case_problem(plan, args, form, reply, 0.0, 0.0)
        elif reply.status != "ok":
            problem = _case_problem(plan, args, None, reply, 0.0, 0.0)
        else:
            problem = _form_problem(form, reply.value)
            if problem is None and reply.mutated:
                problem = f"modified its argument {_mutated_names(plan, args, reply)} in place (work on a copy)"
        if problem:
            problems.append((number, args, reply, problem))
    name = f"`{check.name}`"
    if not problems:
        return Line(question.id, check.id, "format only", check.points,
                    f"{name} answers all {len(plan.cases)} cases in the right form; its cases are fixed numbers, "
                    "so whether the values are right is graded later")
    mistake = _matching_mistake(plan, replies, 0.0, 0.0)  # only mistakes named by their exception
    if mistake is not None:
        return _line(result(question, check, "mistake", mistake.feedback, mistake.credit, mistake.id))
    number, args, reply, problem = problems[0]
    where = f"case {number} of {len(plan.cases)} ({describe_call(args, plan.arg_names, plan.support)})"
    outcome = {"timeout": "timeout", "crashed": "error", "error": "error"}.get(reply.status, "failed")
    return _line(result(question, check, outcome, f"{name} {problem} in {where}."))


def _judged_later(question: Question, plan: FunctionPlan, replies: list[Reply], tolerance: Tolerance) -> Line:
    """A check whose answers a judge of the reference decides (`compare: judge`): here only
    whether the function answers every case with a value that can be graded."""
    check = plan.check
    if any(r.status in ("missing", "not_callable") for r in replies) or all(
            r.status == "error" and (r.error or {}).get("type") == "NotImplementedError" for r in replies):
        return _line(judge_function(question, plan, replies, tolerance))
    for number, (args, reply) in enumerate(zip(plan.cases, replies), start=1):
        expected = plan.expected[number - 1] if isinstance(plan.expected[number - 1], Raised) else None
        problem = _case_problem(plan, args, expected, reply, 0.0, 0.0) \
            if reply.status != "ok" or expected is not None else None
        if problem is None and reply.mutated:
            problem = f"modified its argument {_mutated_names(plan, args, reply)} in place (work on a copy)"
        if problem:
            where = f"case {number} of {len(plan.cases)} ({describe_call(args, plan.arg_names, plan.support)})"
            outcome = {"timeout": "timeout", "crashed": "error", "error": "error"}.get(reply.status, "failed")
            return _line(result(question, check, outcome, f"`{check.name}` {problem} in {where}."))
    return Line(question.id, check.id, "format only", check.points,
                f"`{check.name}` answers all {len(plan.cases)} cases; whether the answers are right is decided "
                "when your work is graded")


_NUMBER_FORMS = {"int", "float"} | {np.dtype(code).name for code in "bBhHiIlLqQefdg"}


def _form_problem(form: dict, value) -> str | None:
    if form.get("form") == "array":
        value = as_array(value, tuple(form["shape"]))
        if isinstance(value, str):
            return value
        if form.get("finite") and not np.isfinite(value.astype(np.float64)).all():
            return "returned NaN or infinite values"
        return None
    if form.get("form") == "number" or form.get("form") in _NUMBER_FORMS:  # numpy scalars count as numbers
        if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biuf":
            value = float(value.reshape(()))
        value = python_scalar(value)
        if type(value) not in (int, float):
            return f"returned {_kind(value)}, expected a number"
        return None if type(value) is int or math.isfinite(value) else "returned NaN or an infinite value"
    if type(python_scalar(value)).__name__ == form.get("form"):
        return None
    return f"returned {_kind(value)}, expected a {form.get('form')}"


def _stand_in(c: dict) -> ValueCheck:
    return ValueCheck(kind="value", id=c["id"], name=c["name"], type=c["type"], points=c["points"],
                      loose_types=bool(c.get("loose_types", False)))


def _value_line(question: Question, c: dict, reply: Reply | None) -> Line:
    check = question.checks[0]
    name = f"`{c['name']}`"
    if reply is None or reply.status == "missing" or (reply.status == "ok" and reply.value is None):
        return _line(result(question, check, "missing", f"{name} is not answered yet."))
    if reply.status != "ok":
        return _line(result(question, check, "error", f"{name} could not be read: {reply.detail}."))
    value = python_scalar(reply.value)  # numpy scalars count as their Python kind
    if c["type"] not in ("int", "float", "bool", "str"):  # a list, dict, array, DataFrame ...: its type only
        problem = _type_problem(check, value)
        if problem:
            return _line(result(question, check, "failed", f"{name} {problem}."))
        return Line(question.id, c["id"], "format only", c["points"],
                    f"a {c['type']} value, as asked; whether it is right is graded later" if c["type"] != "any"
                    else "a value that can be graded; whether it is right is graded later")
    if c["type"] == "bool":
        ok = type(value) is bool
        return Line(question.id, c["id"], "format only" if ok else "failed", c["points"],
                    "a bool, as asked; whether it is right is graded later" if ok else f"{name} should be True or False")
    if c["type"] == "str":
        ok = type(value) is str and 0 < len(value.split()) <= 8
        return Line(question.id, c["id"], "format only" if ok else "failed", c["points"],
                    "a short name, as asked; whether it is right is graded later" if ok
                    else f"{name} should be a short name (a string of a few words)")
    if type(value) not in (int, float) or (isinstance(value, float) and not math.isfinite(value)):
        return _line(result(question, check, "failed", f"{name} should be a number."))
    if compare(HashedNumber.from_dict(c["expected"]), value, 0, 0) is None:
        return _line(result(question, check, "passed", f"{name} is correct (within the self-check's tolerance).", 1.0))
    for m in c["mistakes"]:
        hit = (m["when"] == "not_integer" and isinstance(value, float) and not value.is_integer()) or \
              (m["value"] is not None and HashedNumber.from_dict(m["value"]).matches(value))
        if hit:
            return _line(result(question, check, "mistake", m["feedback"], m["credit"], m["id"]))
    return _line(result(question, check, "failed", f"{name} is not the right number."))


def _line(check: CheckResult) -> Line:
    verdict = "known mistake" if check.outcome == "mistake" else check.outcome
    return Line(check.question, check.check, verdict, check.max_points, check.feedback, earned=check.points)


def _widths(bundle: Bundle) -> tuple[int, int]:
    """The columns of a line, from the bundle alone: a question's lines in the notebook are
    the same as in `grade check`."""
    checks = [(q["id"], c) for q in bundle.questions for c in q["checks"]]
    names = max((len(f"{qid} {c['id']}") for qid, c in checks), default=0)
    points = max((len(f"{c['points']:g}") for _, c in checks), default=1)
    return names, max(2 * points + 1, 5)


def _score(line: Line) -> str:
    earned = "?" if line.earned is None else f"{round(line.earned, 2):g}"
    return f"{earned}/{line.points:g}"


def render_line(bundle: Bundle, line: Line) -> str:
    names, points = _widths(bundle)
    return (f"  {f'{line.question} {line.check}'.ljust(names)}  {line.verdict:<13} "
            f"{_score(line).rjust(points)}  {line.message}").rstrip()


def summary(lines: list[Line]) -> str:
    """Checked here: X of Y points; graded later: Z (free text W, hidden V): Y and Z depend on
    the bundle only, never on how far the student has got."""
    here = [line for line in lines if line.where == "here"]
    earned = sum(line.earned or 0.0 for line in here)
    later = {where: sum(line.points for line in lines if line.where == where) for where in ("text", "hidden", "form")}
    parts = [f"free text {later['text']:g}", f"hidden {later['hidden']:g}"]
    if later["form"]:
        parts.append(f"checked here for their form only {later['form']:g}")
    text = (f"Checked here: {round(earned, 2):g} of {sum(line.points for line in here):g} points; "
            f"graded later: {sum(later.values()):g} ({', '.join(parts)}).")
    if sum(later.values()):
        text += (f"\nStill to be decided when your work is graded: {sum(later.values()):g} points. "
                 "Passing here does not mean full marks.")
    return text


def render(bundle: Bundle, lines: list[Line]) -> str:
    out = [f"Self-check: {bundle.title}", ""]
    out += [render_line(bundle, line) for line in lines]
    out += ["", summary(lines)]
    return "\n".join(out)
