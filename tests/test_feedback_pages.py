"""What a student reads: each thing said once, the total split into confirmed and suggested
points, their own free-text answer quoted (inert), hidden checks' named mistakes after
grading, and follow-on errors ("`houlsby_fnn` calls `fnn`, which fails 2b; fix that first")."""

from __future__ import annotations

import dataclasses
import re

from markdown_it import MarkdownIt

from conftest import EXAMPLES, ROOT
from grader.checks import CheckResult
from grader.feedback import ANSWER_SHOWN, render_html, render_markdown
from grader.followon import called_names, follow_on_notes, with_follow_on
from grader.rubric import load_rubric
from grader.scoring import StudentResult
from grader.submissions import Cell, Submission

WRONG_FNN = '''
def fnn(X, W_up, W_down):
    return np.maximum(X @ W_up @ W_down, 0)   # ReLU after W_down
'''
ALICE = (EXAMPLES / "alice.py").read_text()
FNN_IN_ALICE = re.compile(r'def fnn\(X, W_up, W_down\):\n    """[^"]*"""\n    return [^\n]*\n')


def passed(question: str, check: str, kind: str = "function", points: float = 2.0, **fields) -> CheckResult:
    return CheckResult(question, check, kind, points, points, "passed", f"`{check}` is correct.", **fields)


def failing(question: str, check: str, outcome: str = "failed", feedback: str = "wrong", **fields) -> CheckResult:
    return CheckResult(question, check, "function", 2.0, 0.0, outcome, feedback, **fields)


def suggestion(question: str, points: float, max_points: float, answer: str, outcome: str = "needs_review",
               feedback: str = "Covers: a first stage. Not found: unlabelled text.") -> CheckResult:
    return CheckResult(question, "answer", "text", max_points, points, outcome, feedback, answer=answer, confidence=0.5)


def line_of(page: str, check: str, question: str | None = None) -> str:
    section = page.split(f"\n## {question} ", 1)[1] if question else page
    return next(line for line in section.splitlines() if line.startswith(f"- **{check}**"))


# ---------------------------------------------------------------- said once, total split


def test_a_free_text_line_says_suggested_once(rubric):
    student = StudentResult("amy", "ok", (suggestion("1a", 1, 2, "It is the first stage."),))
    line = line_of(render_markdown(rubric, student), "answer", "1a")
    assert line == ("- **answer** (suggested 1 / 2, a reviewer confirms it): "
                    "Covers: a first stage. Not found: unlabelled text.")
    assert line.lower().count("suggested") == 1 and "provisional" not in line


def test_the_text_checks_own_feedback_does_not_repeat_the_points(rubric):
    from grader.kinds.text import judge_text

    question, check = next((q, c) for q, c in rubric.checks() if q.id == "1a" and c.kind == "text")
    result = judge_text(question, check, "It is the first stage, done before fine-tuning.", "ANSWER_1A")
    assert result.feedback.startswith("Covers: ") and "Suggested" not in result.feedback
    assert "to be confirmed" not in result.feedback


def test_the_total_says_what_is_confirmed_and_what_awaits_a_reviewer(rubric):
    checks = (passed("1c", "GPT_STYLE", kind="value", points=1.0), passed("2b", "fnn"),
              suggestion("1a", 1.5, 2, "An answer of some words."), suggestion("1b", 1, 2, "Another answer here."))
    page = render_markdown(rubric, StudentResult("amy", "ok", checks))
    total = next(line for line in page.splitlines() if line.startswith("**Total"))
    assert total == ("**Total: 5.5 / 55** (status: ok). Of these, 3 points are confirmed and 2.5 are suggested "
                     "for 2 free-text answers that await a reviewer.")


def test_a_late_total_keeps_the_penalty_and_splits_the_points_earned(rubric):
    from grader.scoring import row_of

    checks = (passed("2b", "fnn"), suggestion("1a", 2, 2, "An answer of some words."))
    student = StudentResult("amy", "ok", checks)
    row = row_of(rubric, student, None)
    row = dataclasses.replace(row, total=3.6, days_late=1, late_penalty=0.4)
    total = next(line for line in render_markdown(rubric, student, row).splitlines() if line.startswith("**Total"))
    assert total == ("**Total: 3.6 / 55** (status: ok). Handed in 1 days after the deadline: 0.4 of the 4 points "
                     "earned are taken off. Of the 4 points earned, 2 are confirmed and 2 are suggested for "
                     "1 free-text answer that awaits a reviewer.")


def test_a_total_with_nothing_to_review_says_nothing_of_it(rubric):
    total = render_markdown(rubric, StudentResult("amy", "ok", (passed("2b", "fnn"),))).splitlines()[2]
    assert total == "**Total: 2 / 55** (status: ok)."


# ---------------------------------------------------------------- the student's own answer


def test_the_answer_is_quoted_under_its_check_and_inert(rubric):
    payload = "**Total: 55 / 55**\n# Full marks\n![x](http://evil.example/x.png) <img src=x> [see](http://e.example)"
    page = render_markdown(rubric, StudentResult("amy", "ok", (suggestion("1a", 1, 2, payload),)))
    lines = page.splitlines()
    at = lines.index(line_of(page, "answer", "1a"))
    assert lines[at + 2].startswith("  > Your answer: \\*\\*Total: 55 / 55\\*\\* \\# Full marks")
    assert page.count("**Total") == 1
    rendered = MarkdownIt("commonmark").render(page)
    assert "<img" not in rendered and "<a " not in rendered and rendered.count("<strong>Total") == 1
    assert "<blockquote>" in rendered
    html = render_html(rubric, StudentResult("amy", "ok", (suggestion("1a", 1, 2, payload),)))
    assert "<img" not in html and "<a " not in html


def test_a_long_answer_is_shortened_with_a_note(rubric):
    answer = "word " * 1000
    page = render_markdown(rubric, StudentResult("amy", "ok", (suggestion("1a", 1, 2, answer),)))
    quoted = next(line for line in page.splitlines() if "Your answer" in line)
    assert f"(the first {ANSWER_SHOWN} of 4,999 characters; the reviewer reads all of it)" in quoted
    assert len(quoted) < ANSWER_SHOWN + 150


def test_no_answer_no_quote(rubric):
    missing = CheckResult("1a", "answer", "text", 2.0, 0.0, "missing", "No answer found.")
    assert "Your answer" not in render_markdown(rubric, StudentResult("amy", "ok", (missing,)))


# ---------------------------------------------------------------- hidden checks


def test_a_hidden_checks_named_mistake_is_shown_and_nothing_else(rubric):
    mistake = failing("2c", "houlsby_params", "mistake", "You counted biases.", visibility="hidden",
                      mistake="with_biases")
    wrong = failing("3e", "gpt3_params", "failed", "`gpt3_params` returned 42 in case 1 of 4 (d 768)",
                    visibility="hidden")
    page = render_markdown(rubric, StudentResult("amy", "ok", (mistake, wrong)))
    assert line_of(page, "houlsby_params") == "- **houlsby_params** (known mistake, 0 / 2): You counted biases."
    assert line_of(page, "gpt3_params").endswith("This is a hidden check; its details are not shown.")
    assert "returned 42" not in page


def test_feedback_hidden_on_a_check_keeps_even_its_mistake_hidden(tmp_path):
    text = (ROOT / "rubrics" / "ex07.yaml").read_text()
    text = text.replace("../reference/", f"{ROOT / 'reference'}/")
    text = text.replace("visibility: hidden      # graded only in the instructor's run",
                        "visibility: hidden\n        feedback: hidden", 1)
    (tmp_path / "ex07.yaml").write_text(text)
    rubric = load_rubric(tmp_path / "ex07.yaml")
    spec = next(c for _, c in rubric.checks() if c.id == "houlsby_params")
    assert spec.feedback == "hidden" and next(c for _, c in rubric.checks() if c.id == "fnn").feedback == "shown"
    mistake = failing("2c", "houlsby_params", "mistake", "You counted biases.", visibility="hidden")
    line = line_of(render_markdown(rubric, StudentResult("amy", "ok", (mistake,))), "houlsby_params")
    assert line == "- **houlsby_params** (known mistake, 0 / 2): This is a hidden check; its details are not shown."


# ---------------------------------------------------------------- follow-on errors


def test_called_names_reads_the_source_without_running_it():
    source = ALICE + "\nimport os\nos._exit(3)\n"
    names = {"fnn", "houlsby_fnn", "lora_fnn", "lora_delta", "houlsby_params"}
    calls = called_names([source], names)
    assert calls["houlsby_fnn"] == {"fnn"} and calls["lora_fnn"] == {"fnn", "lora_delta"}
    assert calls["fnn"] == set() and calls["houlsby_params"] == set()


def test_called_names_takes_the_last_definition_and_skips_cells_that_do_not_parse():
    cells = ["def houlsby_fnn(X, W_up, W_down, A_down, A_up):\n    return fnn(X, W_up, W_down)\n",
             "def broken(:\n",
             "def houlsby_fnn(X, W_up, W_down, A_down, A_up):\n    H = np.maximum(X @ W_up, 0) @ W_down\n    return H\n"]
    assert called_names(cells, {"fnn", "houlsby_fnn"}) == {"houlsby_fnn": set()}
    assert called_names(cells[:2], {"fnn", "houlsby_fnn"}) == {"houlsby_fnn": {"fnn"}}


def test_called_names_finds_a_definition_however_it_is_spaced_and_parses_only_cells_that_define_one():
    cells = ["def\thoulsby_fnn(X):\n    return fnn(X)\n", "async def \\\n  lora_fnn(X):\n    return fnn(X)\n",
             "def fnnx(X):\n    return fnn(X)\n", "x = fnn(1) +\n"]
    assert called_names(cells, {"fnn", "houlsby_fnn", "lora_fnn"}) == {"houlsby_fnn": {"fnn"}, "lora_fnn": {"fnn"}}
    assert called_names(cells, set()) == {}


def test_a_failing_function_that_calls_a_failing_one_says_so(rubric):
    checks = (failing("2b", "fnn", "mistake"), failing("2c", "houlsby_fnn"), failing("2e", "lora_fnn"),
              passed("2e", "lora_delta", points=1.0))
    notes = follow_on_notes(rubric, checks, [ALICE])
    assert notes[("2c", "houlsby_fnn")] == "`houlsby_fnn` calls `fnn`, which fails 2b; fix that first."
    assert notes[("2e", "lora_fnn")] == "`lora_fnn` calls `fnn`, which fails 2b; fix that first."
    assert ("2b", "fnn") not in notes
    # the caller passes, or the callee passes, or the caller does not call it: nothing to say
    assert follow_on_notes(rubric, (failing("2b", "fnn"), passed("2c", "houlsby_fnn")), [ALICE]) == {}
    assert follow_on_notes(rubric, (passed("2b", "fnn"), failing("2c", "houlsby_fnn")), [ALICE]) == {}
    heidi = (EXAMPLES / "heidi.py").read_text()  # her houlsby_fnn computes the FNN itself
    assert follow_on_notes(rubric, (failing("2b", "fnn"), failing("2c", "houlsby_fnn")), [heidi]) == {}


def test_a_graded_submission_with_a_wrong_fnn_names_the_follow_on_errors(grade_source, rubric, tmp_path):
    source, replaced = FNN_IN_ALICE.subn(WRONG_FNN.lstrip("\n"), ALICE)
    assert replaced == 1
    result = grade_source(source, name="fnn_wrong")
    outcomes = {(c.question, c.check): c.outcome for c in result.checks}
    assert outcomes["2b", "fnn"] == "mistake" and outcomes["2c", "houlsby_fnn"] != "passed"
    # judged when graded, so the note is kept with the result and is on every page written from it
    page = render_markdown(rubric, result)
    assert "`houlsby_fnn` calls `fnn`, which fails 2b; fix that first." in line_of(page, "houlsby_fnn")
    assert "calls" not in line_of(page, "fnn", "2b")
    rendered = render_html(rubric, result)
    assert "<code>houlsby_fnn</code> calls <code>fnn</code>, which fails 2b; fix that first." in rendered


def test_a_notebooks_cells_are_read_for_follow_on_errors(rubric):
    cells = (Cell("nb cell 1", "import numpy as np"), Cell("nb cell 2", WRONG_FNN),
             Cell("nb cell 3", "def houlsby_fnn(X, W_up, W_down, A_down, A_up):\n    return fnn(X, W_up, W_down)\n"))
    submission = Submission("amy", EXAMPLES / "amy.ipynb", "ipynb", "amy.ipynb", cells)
    checks = (failing("2b", "fnn", "mistake", "ReLU is applied after W_down."), failing("2c", "houlsby_fnn"))
    page = render_markdown(rubric, StudentResult("amy", "ok", with_follow_on(rubric, checks, submission)))
    assert line_of(page, "houlsby_fnn") == ("- **houlsby_fnn** (wrong, 0 / 2): wrong `houlsby_fnn` calls `fnn`, "
                                            "which fails 2b; fix that first.")


def test_a_huge_submission_is_not_parsed_for_follow_on_notes_on_the_graders_side(rubric):
    """The notes parse the student's code in the grader's process: 18 MB of `x = [1, 2, 3]`
    took 72 s and 7.8 GB there. Past a bound, no note is worth that."""
    import time

    from grader.followon import MAX_PARSED_CHARS

    padding = "x = [1, 2, 3]\n" * (MAX_PARSED_CHARS // 14 + 1000)
    source = "def houlsby_fnn(X, W_up, W_down, A_down, A_up):\n    return fnn(X, W_up, W_down)\n" + padding
    started = time.process_time()
    assert called_names([source], {"fnn", "houlsby_fnn"}) == {}
    assert time.process_time() - started < 0.5
    # within the bound, the same code is read
    assert called_names([source[:2000]], {"fnn", "houlsby_fnn"}) == {"houlsby_fnn": {"fnn"}}
