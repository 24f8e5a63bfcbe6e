"""The whole path on the bundled examples: golden gradebook and results, and what they mean."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import EXAMPLES, GOLDEN
from grader.cli import main
from grader.scoring import UNSANDBOXED

CORRECT = ["alice", "bob", "carol", "dave"]
# student -> {question: the mistake the feedback must name}
MISTAKES = {
    "erin": {"2e": "no_scaling", "2g": "no_scaling"},
    "frank": {"3c": "no_causal_mask"},
    "grace": {"3a": "sin_cos_swapped", "3e": "untied_head"},
    "heidi": {"1c": "negated", "2b": "relu_after_down"},
    "ivan": {"2c": "no_residual", "3b": "logits"},
    "nina": {"3d": "product", "2g": None},
    "judy": {"3b": None},
    "kim": {"3c": None},
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("grades")
    summary = main(submissions=EXAMPLES, out=out, jobs=2)
    return summary, out


@pytest.fixture(scope="module")
def gradebook(graded):
    return pd.read_csv(graded[1] / "gradebook.csv", dtype={"student": str}).set_index("student")


@pytest.fixture(scope="module")
def results(graded):
    return pd.read_csv(graded[1] / "results.csv", dtype={"question": str})


@pytest.mark.parametrize("name", ["gradebook.csv", "results.csv"])
def test_outputs_match_the_golden_files(graded, name, update_goldens):
    # where bubblewrap cannot run, statuses carry a suffix; the golden files are sandboxed runs
    produced = (graded[1] / name).read_text().replace(UNSANDBOXED, "")
    golden = GOLDEN / name
    if update_goldens:
        golden.write_text(produced)
    assert produced == golden.read_text(), f"{name} changed; if intended, rerun pytest with --update-goldens"


def test_gradebook_columns_follow_the_sheet(gradebook, rubric):
    assert list(gradebook.columns) == [*rubric.question_ids, "total", "max_total", "status"]
    assert rubric.question_ids[0] == "1a" and rubric.question_ids[-1] == "3e"
    assert (gradebook["max_total"] == rubric.max_total).all()
    assert (gradebook[rubric.question_ids].sum(axis=1) == gradebook["total"]).all()


def test_every_submission_gets_a_row_and_junk_is_skipped(graded, gradebook):
    summary, _ = graded
    expected = {p.stem if p.is_file() else p.name for p in EXAMPLES.iterdir()
                if p.suffix in (".py", ".ipynb") or (p.is_dir() and not p.name.startswith("__"))}
    assert set(gradebook.index) == expected
    warnings = " ".join(summary.warnings)
    for junk in ("notes.txt", ".DS_Store", "__MACOSX"):
        assert junk in warnings
    assert gradebook.loc["oscar", "status"] == "duplicate"
    assert "oscar.ipynb and oscar.py" in warnings


def test_correct_submissions_get_full_marks_in_every_form(gradebook, results, rubric):
    automatic = results[results["outcome"] != "needs_review"]
    for student in CORRECT:
        mine = automatic[automatic["student"] == student]
        assert len(mine) == 20  # 13 function and 7 value checks
        assert (mine["outcome"] == "passed").all(), mine[mine["outcome"] != "passed"][["check", "feedback"]]
        assert gradebook.loc[student, "status"].removesuffix(UNSANDBOXED) == "ok"
    rows = gradebook.loc[CORRECT, rubric.question_ids]
    assert (rows.nunique() == 1).all(), "the .py, notebook and folder forms score differently"


@pytest.mark.parametrize("student", sorted(MISTAKES))
def test_mistakes_lose_exactly_their_questions_with_named_feedback(student, gradebook, results, rubric):
    reference = gradebook.loc["alice", rubric.question_ids]
    mine = gradebook.loc[student, rubric.question_ids]
    lost = {q for q in rubric.question_ids if mine[q] < reference[q]}
    assert lost == set(MISTAKES[student])
    rows = results[results["student"] == student]
    for question, mistake in MISTAKES[student].items():
        wrong = rows[(rows["question"] == question) & (rows["outcome"] != "passed") & (rows["outcome"] != "needs_review")]
        assert len(wrong) >= 1
        if mistake:
            assert (wrong["outcome"] == "mistake").any()
    feedback = dict(zip(zip(rows["question"], rows["check"]), rows["feedback"]))
    if student == "erin":
        assert "alpha/r is missing" in feedback["2e", "lora_fnn"]
    if student == "frank":
        assert "causal mask is missing" in feedback["3c", "multi_head_attention"]


def test_broken_submissions_have_a_status_and_a_reason(gradebook, results):
    status = gradebook["status"].str.removesuffix(UNSANDBOXED)
    assert status["leo"] == "load_error"
    assert gradebook.loc["leo", "total"] == 0
    assert status["mallory"] == "load_error"
    assert 0 < gradebook.loc["mallory", "total"] < gradebook.loc["alice", "total"]
    assert status["judy"] == "error" and status["kim"] == "error"
    judy = results[(results["student"] == "judy") & (results["check"] == "lm_head")].iloc[0]
    assert judy["outcome"] == "timeout"


def test_feedback_pages(graded, gradebook):
    folder = graded[1] / "feedback"
    assert {p.stem for p in folder.glob("*.md")} == set(gradebook.index)
    assert {p.stem for p in folder.glob("*.html")} == set(gradebook.index)
    erin_page = (folder / "erin.html").read_text()
    assert "<h2>2e LoRA on the up projection: 3 / 5</h2>" in erin_page and "alpha/r is missing" in erin_page
    kim_hidden = (folder / "ivan.md").read_text()
    assert "houlsby_params** (passed" in kim_hidden  # hidden checks that pass show their outcome
    grace = (folder / "grace.md").read_text()
    hidden_line = next(line for line in grace.splitlines() if line.startswith("- **gpt3_params**"))
    assert "(known mistake, 0 / 2)" in hidden_line and "separate LM head" in hidden_line  # a named mistake is shown
    bob = (folder / "bob.md").read_text()
    assert "raised NameError" in bob and "the cells after it still ran" in bob
    assert "`!pip install numpy`" in bob
    leo = (folder / "leo.md").read_text()
    assert "SyntaxError" in leo and "none of it ran" in leo
    erin = (folder / "erin.md").read_text()
    assert "alpha/r is missing" in erin
    assert "a reviewer confirms it" in erin and "are suggested for" in erin
    assert "> Your answer: " in erin


def test_results_do_not_depend_on_jobs_or_on_kept_results(graded, tmp_path):
    _, first = graded
    serial = tmp_path / "serial"
    main(submissions=EXAMPLES, out=serial, jobs=1, force=True)
    for name in ("gradebook.csv", "results.csv"):
        assert (serial / name).read_text() == (first / name).read_text()
    main(submissions=EXAMPLES, out=serial, jobs=2)  # every result now comes from the store
    for name in ("gradebook.csv", "results.csv"):
        assert (serial / name).read_text() == (first / name).read_text()
