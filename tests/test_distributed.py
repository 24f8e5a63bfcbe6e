"""`grade --dask`: a Dask cluster's workers run the sessions; the outputs are a local run's."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from conftest import EXAMPLES, GOLDEN, ROOT
from grader.cli import main
from grader.distributed import ALLOWED_FAILURES, report_from, report_json
from grader.errors import ClusterError
from grader.runner import Reply, Request, RunReport
from grader.scoring import UNSANDBOXED

pytest.importorskip("distributed")

RUBRIC = ROOT / "rubrics" / "ex07.yaml"


def outputs(out: Path) -> dict[str, bytes]:
    """What a run writes for people to read: the gradebook, the results, every feedback page."""
    names = ["gradebook.csv", "results.csv", *(f"feedback/{p.name}" for p in sorted((out / "feedback").iterdir()))]
    return {name: (out / name).read_bytes() for name in names}


def test_a_two_worker_local_cluster_writes_byte_for_byte_what_a_local_run_writes(tmp_path):
    main(submissions=EXAMPLES, rubric=RUBRIC, out=tmp_path / "local", jobs=2)
    main(submissions=EXAMPLES, rubric=RUBRIC, out=tmp_path / "dask", jobs=2, dask="local")
    local, dask = outputs(tmp_path / "local"), outputs(tmp_path / "dask")
    assert len(local) == 32
    assert dask == local


def test_a_killed_worker_loses_no_row(tmp_path):
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    try:
        workers = client.run(os.getpid)
        out = tmp_path / "out"
        done: list = []
        grading = threading.Thread(target=lambda: done.append(
            main(submissions=EXAMPLES, rubric=RUBRIC, out=out, jobs=2, dask=cluster.scheduler_address)))
        grading.start()
        deadline = time.monotonic() + 120
        while len(list((out / ".grade" / "results").glob("*.json"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        victim = sorted(workers.values())[0]
        os.kill(victim, signal.SIGKILL)  # in the middle of a submission: it is graded again elsewhere
        grading.join(timeout=300)
        assert done, "grading did not finish"
        assert victim not in client.run(os.getpid).values(), "no worker was killed"
    finally:
        client.close()
        cluster.close()
    summary = done[0]
    assert len(summary.students) == 15
    gradebook = (out / "gradebook.csv").read_text().replace(UNSANDBOXED, "")
    assert gradebook == (GOLDEN / "gradebook.csv").read_text()
    assert "could not grade" not in (out / "results.csv").read_text()


def test_a_report_crosses_as_checked_json_and_nothing_else():
    asked = [Request("2b/fnn/1", "call", "fnn"), Request("x", "get", "X")]
    report = RunReport(replies={"2b/fnn/1": Reply("ok", value=[1.5, (2, "a")], seconds=0.25),
                                "x": Reply("error", error={"type": "ValueError", "message": "m" * 5000, "line": 3}),
                                "not asked": Reply("ok", value=1)},
                       cells=[{"label": "cell 1", "error": None}], sandboxed=True, seconds=1.0, code_seconds=0.5)
    import json

    back = report_from(json.dumps(report_json(report)), asked)
    assert back.replies["2b/fnn/1"] == Reply("ok", value=[1.5, (2, "a")], seconds=0.25)
    assert back.replies["x"].error["message"] == "m" * 500  # cut as a child's error is
    assert "not asked" not in back.replies
    assert (back.cells, back.sandboxed, back.seconds) == (report.cells, True, 1.0)
    for hostile in (b"\x80\x04K\x01.", "[]", "{" * 100_000, json.dumps({"replies": {"x": {"status": "pwned"}}})):
        try:
            reply = report_from(hostile, asked).replies.get("x")
        except ClusterError:
            continue
        assert reply is None or reply.status == "invalid"


def _kills_its_worker(config, shipped, requests):
    """A run that takes its worker down with it (as a fault of the worker's machine would),
    for the submission named `doomed`; the others run as usual."""
    if any(name.startswith("doomed") for name, _ in shipped["files"]) or shipped["entry"].startswith("doomed"):
        os._exit(1)
    from grader.distributed import run_remote

    return run_remote(config, shipped, requests)


def test_a_submission_that_kills_two_workers_gets_an_error_row_and_the_others_are_graded(tmp_path, monkeypatch):
    import grader.distributed

    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in ("alice", "doomed", "erin"):
        source = EXAMPLES / ("alice.py" if name == "doomed" else f"{name}.py")
        (folder / f"{name}.py").write_bytes(source.read_bytes())
    monkeypatch.setattr(grader.distributed, "run_remote", _kills_its_worker)
    summary = main(submissions=folder, rubric=RUBRIC, out=tmp_path / "out", jobs=2, dask="local")
    rows = {row.student: row for row in summary.students}
    assert rows["doomed"].status.startswith("error")
    assert f"killed {ALLOWED_FAILURES + 1} Dask workers" in (tmp_path / "out" / "feedback" / "doomed.md").read_text()
    golden = {line.split(",")[0]: line for line in (GOLDEN / "gradebook.csv").read_text().splitlines()}
    graded = {line.split(",")[0]: line for line in (tmp_path / "out" / "gradebook.csv").read_text().splitlines()}
    for student in ("alice", "erin"):  # graded as a local run grades them
        assert graded[student].replace(UNSANDBOXED, "") == golden[student]
