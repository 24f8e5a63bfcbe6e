"""Kept results: used only while the submission, rubric and reference are unchanged."""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import tracemalloc

import pytest
from nbformat import v4

from grader.reference import Plan
from grader.scoring import StudentResult
from grader.store import ResultStore
from grader.submissions import Submission, read_submission


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




# ---------------------------------------------------------------- ids and files a student chose


@pytest.mark.parametrize("student", ["x" * 240, "é" * 200, "a/../../b", "..", ".hidden", "new\nline", "caf\udce9"],
                         ids=["240 characters", "400 bytes", "slashes", "dot-dot", "leading dot", "newline",
                              "undecodable"])
def test_any_id_is_kept_under_a_safe_name(tmp_path, plan, student):
    path = tmp_path / "alice.py"
    path.write_text("x = 1\n")
    submission = dataclasses.replace(read_submission(path), student=student)
    result = StudentResult(student, "ok", ())
    store = ResultStore(tmp_path / "out", plan, sandboxed=True)
    store.put(submission, result)
    assert store.get(submission) == result
    (kept,) = (tmp_path / "out" / ".grade" / "results").iterdir()
    assert len(kept.name.encode()) <= 120 and not kept.name.startswith(".")


def test_ids_that_look_alike_are_kept_apart(tmp_path, plan):
    path = tmp_path / "alice.py"
    path.write_text("x = 1\n")
    store = ResultStore(tmp_path / "out", plan, sandboxed=True)
    students = ["a b", "a_b", "a/b", "a\\b", "x" * 240, "x" * 239 + "y"]
    for student in students:
        store.put(dataclasses.replace(read_submission(path), student=student), StudentResult(student, "ok", ()))
    assert len(list((tmp_path / "out" / ".grade" / "results").iterdir())) == len(students)


def test_the_key_of_a_fifo_does_not_block(tmp_path, plan):
    os.mkfifo(tmp_path / "pipe.py")
    submission = Submission("pipe", tmp_path / "pipe.py", entry="pipe.py", status="unread")
    done = []
    worker = threading.Thread(target=lambda: done.append(ResultStore(tmp_path / "out", plan, True).get(submission)),
                              daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():  # let it go: open the other end
        os.close(os.open(tmp_path / "pipe.py", os.O_WRONLY | os.O_NONBLOCK))
    assert done == [None]


def test_a_huge_file_is_keyed_without_reading_it_into_memory(tmp_path, plan, monkeypatch):
    from grader import store as store_module

    monkeypatch.setattr(store_module, "MAX_NOTEBOOK_BYTES", 2**20, raising=False)
    folder = tmp_path / "carol"
    folder.mkdir()
    (folder / "ex07.py").write_text("x = 1\n")
    with open(folder / "data.bin", "wb") as handle:
        handle.truncate(64 * 2**20)  # sparse
    submission = Submission("carol", folder, status="unread")
    store = ResultStore(tmp_path / "out", plan, sandboxed=True)
    tracemalloc.start()
    try:
        first = store.key(submission)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20
    (folder / "ex07.py").write_text("x = 2\n")
    assert store.key(submission) != first


def test_a_kept_result_written_again_has_another_stamp(tmp_path, plan):
    """What the last run showed a student is reused only while their kept file is the one it
    was shown from (outputs.py): writing the file again changes its stamp."""
    path = tmp_path / "ann.py"
    path.write_text("x = 1\n")
    submission = read_submission(path)
    store = ResultStore(tmp_path / "out", plan, sandboxed=True)
    assert store.stamp(submission) is None
    store.put(submission, StudentResult("ann", "ok", ()))
    first = store.stamp(submission)
    store.put(submission, StudentResult("ann", "error", ()))
    assert store.stamp(submission) not in (None, first)
