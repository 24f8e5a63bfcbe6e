"""What a run of a student's code tells besides its replies, in words: a module that stopped
(and where), notebook cells that raised, what was not run, restarts. The final feedback and
`grade check` say it the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .untrusted import MAX_NOTES

if TYPE_CHECKING:
    from .runner import RunReport
    from .submissions import Submission


def load_problem(submission: Submission, report: RunReport) -> str:
    """Why little or nothing of the submission could be graded, or ""."""
    if report.load_failure:
        return report.load_failure
    if submission.kind == "py" and report.cells and report.cells[0]["error"]:
        error = report.cells[0]["error"]
        line = f" at line {error['line']}" if error.get("line") else ""
        if error["type"] in ("SyntaxError", "IndentationError", "TabError"):
            return f"{submission.entry} has a {error['type']}{line} ({error['message']}), so none of it ran; fix it"
        return (f"{submission.entry} stopped{line} with {error['type']}: {error['message']}; "
                "only what was defined before that line was graded")
    return ""


def notes(report: RunReport) -> tuple[str, ...]:
    """The cells that raised (the first few), what was not run, and restarts."""
    notes = []
    errors = [cell for cell in report.cells if cell["error"]] if len(report.cells) > 1 else []
    for cell in errors[:MAX_NOTES]:
        error = cell["error"]
        line = f" (line {error['line']})" if error.get("line") else ""
        notes.append(f"`{cell['label']}` raised {error['type']}: {error['message']}{line}; "
                     "the cells after it still ran.")
    if len(errors) > MAX_NOTES:
        notes.append(f"{len(errors) - MAX_NOTES} more cells raised errors; the cells after them still ran.")
    if report.ignored:
        shown = ", ".join(f"`{item}`" for item in report.ignored[:5])
        notes.append(f"Not run while grading: {shown}{' and more' if len(report.ignored) > 5 else ''}.")
    if report.restarts:
        notes.append(f"Your code ended or hung the process {report.restarts} time(s); "
                     "a fresh process graded the remaining checks.")
    return tuple(notes)
