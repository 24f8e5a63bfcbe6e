"""Broken hand-ins each get a row with a clear status; the run goes on."""

from __future__ import annotations

import json

import pandas as pd
from nbformat import v3, v4

from conftest import EXAMPLES
from grader.cli import main
from grader.scoring import UNSANDBOXED


def test_every_broken_input_gets_a_row_and_a_reason(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    correct = (EXAMPLES / "alice.py").read_text()
    notebook = json.dumps(v4.new_notebook(cells=[v4.new_code_cell(correct)]))
    (folder / "truncated.ipynb").write_text(notebook[: len(notebook) // 2])
    (folder / "not_json.ipynb").write_text("this is not a notebook")
    (folder / "old_format.ipynb").write_text(json.dumps(v3.new_notebook(worksheets=[
        v3.new_worksheet(cells=[v3.new_code_cell(input=correct)])])))
    (folder / "binary.py").write_bytes(bytes(range(256)) * 40)
    (folder / "latin1.py").write_bytes("ANSWER_1A = 'Vortrainiertes Modell: großer Korpus'\n".encode("latin-1"))
    (folder / "empty.py").write_text("")
    big = v4.new_notebook(cells=[v4.new_code_cell(correct, outputs=[
        v4.new_output("stream", name="stdout", text="x" * 100_000_000)])])
    (folder / "huge_outputs.ipynb").write_text(json.dumps(big))
    (folder / "fine.py").write_text(correct)

    out = tmp_path / "out"
    summary = main(submissions=folder, out=out, jobs=2)
    book = pd.read_csv(out / "gradebook.csv").set_index("student")
    status = book["status"].str.removesuffix(UNSANDBOXED)
    results = pd.read_csv(out / "results.csv")
    reason = {student: rows["feedback"].iloc[0] for student, rows in results.groupby("student")}

    assert set(book.index) == {"truncated", "not_json", "old_format", "binary", "latin1", "empty",
                               "huge_outputs", "fine"}
    assert status["truncated"] == "unreadable" and "not a readable notebook" in reason["truncated"]
    assert status["not_json"] == "unreadable" and "re-save it from Jupyter" in reason["not_json"]
    assert status["binary"] == "unreadable"
    assert status["latin1"] == "unreadable" and "not UTF-8" in reason["latin1"]
    assert status["empty"] == "ok" and book.loc["empty", "total"] == 0
    full = book.loc["fine", "total"]
    assert full == book["max_total"].iloc[0]
    assert book.loc["huge_outputs", "total"] == full  # a 100 MB output costs nothing
    assert book.loc["old_format", "total"] == full  # nbformat 3 is converted, not refused
    assert summary.count("unreadable") == 4
