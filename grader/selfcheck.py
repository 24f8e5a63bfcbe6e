"""`grade check`: the public checks, on a student's own machine, with honest feedback.

The bundle (see `assign.bundle_for`) is rebuilt into the same plan objects the instructor's
run uses, so a function check reports the same mistake with the same words, on practice
cases drawn like the graded ones but not the same (the bundle holds no graded answer). What
cannot be decided here is said so: hidden checks and free text are "graded later"; bools,
short names, and functions and classes whose cases are fixed values are checked for their
form only. A class takes the steps of its practice cases, as a function takes its cases.
It never says "all passed" while points remain open.

This module is what `grade check` needs first: the bundle (plain JSON, no rubric model), the
lines and their rendering. The judging (numpy, the kinds' judges) is in selfjudge.py, loaded
while the student's process starts (`check_submission`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import GradeError

# 2: practice cases, forms of fixed-number checks, one salt per value check; 3: values in the
# typed wire format of every kind (dicts, sets, DataFrames ...), comparison rules, classes; 4: an
# object check's steps with the reference's outcomes on practice cases (or their forms)
BUNDLE_FORMAT = 4


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


@dataclass(frozen=True)
class BundleLimits:
    """The rubric's limits as the bundle carries them (rubric.Limits, read as plain data: a
    self-check builds no rubric model)."""

    call_timeout: float = 5.0
    submission_timeout: float = 120.0
    memory_mb: int = 2048
    answer_chars: int = 20_000

    def __post_init__(self) -> None:
        for name, low in (("call_timeout", 0), ("submission_timeout", 0), ("memory_mb", 127), ("answer_chars", 99)):
            value = getattr(self, name)
            if type(value) not in (int, float) or not value > low:
                raise ValueError(f"limits.{name} is {value!r}")


@dataclass(frozen=True)
class BundleTolerance:
    """The rubric's tolerance (rubric.Tolerance), as plain data."""

    rtol: float = 1e-4
    atol: float = 1e-8

    def __post_init__(self) -> None:
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if type(value) not in (int, float) or not value >= 0:
                raise ValueError(f"tolerance.{name} is {value!r}")


class Bundle:
    def __init__(self, data: dict, path: Path) -> None:
        self.path = path
        try:
            if data.get("format") != BUNDLE_FORMAT:
                raise ValueError(f"format {data.get('format')!r}, not {BUNDLE_FORMAT}")
            self.title = str(data["title"])
            self.entry = data.get("entry")
            self.limits = BundleLimits(**data["limits"])
            self.tolerance = BundleTolerance(**data["tolerance"])
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


def check_submission(bundle: Bundle, path: Path, notes: list[str] | None = None) -> list[Line]:
    """The lines of the bundle's checks on the student's own work at `path`. The student's
    process is started first: its interpreter starts (and imports numpy) while this one
    reads the work and loads what judging needs. `notes`, if given, gets what the run says
    besides the lines (a module that stopped, cells that raised), as the final feedback says it."""
    from .runner import Runner
    from .sandbox import Plain

    with Runner(bundle.limits, confinement=Plain("a self-check runs your own code"), support=bundle.support) as runner:
        runner.warm()
        from .submissions import read_submission

        submission = read_submission(path, entry_module=bundle.entry)
        if submission.status != "ok":
            raise GradeError(f"{path}: {submission.problem}")
        from . import selfjudge
        from .reference import support_module

        support = support_module(bundle.support) if bundle.support is not None else None
        plans = selfjudge.plans_of(bundle, support)
        report = runner.run(submission, selfjudge.requests_of(plans, submission))
    if notes is not None:
        from . import runnotes

        problem = runnotes.load_problem(submission, report)
        notes += ([f"{problem}."] if problem else []) + list(runnotes.notes(report))
    return selfjudge.judge_lines(bundle, plans, submission, report)


def __getattr__(name: str):
    """The judging side (selfjudge.py), by its old names here, imported when first used."""
    if name in _JUDGING:
        from . import selfjudge

        return getattr(selfjudge, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_JUDGING = frozenset({"judge_lines", "plans_of", "requests_of", "_form_problem", "_stand_in", "_value_line"})


def place_of(c: dict) -> str:
    """Where a check's points are decided, from the bundle alone (so the total checked here
    is the same whatever the student has done): here | text | hidden | form."""
    if c["visibility"] == "hidden":
        return "hidden"
    if c["kind"] == "text":
        return "text"
    if (c["kind"] in ("function", "object") and ("forms" in c or c.get("compare") == "judge")) or \
            (c["kind"] == "value" and c.get("type") not in ("int", "float")):
        return "form"
    return "here"


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


def render(bundle: Bundle, lines: list[Line], notes: list[str] | tuple[str, ...] = ()) -> str:
    out = [f"Self-check: {bundle.title}", ""]
    out += [render_line(bundle, line) for line in lines]
    if notes:
        out += ["", "Notes on running your code:"] + [f"  - {note}" for note in notes]
    out += ["", summary(lines)]
    return "\n".join(out)
