"""Misbehaving submissions cost only the questions they break.

Each file in scenarios/ is appended to a correct submission (later definitions win) and
declares in its header which questions it loses (`# loses: 3b`), the outcome of the broken
check (`# outcome: timeout`) and, when not ok, the row's status (`# status: load_error`).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from conftest import SCENARIOS
from grader.scoring import UNSANDBOXED

SCENARIO_FILES = sorted(SCENARIOS.glob("*.py"))


def header(text: str, field: str) -> str | None:
    match = re.search(rf"^# {field}:(.*)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


@pytest.fixture(scope="module")
def baseline(request, fast_plan, correct_source, tmp_path_factory, confinement, runner):
    from grader.pipeline import grade_submission
    from grader.scoring import UNSANDBOXED, question_points
    from grader.submissions import read_submission

    path = tmp_path_factory.mktemp("baseline") / "alice.py"
    path.write_text(correct_source)
    student = grade_submission(fast_plan, read_submission(path), runner)
    assert student.status == "ok" + ("" if confinement.sandboxed else UNSANDBOXED)
    assert student.checks and all(c.outcome in ("passed", "needs_review") for c in student.checks)
    return question_points(fast_plan.rubric, student.checks)


@pytest.mark.parametrize("scenario", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_scenario_loses_exactly_its_questions(scenario, baseline, grade_source, correct_source, fast_plan):
    from grader.scoring import question_points

    text = scenario.read_text()
    student = grade_source(correct_source + "\n\n" + text, name=scenario.stem)
    points = question_points(fast_plan.rubric, student.checks)
    lost = {qid for qid in points if points[qid] < baseline[qid]}
    assert lost == set((header(text, "loses") or "").split()), [
        (c.question, c.check, c.outcome, c.feedback) for c in student.checks if c.question in lost]
    assert all(points[q] == baseline[q] for q in points if q not in lost)
    status = header(text, "status") or ("error" if header(text, "outcome") in ("error", "timeout") else "ok")
    assert student.status.removesuffix(UNSANDBOXED) == status
    outcome = header(text, "outcome")
    if outcome:
        broken = [c for c in student.checks if c.question in lost and c.outcome not in ("passed", "needs_review")]
        assert broken and all(c.outcome == outcome for c in broken), [(c.check, c.outcome) for c in broken]
        assert all(c.feedback for c in broken)


def test_a_timeout_names_the_function_and_the_limit(grade_source, correct_source):
    student = grade_source(correct_source + (SCENARIOS / "loops_forever.py").read_text())
    lm_head = next(c for c in student.checks if c.check == "lm_head")
    assert lm_head.outcome == "timeout"
    assert "`lm_head` did not return within 1 s" in lm_head.feedback


def test_a_crash_in_one_function_restarts_a_fresh_process(grade_source, correct_source):
    student = grade_source(correct_source + (SCENARIOS / "os_exit_in_function.py").read_text())
    check = next(c for c in student.checks if c.check == "houlsby_params")
    assert "process ended" in check.feedback and "exit status 0" in check.feedback
    assert any("fresh process" in note for note in student.notes)
    later = [c for c in student.checks if c.question > "2c" and c.kind == "function"]
    assert later and all(c.outcome == "passed" for c in later)


def test_memory_cap_turns_a_huge_allocation_into_an_error(grade_source, correct_source):
    student = grade_source(correct_source + (SCENARIOS / "allocates_50gb.py").read_text())
    check = next(c for c in student.checks if c.check == "multi_head_attention")
    assert "MemoryError" in check.feedback


def test_no_process_of_the_submission_outlives_it(grade_source, correct_source):
    token = f"{300 + random.random():.9f}"
    source = correct_source + f'''
import subprocess as _subprocess

def lm_head(H, E):
    _subprocess.Popen(["sleep", "{token}"])
    while True:
        pass
'''
    student = grade_source(source)
    assert next(c for c in student.checks if c.check == "lm_head").outcome == "timeout"
    assert not processes_running(token)


def processes_running(token: str) -> list[int]:
    """Host pids whose command line contains `token` (zombies excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if token in cmdline and state != "Z":
            found.append(int(entry.name))
    return found
