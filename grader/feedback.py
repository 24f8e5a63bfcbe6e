"""What each student reads: a Markdown page, question by question.

Mistakes are named, failing cases are described by their shapes (never by expected values),
free-text scores are marked provisional, and hidden checks show only their outcome.
"""

from __future__ import annotations

from .rubric import Rubric
from .scoring import StudentResult, question_points, total_points

LABELS = {
    "passed": "passed", "mistake": "known mistake", "failed": "wrong", "error": "error",
    "timeout": "timed out", "missing": "missing", "needs_review": "provisional, to be reviewed",
    "not_run": "not graded", "reviewed": "reviewed", "needs_rereview": "provisional, to be reviewed again",
}


def render_markdown(rubric: Rubric, student: StudentResult) -> str:
    points = question_points(rubric, student.checks)
    by_question: dict[str, list] = {}
    for check in student.checks:
        by_question.setdefault(check.question, []).append(check)
    lines = [f"# {rubric.title}: feedback for {student.student}", ""]
    summary = f"**Total: {_num(total_points(student.checks))} / {_num(rubric.max_total)}** (status: {student.status})"
    if student.to_review:
        summary += f". {student.to_review} free-text answers are provisional until a reviewer confirms them"
    lines += [summary + ".", ""]
    if student.problem:
        lines += [f"> **Problem:** {student.problem}", ""]
    if student.notes:
        lines += ["## Notes on running your code", ""] + [f"- {note}" for note in student.notes] + [""]
    for question in rubric.questions:
        title = f" {question.title}" if question.title else ""
        lines += [f"## {question.id}{title}: {_num(points[question.id])} / {_num(question.max_points)}", ""]
        for check in by_question.get(question.id, []):
            feedback = check.feedback
            if check.visibility == "hidden" and check.outcome != "passed":
                feedback = "This is a hidden check; its details are not shown."
            lines.append(f"- **{check.check}** ({LABELS.get(check.outcome, check.outcome)}, "
                         f"{_num(check.points)} / {_num(check.max_points)}): {feedback}")
        lines.append("")
    return "\n".join(lines)


def _num(value: float) -> str:
    return f"{value:g}"


def render_html(rubric: Rubric, student: StudentResult) -> str:
    """The same page as HTML, self-contained, for students who read feedback in a browser."""
    import html

    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).render(render_markdown(rubric, student))
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><title>{html.escape(rubric.title)}: {html.escape(student.student)}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:48em;margin:2em auto;padding:0 1em}}
h2{{border-bottom:1px solid #ddd;padding-bottom:.2em}}blockquote{{background:#fff4e5;margin:0;padding:.5em 1em}}
code{{background:#f2f2f2;padding:0 .2em}}</style></head><body>
{body}</body></html>
"""
