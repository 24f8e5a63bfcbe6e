"""The Gradescope autograder end to end: `grade export --format gradescope-autograder` builds
autograder.zip; it is unpacked into a fake /autograder tree (a temporary root), the wheel in it
is installed there with pip (no index, no dependencies: those come from this environment, as
setup.sh would fetch them from PyPI), and `run_autograder` grades the submission there. The
results.json it writes is validated against a JSON Schema written from Gradescope's
specification (gradescope_results.schema.json)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from conftest import EXAMPLES, ROOT
from grader.cli import cli, main

RUBRIC = ROOT / "rubrics" / "ex07.yaml"
SCHEMA = json.loads((Path(__file__).parent / "gradescope_results.schema.json").read_text())
DUE = "2025-05-20T23:59:00.000000+02:00"


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    """The zip, built from an output folder graded with Exercise 7, and the wheel in it installed."""
    base = tmp_path_factory.mktemp("gradescope")
    (base / "submissions").mkdir()
    shutil.copy(EXAMPLES / "alice.py", base / "submissions" / "alice.py")
    main(submissions=base / "submissions", out=base / "out", jobs=1)
    result = CliRunner().invoke(cli, ["export", "--out", str(base / "out"), "--to", str(base / "zip"),
                                      "--format", "gradescope-autograder"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Wrote {base / 'zip' / 'autograder.zip'}"
    path = base / "zip" / "autograder.zip"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        wheel = next(n for n in names if n.endswith(".whl"))
        archive.extract(wheel, base)
    site = base / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(site), str(base / wheel)], check=True, capture_output=True)
    return path, site


def fake_root(tmp_path: Path, zip_path: Path, submission: Path, metadata: dict | None) -> Path:
    """/autograder as Gradescope lays it out: source/ (the zip), run_autograder, submission/, metadata."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
        for item in archive.infolist():  # zipfile drops the modes; Gradescope keeps them
            os.chmod(root / "source" / item.filename, (item.external_attr >> 16) & 0o777)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    shutil.copy(submission, root / "submission" / "ex07.py")
    (root / "results").mkdir()
    if metadata is not None:
        (root / "submission_metadata.json").write_text(json.dumps(metadata))
    return root


def run_autograder(root: Path, site: Path) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADE_PYTHON": sys.executable,
           "PYTHONPATH": str(site)}  # the wheel's grader, not this checkout's
    done = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True, text=True, timeout=600,
                          cwd=root)
    assert done.returncode == 0, done.stderr
    assert f"Wrote {root / 'results' / 'results.json'}" in done.stdout
    return json.loads((root / "results" / "results.json").read_text())


def metadata(created_at: str) -> dict:
    return {"id": 123456, "created_at": created_at,
            "assignment": {"due_date": DUE, "group_size": None, "group_submission": False, "id": 25828,
                           "course_id": 1234, "late_due_date": None, "release_date": "2025-05-01T00:00:00+02:00",
                           "title": "Exercise 7", "total_points": "55.0"},
            "submission_method": "upload",
            "users": [{"email": "erin@uni.example", "id": 1234, "name": "Erin Erinson"}],
            "previous_submissions": []}


def test_the_zip_holds_what_gradescope_runs(autograder):
    path, _ = autograder
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        modes = {item.filename: (item.external_attr >> 16) & 0o777 for item in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        manifest = json.loads(archive.read("grade-autograder.json"))
        wheel = next(n for n in names if n.endswith(".whl"))
        with archive.open(wheel) as stream, zipfile.ZipFile(stream) as inner:
            packaged = inner.namelist()
    assert {"setup.sh", "run_autograder", "grade-autograder.json", "course/rubrics/ex07.yaml",
            "course/reference/ex07.py", "course/reference/ex07_support.py"} <= names
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert f"pip install /autograder/source/{wheel}" in setup and "bubblewrap" in setup
    assert manifest == {"rubric": "course/rubrics/ex07.yaml", "sandbox": "required"}
    assert "grader/gradescope_autograder.py" in packaged and "grader/exports/gradescope.py" in packaged
    assert not [n for n in packaged if "reference" in n.split("/")[0] or n.endswith(".yaml")], "no course files"


def test_run_autograder_grades_a_late_submission_end_to_end(autograder, tmp_path):
    path, site = autograder
    root = fake_root(tmp_path, path, EXAMPLES / "erin.py", metadata("2025-05-22T11:59:00.000000+02:00"))
    document = run_autograder(root, site)
    jsonschema.validate(document, SCHEMA)
    assert document["test_output_format"] == "md" and document["output_format"] == "md"
    assert document["visibility"] == "after_published", "free-text points await review"
    late = document["tests"][-1]
    assert late["name"] == "late penalty" and late["score"] < 0 and late["visibility"] == "visible"
    assert sum(t["score"] for t in document["tests"]) == pytest.approx(document["score"])
    assert document["score"] == pytest.approx(51 * 0.8)  # 1.5 days late: two days begun, 10% each
    assert "Late penalty" in document["output"]
    statuses = {t["name"]: t["status"] for t in document["tests"]}
    assert statuses["2e lora_fnn"] == "failed" and statuses["1c clm_objective"] == "passed"
    waiting = {t["name"] for t in document["tests"] if t["visibility"] == "after_published"}
    assert "1a answer" in waiting and "1c clm_objective" not in waiting


def test_on_time_and_without_metadata_there_is_no_penalty(autograder, tmp_path):
    path, site = autograder
    for name, data in (("on_time", metadata("2025-05-20T10:00:00+02:00")), ("no_metadata", None)):
        root = fake_root(tmp_path / name, path, EXAMPLES / "erin.py", data)
        document = run_autograder(root, site)
        jsonschema.validate(document, SCHEMA)
        assert document["score"] == pytest.approx(51.0)
        assert "late penalty" not in [t["name"] for t in document["tests"]]


def test_a_broken_root_is_one_line_and_no_results(autograder, tmp_path):
    path, site = autograder
    root = fake_root(tmp_path, path, EXAMPLES / "erin.py", None)
    (root / "source" / "grade-autograder.json").unlink()
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADE_PYTHON": sys.executable, "PYTHONPATH": str(site)}
    done = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True, text=True, cwd=root)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "grade-autograder.json" in done.stderr and not (root / "results" / "results.json").exists()


def test_the_export_results_validate_too(tmp_path):
    """`grade export --format gradescope` writes the same document per student."""
    (tmp_path / "s").mkdir()
    shutil.copy(EXAMPLES / "erin.py", tmp_path / "s" / "erin.py")
    main(submissions=tmp_path / "s", out=tmp_path / "out", jobs=1)
    result = CliRunner().invoke(cli, ["export", "--out", str(tmp_path / "out"), "--format", "gradescope"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    jsonschema.validate(json.loads((tmp_path / "out" / "export" / "gradescope" / "erin" / "results.json")
                                   .read_text()), SCHEMA)
    assert stat.S_ISREG((tmp_path / "out" / "export" / "gradescope" / "erin" / "results.json").stat().st_mode)


def test_where_gradescope_cannot_run_the_sandbox_the_zip_refuses_to_grade(autograder, tmp_path, monkeypatch, capsys):
    """As root beside the grader, unsandboxed student code could rewrite its own results.json."""
    import grader.sandbox
    from grader.gradescope_autograder import main as run_main

    path, _ = autograder
    root = fake_root(tmp_path, path, EXAMPLES / "erin.py", metadata("2025-05-22T11:59:00.000000+02:00"))
    monkeypatch.setattr(grader.sandbox, "_PROBED", ("bwrap is not installed", None))  # as in Docker's default
    assert run_main(["--root", str(root)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("grade: error: the sandbox is required but cannot run") and "\n" not in error
    assert not (root / "results" / "results.json").exists()


def test_an_instructor_may_build_a_zip_that_runs_without_the_sandbox(tmp_path):
    out = tmp_path / "out"
    (tmp_path / "subs").mkdir()
    shutil.copy(EXAMPLES / "alice.py", tmp_path / "subs" / "alice.py")
    main(submissions=tmp_path / "subs", out=out, jobs=1)
    result = CliRunner().invoke(cli, ["export", "--out", str(out), "--to", str(tmp_path / "zip"),
                                      "--format", "gradescope-autograder", "--sandbox", "auto"])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "zip" / "autograder.zip") as archive:
        assert json.loads(archive.read("grade-autograder.json"))["sandbox"] == "auto"
