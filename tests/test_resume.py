"""Killing `grade` at any moment loses nothing: the rerun resumes and gives the same gradebook."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXAMPLES, GOLDEN
from grader.scoring import UNSANDBOXED

COMMAND = [sys.executable, "-c", "from grader.cli import entry_point; entry_point()"]
CHILD_MARKERS = ("grader/child/__main__.py", "/run/grade/child/__main__.py")


def grade(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([*COMMAND, str(EXAMPLES), "--out", str(out), "--jobs", "1", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kept(out: Path) -> list[Path]:
    return sorted((out / ".grade" / "results").glob("*.json"))


def ancestors(pid: int) -> set[int]:
    seen = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        try:
            pid = int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[-1].split()[1])
        except (OSError, ValueError):
            break
    return seen


def children_alive() -> list[str]:
    """Student-side processes that are not this test process's own (its warm runners')."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and os.getpid() not in ancestors(int(entry.name)):
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
            except OSError:
                continue
            if state != "Z" and any(marker in cmdline for marker in CHILD_MARKERS):
                found.append(cmdline[:120])
    return found


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM], ids=["kill-9", "ctrl-c", "term"])
def test_a_killed_run_resumes_to_the_same_gradebook(tmp_path, how):
    assert not children_alive(), "children of an earlier test are still running"
    out = tmp_path / "out"
    process = grade(out)
    deadline = time.monotonic() + 60
    while len(kept(out)) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(how)
    _, stderr = process.communicate(timeout=30)
    if how != signal.SIGKILL:
        assert process.returncode == 130 and "run the same command again to resume" in stderr
        assert "Traceback" not in stderr

    for _ in range(100):  # the kernel delivers the children's death signal asynchronously
        if not children_alive():
            break
        time.sleep(0.05)
    assert not children_alive(), "a student process outlived the grader"
    done = kept(out)
    assert 3 <= len(done) < 15
    for path in done:
        json.loads(path.read_text())  # every kept result is whole
    assert not (out / "gradebook.csv").exists() or (out / "gradebook.csv").read_text().count("\n") == 16
    stamps = {path: path.stat().st_mtime_ns for path in done}

    resumed = grade(out)
    stdout, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    gradebook = (out / "gradebook.csv").read_text().replace(UNSANDBOXED, "")
    assert gradebook == (GOLDEN / "gradebook.csv").read_text()
    assert {path: path.stat().st_mtime_ns for path in done} == stamps, "kept results were graded again"
    assert len(kept(out)) == 15
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")], "a temporary file was left behind"


def test_force_grades_everything_again(tmp_path):
    out = tmp_path / "out"
    assert grade(out).wait(timeout=120) == 0
    first = {path: path.stat().st_mtime_ns for path in kept(out)}
    assert grade(out, "--force").wait(timeout=120) == 0
    assert all(path.stat().st_mtime_ns != stamp for path, stamp in first.items())
    assert (out / "gradebook.csv").read_text().replace(UNSANDBOXED, "") == (GOLDEN / "gradebook.csv").read_text()
