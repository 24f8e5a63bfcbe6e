"""The command line: exit codes, one-line errors, the summary, help for every command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import EXAMPLES, ROOT
from grader.cli import cli


@pytest.fixture
def small_folder(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    shutil.copy(EXAMPLES / "alice.py", folder / "alice.py")
    (folder / "broken.ipynb").write_text('{"cells": [')
    return folder


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_grading_a_folder_writes_outputs_and_a_summary(small_folder, tmp_path):
    out = tmp_path / "out"
    result = invoke(small_folder, "--out", out)
    assert result.exit_code == 0, result.output
    assert "Graded 2 students" in result.stdout
    assert "1 ok" in result.stdout and "1 unreadable" in result.stdout
    assert "free-text answers have suggested points and await review" in result.stdout
    assert (out / "gradebook.csv").is_file() and (out / "results.csv").is_file()
    assert (out / "feedback" / "alice.md").is_file() and (out / "feedback" / "broken.md").is_file()
    assert "\x1b[" not in result.output  # no progress bar or colours when not on a terminal
    assert not list(out.rglob("*.tmp")), "temporary files were left behind"


def test_the_explicit_run_command_is_the_same(small_folder, tmp_path):
    result = invoke("run", small_folder, "--out", tmp_path / "out", "--jobs", 1)
    assert result.exit_code == 0
    assert "Graded 2 students" in result.stdout


def test_a_missing_folder_is_one_line_and_exit_2(tmp_path):
    result = invoke(tmp_path / "nowhere", "--out", tmp_path / "out")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grade: error:") and "no such folder" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("sandbox", ["as installed", "without bubblewrap", "--sandbox off"])
def test_an_unwritable_output_folder_is_one_line(small_folder, tmp_path, monkeypatch, sandbox):
    """One error line, last on stderr, whether or not the no-sandbox warning comes first."""
    import grader.sandbox

    if sandbox == "without bubblewrap":
        monkeypatch.setattr(grader.sandbox, "probe", lambda: ("bwrap is not installed", None))
    blocker = tmp_path / "file"
    blocker.write_text("")
    options = ["--sandbox", "off"] if sandbox == "--sandbox off" else []
    result = invoke(small_folder, "--out", blocker, *options)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("grade: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0] and "--out" in errors[0]
    assert all(line.startswith(("grade: warning:", "grade: WARNING:")) for line in lines[:-1]), lines
    if sandbox != "as installed":
        assert any("WITHOUT a sandbox" in line for line in lines[:-1]), "the warning should come first here"
    assert "Traceback" not in result.output


def test_an_internal_error_is_one_line_without_traceback(small_folder, tmp_path, monkeypatch):
    import grader.cli

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(grader.cli, "prepare", explode)
    result = invoke(small_folder, "--out", tmp_path / "out")
    assert result.exit_code == 3
    assert "internal error: RuntimeError: boom" in result.stderr and "-v" in result.stderr
    assert "Traceback" not in result.output


def test_every_command_has_help():
    for name, command in cli.commands.items():
        assert command.help and command.help.strip(), f"`grade {name}` has no help text"
        result = invoke(name, "--help")
        assert result.exit_code == 0 and "Usage:" in result.stdout
    assert invoke("--help").exit_code == 0


def test_without_a_sandbox_the_summary_and_every_row_say_so(small_folder, tmp_path):
    out = tmp_path / "out"
    result = invoke(small_folder, "--out", out, "--sandbox", "off")
    assert result.exit_code == 0
    assert "WITHOUT a sandbox" in result.stderr and "WITHOUT a sandbox" in result.stdout
    rows = (out / "gradebook.csv").read_text().splitlines()
    alice = next(r for r in rows if r.startswith("alice,"))
    assert alice.endswith(",ok (not sandboxed)")


def test_sandbox_required_refuses_where_it_cannot_run(small_folder, tmp_path, monkeypatch):
    import grader.sandbox

    monkeypatch.setattr(grader.sandbox, "probe", lambda: ("bwrap is not installed", None))
    result = invoke(small_folder, "--out", tmp_path / "out", "--sandbox", "required")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "sandbox is required" in lines[0] and "apt-get install bubblewrap" in lines[0]
    assert not (tmp_path / "out").exists()


def test_the_rubric_can_require_the_sandbox(small_folder, tmp_path, monkeypatch):
    import grader.sandbox

    from conftest import ROOT

    rubric = tmp_path / "strict.yaml"
    text = (ROOT / "rubrics" / "ex07.yaml").read_text().replace("reference: ../reference/ex07.py",
                                                                 f"reference: {ROOT / 'reference' / 'ex07.py'}\nsandbox: required")
    text = text.replace("support: ../reference/ex07_support.py", f"support: {ROOT / 'reference' / 'ex07_support.py'}")
    rubric.write_text(text)
    monkeypatch.setattr(grader.sandbox, "probe", lambda: ("bwrap is not installed", None))
    result = invoke(small_folder, "--out", tmp_path / "out", "--rubric", rubric)
    assert result.exit_code == 2 and "sandbox is required" in result.stderr


def test_temporary_files_of_a_killed_run_are_swept(small_folder, tmp_path):
    out = tmp_path / "out"
    (out / ".grade" / "results").mkdir(parents=True)
    stale = [out / ".gradebook.csv.abc.tmp", out / ".grade" / "results" / ".alice.json.x.tmp"]
    for path in stale:
        path.write_text("half")
    assert invoke(small_folder, "--out", out).exit_code == 0
    assert not any(path.exists() for path in stale)


def test_only_regrades_the_named_students_and_keeps_the_rest(small_folder, tmp_path):
    out = tmp_path / "out"
    assert invoke(small_folder, "--out", out).exit_code == 0
    kept = {p.name: p.stat().st_mtime_ns for p in (out / ".grade" / "results").glob("*.json")}
    assert len(kept) == 2
    result = invoke(small_folder, "--out", out, "--only", "alice")
    assert result.exit_code == 0 and "Graded 2 students" in result.stdout
    now = {p.name: p.stat().st_mtime_ns for p in (out / ".grade" / "results").glob("*.json")}
    changed = {name for name in kept if now[name] != kept[name]}
    assert len(changed) == 1 and next(iter(changed)).startswith("alice")


def test_only_with_an_unknown_id_is_one_line(small_folder, tmp_path):
    result = invoke(small_folder, "--out", tmp_path / "out", "--only", "alcie")
    assert result.exit_code == 2
    assert "no submission has the id 'alcie' (did you mean alice?)" in result.stderr


@pytest.mark.several_sheets
def test_without_rubric_grade_takes_the_output_folders_or_the_only_one_in_rubrics(tmp_path, monkeypatch):
    from grader.cli import default_rubric
    from grader.errors import GradeError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(GradeError, match="none in ./rubrics/: pass --rubric"):
        default_rubric(tmp_path / "out")
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / "sheet1.yaml").write_text("title: one\n")
    assert default_rubric(tmp_path / "out") == Path("rubrics") / "sheet1.yaml"
    (tmp_path / "rubrics" / "sheet2.yaml").write_text("title: two\n")
    with pytest.raises(GradeError, match="2 in ./rubrics/ \\(sheet1.yaml, sheet2.yaml\\)"):
        default_rubric(tmp_path / "out")
    # a submissions folder named as one of them is graded with it
    assert default_rubric(tmp_path / "out", tmp_path / "sheet2") == Path("rubrics") / "sheet2.yaml"
    (tmp_path / "out" / ".grade").mkdir(parents=True)
    recorded = tmp_path / "elsewhere.yaml"
    recorded.write_text("title: graded\n")
    (tmp_path / "out" / ".grade" / "rubric.json").write_text(
        '{"format": 1, "path": "%s", "sha256": "x", "title": "graded"}' % recorded)
    assert default_rubric(tmp_path / "out") == recorded


@pytest.mark.several_sheets
def test_a_course_folder_grades_each_sheet_with_its_own_rubric(tmp_path, monkeypatch):
    # `grade submissions_example/` in the project: a folder per sheet, named as the rubrics
    monkeypatch.chdir(ROOT)
    course = tmp_path / "course"
    (course / "ex07").mkdir(parents=True)
    shutil.copy(EXAMPLES / "alice.py", course / "ex07" / "alice.py")
    (course / "textproc").mkdir()
    (course / "textproc" / "zed.py").write_text("x = 1\n")
    result = invoke(course, "--out", tmp_path / "grades", "--jobs", 1)
    assert result.exit_code == 0, result.output
    assert "ex07 (graded with rubrics/ex07.yaml)" in result.output
    assert "textproc (graded with rubrics/textproc.yaml)" in result.output
    ex07 = pd.read_csv(tmp_path / "grades" / "ex07" / "gradebook.csv", dtype={"student": str})
    textproc = pd.read_csv(tmp_path / "grades" / "textproc" / "gradebook.csv", dtype={"student": str})
    assert list(ex07["student"]) == ["alice"] and ex07["total"][0] > 0
    assert list(textproc["student"]) == ["zed"] and textproc["total"][0] == 0


# ---------------------------------------------------------------- `grade check` starts light

HEAVY = ("pandas", "rich", "matplotlib", "flask", "wordllama", "sklearn", "scipy")


def _imported_after(code: str, cwd: Path) -> set[str]:
    """The top-level modules a fresh interpreter has imported after running `code`."""
    import subprocess
    import sys

    probe = code + "\nimport sys\nprint(' '.join(sorted({name.split('.')[0] for name in sys.modules})))\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_the_command_line_and_the_bundle_load_without_numpy_pandas_or_the_rubric_models(tmp_path):
    loaded = _imported_after("import grader.cli, grader.selfcheck, grader.runner", tmp_path)
    assert not loaded & {"numpy", "pydantic", "yaml", *HEAVY}, loaded & {"numpy", "pydantic", "yaml", *HEAVY}


def test_grade_check_imports_none_of_the_instructors_tools(tmp_path):
    """`grade check` on a student's machine: no pandas, rich, matplotlib, flask or wordllama
    (the gradebook, progress bars, reports, the review page and free-text suggestions)."""
    release = tmp_path / "release"
    assert invoke("assign", ROOT / "rubrics" / "ex07.yaml", "--out", release).exit_code == 0
    shutil.copy(EXAMPLES / "alice.py", tmp_path / "ex07.py")
    code = ("import sys\nfrom grader.cli import cli\n"
            f"try:\n    cli(['check', 'ex07.py', '--bundle', {str(release / 'ex07-check.json')!r}])\n"
            "except SystemExit as exit:\n    assert not exit.code, exit.code\n")
    loaded = _imported_after(code, tmp_path)
    assert "numpy" in loaded and not loaded & set(HEAVY), loaded & set(HEAVY)


def test_grade_check_starts_the_students_process_before_it_loads_the_judges(tmp_path, monkeypatch):
    """The student's interpreter starts (and imports numpy) while this one loads what
    judging needs: `Runner.warm` comes before the judging module is imported."""
    import sys

    import grader
    import grader.runner
    from grader import selfcheck

    release = tmp_path / "release"
    assert invoke("assign", ROOT / "rubrics" / "ex07.yaml", "--out", release).exit_code == 0
    order = []
    warm = grader.runner.Runner.warm

    def warmed(self):
        order.append(("warm", "grader.selfjudge" in sys.modules))
        return warm(self)

    monkeypatch.setattr(grader.runner.Runner, "warm", warmed)
    monkeypatch.delitem(sys.modules, "grader.selfjudge", raising=False)
    monkeypatch.delattr(grader, "selfjudge", raising=False)  # as in a fresh `grade check` process
    lines = selfcheck.check_submission(selfcheck.load_bundle(release / "ex07-check.json"), EXAMPLES / "alice.py")
    assert order == [("warm", False)] and "grader.selfjudge" in sys.modules
    decided = [line.verdict for line in lines if line.where == "here"]
    assert len(decided) > 10 and set(decided) == {"passed"}


def test_grade_check_says_where_the_module_stopped_as_the_grade_does(tmp_path):
    """A module that raises halfway made every later name "not defined", and nothing said why."""
    release = tmp_path / "release"
    assert invoke("assign", ROOT / "rubrics" / "ex07.yaml", "--out", release).exit_code == 0
    source = (EXAMPLES / "alice.py").read_text().splitlines()
    middle = len(source) // 2
    while source[middle].startswith((" ", "\t", ")", "]", "}")) or not source[middle].strip():
        middle += 1  # a line at the module's top level
    source.insert(middle, "1 / 0")
    work = tmp_path / "ex07.py"
    work.write_text("\n".join(source) + "\n")
    result = invoke("check", work, "--bundle", release / "ex07-check.json")
    assert "Notes on running your code:\n" in result.output
    assert (f"  - ex07.py stopped at line {middle + 1} with ZeroDivisionError: division by zero; only what was "
            "defined before that line was graded.") in result.output
