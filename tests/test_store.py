"""Kept results: used only while the submission, rubric and reference are unchanged."""

from __future__ import annotations

import dataclasses
import json

from nbformat import v4

from grader.reference import Plan
from grader.store import ResultStore
from grader.submissions import read_submission


def test_a_result_round_trips_exactly(tmp_path, plan, grade_source, correct_source):
    student = grade_source(correct_source, name="ann")
    submission = read_submission(tmp_path / "ann.py")
    store = ResultStore(tmp_path / "out", plan, sandboxed=True)
    store.put(submission, student)
    assert store.get(submission) == student
    assert dataclasses.asdict(store.get(submission)) == dataclasses.asdict(student)


def test_any_change_to_the_submission_invalidates_it(tmp_path, plan, grade_source, correct_source):
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text(json.dumps(v4.new_notebook(cells=[v4.new_code_cell(correct_source)])))
    student = grade_source(correct_source, name="other")
    store = ResultStore(tmp_path / "out", plan, sandboxed=True)
    store.put(read_submission(notebook), student)
    assert store.get(read_submission(notebook)) == student
    notebook.write_text(json.dumps(v4.new_notebook(cells=[v4.new_code_cell(correct_source + "\nX = 1\n")])))
    assert store.get(read_submission(notebook)) is None

    folder = tmp_path / "carol"
    folder.mkdir()
    (folder / "ex07.py").write_text("import helper\n")
    (folder / "helper.py").write_text("A = 1\n")
    store.put(read_submission(folder, entry_module="ex07.py"), student)
    assert store.get(read_submission(folder, entry_module="ex07.py")) == student
    (folder / "helper.py").write_text("A = 2\n")
    assert store.get(read_submission(folder, entry_module="ex07.py")) is None


def test_a_changed_rubric_or_sandbox_setting_invalidates_it(tmp_path, plan, grade_source, correct_source):
    student = grade_source(correct_source, name="bea")
    submission = read_submission(tmp_path / "bea.py")
    ResultStore(tmp_path / "out", plan, sandboxed=True).put(submission, student)
    assert ResultStore(tmp_path / "out", plan, sandboxed=False).get(submission) is None
    tighter = plan.rubric.model_copy(update={"title": "changed"})
    assert ResultStore(tmp_path / "out", Plan(tighter, plan.functions, plan.values), sandboxed=True).get(submission) is None


def test_a_damaged_kept_result_is_graded_again(tmp_path, plan, grade_source, correct_source):
    student = grade_source(correct_source, name="cy")
    submission = read_submission(tmp_path / "cy.py")
    store = ResultStore(tmp_path / "out", plan, sandboxed=True)
    store.put(submission, student)
    kept = next((tmp_path / "out" / ".grade" / "results").glob("*.json"))
    kept.write_text(kept.read_text()[:100])
    assert store.get(submission) is None


