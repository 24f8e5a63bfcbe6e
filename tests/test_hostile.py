"""Attacks on the grader, one file each in hostile/, graded beside an honest victim.

Each attack is appended to a correct submission and declares the questions it may lose
(`# loses: ...`). Every test asserts that the attack gained nothing (its wrong or forged
answers stay wrong; the rubric, reference, gradebook and kept results are untouched; no
marker file, connection or process appears; the victim scores as it does alone) and that
the attacker's honest answers were still graded (it loses exactly the declared questions).
Attacks marked `# requires: sandbox` would harm the machine, or succeed, without one: they
are skipped where bubblewrap cannot run, and CI, which installs it, refuses to skip them.

An attack is a file `<name>.py`, or a folder `<name>/` whose `attack.py` is appended to the
correct solution as the folder submission's `ex07.py` and whose other files ship beside it.
Headers: `# jobs: N` (concurrent slots, 2 by default; 1 puts every victim after the attacker
in the attacker's own slot), `# id: TEXT` (the attacker's file or folder name; its row is
found as the one row that is not a victim's), `# cells: N` (the attacker hands in a notebook:
the solution, then the attack as N cells). `@@BUNDLE_TABLE@@` in an attack becomes the
self-check bundle as a lookup table.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import socket
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import EXAMPLES, ROOT
from grader import cgroup
from grader.cli import main
from grader.scoring import UNSANDBOXED
from test_scenarios import header, processes_running

HOSTILE = Path(__file__).parent / "hostile"
ATTACKS = sorted([*HOSTILE.glob("*.py"), *(p for p in HOSTILE.iterdir() if (p / "attack.py").is_file())])
VICTIMS = ("victim1", "victim2", "victim3")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the rubric and reference with short limits, so attacks aim at copies."""
    folder = tmp_path_factory.mktemp("course")
    (folder / "reference").mkdir()
    shutil.copy(ROOT / "reference" / "ex07.py", folder / "reference" / "ex07.py")
    shutil.copy(ROOT / "reference" / "ex07_support.py", folder / "reference" / "ex07_support.py")
    text = (ROOT / "rubrics" / "ex07.yaml").read_text()
    text = text.replace("call_timeout: 3 ", "call_timeout: 1 ").replace("submission_timeout: 60", "submission_timeout: 30")
    text = text.replace("support: ../reference/ex07_support.py", "support: reference/ex07_support.py")
    (folder / "ex07.yaml").write_text(text.replace("reference: ../reference/ex07.py", "reference: reference/ex07.py"))
    return folder


@pytest.fixture(scope="module")
def victim_alone(course, tmp_path_factory, confinement):
    folder = tmp_path_factory.mktemp("alone")
    for victim in VICTIMS:
        shutil.copy(EXAMPLES / "alice.py", folder / f"{victim}.py")
    out = tmp_path_factory.mktemp("alone-out")
    main(submissions=folder, rubric=course / "ex07.yaml", out=out, jobs=1)
    rows = pd.read_csv(out / "gradebook.csv", dtype={"student": str}).set_index("student")
    assert all(rows.loc[v].equals(rows.loc[VICTIMS[0]]) for v in VICTIMS)
    return rows.loc[VICTIMS[0]]


class Listener:
    """A server on the grader's loopback that records whoever connects."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.socket.close()


def _reset_peak_memory() -> bool:
    """Reset this process's peak resident memory (Linux: 5 > /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_memory_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def _attack_text(attack: Path) -> str:
    return (attack / "attack.py" if attack.is_dir() else attack).read_text()


def _place_attack(attack: Path, text: str, submissions: Path, replace) -> None:
    """The attacker's hand-in: a module, or a folder with the attack's extra files."""
    name = header(text, "id") or "attacker"
    solution = (EXAMPLES / "alice.py").read_text() + "\n\n" + replace(text)
    if header(text, "cells"):  # a notebook: the solution, then the attack as that many cells
        import nbformat
        from nbformat import v4

        cells = [v4.new_code_cell((EXAMPLES / "alice.py").read_text())]
        cells += [v4.new_code_cell(replace(text)) for _ in range(int(header(text, "cells")))]
        nbformat.write(v4.new_notebook(cells=cells), submissions / f"{name}.ipynb")
        return
    if not attack.is_dir():
        (submissions / f"{name}.py").write_text(solution)
        return
    folder = submissions / name
    shutil.copytree(attack, folder, ignore=shutil.ignore_patterns("attack.py", "__pycache__"))
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".txt", ".json"):
            path.write_text(replace(path.read_text()))
    (folder / "ex07.py").write_text(solution)


@pytest.fixture(scope="module")
def bundle_table(tmp_path_factory) -> dict:
    """The self-check bundle a student holds, as a lookup table (for @@BUNDLE_TABLE@@)."""
    from click.testing import CliRunner
    from test_bundle_honesty import lookup_table

    from grader.cli import cli

    out = tmp_path_factory.mktemp("release")
    outcome = CliRunner().invoke(cli, ["assign", str(ROOT / "rubrics" / "ex07.yaml"), "--out", str(out)])
    assert outcome.exit_code == 0, outcome.output
    return lookup_table(json.loads((out / "ex07-check.json").read_text()))


@pytest.mark.parametrize("attack", ATTACKS, ids=[p.stem for p in ATTACKS])
def test_attack_gains_nothing(attack, course, victim_alone, confinement, tmp_path, rubric, request):
    text = _attack_text(attack)
    if header(text, "requires") == "sandbox" and not confinement.sandboxed:
        pytest.skip("this attack would harm the machine without the sandbox (install bubblewrap)")
    if header(text, "requires") == "memory-cap" and not cgroup.available():
        pytest.skip("slots get no memory cap here (control groups need root and a memory controller)")
    out = tmp_path / "out"
    marker = tmp_path / "marker"
    token = f"{400 + random.random():.9f}"
    listener = Listener()
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for victim in VICTIMS:
        shutil.copy(EXAMPLES / "alice.py", submissions / f"{victim}.py")
    replacements = {"@@REFERENCE@@": str(course / "reference" / "ex07.py"), "@@RUBRIC@@": str(course / "ex07.yaml"),
                    "@@OUT@@": str(out), "@@MARKER@@": str(marker), "@@PORT@@": str(listener.port),
                    "@@TOKEN@@": token}
    if "@@BUNDLE_TABLE@@" in text:
        replacements["@@BUNDLE_TABLE@@"] = repr(request.getfixturevalue("bundle_table"))

    def replace(content: str) -> str:
        for placeholder, value in replacements.items():
            content = content.replace(placeholder, value)
        return content

    _place_attack(attack, text, submissions, replace)
    out.mkdir()
    (out / "sentinel.txt").write_text("kept\n")
    guarded = [course / "ex07.yaml", course / "reference" / "ex07.py", out / "sentinel.txt"]
    before = {path: digest(path) for path in guarded}
    disk_before = shutil.disk_usage(tmp_path).free
    jobs = int(header(text, "jobs") or 2)
    peak_resettable = _reset_peak_memory()
    started = time.monotonic()
    try:
        main(submissions=submissions, rubric=course / "ex07.yaml", out=out, jobs=jobs)
    finally:
        listener.close()
    elapsed = time.monotonic() - started

    assert {path: digest(path) for path in guarded} == before, "a guarded file changed"
    assert not marker.exists(), "a pickle payload ran in the grader"
    assert listener.connections == 0, "the student's code reached the grader's loopback"
    assert not processes_running(token), "a process of the submission outlived it"
    assert disk_before - shutil.disk_usage(tmp_path).free < 200 * 2**20, "the disk filled up"
    if peak_resettable:
        assert _peak_memory_mb() < 1500, f"the grader's memory peaked at {_peak_memory_mb():.0f} MB"
    # the attacker's own limit (30 s) plus the victims' and the sandbox's start, not more
    assert elapsed < 30 * (1 + len(VICTIMS) // jobs) + 30, f"the run took {elapsed:.0f} s"

    gradebook = pd.read_csv(out / "gradebook.csv", dtype={"student": str}).set_index("student")
    assert len(gradebook) == 1 + len(VICTIMS), "a row was lost"
    for victim in VICTIMS:
        assert gradebook.loc[victim].equals(victim_alone), f"the attack changed {victim}'s result"
    attacker = gradebook.drop(list(VICTIMS)).iloc[0]
    victim = gradebook.loc[VICTIMS[0]]
    lost = {q for q in rubric.question_ids if attacker[q] < victim[q]}
    assert lost == set((header(text, "loses") or "").split())
    assert attacker["status"].removesuffix(UNSANDBOXED) in ("ok", "error")

    for page in (out / "feedback").iterdir():
        assert page.stat().st_size < 1 << 20, f"{page.name}: {page.stat().st_size} bytes of feedback"
    kept = sorted((out / ".grade" / "results").glob("*.json"))
    assert len(kept) == 1 + len(VICTIMS) and all('"forged"' not in path.read_text() for path in kept)
    assert all(path.stat().st_size < 1 << 20 for path in kept), "a kept result is not bounded"


def test_there_are_enough_attacks():
    assert len(ATTACKS) >= 20


def test_ci_runs_the_real_sandbox(confinement):
    if os.environ.get("CI") and not confinement.sandboxed:
        pytest.fail("CI must run the attacks inside the sandbox: install bubblewrap in .ci/run")
    if os.environ.get("CI") and os.geteuid() == 0 and not cgroup.available():
        pytest.fail("CI runs as root: its slots must get a memory cap (a control group)")
