"""Shared fixtures: the Exercise 7 rubric and plan, and a way to grade one source text."""

from __future__ import annotations

from pathlib import Path

import pytest

import grader.cli
from grader.pipeline import grade_submission
from grader.reference import Plan, prepare
from grader.rubric import Limits, load_rubric
from grader.runner import Runner
from grader.sandbox import choose
from grader.submissions import read_submission

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "submissions_example" / "ex07"
SCENARIOS = Path(__file__).parent / "scenarios"
GOLDEN = Path(__file__).parent / "golden"


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", help="Rewrite the golden files from this run.")


# Most tests grade Exercise 7 without --rubric, as in a course whose only sheet it is (module
# fixtures too, so this is set once here); a test marked `several_sheets` sees ./rubrics/ as it is.
_EVERY_SHEET = grader.cli.course_rubrics
grader.cli.course_rubrics = lambda: {"ex07": ROOT / "rubrics" / "ex07.yaml"}


@pytest.fixture(autouse=True)
def several_sheets(monkeypatch, request):
    if "several_sheets" in request.keywords:
        monkeypatch.setattr(grader.cli, "course_rubrics", _EVERY_SHEET)


@pytest.fixture(scope="session")
def update_goldens(request) -> bool:
    return request.config.getoption("--update-goldens")


@pytest.fixture(scope="session")
def rubric():
    return load_rubric(ROOT / "rubrics" / "ex07.yaml")


@pytest.fixture(scope="session")
def plan(rubric) -> Plan:
    return prepare(rubric)


@pytest.fixture(scope="session")
def fast_plan(plan) -> Plan:
    """The Exercise 7 plan with short time limits, for scenarios that hang on purpose."""
    limits = Limits(call_timeout=1.0, submission_timeout=30.0, memory_mb=1024)
    return Plan(plan.rubric.model_copy(update={"limits": limits}), plan.functions, plan.values)


@pytest.fixture(scope="session")
def ex07_reference():
    """Exercise 7's reference module, loaded for a test to compare with (never graded)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("ex07_reference_for_tests", ROOT / "reference" / "ex07.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def three_graded(tmp_path_factory) -> Path:
    """An output folder of three students graded once: alice (all right), erin (mistakes),
    leo (does not load). Copy it before changing it."""
    import shutil

    from grader.cli import main

    base = tmp_path_factory.mktemp("three")
    submissions = base / "submissions"
    submissions.mkdir()
    for name in ("alice", "erin", "leo"):
        shutil.copy(EXAMPLES / f"{name}.py", submissions / f"{name}.py")
    main(submissions=submissions, out=base / "out", jobs=1)
    return base / "out"


@pytest.fixture(scope="module")
def ex07_release(tmp_path_factory):
    """What `grade assign rubrics/ex07.yaml` writes: the template notebook and module, and the bundle."""
    from click.testing import CliRunner

    from grader.cli import cli

    out = tmp_path_factory.mktemp("release")
    outcome = CliRunner().invoke(cli, ["assign", str(ROOT / "rubrics" / "ex07.yaml"), "--out", str(out)])
    assert outcome.exit_code == 0, outcome.output
    return out


@pytest.fixture(scope="session")
def correct_source() -> str:
    return (EXAMPLES / "alice.py").read_text()


@pytest.fixture(scope="session")
def confinement():
    """The real sandbox where it works (CI installs it), else the plain child."""
    return choose("auto")


@pytest.fixture(scope="session")
def runner(fast_plan, confinement):
    with Runner.for_rubric(fast_plan.rubric, confinement=confinement) as shared:
        yield shared


@pytest.fixture
def grade_source(tmp_path, fast_plan, runner):
    """Grade a source text written to `<name>.py` (or a notebook file's bytes)."""
    def grade(source: str, name: str = "student", suffix: str = ".py"):
        path = tmp_path / f"{name}{suffix}"
        path.write_text(source)
        submission = read_submission(path, entry_module="ex07.py")
        return grade_submission(fast_plan, submission, runner)
    return grade
