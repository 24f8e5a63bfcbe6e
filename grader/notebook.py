"""`grader.check("2e")` and `grader.check_all()`: the self-check from inside the notebook.

The public checks of the bundle are run against the live namespace of the calling notebook
(IPython's user namespace, else the caller's globals), judged by selfcheck.py's own code,
so each line is the line `grade check` prints for the same definitions.

This runs in the student's own kernel, on their own machine, with no sandbox and no time
limit: the student's functions are called in the kernel itself, exactly as when they call
them in a cell. A function that loops forever blocks the cell (interrupt the kernel).
"""

from __future__ import annotations

import html
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .child import wire
from .errors import GradeError
from .runner import Reply, Request, RunReport, _reply_from
from .selfcheck import Bundle, Line, find_bundle, load_bundle, render, render_line, summary
from .selfjudge import judge_lines, plans_of, requests_of

# where code that is not the student's lives: this package, the standard library, site-packages
_NOT_THEIRS = tuple(sorted({os.path.dirname(os.path.abspath(__file__)), sys.prefix, sys.base_prefix,
                            sys.exec_prefix}))


@dataclass
class Checked:
    """What `check` found: its lines (as `grade check` prints them) and their summary."""

    title: str
    lines: list[Line]
    text: str = ""
    seconds: float = 0.0
    questions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """Whether every check decided here passed (points decided when graded aside)."""
        return all(line.verdict in ("passed", "graded later", "format only") for line in self.lines)

    def __repr__(self) -> str:
        what = ", ".join(self.questions) if self.questions else "all questions"
        return f"<self-check of {what}: {summary(self.lines).splitlines()[0]}>"

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(repr(self))}</pre>"


class _Answers:
    """The tagged answer cells of the notebook as last saved (a submission's `answers`)."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers


_bundles: dict[tuple, tuple[Bundle, object, dict]] = {}  # (path, mtime, size) -> bundle, support, plans per question
_saved: dict[tuple, dict[str, str]] = {}  # (notebook, mtime, size) -> its tagged answers


def check(question: str, bundle: str | os.PathLike | None = None, *, namespace: dict | None = None,
          quiet: bool = False) -> Checked:
    """Run the public checks of `question` (e.g. "2e") on what the notebook defines now, print
    a line per check (the same lines as `grade check`) and return them.

    The bundle (`ex07-check.json`, or a copy the browser renamed) is looked for in the current
    folder; name it with `bundle=`. `namespace`: the definitions to check (default: the
    notebook's). No sandbox: the functions run here, in your own kernel."""
    return _run([str(question).strip().lower()], bundle, namespace, quiet, sys._getframe(1).f_globals)


def check_all(bundle: str | os.PathLike | None = None, *, namespace: dict | None = None,
              quiet: bool = False) -> Checked:
    """Every question's public checks, as `check`, with the summary `grade check` ends with."""
    return _run(None, bundle, namespace, quiet, sys._getframe(1).f_globals)


def _run(questions, bundle_path, namespace, quiet: bool, caller: dict) -> Checked:
    started = time.perf_counter()
    namespace = namespace if namespace is not None else _live_namespace(caller)
    loaded, support, plans_by_question, note = _bundle(bundle_path, namespace)
    if questions is not None:
        unknown = [q for q in questions if q not in plans_by_question]
        if unknown:
            raise GradeError(f"no question {', '.join(unknown)} in {loaded.path.name} (its questions: "
                             f"{', '.join(plans_by_question)})")
    plans = [plan for qid in (questions or plans_by_question) for plan in plans_by_question[qid]]
    answers = _Answers(_saved_answers(loaded, namespace) if any(c["kind"] == "text" for _, c, _ in plans) else {})
    report = RunReport(replies={request.key: _answer(request, namespace, support)
                                for request in requests_of(plans, answers)})
    lines = judge_lines(loaded, plans, answers, report)
    if questions is None:
        text = render(loaded, lines)
    else:
        text = "\n".join(render_line(loaded, line) for line in lines)
    if note:
        text = f"{note}\n{text}"
    result = Checked(loaded.title, lines, text, time.perf_counter() - started, tuple(questions or ()))
    if not quiet:
        print(text)
    return result


def _live_namespace(caller: dict) -> dict:
    """IPython's user namespace when running in a kernel (only if IPython is loaded already),
    else the caller's globals."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    user = getattr(shell, "user_ns", None)
    return user if isinstance(user, dict) else caller


def _bundle(path, namespace: dict):
    note = ""
    if path is None:
        names = frozenset(name for name in namespace if isinstance(name, str) and not name.startswith("_"))
        notebook = _notebook_path(namespace)
        found, note = find_bundle(notebook, [Path.cwd()] if notebook is None else None, names=names)
        path = found
    path = Path(path)
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    if key is None or key not in _bundles:
        from .reference import support_module

        loaded = load_bundle(path)
        support = support_module(loaded.support) if loaded.support is not None else None
        by_question: dict[str, list] = {}
        for plan in plans_of(loaded, support):
            by_question.setdefault(plan[0]["id"], []).append(plan)
        if key is None:
            return loaded, support, by_question, note
        _bundles[key] = loaded, support, by_question
    return (*_bundles[key], note)


def _notebook_path(namespace: dict) -> Path | None:
    """The notebook's file, when the kernel says it (JupyterLab, VS Code)."""
    for name in ("__session__", "__vsc_ipynb_file__"):
        value = namespace.get(name)
        if isinstance(value, str) and value.endswith(".ipynb") and Path(value).is_file():
            return Path(value)
    return None


def _saved_answers(bundle: Bundle, namespace: dict) -> dict[str, str]:
    """The tagged answer cells of the notebook as last saved, if it can be found: free text
    lives in markdown cells, which the kernel never sees."""
    path = _notebook_path(namespace)
    if path is None and bundle.entry:
        candidate = bundle.path.parent / f"{Path(str(bundle.entry)).stem}.ipynb"
        path = candidate if candidate.is_file() else None
    if path is None:
        return {}
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        if key not in _saved:
            from .submissions import read_notebook

            _saved[key] = read_notebook(path.read_text(encoding="utf-8"), path.name)[1]
        return _saved[key]
    except Exception:  # an unreadable notebook: its answers are read when graded
        return {}


def _answer(request: Request, namespace: dict, support) -> Reply:
    """A request answered from the live namespace as the child process answers it
    (child/__main__.py), the reply passed through the same checks (runner.py)."""
    if request.name not in namespace:
        return Reply("missing")
    target = namespace[request.name]
    if request.op == "get":
        return _reply_from({"status": "ok", "value": wire.encode(target)})
    if not callable(target):
        return Reply("not_callable", detail=type(target).__name__[:100])
    if request.op == "steps":
        return _steps(request, target, support)
    try:  # fresh copies of the case's arguments, as the child decodes them
        args = [_argument(wire.encode(arg), support) for arg in request.args]
        kwargs = {name: _argument(wire.encode(value), support) for name, value in request.kwargs}
    except Exception as exc:
        return Reply("invalid", detail=f"the case could not be made here ({type(exc).__name__}: {exc})")
    given = [*args, *kwargs.values()]
    before = [wire.encode(arg) if not callable(arg) else None for arg in given]
    started = time.perf_counter()
    try:
        value = target(*args, **kwargs)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # sys.exit() inside a function is that function's error
        return _reply_from({"status": "error", "error": _describe(exc), "seconds": time.perf_counter() - started})
    seconds = time.perf_counter() - started
    mutated = [i for i, (old, new) in enumerate(zip(before, given)) if old is not None and not wire.unchanged(old, new)]
    return _reply_from({"status": "ok", "value": wire.encode(value), "mutated": mutated, "seconds": seconds})


def _steps(request: Request, target, support) -> Reply:
    """An object's case taken as the child takes it (child/__main__.py `_steps`): make the
    object, take every step, each step's outcome; after `new` raised, nothing more runs."""
    obj, outcomes = None, []
    started = time.perf_counter()
    for action, name, args, kwargs in request.steps:
        try:
            given = [_argument(wire.encode(arg), support) for arg in args]
            named = {key: _argument(wire.encode(value), support) for key, value in kwargs}
            if action == "new":
                obj = target(*given, **named)
                outcome = {"status": "made"}
            else:
                value = getattr(obj, name)
                if action == "call":
                    value = value(*given, **named)
                outcome = {"status": "self"} if value is obj else {"status": "ok", "value": wire.encode(value)}
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # the step's error, whatever it is
            outcome = {"status": "error", "error": _describe(exc)}
        outcomes.append(outcome)
        if action == "new" and outcome["status"] == "error":
            break
    return _reply_from({"status": "ok", "steps": outcomes, "seconds": time.perf_counter() - started},
                       len(request.steps))


def _argument(data, support):
    value = wire.decode(data, allow_fixtures=True)
    if not wire.is_fixture(value):
        return value
    function = getattr(support, value["__fixture__"], None) if support is not None \
        and not value["__fixture__"].startswith("_") else None
    if not callable(function):
        raise RuntimeError(f"the support module has no fixture {value['__fixture__']!r}")
    return function(wire.fixture_rng(value["seed"]), **value["params"])


def _describe(exc: BaseException) -> dict:
    """The exception as the child describes it: type, message, the student's line, its classes."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_NOT_THEIRS)]
    try:
        message = str(exc)
    except BaseException:
        message = "(the exception's message could not be shown)"
    try:
        mro = [str(kind.__dict__["__name__"]) for kind in type(exc).__mro__[:16]]
    except BaseException:
        mro = [type(exc).__name__]
    return {"type": type(exc).__name__, "message": message[:500], "line": frames[-1].lineno if frames else None,
            "mro": mro}
