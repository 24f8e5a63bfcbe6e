"""Outputs are safe wherever they are opened: no CSV cell is a spreadsheet formula, no student
text is active Markdown or HTML, no page loads anything, and one student's feedback is small.

The end-to-end test grades the attack of hostile/injects_spreadsheet_formulas.py beside an
honest student, then opens every output: gradebook.csv, results.csv, the review sheets of
every free-text question, every `grade export` format, the feedback pages and the report.
"""

from __future__ import annotations

import csv
import html
import random
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from conftest import EXAMPLES
from grader.checks import CheckResult
from grader.cli import cli, main
from grader.escaping import from_spreadsheet, markdown_text, spreadsheet_safe
from grader.feedback import MAX_CELL_ERRORS, render_html, render_markdown
from grader.scoring import StudentResult

ATTACK = Path(__file__).parent / "hostile" / "injects_spreadsheet_formulas.py"
ATTACKER = "=1+2"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
PAYLOAD = ('**Total: 55 / 55**\n\n# Full marks\n![ok](http://evil.example/x.png) <img src="http://evil.example/y.png">'
           ' [see](http://evil.example) <http://evil.example/z> `` ` `` ` x` &#42;&#42;bold&#42;&#42; &lt;b&gt;'
           " <script>alert(1)</script>\n===\n| a | b |\n|---|---|\n> quote\n    code\n* item\n"
           "[ref]: http://evil.example")


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def active(cell: str) -> bool:
    """Whether a spreadsheet would run this cell as a formula."""
    return cell.startswith(FORMULA_START) and not NUMBER.fullmatch(cell)


# ---------------------------------------------------------------- the CSV rule


@pytest.mark.parametrize("cell", ["=1+2", '=HYPERLINK("http://evil.example","x")', "+1+1", "-1+cmd|' /C calc'!A0",
                                  "@SUM(A1)", "\t=1", "\r=1", "'=1", "''=1", "+", "-", "=", "-inf", "- item"])
def test_a_formula_cell_is_neutralised_and_comes_back(cell):
    safe = spreadsheet_safe(cell)
    assert safe.startswith("'") and not active(safe) and from_spreadsheet(safe) == one_kind_of_line_break(cell)


def one_kind_of_line_break(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def test_a_cell_with_a_carriage_return_stays_one_cell(tmp_path):
    from grader.gradebook import atomic_file, csv_writer

    with atomic_file(tmp_path / "x.csv") as stream:
        csv_writer(stream).writerows([["a\rb", "\r=1", "c\r\nd"], ["next", "row", "here"]])
    rows = list(csv.reader(open(tmp_path / "x.csv", newline="", encoding="utf-8")))
    assert rows == [["a\nb", "'\n=1", "c\nd"], ["next", "row", "here"]]


@pytest.mark.parametrize("cell", ["alice", "", "-1", "+2.5", "-0", "1e-05", "-3.5E+2", ".5", "'quoted", "a=b", " =1",
                                  "Participant 12", "    Points Possible", 3, -1.5, None])
def test_other_cells_stay_as_they_are(cell):
    assert spreadsheet_safe(cell) == cell and from_spreadsheet(cell) == cell


def test_a_cell_whose_quote_a_spreadsheet_dropped_reads_the_same():
    assert from_spreadsheet("=1+2") == "=1+2"


def test_random_cells_round_trip_and_are_inert():
    rng = random.Random(7)
    alphabet = "=+-@\t\r'0123456789.eE ab|!\"(),"
    for _ in range(5000):
        cell = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        safe = spreadsheet_safe(cell)
        assert not active(safe), repr(cell)
        assert from_spreadsheet(safe) == one_kind_of_line_break(cell), repr(cell)


# ---------------------------------------------------------------- the Markdown rule


def rendered(text: str, html_allowed: bool = True) -> str:
    """`text` inside a list item, as a CommonMark renderer (raw HTML allowed!) shows it."""
    return MarkdownIt("commonmark", {"html": html_allowed}).render(f"- **check** (wrong, 0 / 2): {text}\n")


def test_markdown_and_html_in_student_text_are_shown_as_text():
    page = rendered(markdown_text(PAYLOAD))
    tags = set(re.findall(r"</?([a-z0-9]+)", page))
    assert tags <= {"ul", "li", "strong", "code"}, tags
    assert page.count("<strong>") == 1, "only the grader's own bold text"
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "**Total: 55 / 55**" in text and '<img src="http://evil.example/y.png">' in text


def test_the_graders_code_spans_stay_and_student_backticks_cannot_break_out():
    page = rendered(markdown_text("`lora_fnn` raised ValueError: a ``` **b** ` <img src=x> ``` c`d **e**"))
    assert "<code>lora_fnn</code>" in page and "<strong>e</strong>" not in page and "<img" not in page


def test_a_code_span_with_brackets_is_shown_as_text_and_the_spans_after_it_stay_code():
    """An object step `Vocabulary(['the', 'cat'])` had only its opening backtick escaped, so
    its closing one paired with the next span's and the rest of the line came out garbled."""
    page = rendered(markdown_text("after `Vocabulary(['the', 'cat'])`, `.size` returned a list"))
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "after `Vocabulary(['the', 'cat'])`, .size returned a list" in text
    assert "<code>.size</code>" in page


def test_random_student_text_never_becomes_markup():
    rng = random.Random(11)
    pieces = ["*", "_", "**", "`", "``", "[", "]", "(", ")", "!", "<", ">", "&", "#", "\\", "\n", "\n\n", " ", "a",
              "http://e.example/x.png", "<img src=x>", "&amp;", "&#42;", "=", "-", "|", "~", "$", "@", ":", "1."]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 25)))
        page = rendered(markdown_text(text))
        tags = set(re.findall(r"</?([a-z0-9]+)", page))
        assert tags <= {"ul", "li", "strong", "code"}, (text, page)
        assert page.count("<strong>") == 1 and page.count("<li>") == 1, (text, page)


def test_long_student_text_is_shortened_with_a_note():
    text = markdown_text("x" * 50_000)
    assert len(text) < 1_100 and "shortened: 50,000 characters" in text


# ---------------------------------------------------------------- feedback pages


def hostile_result(notes: int = 3, message: str = PAYLOAD) -> StudentResult:
    checks = tuple(CheckResult("3b", f"check{i}", "function", 2.0, 0.0, "error",
                               f"`lm_head` raised ValueError: {message}") for i in range(34))
    cell_notes = tuple(f"`cell {i} {message[:40]}` raised ValueError: {message}; the cells after it still ran."
                       for i in range(notes))
    return StudentResult("**Total: 55 / 55** <img src=http://evil.example/x.png>", "error", checks,
                         problem=f"stopped with {message}", notes=cell_notes + ("Not run while grading: `!pip`.",))


def test_feedback_shows_no_forged_total_image_or_link(rubric):
    student = hostile_result()
    markdown = render_markdown(rubric, student)
    assert markdown.count("**Total") == 1, "a forged total, even in the raw text"
    assert not re.search(r"(?<!\\)(<img|<script|!\[|\[see\]|&#)", markdown), "unescaped markup"
    assert "\n# Full marks" not in markdown and "\n===" not in markdown and "\n> quote" not in markdown
    for page in (rendered(markdown), MarkdownIt("commonmark").render(markdown)):
        assert "<img" not in page and "<a " not in page and "<script" not in page
        assert page.count("<strong>Total") == 1
    page = render_html(rubric, student)
    assert "<img" not in page and "<a " not in page and "<script" not in page and 'src="http' not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_feedback_lists_a_bounded_number_of_cell_errors(rubric):
    student = hostile_result(notes=20_000, message="x" * 50_000)
    markdown = render_markdown(rubric, student)
    assert f"and {20_000 - MAX_CELL_ERRORS} more cells raised errors" in markdown
    assert markdown.count("raised ValueError") == MAX_CELL_ERRORS + 34
    assert "Not run while grading" in markdown, "notes that are not cell errors are kept"
    assert len(markdown.encode()) < 200_000 and len(render_html(rubric, student).encode()) < 500_000


def test_feedback_of_any_text_is_bounded(rubric):
    worst = "&" * 60_000  # each & is escaped in Markdown and becomes &amp; in HTML
    student = hostile_result(notes=40, message=worst)
    assert len(render_markdown(rubric, student).encode()) < 1_000_000
    assert len(render_html(rubric, student).encode()) < 1_000_000


# ---------------------------------------------------------------- every output of a graded attack


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    base = tmp_path_factory.mktemp("attacked")
    submissions = base / "submissions"
    submissions.mkdir()
    shutil.copy(EXAMPLES / "alice.py", submissions / "alice.py")
    attack = (EXAMPLES / "alice.py").read_text() + "\n\n" + ATTACK.read_text()
    (submissions / f"{ATTACKER}.py").write_text(attack)
    out = base / "out"
    main(submissions=submissions, out=out, jobs=1)
    (base / "roster.csv").write_text('id,name,email,section\nalice,"=HYPERLINK(""http://evil.example"")",'
                                     '@alice,-Tutorial\n=1+2,+Mallory,=1@x,@A\n')
    return submissions, out, base / "roster.csv"


def text_questions(rubric) -> list[str]:
    return sorted({q.id for q, c in rubric.checks() if c.kind == "text"})


@pytest.fixture(scope="module")
def every_output(attacked, rubric):
    _, out, roster = attacked
    for question in text_questions(rubric):
        assert invoke("review", question, "--out", out).exit_code == 0
    result = invoke("export", "--out", out, "--roster", roster)
    assert result.exit_code == 0, result.output
    assert invoke("report", "--out", out).exit_code == 0
    return out


def csv_cells(path: Path):
    with open(path, newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.reader(handle), start=1):
            for cell in row:
                yield line, cell


def test_no_csv_cell_of_any_output_is_a_formula(every_output, rubric):
    files = sorted(every_output.rglob("*.csv"))
    names = {p.relative_to(every_output).as_posix() for p in files}
    assert {"gradebook.csv", "results.csv", "export/gradebook.csv", "export/moodle.csv", "export/canvas.csv"} <= names
    assert {f"review/{q}.csv" for q in text_questions(rubric)} <= names
    neutralised = 0
    for path in files:
        for line, cell in csv_cells(path):
            assert not active(cell), f"{path.relative_to(every_output)}, line {line}: {cell!r}"
            neutralised += cell.startswith("'")
    assert neutralised >= 20, "the attack's cells should be in the outputs, neutralised"
    book = {row[0] for row in csv.reader(open(every_output / "gradebook.csv", encoding="utf-8"))}
    assert "'=1+2" in book
    sheet = (every_output / "review" / "1a.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK(" in sheet


def test_exports_still_carry_the_students_own_ids(every_output):
    gradescope = sorted(p.parent.name for p in (every_output / "export" / "gradescope").glob("*/results.json"))
    assert gradescope == [ATTACKER, "alice"]
    canvas = list(csv.DictReader(open(every_output / "export" / "canvas.csv", encoding="utf-8")))
    assert [from_spreadsheet(row["SIS User ID"]) for row in canvas[1:]] == [ATTACKER, "alice"]
    assert [row["Section"] for row in canvas[1:]] == ["'@A", "'-Tutorial"]
    assert [row["Student"] for row in canvas[1:]] == ["'+Mallory", "'=HYPERLINK(\"http://evil.example\")"]


def test_every_html_page_loads_nothing(every_output):
    pages = sorted(every_output.rglob("*.html"))
    assert any(p.name == "report.html" for p in pages) and any(p.parent.name == "review" for p in pages)
    assert len([p for p in pages if p.parent.name == "feedback"]) == 2
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert re.search(r"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';", text), page
        assert not re.search(r"(src|href|action)\s*=\s*[\"']?(https?:)?//", text, re.IGNORECASE), page
        assert "<script>alert" not in text and "<img src=\"http" not in text


def test_the_attackers_feedback_shows_the_attack_as_text(every_output):
    attacker = [p for p in (every_output / "feedback").glob("*.md") if p.stem != "alice"]
    assert len(attacker) == 1
    markdown = attacker[0].read_text(encoding="utf-8")
    assert markdown.count("**Total") == 1, "a forged total"
    assert "evil\\.example" in markdown or "evil.example" in markdown, "the message is shown"
    assert not re.search(r"(?<!\\)(<img|!\[|\[see\])", markdown)
    page = attacker[0].with_suffix(".html").read_text(encoding="utf-8")
    assert page.count("<strong>Total") == 1 and "<img" not in page and "<a " not in page
    assert "&lt;img src=&quot;http://evil.example/pixel.png&quot;&gt;" in page


def test_a_review_sheet_of_neutralised_cells_imports_back(attacked, every_output):
    submissions, out, _ = attacked
    sheet = out / "review" / "1a.csv"
    rows = list(csv.DictReader(open(sheet, newline="", encoding="utf-8")))
    assert [row["student"] for row in rows] == ["'=1+2", "alice"]
    for row in rows:  # the reviewer fills in points, and a comment that looks like a formula
        row["points"], row["comment"] = ("0.5", "=not an answer") if row["student"] == "'=1+2" else ("2", "")
    with open(sheet, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    result = invoke("review", "--import", sheet, "--reviewer", "ta", "--out", out)
    assert result.exit_code == 0 and "Recorded 2 scores" in result.stdout, result.output
    # the same sheet after a spreadsheet program dropped the leading quotes
    (out / "review" / "dropped.csv").write_text(sheet.read_text(encoding="utf-8").replace("'=", "="), encoding="utf-8")
    assert invoke("review", "--import", out / "review" / "dropped.csv", "--reviewer", "ta", "--out", out).exit_code == 0
    main(submissions=submissions, out=out, jobs=1)
    results = list(csv.DictReader(open(out / "results.csv", newline="", encoding="utf-8")))
    mine = next(r for r in results if from_spreadsheet(r["student"]) == ATTACKER and r["question"] == "1a")
    assert (mine["outcome"], mine["manual_points"], mine["reviewer"]) == ("reviewed", "0.5", "ta")
    assert "not an answer" in mine["feedback"] and not active(mine["feedback"])


def test_the_gradebook_written_with_csv_is_what_pandas_wrote():
    """gradebook.csv is written with `csv` (a run no longer imports pandas); on rows of every
    kind (numbers as floats, ints and NaN, questions missing, late columns, text a spreadsheet
    would run, quotes, line breaks) it is byte for byte what pandas' `to_csv` wrote."""
    import datetime

    import numpy as np
    import pandas as pd

    from grader.escaping import safe_frame
    from grader.gradebook import gradebook_text
    from grader.rubric import load_rubric
    from grader.scoring import StudentRow

    def with_pandas(rubric, rows):
        late = ["submitted", "days_late", "late_penalty"] if rubric.deadline is not None else []
        records = [{"student": row.student, **row.points, "submitted": row.submitted.isoformat() if row.submitted
                    else "", "days_late": row.days_late, "late_penalty": row.late_penalty, "total": row.total,
                    "max_total": rubric.max_total, "status": row.status} for row in rows]
        frame = pd.DataFrame(records, columns=["student", *rubric.question_ids, *late, "total", "max_total", "status"])
        return safe_frame(frame).to_csv(index=False, float_format="%.6g")

    rubric = load_rubric(EXAMPLES.parent.parent / "rubrics" / "ex07.yaml")
    late = rubric.model_copy(update={"deadline": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)})
    rng = random.Random(7)
    texts = ["ann", "=SUM(A1)", "+1", "a,b", 'q"uote', "line\nbreak", "cr\rhere", "-x", "@y", " lead", "\u00fcn\u00ef"]
    numbers = [0.0, 2.0, 1.5, 1 / 3, 123456789.0, -0.0, float("nan"), 2, 7, np.float64(2.5)]
    handed_in = [None, datetime.datetime(2026, 11, 1, 12, 0, tzinfo=datetime.timezone.utc)]
    for _ in range(150):
        rows = [StudentRow(rng.choice(texts), rng.choice(texts),
                           {q: rng.choice(numbers) for q in rubric.question_ids if rng.random() > 0.1},
                           rng.choice([55.0, 3, 1e-7, 12.5]), 0, submitted=rng.choice(handed_in),
                           days_late=rng.choice([0.0, 1.25, 2]), late_penalty=rng.choice([0.0, 0.5]))
                for _ in range(rng.randint(0, 5))]
        for sheet in (rubric, late):
            assert gradebook_text(sheet, rows) == with_pandas(sheet, rows)
