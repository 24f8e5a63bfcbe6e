"""Attacks on `grade export`, notebook reading and the Dask engine: what a student (their
code, their roster row) or a worker that lies controls must not break or forge an output."""

from __future__ import annotations

import csv
import json
import shutil
import unicodedata
import zipfile

import pytest
from click.testing import CliRunner

from conftest import EXAMPLES, ROOT
from grader import submissions
from grader.cli import cli, main
from grader.export import export
from grader.rubric import load_rubric
from grader.submissions import read_submission

RUBRIC = ROOT / "rubrics" / "ex07.yaml"
HOSTILE = '''
def clm_objective(*args, **kwargs):
    raise ValueError("\\x1b[31m\\x01\\x02 =HYPERLINK(\\"http://x\\")\\r\\n=1+1\\x0b\\x0c")
'''
NAMES = {
    "alice": "\x01=HYPERLINK(\"http://evil\")\x1b[2J",
    "erin": "../../x\r\nWrote everything\u202e\x7f\x85" + "A" * 300,
    "mallory": "Mallory Malice",
    "zed": "Zed\nWrote /somewhere/ALL-GOOD.csv",  # on the roster, not graded
}
MOODLE_IDS = {"alice": "7", "erin": "8", "mallory": "Participant 05", "zed": "9"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """An output folder with a feedback text full of control characters (mallory's exception),
    and a roster whose names hold controls, line breaks and bidi overrides."""
    base = tmp_path_factory.mktemp("attacks")
    folder = base / "submissions"
    folder.mkdir()
    for name in ("alice", "erin"):
        shutil.copy(EXAMPLES / f"{name}.py", folder / f"{name}.py")
    (folder / "mallory.py").write_text(HOSTILE)
    main(submissions=folder, out=base / "out", jobs=1)
    with open(base / "roster.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "email", "moodle_id"])
        for student, name in NAMES.items():
            writer.writerow([student, name, f"{student}@uni.example", MOODLE_IDS[student]])
    return base


def _controls(text: str) -> bool:
    return any(unicodedata.category(c) in {"Cc", "Cf"} for c in text if c not in "\n")


def test_control_characters_in_feedback_and_names_do_not_break_the_xlsx(hostile):
    from openpyxl import load_workbook

    assert "\x1b" in (hostile / "out" / "results.csv").read_text()  # the student's text reached the results
    files, _ = export(hostile / "out", formats=["xlsx"], roster=hostile / "roster.csv", to=hostile / "xlsx")
    book = load_workbook(files[0])
    texts = [cell.value for sheet in book for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert not any("\x1b" in t or "\x01" in t for t in texts)
    assert all(cell.data_type != "f" for sheet in book for row in sheet.iter_rows() for cell in row)
    assert not any(t.startswith(("=", "+", "-", "@")) for t in texts)
    assert any("HYPERLINK" in t for t in texts) and any("=1+1" in t for t in texts)


def test_every_warning_is_one_line_whatever_the_roster_names_hold(hostile):
    _, warnings = export(hostile / "out", formats=["moodle", "moodle-grades", "moodle-feedback"],
                         roster=hostile / "roster.csv", to=hostile / "lines")
    assert any("Zed" in w for w in warnings)
    for warning in warnings:
        assert "\n" not in warning and "\r" not in warning and not _controls(warning)
    result = CliRunner().invoke(cli, ["export", "--out", str(hostile / "out"), "--roster", str(hostile / "roster.csv"),
                                      "--to", str(hostile / "cli"), "--format", "moodle"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert not [line for line in result.stderr.splitlines() if line.startswith("Wrote")]


def test_feedback_zip_entries_are_plain_short_file_names_one_per_participant(hostile, tmp_path):
    roster = tmp_path / "roster.csv"
    rows = list(csv.reader(open(hostile / "roster.csv", newline="", encoding="utf-8")))
    rows[1][3] = "5"  # alice and mallory ("Participant 05") are both participant 5 for Moodle
    rows[3][3] = "05"
    with open(roster, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    files, warnings = export(hostile / "out", formats=["moodle-feedback", "moodle"], roster=roster, to=tmp_path / "x")
    with zipfile.ZipFile(tmp_path / "x" / "moodle-feedback.zip") as archive:
        names = archive.namelist()
    assert len(names) == 1, names  # only erin: alice and mallory share participant 5
    for name in names:
        assert not _controls(name) and "/" not in name and "\\" not in name and len(name.encode()) <= 200
        assert name.endswith("_8_assignfeedback_file_feedback.html") and name.startswith("x Wrote everything")
    assert any("sharing their moodle_id" in w and "alice" in w and "mallory" in w for w in warnings)
    worksheet = list(csv.DictReader(open(tmp_path / "x" / "moodle.csv", newline="", encoding="utf-8")))
    assert [row["Identifier"] for row in worksheet] == ["Participant 8"]


def test_participant_numbers_are_written_as_moodle_reads_them(hostile, tmp_path):
    export(hostile / "out", formats=["moodle-feedback", "moodle"], roster=hostile / "roster.csv", to=tmp_path)
    worksheet = list(csv.DictReader(open(tmp_path / "moodle.csv", newline="", encoding="utf-8")))
    assert sorted(row["Identifier"] for row in worksheet) == ["Participant 5", "Participant 7", "Participant 8"]
    with zipfile.ZipFile(tmp_path / "moodle-feedback.zip") as archive:
        assert any(name.endswith("_5_assignfeedback_file_feedback.html") for name in archive.namelist())


# ---------------------------------------------------------------- notebooks


def _notebook(path, cells) -> None:
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}))


@pytest.mark.parametrize("source", [[1, 2], ["x = 1\n", ["nested"]], None, {"a": 1}])
def test_a_cell_source_that_is_not_text_makes_the_notebook_unreadable(tmp_path, source):
    path = tmp_path / "ivy.ipynb"
    _notebook(path, [{"cell_type": "code", "source": source, "metadata": {}}])
    submission = read_submission(path)
    assert submission.status == "unreadable" and "not text" in submission.problem


def test_a_notebook_with_more_code_than_a_module_may_hold_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "MAX_SOURCE_BYTES", 1000)
    path = tmp_path / "big.ipynb"
    _notebook(path, [{"cell_type": "code", "source": "x = 1\n" * 100, "metadata": {}}] * 3)
    submission = read_submission(path)
    assert submission.status == "unreadable" and "MB of code" in submission.problem


def test_a_notebook_of_millions_of_empty_lists_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "lists.ipynb"  # 512 MB of this would cost the grader over ten gigabytes to parse
    path.write_text('{"nbformat": 4, "cells": [], "metadata": {"x": [' + "[]," * 2_100_000 + "[]]}}")
    submission = read_submission(path)
    assert submission.status == "unreadable" and "too complex" in submission.problem


def test_a_notebook_with_more_code_cells_than_a_run_reports_on_is_refused(tmp_path):
    path = tmp_path / "cells.ipynb"
    _notebook(path, [{"cell_type": "code", "source": "x = 1", "metadata": {}}] * 10_001)
    submission = read_submission(path)
    assert submission.status == "unreadable" and "code cells" in submission.problem


def test_a_cell_too_deep_or_too_long_to_compile_goes_to_the_child_as_it_is(tmp_path):
    path = tmp_path / "deep.ipynb"
    deep = "-" * 100_000 + "1\n"
    _notebook(path, [{"cell_type": "code", "source": deep, "metadata": {}},
                     {"cell_type": "code", "source": "x = 1\n" * 50_000, "metadata": {}}])
    submission = read_submission(path)
    assert submission.status == "ok", submission.problem
    assert [cell.source for cell in submission.cells] == [deep, "x = 1\n" * 50_000]


# ---------------------------------------------------------------- Dask


def test_a_lying_worker_cannot_name_argument_positions_that_do_not_exist():
    from grader.child import wire
    from grader.distributed import report_from
    from grader.runner import Request

    asked = [Request("2b/fnn/1", "call", "fnn")]
    for mutated, expected in (([-1000, -1], ()), ([10**9], ()), ([0, 0, 1], (0, 1)), (list(range(10_000)), ())):
        text = json.dumps({"replies": {"2b/fnn/1": {"status": "ok", "value": wire.encode(1.5), "mutated": mutated}}})
        assert report_from(text, asked).replies["2b/fnn/1"].mutated == expected


def test_the_grader_s_dask_client_unpickles_nothing_from_the_cluster(monkeypatch):
    pytest.importorskip("distributed")
    import distributed

    from grader.distributed import DaskRunner
    from grader.errors import ClusterError

    seen = {}

    def client(*args, **kwargs):
        seen.update(kwargs)
        raise OSError("no cluster here")

    monkeypatch.setattr(distributed, "Client", client)
    with pytest.raises(ClusterError):
        DaskRunner(load_rubric(RUBRIC), "auto", "tcp://127.0.0.1:1")
    assert seen.get("deserializers") == ["msgpack"]


def test_canvas_never_skips_a_student_for_their_name_nor_mixes_up_two_sharing_an_id(hostile, tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from lms_importers import CanvasUser, canvas

    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email,canvas_id\nalice,Alice Points Possible,a@x,501\nerin,Erin,e@x,502\n"
                      "mallory,Mallory,m@x,502\n")
    _, warnings = export(hostile / "out", formats=["canvas"], roster=roster, to=tmp_path / "x",
                         assignment="Exercise 7 (12)")
    rows = list(csv.reader(open(tmp_path / "x" / "canvas.csv", newline="", encoding="utf-8")))
    assert [row[1] for row in rows[2:]] == ["501"]  # erin and mallory share 502: neither gets the other's grade
    comments = json.loads((tmp_path / "x" / "canvas-comments.json").read_text())["grade_data"]
    assert list(comments) == ["501"]
    assert any("sharing their canvas_id" in w for w in warnings) and any("Points Possible" in w for w in warnings)
    users = [CanvasUser(501, "Alice Points Possible", "Possible, Alice", "alice", "alice")]
    outcome = canvas(tmp_path / "x" / "canvas.csv", users, {12: "Exercise 7"}, {})
    assert list(outcome.imported) == ["Alice Points Possible"] and not outcome.failed, outcome


# ---------------------------------------------------------------- the Gradescope autograder


def test_the_autograder_grades_a_hand_in_with_a_fifo_a_link_and_a_deep_tree(tmp_path):
    import os

    from grader.gradescope_autograder import run

    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "source" / "grade-autograder.json").write_text(json.dumps({"rubric": str(RUBRIC), "sandbox": "auto"}))
    hand_in = root / "submission"
    hand_in.mkdir()
    shutil.copy(EXAMPLES / "erin.py", hand_in / "ex07.py")
    os.mkfifo(hand_in / "fifo.py")  # copying it would block, or fail with a traceback
    (hand_in / "reference.py").symlink_to(load_rubric(RUBRIC).reference_path)
    deep = hand_in
    for _ in range(1200):  # deeper than any recursive walk of Python's goes
        deep = deep / "d"
        os.mkdir(deep)
    try:
        path = run(root)
        document = json.loads(path.read_text())
        assert document["score"] == pytest.approx(51.0)
    finally:  # pytest's own clean-up walks folders recursively too
        while deep != hand_in:
            os.rmdir(deep)
            deep = deep.parent
