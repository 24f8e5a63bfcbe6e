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

Rendering is a cost paid per student, so what repeats across students is done once: a rubric's
layout (`_layout`), the escaping of short texts such as a check's feedback (`_escaped`), and
the HTML of each `## ` section of a page (`_section_html`; a page is the same HTML whether
rendered at once or section by section, see `_html_body`).
"""

from __future__ import annotations

import functools
import re
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
    layout = _layout(rubric)
    points = question_points(rubric, student.checks)
    by_question: dict[str, list] = {}
    for check in student.checks:
        by_question.setdefault(check.question, []).append(check)
    specs = layout.specs
    lines = [f"# {rubric.title}: feedback for {markdown_text(student.student, 200)}", ""]
    earned = total_points(student.checks, rubric.count_suggested)
    total = row.total if row is not None else earned
    summary = f"**Total: {_num(total)} / {layout.max_total}** (status: {student.status})"
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
    for qid, heading, max_points in layout.questions:
        lines += [f"{heading}{_num(points[qid])} / {max_points}", ""]
        for check in by_question.get(qid, []):
            feedback = _shown_feedback(check, specs.get((check.question, check.check)))
            score = f"{_num(check.points)} / {_num(check.max_points)}"
            if check.outcome in PENDING and check.manual_points is None:
                status = f"suggested {score}, {PENDING[check.outcome]}"
            else:
                status = f"{LABELS.get(check.outcome, check.outcome)}, {score}"
            lines.append(f"- **{check.check}** ({status}): {_escaped(feedback)}")
            if check.kind == "text" and check.answer and check.answer.strip():
                lines += ["", f"{ANSWER_LINE}{_quoted(check.answer)}", ""]
        lines.append("")
    return "\n".join(lines)


class _Layout:
    """What a page takes from its rubric, the same for every student: the checks' specs by
    (question, check), the total's maximum, and per question its id, the start of its heading
    and its maximum."""

    __slots__ = ("rubric", "specs", "max_total", "questions")

    def __init__(self, rubric: Rubric) -> None:
        self.rubric = rubric  # held, so that its id is not reused while this is kept
        self.specs = {(question.id, check.id): check for question, check in rubric.checks()}
        self.max_total = _num(rubric.max_total)
        self.questions = tuple((question.id, f"## {question.id}{f' {question.title}' if question.title else ''}: ",
                                _num(question.max_points)) for question in rubric.questions)


_LAYOUTS: dict[int, _Layout] = {}  # by id(rubric); a rubric is a frozen model
MAX_LAYOUTS = 16


def _layout(rubric: Rubric) -> _Layout:
    layout = _LAYOUTS.get(id(rubric))
    if layout is None or layout.rubric is not rubric:
        layout = _Layout(rubric)
        if len(_LAYOUTS) >= MAX_LAYOUTS:
            _LAYOUTS.clear()
        _LAYOUTS[id(rubric)] = layout
    return layout


ESCAPED_KEPT = 1000  # texts up to this long are escaped once and kept (`_escaped`)


@functools.lru_cache(maxsize=1024)
def _escaped_kept(text: str, limit: int) -> str:
    return markdown_text(text, limit)


def _escaped(text, limit: int = TEXT_LIMIT) -> str:
    """`markdown_text(text, limit)`; a short text (feedback repeats across students) is
    escaped once."""
    if type(text) is str and len(text) <= ESCAPED_KEPT:
        return _escaped_kept(text, limit)
    return markdown_text(text, limit)


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
    if len(text) <= ANSWER_SHOWN:  # each student's own: not kept
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
        shown.append(_escaped(note, TEXT_LIMIT))
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
    body = _html_body(markdown)
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8>{csp_meta()}
<title>{html.escape(rubric.title)}: {html.escape(student.student[:200])}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:48em;margin:2em auto;padding:0 1em}}
h2{{border-bottom:1px solid #ddd;padding-bottom:.2em}}blockquote{{background:#fff4e5;margin:0;padding:.5em 1em}}
code{{background:#f2f2f2;padding:0 .2em}}</style></head><body>
{body}</body></html>
"""


# A page is split where a line starts with `## `: such a line always starts a heading at the top
# level (student text never starts a line: `markdown_text` makes it one line, always after a
# prefix of ours). A heading ends every open block (paragraph, list, block quote, reference
# definition, indented code) but two: a fenced code block, and an HTML block (off here), and
# nothing else of a section reaches the next one, so each section renders alone to the HTML
# it gets within the page. The exceptions are handled by rendering the whole page at once: a
# page with a line that may open a code fence, and a page with a section nested so deep that
# markdown-it drops the rest of the page (`maxNesting`; a section that deep is marked None).
#
# A quoted answer differs from student to student, and most sections hold one, so within a
# section each answer line (`ANSWER_LINE`, a blank line before and after it) is kept out of the
# kept HTML: its text is replaced by `_HOLE`, which leaves the section's blocks as they were
# (the line stays a one-line paragraph in a block quote, whatever followed "Your answer: "),
# and the paragraph's inline HTML is rendered alone and put in the hole's place.
_SECTION_START = re.compile(r"(?<=\n)(?=## )")
_FENCE = re.compile(r"^[ \t>]*(?:```|~~~)", re.MULTILINE)
ANSWER_LINE = "  > Your answer: "
_ANSWER = re.compile(r"(?<=\n\n)  > (Your answer: [^\n]*)(?=\n\n|\n?\Z)")
_HOLE = "\x01"  # inert text to markdown-it; never in a page of ours (`markdown_text` makes it a space)
_NO_HOLES = ("\r", "\0", _HOLE)  # a page with one of these has its answers rendered in place
SECTIONS_KEPT = 1024  # rendered sections kept, each by its exact Markdown
SECTION_KEPT_CHARS = 4000  # longer sections are rendered every time


def _html_body(markdown: str) -> str:
    """`markdown` as HTML, byte for byte what rendering it at once gives."""
    parser = _markdown_parser()
    sections = _SECTION_START.split(markdown)
    if len(sections) == 1 or parser.options.get("html") or _FENCE.search(markdown):
        return parser.render(markdown)
    holes = not any(character in markdown for character in _NO_HOLES)
    parts = [_rendered(sections[0])]  # the header: it names the student, so is not kept
    parts += [_section(section, holes) for section in sections[1:]]
    if None in parts:
        return parser.render(markdown)
    return "".join(parts)


def _section(section: str, holes: bool) -> str | None:
    """A section's HTML as within its page (None: render the page at once); the HTML around
    its answers is kept."""
    answers = []
    if holes and ANSWER_LINE in section:
        answers = _ANSWER.findall(section)
        if any(answer != answer.strip() or answer.endswith("\ufeff") for answer in answers):
            answers = []  # markdown-it trims a paragraph: such an answer is rendered in place
        else:
            section = _ANSWER.sub(lambda match: f"  > {_HOLE}", section)
    html = _section_html(section) if len(section) <= SECTION_KEPT_CHARS else _rendered(section)
    if html is None or not answers:
        return html
    pieces = html.split(_HOLE)
    if len(pieces) != len(answers) + 1:
        return None
    parser = _markdown_parser()
    out = [pieces[0]]
    for answer, piece in zip(answers, pieces[1:]):
        out += [parser.renderInline(answer), piece]
    return "".join(out)


def _rendered(section: str) -> str | None:
    """A section's HTML; None when it nests so deep that rendering it within the page could
    drop what follows it."""
    parser = _markdown_parser()
    env: dict = {}
    tokens = parser.parse(section, env)
    deepest = parser.options["maxNesting"] - 1
    if any(token.level >= deepest for token in tokens):
        return None
    return parser.renderer.render(tokens, parser.options, env)


_section_html = functools.lru_cache(maxsize=SECTIONS_KEPT)(_rendered)  # thread-safe; each thread its parser

_PARSERS = threading.local()  # pages are rendered in grading threads; a parser is built once in each


def _markdown_parser():
    if not hasattr(_PARSERS, "parser"):
        from markdown_it import MarkdownIt

        _PARSERS.parser = MarkdownIt("commonmark", {"html": False}).disable(["link", "image", "autolink"])
    return _PARSERS.parser
