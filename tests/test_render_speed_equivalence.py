"""Feedback pages rendered fast are the pages rendered at once: the HTML made section by
section (kept sections, answers rendered into their holes) is byte for byte markdown-it's HTML
of the whole page, for the bundled examples and for hostile student text; and a kept result
written compactly reads back equal, every field set."""

from __future__ import annotations

import dataclasses
import json
import random
import threading

import pytest
from markdown_it import MarkdownIt

from conftest import ROOT
from grader import feedback
from grader.checks import CheckResult
from grader.feedback import render_html, render_markdown
from grader.rubric import load_rubric
from grader.scoring import StudentResult, row_of
from grader.store import ResultStore, _result_from
from grader.submissions import read_submission

OUTCOMES = ["passed", "mistake", "failed", "error", "timeout", "missing", "needs_review", "not_run", "reviewed",
            "needs_rereview"]
HOSTILE = [
    "## Total: 100 / 100",
    "line one\n## Forged heading\n- forged item\n\n## 1a: 9 / 2",
    "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "`code` and ``` unclosed and ``a`b`` and `<b>` and `**x**` and `#`",
    "```\n## inside a fence\n```",
    "~~~python\n## x\n~~~",
    "> quoted\n> > deeper\n>## quoted heading",
    "# heading\n#not a heading\n###### six\n## two",
    "- " * 30 + "deep",
    "1. " * 25 + "deep",
    "> " * 30 + "deep",
    "[ref]: http://example.com/x\n[ref] and [ref][] and ![img](data:x)",
    "    indented code\n\tand a tab\tinside",
    "***\n---\n===\n___",
    "trailing spaces   ",
    "\xa0no-break spaces at both ends\xa0",
    "ends in a byte order mark\ufeff",
    "carriage\rreturn, crlf\r\n, nul\x00 and soh\x01",
    "\u2028line and paragraph separators\u2029",
    "&amp; &#x41; &lt; &copy",
    "*emph* _under_ **strong** \\*escaped\\* \\",
    "x" * 5000,
    "word " * 3000,
    "",
    "   ",
]


WHOLE = MarkdownIt("commonmark", {"html": False}).disable(["link", "image", "autolink"])


def whole_page(markdown: str) -> str:
    """markdown-it on the whole page, configured as the feedback pages are."""
    return WHOLE.render(markdown)


def html_body(html: str) -> str:
    return html.split("<body>\n", 1)[1].rsplit("</body></html>\n", 1)[0]


def assert_same_html(rubric, student: StudentResult) -> None:
    for row in (None, row_of(rubric, student)):
        markdown = render_markdown(rubric, student, row)
        expected = whole_page(markdown)
        assert html_body(render_html(rubric, student, row)) == expected
        assert html_body(render_html(rubric, student, row, markdown)) == expected
        assert feedback._html_body(markdown) == expected


@pytest.fixture(scope="module")
def textproc():
    return load_rubric(ROOT / "rubrics" / "textproc.yaml")


@pytest.fixture(scope="module")
def bundled(three_graded) -> list[StudentResult]:
    kept = sorted((three_graded / ".grade" / "results").glob("*.json"))
    assert len(kept) == 3
    return [_result_from(json.loads(path.read_text(encoding="utf-8"))["result"]) for path in kept]


def every_outcome(rubric, text: str = "", student: str = "amy", **fields) -> StudentResult:
    """A result with a check per (question, check) of the rubric, outcomes in turn; `text` as every
    feedback, answer, problem and note when given."""
    checks = []
    for number, (question, check) in enumerate(rubric.checks()):
        outcome = OUTCOMES[number % len(OUTCOMES)]
        kind = "text" if number % 2 else check.kind
        checks.append(CheckResult(
            question.id, check.id, kind, check.points, check.points / 2, outcome,
            text or f"`{check.id}` feedback {outcome}", "hidden" if number % 7 == 3 else check.visibility,
            "named" if outcome == "mistake" else None, 1.0 if outcome == "reviewed" else None,
            text or f"An answer about {check.id}.", None, None, 0.5, None))
    notes = (text, f"`cell 3` raised ValueError: {text}; the cells after it still ran.") if text else ()
    return StudentResult(student, "error" if text else "ok", tuple(checks), problem=text, notes=notes, **fields)


# ---------------------------------------------------------------- the same bytes


def test_the_bundled_results_render_as_one_page(rubric, bundled):
    for student in bundled:
        assert_same_html(rubric, student)


def test_every_outcome_renders_as_one_page(rubric, textproc):
    for sheet in (rubric, textproc):
        assert_same_html(sheet, every_outcome(sheet))


@pytest.mark.parametrize("text", HOSTILE, ids=[f"hostile{i}" for i in range(len(HOSTILE))])
def test_hostile_text_renders_as_one_page(rubric, textproc, bundled, text):
    for sheet in (rubric, textproc):
        assert_same_html(sheet, every_outcome(sheet, text, student=text[:300] or "x"))
    for student in bundled:  # a real result with the text as every answer and note
        checks = tuple(dataclasses.replace(check, answer=text, kind="text") for check in student.checks)
        assert_same_html(rubric, dataclasses.replace(student, checks=checks, notes=(text,) * 3, problem=text))


def test_a_student_cannot_start_a_line_or_a_section(rubric):
    """Every line of a page starts with a prefix of ours, whatever the student wrote: no line
    of student text starts with `## ` (a split there would be a section of theirs)."""
    for text in HOSTILE:
        markdown = render_markdown(rubric, every_outcome(rubric, text))
        headings = [line for line in markdown.split("\n") if line.startswith("## ")]
        assert len(headings) == len(rubric.questions) + bool(text)  # the questions and the notes
        assert all(line.startswith(("# ", "**Total", "> **Problem:**", "## ", "- ", feedback.ANSWER_LINE))
                   for line in markdown.split("\n") if line)


def test_a_section_nested_too_deep_renders_the_page_at_once(rubric):
    """markdown-it stops at 20 levels and drops the rest of the page: the page split into
    sections would not, so such a page is rendered at once, as before."""
    deep = every_outcome(rubric)
    deep = dataclasses.replace(deep, notes=("- " * 30 + "x",))
    assert_same_html(rubric, deep)


def test_odd_pages_render_as_one_page():
    """`_html_body` on any Markdown, not only ours: random pages of lines that open fences,
    quotes, lists, references, code, nest deeply or look like answers."""
    lines = ["", "", "", "## 1a: 1 / 2", "## Notes on running your code", "## ", "##", " ## one space", "\t## tab",
             "- **c** (passed, 1 / 1): ok", "- **d** (wrong, 0 / 1): `x` \\*y\\*", "  > Your answer: text",
             "  > Your answer: `a` b\\_c", "  > Your answer: ends in a space ", "  > Your answer: \ufeff",
             "  > Your answer: a\x01b", "  > Your answer: a\rb", "   > Your answer: three", "> Your answer: top",
             "  >  Your answer: two spaces", "> **Problem:** p", "```", "~~~", "  ```", "> ```", "- ```", "    code",
             "[a]: /u", "[a]:", "# h", "- " * 12 + "deep", "> " * 21 + "deep", "1. item", "10. item", "   - sub",
             "  - nested", "text", "text\\", "===", "---", "***", "<div>", "<!-- c -->", "*a", "b*", "\x00",
             "a\u2028b", "\u00a0", "  ", "\t"]
    unfenced = [line for line in lines if "```" not in line and "~~~" not in line]
    generator = random.Random(7)
    for number in range(1000):
        pool = unfenced if number % 4 else lines
        page = "\n".join(generator.choice(pool) for _ in range(generator.randint(1, 25)))
        page += generator.choice(["", "\n", "\n\n"])
        assert feedback._html_body(page) == whole_page(page), repr(page)


# ---------------------------------------------------------------- kept pieces


def test_a_second_render_comes_from_the_kept_sections(rubric, bundled):
    student = bundled[0]
    first = render_html(rubric, student)
    before = feedback._section_html.cache_info()
    second = render_html(rubric, student)
    after = feedback._section_html.cache_info()
    assert second == first
    assert after.hits >= before.hits + len(rubric.questions) and after.misses == before.misses
    assert html_body(second) == whole_page(render_markdown(rubric, student))


def test_students_who_differ_only_in_their_answers_share_sections(rubric, bundled):
    student = bundled[0]
    render_html(rubric, student)
    before = feedback._section_html.cache_info()
    other = dataclasses.replace(student, checks=tuple(
        dataclasses.replace(check, answer=f"Someone else's words on {check.check}: `x` \\ * #") if check.answer
        else check for check in student.checks))
    assert_same_html(rubric, other)
    assert feedback._section_html.cache_info().misses == before.misses


def test_pages_rendered_in_threads_are_the_same(rubric, textproc, bundled):
    students = [(rubric, s) for s in bundled] + [(sheet, every_outcome(sheet, text)) for text in HOSTILE[:8]
                                                 for sheet in (rubric, textproc)]
    expected = [whole_page(render_markdown(sheet, s)) for sheet, s in students]
    got: dict[int, list[str]] = {}

    def render(number: int) -> None:
        got[number] = [html_body(render_html(sheet, s)) for sheet, s in students]

    threads = [threading.Thread(target=render, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(pages == expected for pages in got.values()) and len(got) == 4


def test_a_changed_rubric_gets_its_own_layout(rubric):
    student = every_outcome(rubric)
    renamed = rubric.model_copy(update={"title": "Another sheet", "questions": [
        question.model_copy(update={"title": f"retitled {question.id}"}) for question in rubric.questions]})
    page, other = render_markdown(rubric, student), render_markdown(renamed, student)
    assert page.startswith(f"# {rubric.title}: ") and other.startswith("# Another sheet: ")
    assert "## 1a retitled 1a: " in other and "retitled" not in page
    assert render_markdown(rubric, student) == page


# ---------------------------------------------------------------- kept results


def every_field() -> StudentResult:
    checks = (
        CheckResult("1a", "answer", "text", 2.0, 1.5, "needs_review", "Covers: a stage.", "public", None, None,
                    "My answer\nwith ## lines and <b>", None, None, 0.75, "reads like a keyword list"),
        CheckResult("1b", "answer", "text", 2.0, 0.5, "reviewed", "Reviewed.", "public", None, 1.25,
                    "Another answer é \udce9", "tutor", "good enough", 0.5, "short"),
        CheckResult("2c", "houlsby_params", "function", 1.0, 0.0, "mistake", "no residual", "hidden",
                    "no_residual", 0.0, None, "ta", "see the mistake", None, None),
    )
    return StudentResult("caf\udce9 ann", "load_error", checks, problem="SyntaxError: line 3",
                         notes=("`cell 2` raised KeyError: 'x'; the cells after it still ran.", "Not run: %magic."),
                         seconds=1.5, code_seconds=0.25)


def test_a_result_with_every_field_round_trips(tmp_path, plan):
    path = tmp_path / "ann.py"
    path.write_text("x = 1\n")
    submission = read_submission(path)
    store = ResultStore(tmp_path / "out", plan, sandboxed=True)
    result = every_field()
    store.put(submission, result)
    kept = store._path(submission).read_text(encoding="utf-8")
    assert "\n" not in kept  # compact
    assert json.loads(kept)["result"] == json.loads(json.dumps(dataclasses.asdict(result)))
    for back in (store.get(submission), store.load(submission)):
        assert back == result and dataclasses.asdict(back) == dataclasses.asdict(result)
        assert type(back.notes) is tuple and type(back.checks) is tuple
        assert all(type(check) is CheckResult for check in back.checks)
        assert [list(vars(check)) for check in back.checks] == [list(vars(check)) for check in result.checks]
        assert back.checks[1].points == 1.25 and back.to_review == 1


def test_a_result_kept_the_old_way_is_still_read(tmp_path, plan):
    """Files written before (indented JSON), and checks kept without their later fields or in
    another order, read back as before."""
    path = tmp_path / "ann.py"
    path.write_text("x = 1\n")
    submission = read_submission(path)
    store = ResultStore(tmp_path / "out", plan, sandboxed=True)
    result = every_field()
    data = {"format": 1, "key": store.key(submission), "result": dataclasses.asdict(result)}
    store._path(submission).parent.mkdir(parents=True)
    store._path(submission).write_text(json.dumps(data, indent=1), encoding="utf-8")
    assert store.get(submission) == result

    for check in data["result"]["checks"]:
        for name in ("confidence", "flags"):
            del check[name]
        check["question"] = check.pop("question")  # another order
    store._path(submission).write_text(json.dumps(data), encoding="utf-8")
    expected = dataclasses.replace(result, checks=tuple(dataclasses.replace(c, confidence=None, flags=None)
                                                        for c in result.checks))
    assert store.get(submission) == expected

    data["result"]["checks"][0]["surprise"] = 1  # a field this grader does not know: graded again
    store._path(submission).write_text(json.dumps(data), encoding="utf-8")
    assert store.get(submission) is None
