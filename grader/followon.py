"""Follow-on errors: a checked function that fails while calling another checked function
that fails its own check ("`houlsby_fnn` calls `fnn`, which fails 2b; fix that first.").

On the trusted side, from the submission's source only: each cell (or the module) is parsed
with `ast`, never imported or run. For each top-level `def` of a name the rubric checks, the
calls in its body by plain name (`fnn(X, ...)`) to other checked names are collected; a
later definition of a name replaces an earlier one, as when the code runs. Code that does
not parse is skipped. Only direct calls count (keep it simple: the callee's own note names
what it calls).
"""

from __future__ import annotations

from dataclasses import replace

import ast
import re
from collections.abc import Iterable

from .checks import CheckResult
from .rubric import Rubric

FAILING = ("failed", "error", "timeout", "mistake", "missing")  # outcomes of a check that does not pass
# The most of a submission's code that is parsed for these notes, on the grader's side: parsing
# 18 MB of `x = [1, 2, 3]` took 72 s and 7.8 GB there. A note is a hint; a sheet's code is far smaller.
MAX_PARSED_CHARS = 500_000


def called_names(sources: Iterable[str], names: set[str]) -> dict[str, set[str]]:
    """For each top-level function in `sources` named in `names`, the other names of `names`
    its body calls by name."""
    calls: dict[str, set[str]] = {}
    if not names:
        return calls
    budget = MAX_PARSED_CHARS
    # a source that defines none of the names cannot add to the calls: it is not parsed
    defines = re.compile(r"\bdef[\s\\]+(?:%s)\b" % "|".join(map(re.escape, sorted(names))))
    for source in sources:
        budget -= len(source)
        if budget < 0:
            break
        if not defines.search(source):
            continue
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
                calls[node.name] = {inner.func.id for statement in node.body for inner in ast.walk(statement)
                                    if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name)
                                    and inner.func.id in names and inner.func.id != node.name}
    return calls


def submission_sources(submission) -> list[str]:
    """The code of a submission as read on the trusted side (its cells; none if not read)."""
    return [cell.source for cell in getattr(submission, "cells", ()) or ()]


def with_follow_on(rubric: Rubric, checks: tuple[CheckResult, ...], submission) -> tuple[CheckResult, ...]:
    """The checks with each follow-on note at the end of its feedback (judged once, when the
    submission is graded, so the note stays with the kept result)."""
    notes = follow_on_notes(rubric, checks, submission_sources(submission))
    if not notes:
        return checks
    return tuple(replace(c, feedback=f"{c.feedback} {notes[c.question, c.check]}") if (c.question, c.check) in notes
                 else c for c in checks)


def follow_on_notes(rubric: Rubric, checks: Iterable[CheckResult], sources: Iterable[str]) -> dict[tuple[str, str], str]:
    """(question, check) -> a sentence for each failing function check whose function calls
    another checked function that fails its own check."""
    function_checks = [(question, check) for question, check in rubric.checks() if check.kind == "function"]
    outcomes = {(result.question, result.check): result.outcome for result in checks}
    failing: dict[str, list[tuple[str, str]]] = {}  # function name -> its failing checks
    for question, check in function_checks:
        if outcomes.get((question.id, check.id)) in FAILING:
            failing.setdefault(check.name, []).append((question.id, check.id))
    if len(failing) < 2:  # a note names a failing function that calls another one
        return {}
    calls = called_names(sources, set(failing))
    notes = {}
    for question, check in function_checks:
        key = (question.id, check.id)
        if outcomes.get(key) not in FAILING:
            continue
        parts = []
        for callee in sorted(calls.get(check.name, ())):
            where = list(dict.fromkeys(qid for qid, cid in failing.get(callee, []) if (qid, cid) != key))
            if where:
                parts.append(f"`{callee}`, which fails {' and '.join(where)}")
        if parts:
            notes[key] = f"`{check.name}` calls {' and '.join(parts)}; fix {'that' if len(parts) == 1 else 'those'} first."
    return notes
