"""What each student reads: a Markdown page, question by question.

Mistakes are named, failing cases are described by their shapes (never by expected values),
free-text points are marked as suggested (once, beside the check; the total says how much of
it is confirmed and how much awaits a reviewer), and each free-text answer is quoted under its
check. A hidden check that does not pass shows its outcome and, for a named mistake, the
mistake's feedback, nothing else (`feedback: hidden` on a check withholds even that). A
failing function that calls another failing one says so in its feedback (followon.py, when
the submission is graded).

Everything on the page that a student can influence (their id, exception messages, cell
labels, printed output, a reviewer's comment, a free-text answer: all of `problem`, `notes`,
each check's feedback and answer) goes through `escaping.markdown_text`, so it cannot add
emphasis, links, images, HTML or lines of its own (no forged "Total"), and is shortened past
`TEXT_LIMIT` characters (an answer past `ANSWER_SHOWN`). At most `MAX_CELL_ERRORS` cells that raised are listed, so a page stays small
(well under 1 MB) whatever was handed in. The HTML version renders the Markdown without raw
HTML, links or images, under a Content-Security-Policy that loads nothing.
"""

from __future__ import annotations

import threading

from .escaping import TEXT_LIMIT, csp_meta, markdown_text
from .rubric import Rubric
from .scoring import PROVISIONAL, StudentResult, StudentRow, question_points, total_points

MAX_CELL_ERRORS = 20  # cells that raised, listed one by one; the rest are counted
MAX_NOTES = 30  # notes of any kind, whatever their wording
CELL_ERROR = "the cells after it still ran."  # how a note about a cell that raised ends

LABELS = {
    "passed": "passed", "mistake": "known mistake", "failed": "wrong", "error": "error",
    "timeout": "timed out", "missing": "missing", "needs_review": "suggested",
    "not_run": "not graded", "reviewed": "reviewed", "needs_rereview": "suggested",
}
PENDING = {"needs_review": "a reviewer confirms it", "needs_rereview": "a reviewer checks it again"}
ANSWER_SHOWN = 400  # characters of a student's own free-text answer quoted under its check
HIDDEN = "This is a hidden check; its details are not shown."
WITHHELD = "Its details are not shown."


def render_markdown(rubric: Rubric, student: StudentResult, row: StudentRow | None = None) -> str:
    """The student's page; with their gradebook `row`, the total is the gradebook's (after a
    late penalty, which the page then explains)."""
    points = question_points(rubric, student.checks)
    by_question: dict[str, list] = {}
    for check in student.checks:
        by_question.setdefault(check.question, []).append(check)
    specs = {(question.id, check.id): check for question, check in rubric.checks()}
    lines = [f"# {rubric.title}: feedback for {markdown_text(student.student, 200)}", ""]
    earned = total_points(student.checks, rubric.count_suggested)
    total = row.total if row is not None else earned
    summary = f"**Total: {_num(total)} / {_num(rubric.max_total)}** (status: {student.status})"
    late = row is not None and row.late_penalty
    if late:
        summary += (f". Handed in {row.days_late:g} days after the deadline: {_num(row.late_penalty)} of the "
                    f"{_num(earned)} points earned are taken off")
    summary += _pending(student, earned, rubric.count_suggested, bool(late))
    lines += [summary + ".", ""]
    if student.problem:
        lines += [f"> **Problem:** {markdown_text(student.problem)}", ""]
    if student.notes:
        lines += ["## Notes on running your code", ""] + [f"- {note}" for note in _notes(student.notes)] + [""]
    for question in rubric.questions:
        title = f" {question.title}" if question.title else ""
        lines += [f"## {question.id}{title}: {_num(points[question.id])} / {_num(question.max_points)}", ""]
        for check in by_question.get(question.id, []):
            feedback = _shown_feedback(check, specs.get((check.question, check.check)))
            score = f"{_num(check.points)} / {_num(check.max_points)}"
            if check.outcome in PENDING and check.manual_points is None:
                status = f"suggested {score}, {PENDING[check.outcome]}"
            else:
                status = f"{LABELS.get(check.outcome, check.outcome)}, {score}"
            lines.append(f"- **{check.check}** ({status}): {markdown_text(feedback)}")
            if check.kind == "text" and check.answer and check.answer.strip():
                lines += ["", f"  > Your answer: {_quoted(check.answer)}", ""]
        lines.append("")
    return "\n".join(lines)


def _pending(student: StudentResult, earned: float, count_suggested: bool, late: bool) -> str:
    """What of the total is confirmed and what is suggested for free text, awaiting a reviewer
    (empty when nothing awaits one)."""
    waiting = [c for c in student.checks if c.outcome in PROVISIONAL and c.manual_points is None]
    if not waiting:
        return ""
    suggested = round(sum(c.points for c in waiting), 6)
    answers = f"{len(waiting)} free-text answer{'s' * (len(waiting) != 1)} that await{'s' * (len(waiting) == 1)} a reviewer"
    if not count_suggested:
        return f". Not counted yet: {_num(suggested)} points suggested for {answers}"
    confirmed = round(earned - suggested, 6)
    basis = f"Of the {_num(earned)} points earned, {_num(confirmed)}" if late else f"Of these, {_num(confirmed)} points"
    return f". {basis} are confirmed and {_num(suggested)} are suggested for {answers}"


def _shown_feedback(check, spec) -> str:
    """A check's feedback as the student sees it. A check that passes shows it. A hidden
    check shows its named mistake (outcome `mistake`) and nothing else; a check whose rubric
    says `feedback: hidden` shows nothing but its outcome."""
    if check.outcome == "passed":
        return check.feedback
    if getattr(spec, "feedback", "shown") == "hidden":
        return HIDDEN if check.visibility == "hidden" else WITHHELD
    if check.visibility == "hidden" and check.outcome != "mistake":
        return HIDDEN
    return check.feedback


def _quoted(answer: str) -> str:
    """A student's own answer on one inert line, its first ANSWER_SHOWN characters."""
    text = " ".join(answer.split())
    if len(text) <= ANSWER_SHOWN:
        return markdown_text(text, ANSWER_SHOWN)
    return (markdown_text(text[:ANSWER_SHOWN].rstrip(), ANSWER_SHOWN) +
            f" ... (the first {ANSWER_SHOWN} of {len(text):,} characters; the reviewer reads all of it)")


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


def render_html(rubric: Rubric, student: StudentResult, row: StudentRow | None = None,
                markdown: str | None = None) -> str:
    """The same page as HTML, self-contained, for students who read feedback in a browser;
    `markdown`: the page as `render_markdown` made it, if the caller has it already."""
    import html

    if markdown is None:
        markdown = render_markdown(rubric, student, row)
    body = _markdown_parser().render(markdown)
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8>{csp_meta()}
<title>{html.escape(rubric.title)}: {html.escape(student.student[:200])}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:48em;margin:2em auto;padding:0 1em}}
h2{{border-bottom:1px solid #ddd;padding-bottom:.2em}}blockquote{{background:#fff4e5;margin:0;padding:.5em 1em}}
code{{background:#f2f2f2;padding:0 .2em}}</style></head><body>
{body}</body></html>
"""


_PARSERS = threading.local()  # pages are rendered in grading threads; a parser is built once in each


def _markdown_parser():
    if not hasattr(_PARSERS, "parser"):
        from markdown_it import MarkdownIt

        _PARSERS.parser = MarkdownIt("commonmark", {"html": False}).disable(["link", "image", "autolink"])
    return _PARSERS.parser
