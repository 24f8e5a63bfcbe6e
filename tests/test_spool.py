"""What showing a student sets aside for results.csv and the ledger (grader/spool.py): read
back, it records exactly what the result itself would, and it leaves nothing behind."""

from __future__ import annotations

import json
import sqlite3

from conftest import EXAMPLES, ROOT
from grader.checks import CheckResult
from grader.cli import main
from grader.ledger import Ledger, kept_rows
from grader.scoring import StudentResult
from grader.spool import Spool

RUBRIC = ROOT / "rubrics" / "ex07.yaml"


def tables(path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as db:
        return {table: db.execute(f"select * from {table} order by rowid").fetchall() for table in ("kept", "kept_checks")}


def test_a_result_set_aside_and_read_back_is_kept_as_the_result_itself_would_be(tmp_path):
    checks = (CheckResult("1a", "answer", "text", 2.0, 1.5, "needs_review", "Covers: **x** \u00e9", answer="a\u00a0b \U0001f600",
                          confidence=0.8125, flags="reads like a keyword list"),
              CheckResult("2b", "fnn", "function", 2.0, 0.0, "mistake", "x" * 50_000, mistake="shape (2,)"),
              CheckResult("2c", "p", "value", 1.0, float("nan"), "error", "", visibility="hidden"))
    result = StudentResult("ann\u200b", "ok", checks, problem="p" * 9000, seconds=0.25, code_seconds=float("inf"))
    spool = Spool(tmp_path / "spool")
    where = spool.put({"ledger": kept_rows(result)})
    spool.put({"ledger": "another student's"})
    direct, aside = Ledger(tmp_path / "direct"), Ledger(tmp_path / "aside")
    with direct.recording("sheet") as run:
        first = run.add(result)
        assert run.add(result) == first  # an identical result is kept once
    with aside.recording("sheet") as run:
        assert run.add_kept(*spool.get(where)["ledger"]) == first
        assert run.add(result) == first
    direct.close(), aside.close()
    assert tables(tmp_path / "direct" / "grade.db") == tables(tmp_path / "aside" / "grade.db")
    spool.clear()
    assert not (tmp_path / "spool").exists()


def test_a_run_leaves_no_spool_behind_and_sweeps_a_killed_runs(tmp_path):
    out = tmp_path / "out"
    left = out / ".grade" / "spool" / "999999.jsonl"  # a run killed while showing
    left.parent.mkdir(parents=True)
    left.write_text(json.dumps({"csv": "forged,row\n"}) + "\n")
    main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2)
    assert not left.parent.exists()
    assert "forged" not in (out / "results.csv").read_text()
