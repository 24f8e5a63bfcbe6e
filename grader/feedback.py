"""What each student reads: a Markdown page, question by question.

Mistakes are named, failing cases are described by their shapes (never by expected values),
free-text scores are marked provisional, and hidden checks show only their outcome.

Everything on the page that a student can influence (their id, exception messages, cell
labels, printed output, a reviewer's comment: all of `problem`, `notes` and each check's
feedback) goes through `escaping.markdown_text`, so it cannot add emphasis, links, images,
HTML or lines of its own (no forged "Total"), and is shortened past `TEXT_LIMIT`
characters. At most `MAX_CELL_ERRORS` cells that raised are listed, so a page stays small
(well under 1 MB) whatever was handed in. The HTML version renders the Markdown without raw
HTML, links or images, under a Content-Security-Policy that loads nothing.
"""

from __future__ import annotations

from .escaping import TEXT_LIMIT, csp_meta, markdown_text
from .rubric import Rubric
from .scoring import StudentResult, StudentRow, question_points, total_points

MAX_CELL_ERRORS = 20  # cells that raised, listed one by one; the rest are counted
MAX_NOTES = 30  # notes of any kind, whatever their wording
CELL_ERROR = "the cells after it still ran."  # how a note about a cell that raised ends

LABELS = {
    "passed": "passed", "mistake": "known mistake", "failed": "wrong", "error": "error",
    "timeout": "timed out", "missing": "missing", "needs_review": "provisional, to be reviewed",
    "not_run": "not graded", "reviewed": "reviewed", "needs_rereview": "provisional, to be reviewed again",
}


def render_markdown(rubric: Rubric, student: StudentResult, row: StudentRow | None = None) -> str:
    """The student's page; with their gradebook `row`, the total is the gradebook's (after a
    late penalty, which the page then explains)."""
    points = question_points(rubric, student.checks)
    by_question: dict[str, list] = {}
    for check in student.checks:
        by_question.setdefault(check.question, []).append(check)
    lines = [f"# {rubric.title}: feedback for {markdown_text(student.student, 200)}", ""]
    earned = total_points(student.checks, rubric.count_suggested)
    total = row.total if row is not None else earned
    summary = f"**Total: {_num(total)} / {_num(rubric.max_total)}** (status: {student.status})"
    if row is not None and row.late_penalty:
        summary += (f". Handed in {row.days_late:g} days after the deadline: {_num(row.late_penalty)} of the "
                    f"{_num(earned)} points earned are taken off")
    if student.to_review:
        summary += f". {student.to_review} free-text answers are provisional until a reviewer confirms them"
    lines += [summary + ".", ""]
    if student.problem:
        lines += [f"> **Problem:** {markdown_text(student.problem)}", ""]
    if student.notes:
        lines += ["## Notes on running your code", ""] + [f"- {note}" for note in _notes(student.notes)] + [""]
    for question in rubric.questions:
        title = f" {question.title}" if question.title else ""
        lines += [f"## {question.id}{title}: {_num(points[question.id])} / {_num(question.max_points)}", ""]
        for check in by_question.get(question.id, []):
            feedback = check.feedback
            if check.visibility == "hidden" and check.outcome != "passed":
                feedback = "This is a hidden check; its details are not shown."
            lines.append(f"- **{check.check}** ({LABELS.get(check.outcome, check.outcome)}, "
                         f"{_num(check.points)} / {_num(check.max_points)}): {markdown_text(feedback)}")
        lines.append("")
    return "\n".join(lines)


def _notes(notes: tuple[str, ...]) -> list[str]:
    """The notes as Markdown, with at most MAX_CELL_ERRORS cells that raised (and MAX_NOTES
    notes in all); the rest are counted in a last line."""
    shown, cells, hidden_cells, hidden = [], 0, 0, 0
    for note in notes:
        is_cell = note.endswith(CELL_ERROR)
        cells += is_cell
        if (is_cell and cells > MAX_CELL_ERRORS) or len(shown) >= MAX_NOTES:
            hidden_cells += is_cell
            hidden += not is_cell
            continue
        shown.append(markdown_text(note, TEXT_LIMIT))
    if hidden_cells:
        shown.append(f"... and {hidden_cells} more cells raised errors (only the first {MAX_CELL_ERRORS} are listed).")
    if hidden:
        shown.append(f"... and {hidden} more notes.")
    return shown


def _num(value: float) -> str:
    return f"{value:g}"


def render_html(rubric: Rubric, student: StudentResult, row: StudentRow | None = None) -> str:
    """The same page as HTML, self-contained, for students who read feedback in a browser."""
    import html

    from markdown_it import MarkdownIt

    markdown = MarkdownIt("commonmark", {"html": False}).disable(["link", "image", "autolink"])
    body = markdown.render(render_markdown(rubric, student, row))
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8>{csp_meta()}
<title>{html.escape(rubric.title)}: {html.escape(student.student[:200])}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:48em;margin:2em auto;padding:0 1em}}
h2{{border-bottom:1px solid #ddd;padding-bottom:.2em}}blockquote{{background:#fff4e5;margin:0;padding:.5em 1em}}
code{{background:#f2f2f2;padding:0 .2em}}</style></head><body>
{body}</body></html>
"""
