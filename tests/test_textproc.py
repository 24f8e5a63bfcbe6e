"""The second sheet, "Text processing warm-up": a short sheet that uses every check kind,
comparison rule and form of case argument. Golden gradebook and results of its example
submissions, and what they mean: the correct ones (a module, a notebook, a folder) get every
automatic point, each one-mistake submission loses exactly its check with the mistake named,
and the hostile one gains nothing by what it attacks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import GOLDEN, ROOT
from grader.cli import main
from grader.reference import prepare
from grader.rubric import (ArraySpec, DataFrameSpec, DictSpec, FixtureSpec, FunctionCheck, NdarraySpec, ObjectCheck,
                           RaisingCase, SetSpec, TextCheck, TupleSpec, ValueCheck, case_arguments, load_rubric)
from grader.scoring import UNSANDBOXED

SHEET = ROOT / "submissions_example" / "textproc"
RUBRIC = ROOT / "rubrics" / "textproc.yaml"
GOLDEN_SHEET = GOLDEN / "textproc"

CORRECT = ["ada", "bea", "cyd"]  # a module, a notebook, a folder with a helper module
# student -> (question, check, mistake id, words its feedback must hold)
MISTAKES = {
    "dan": ("1a", "tokenize", "split_on_spaces", "split on white space only"),
    "eve": ("1b", "text_stats", "empty_not_rejected", "division by zero"),
    "fay": ("1c", "bag_of_words", "case_sensitive", "counted case-sensitively"),
    "gus": ("1c", "frequent_words", "strictly_greater", "count >= min_count"),
    "hal": ("2a", "softmax", "ignores_temperature", "temperature is ignored"),
    "ian": ("2b", "cosine_similarity", "not_normalised", "dot product"),
    "jon": ("2c", "top_k", "ascending", "smallest score first"),
    "kat": ("3a", "term_frequencies", "transposed", "table is transposed"),
    "lee": ("3b", "author_stats", "agg_column_names", "named `count` and `mean`"),
    "max": ("4", "vocabulary", "counts_duplicates", "`size` counts duplicates"),
    "ned": ("1d", "STEMMING", "lemmatization", "stripping suffixes to a common root is stemming"),
}
HOSTILE = "zed"  # only its tokenize is honest work


@pytest.fixture(scope="module")
def sheet():
    return load_rubric(RUBRIC)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("textproc-grades")
    summary = main(submissions=SHEET, rubric=RUBRIC, out=out, jobs=2)
    return summary, out


@pytest.fixture(scope="module")
def gradebook(graded):
    return pd.read_csv(graded[1] / "gradebook.csv", dtype={"student": str}).set_index("student")


@pytest.fixture(scope="module")
def results(graded):
    return pd.read_csv(graded[1] / "results.csv", dtype={"question": str})


@pytest.fixture(scope="module")
def automatic(results, sheet):
    """The rows of every check that is not free text."""
    text = {(q.id, c.id) for q, c in sheet.checks() if isinstance(c, TextCheck)}
    return results[[(q, c) not in text for q, c in zip(results["question"], results["check"])]]


def _spec(sheet, question: str, check: str):
    return next(c for q, c in sheet.checks() if q.id == question and c.id == check)


@pytest.mark.parametrize("name", ["gradebook.csv", "results.csv"])
def test_outputs_match_the_golden_files(graded, name, update_goldens):
    # where bubblewrap cannot run, statuses carry a suffix; the golden files are sandboxed runs
    produced = (graded[1] / name).read_text().replace(UNSANDBOXED, "")
    golden = GOLDEN_SHEET / name
    if update_goldens:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(produced)
    assert produced == golden.read_text(), f"{name} changed; if intended, rerun pytest with --update-goldens"


def test_the_sheet_uses_every_kind_rule_and_argument_form(sheet):
    checks = [c for _, c in sheet.checks()]
    assert {c.kind for c in checks} == {"function", "value", "text", "object"}
    functions = [c for c in checks if isinstance(c, FunctionCheck)]
    assert {c.compare for c in functions} == {"auto", "exact", "unordered", "normalized", "judge"}
    assert {c.type for c in checks if isinstance(c, ValueCheck)} >= {"int", "float", "str", "list", "dict", "set"}
    assert sum(c.per_student for c in functions) == 1
    assert any(m.variant for c in functions for m in c.mistakes)
    assert any(m.raises for c in functions for m in c.mistakes)
    assert any(m.variant for c in checks if isinstance(c, ObjectCheck) for m in c.mistakes)
    cases = [case for c in functions for case in c.cases]
    assert any(isinstance(case, RaisingCase) for case in cases)
    specs = [spec for case in cases for spec in case_arguments(case).values()]
    assert {s.dist for s in specs if isinstance(s, ArraySpec)} == {"normal", "uniform", "randint"}
    for form in (NdarraySpec, DictSpec, TupleSpec, SetSpec, FixtureSpec):
        assert any(isinstance(s, form) for s in specs), form.__name__
    assert any(isinstance(s, DataFrameSpec) and s.index for s in specs)
    assert any(type(s) in (str, int, float, list) for s in specs)
    # a keyword-only parameter with a default, left out by some cases and given by others
    softmax = _spec(sheet, "2a", "softmax")
    given = ["temperature" in case_arguments(case) for case in softmax.cases]
    assert any(given) and not all(given)
    assert all(q.title and q.prompt for q in sheet.questions)
    assert all(c.docstring for c in functions)
    assert 25 <= sheet.max_total <= 40 and 8 <= len(sheet.questions) <= 10


def test_every_submission_gets_a_row_and_loads(gradebook, sheet):
    expected = {p.stem if p.is_file() else p.name for p in SHEET.iterdir()
                if p.suffix in (".py", ".ipynb") or p.is_dir()}
    assert set(gradebook.index) == expected == {*CORRECT, *MISTAKES, HOSTILE}
    assert (gradebook["status"].str.removesuffix(UNSANDBOXED) == "ok").all()
    assert list(gradebook.columns) == [*sheet.question_ids, "total", "max_total", "status"]
    assert (gradebook["max_total"] == sheet.max_total).all()


def test_correct_submissions_get_every_automatic_point(automatic, gradebook, sheet):
    count = sum(not isinstance(c, TextCheck) for _, c in sheet.checks())
    for student in CORRECT:
        mine = automatic[automatic["student"] == student]
        assert len(mine) == count
        assert (mine["outcome"] == "passed").all(), mine[mine["outcome"] != "passed"][["check", "feedback"]]
        assert (mine["points"] == mine["max_points"]).all()
    assert (gradebook.loc[CORRECT, "total"] == sheet.max_total).all()  # their free text meets every criterion


@pytest.mark.parametrize("student", sorted(MISTAKES))
def test_each_mistake_loses_exactly_its_check_and_is_named(student, automatic, sheet):
    question, check, mistake_id, words = MISTAKES[student]
    mine = automatic[automatic["student"] == student]
    lost = mine[mine["points"] < mine["max_points"]]
    assert list(zip(lost["question"], lost["check"])) == [(question, check)]
    row = lost.iloc[0]
    assert row["outcome"] == "mistake"
    mistake = next(m for m in _spec(sheet, question, check).mistakes if m.id == mistake_id)
    assert row["feedback"] == mistake.feedback and words in row["feedback"]
    assert row["points"] == pytest.approx(mistake.credit * row["max_points"])
    others = mine.drop(lost.index)
    assert (others["outcome"] == "passed").all(), others[others["outcome"] != "passed"][["check", "feedback"]]


def test_the_hostile_submission_gains_nothing(automatic, results, gradebook, graded):
    mine = automatic[automatic["student"] == HOSTILE]
    honest = mine[mine["check"] == "tokenize"]
    assert list(honest["outcome"]) == ["passed"]
    attacked = mine[mine["check"] != "tokenize"]
    assert (attacked["points"] == 0).all() and (attacked["outcome"] == "failed").all()
    refused = attacked[attacked["feedback"].str.contains("cannot be graded")]
    # answers that claim to equal everything (values, most functions, the class) are refused outright
    assert {"N_TOKENS", "SENTENCE_COUNTS", "STEMMING", "SOFTMAX_123", "softmax", "cosine_similarity", "top_k",
            "author_stats", "vocabulary"} <= set(refused["check"])
    # fixtures it rebuilt to its liking in its own process are not the ones it is graded on
    assert {"unique_tokens", "bag_of_words", "term_frequencies"} <= set(attacked["check"]) - set(refused["check"])
    text = results[(results["student"] == HOSTILE) & ~results.index.isin(mine.index)]
    assert (text["outcome"] == "missing").all()
    assert gradebook.loc[HOSTILE, "total"] == honest["points"].sum() == 2
    assert "zed,35,35" not in (graded[1] / "gradebook.csv").read_text()  # the forged rows went nowhere


def test_the_judge_accepts_every_order_of_ties(sheet):
    """Bea and Cyd name equal scores in other orders than the reference: still right."""
    plan = prepare(sheet)
    top_k = plan.functions["2c", "top_k"]
    judge = top_k.judge
    reordered = 0
    for args, expected in zip(top_k.cases, top_k.expected):
        scores, k = np.asarray(args[0]), int(args[1])
        for answer in (list(np.argsort(scores)[::-1][:k]),  # ties from the last index (Bea)
                       sorted(range(len(scores)), key=lambda i: (-scores[i], -i))[:k]):  # (Cyd)
            assert judge(expected, answer, args) is True
            reordered += [int(i) for i in answer] != expected
        if len(set(scores[expected])) > 1:  # the right indices, smallest first: half
            assert judge(expected, expected[::-1], args) == (0.5, "the right indices, but not largest first")
    assert reordered >= 3


def test_per_student_draws_are_the_students_own(sheet):
    plan = prepare(sheet)
    ada = plan.for_student("ada").functions["2b", "cosine_similarity"]
    ian = plan.for_student("ian").functions["2b", "cosine_similarity"]
    again = plan.for_student("ada").functions["2b", "cosine_similarity"]
    drawn = [i for i, case in enumerate(_spec(sheet, "2b", "cosine_similarity").cases)
             if any(isinstance(s, ArraySpec) for s in case_arguments(case).values())]
    assert drawn == [0, 1, 2]
    for i in drawn:
        assert not np.array_equal(ada.cases[i][0], ian.cases[i][0])
        assert np.array_equal(ada.cases[i][0], again.cases[i][0])
    assert np.array_equal(ada.cases[3][0], ian.cases[3][0])  # a fixed array is everyone's


def test_feedback_names_the_step_and_the_mistake(graded, results):
    folder = graded[1] / "feedback"
    assert {p.stem for p in folder.glob("*.md")} == {*CORRECT, *MISTAKES, HOSTILE}
    jon = (folder / "jon.md").read_text()
    assert "**top_k** (known mistake, 1 / 2)" in jon and "smallest score first" in jon
    max_ = (folder / "max.md").read_text()
    assert "## 4 A vocabulary: 0 / 3" in max_ and "counts duplicates" in max_
    # an object check's feedback says at which step the object went wrong, after which steps
    zed = results[(results["student"] == HOSTILE) & (results["check"] == "vocabulary")].iloc[0]
    assert zed["feedback"].startswith("after `Vocabulary(['the', 'cat', 'the', 'mat'])`, `.size` returned a "
                                      "zed.AlwaysInt, which cannot be graded")
    assert "**Total: 2 / 35**" in (folder / "zed.md").read_text()
