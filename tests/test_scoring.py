"""Points from check results (grader/scoring.py): what counts in totals."""

from __future__ import annotations

import pytest

from grader.checks import CheckResult
from grader.gradebook import results_file, results_text
from grader.rubric import Rubric
from grader.scoring import StudentResult, counted, row_of

RUBRIC = {"title": "t", "reference": "ref.py",
          "questions": [{"id": "1", "checks": [
              {"id": "f", "kind": "value", "name": "F", "type": "int", "points": 2},
              {"id": "why", "kind": "text", "points": 3, "criteria": [{"points": 3, "description": "why", "any": ["x"]}]},
              {"id": "how", "kind": "text", "points": 1, "model_answer": "like this"}]}]}

CHECKS = (CheckResult("1", "f", "value", 2, 2, "passed", "right"),
          CheckResult("1", "why", "text", 3, 2, "needs_review", "Suggested 2/3", confidence=0.4),
          CheckResult("1", "how", "text", 1, 1, "reviewed", "Reviewed", manual_points=0.5))


@pytest.mark.parametrize("count_suggested, total", [(True, 4.5), (False, 2.5)])
def test_unconfirmed_suggestions_count_only_when_the_rubric_says_so(count_suggested, total, tmp_path):
    rubric = Rubric.model_validate({**RUBRIC, "count_suggested": count_suggested})
    row = row_of(rubric, StudentResult("ann", "ok", CHECKS))
    assert row.total == total and row.points == {"1": total}
    # a reviewer's points always count, and a computed check's
    assert counted(CHECKS[2], count_suggested) == 0.5 and counted(CHECKS[0], count_suggested) == 2
    with results_file(tmp_path / "results.csv") as add:
        add(results_text(StudentResult("ann", "ok", CHECKS), count_suggested))
    lines = (tmp_path / "results.csv").read_text().splitlines()
    assert lines[0].endswith(",auto_points,manual_points,reviewer,confidence")
    why = next(line for line in lines if line.startswith("ann,1,why,"))
    assert why.startswith(f"ann,1,why,{2 if count_suggested else 0},3,needs_review,")
    assert why.endswith(",2,,,0.40")


def test_a_text_check_may_give_a_model_answer_instead_of_criteria():
    rubric = Rubric.model_validate(RUBRIC)
    how = rubric.questions[0].checks[2]
    assert how.model_answer == ["like this"]
    (criterion,) = how.scored_criteria
    assert (criterion.points, criterion.examples) == (1, ["like this"])
    with pytest.raises(ValueError, match="give `criteria` \\(what the answer should say\\), a `model_answer`, or both"):
        Rubric.model_validate({**RUBRIC, "questions": [{"id": "1", "checks": [
            {"id": "how", "kind": "text", "points": 1}]}]})
