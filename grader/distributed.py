"""Grading on a Dask cluster: `grade SUBMISSIONS --dask SCHEDULER` (or `--dask local`).

Only the running moves. Each Dask worker process keeps the same sandboxed slots a local run
has (runner.Runner: per slot a warm zygote in bubblewrap, its own uid and cgroup); the
student's code runs in their children, never in the worker process itself. A worker gets
what a local slot gets: the submission's files and cells, the requests, the rubric's limits
and its support module (never the reference). It sends back the run report as JSON, each
value in the typed wire format a student's process uses (child/wire.py), and the grader
checks it as it checks a child's reply, every text and number bounded again on arrival; the
client takes results only as msgpack, never as a pickle. Dask still unpickles the exception of
a failed task, so the workers themselves must be trusted as the grader is (README). Judging, feedback, the ledger
and the order of the outputs stay with the grader, so a run on a cluster writes what a local
run writes, byte for byte.

A worker that dies loses nothing: the scheduler gives its submissions to another worker.
A submission whose grading killed two workers is given up, and gets an `error` row.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .child import wire
from .errors import ClusterError
from .rubric import Limits, Rubric
from .runner import (MAX_CONTAINERS, MAX_MESSAGE_BYTES, MAX_SEPARATORS, OUTPUT_TAIL_BYTES, SPAWN_TIMEOUT, Aborted,
                     Reply, Request, RunReport, Runner, _clean_cell, _clean_error, _seconds, checked_positions)
from .submissions import Cell, Submission
from .untrusted import clip

ALLOWED_FAILURES = 1  # workers a submission may kill and still be graded (by the next one)
REPORT_LIMIT = 4  # a report may be as large as this many of the largest replies a child may send
REPLY_STATUSES = {"ok", "error", "missing", "not_callable", "invalid", "timeout", "crashed"}
STEP_STATUSES = {"made", "self", "ok", "error", "invalid", "not_run"}
DETAIL_CHARS = 2_000
# how the grader's client may rebuild a task's result: msgpack only. By default it unpickles a
# result whenever the worker says it is a pickle, so a worker taken over could run code in the
# grader; a report is a string, which msgpack carries. (Dask itself still unpickles the
# exception of a task that failed, whatever this says: a worker must not be an attacker's.)
DESERIALIZERS = ["msgpack"]


@dataclass(frozen=True)
class Workers:
    """Where the sessions run, as the grader reports it (the place of a local confinement)."""

    sandboxed: bool
    description: str
    isolates_sessions: bool = True


class DaskRunner:
    """A runner whose sessions run on a Dask cluster's workers; `run` as `Runner.run`."""

    def __init__(self, rubric: Rubric, mode: str, scheduler: str, jobs: int | None = None) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise ClusterError("--dask needs dask and distributed: pip install 'grade[dask]'") from None
        self.limits = rubric.limits
        support = rubric.support_path
        self.config = {"limits": rubric.limits.model_dump(), "sandbox": mode,
                       "hidden": [str(path) for path in (rubric.reference_path, support) if path is not None],
                       "support": support.read_text(encoding="utf-8") if support is not None else None}
        self.aborted = False
        self._futures: set = set()
        self._lock = threading.Lock()
        self._cluster = None
        try:
            with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
                if scheduler == "local":
                    self._cluster = LocalCluster(n_workers=jobs or os.cpu_count() or 1, threads_per_worker=1,
                                                 processes=True, dashboard_address=None,
                                                 silence_logs=logging.ERROR)
                    self.client = Client(self._cluster, deserializers=DESERIALIZERS)
                else:
                    self.client = Client(scheduler, timeout="30s", deserializers=DESERIALIZERS)
                    self.client.wait_for_workers(1, timeout=60)
            found = self.client.run(probe_worker, mode)
        except ClusterError:
            self.close()
            raise
        except Exception as exc:
            self.close()
            raise ClusterError(f"--dask {scheduler}: cannot use the cluster ({type(exc).__name__}: {exc})") from None
        refused = sorted(address for address, (sandboxed, _) in found.items() if sandboxed is None)
        if refused:
            self.close()
            raise ClusterError(f"--dask {scheduler}: the sandbox is required but cannot run on {', '.join(refused)}: "
                               f"{found[refused[0]][1]}")
        bare = sorted(address for address, (sandboxed, _) in found.items() if not sandboxed)
        self.confinement = Workers(not bare, f"on Dask workers without a sandbox ({', '.join(bare)})"
                                   if bare else "on sandboxed Dask workers")
        # submissions in flight: as many as the cluster runs at once. No more: a worker that dies
        # counts against every submission it holds, and one waiting in its queue did nothing
        self.slots = sum(self.client.nthreads().values()) or 1

    def __enter__(self) -> DaskRunner:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        client, cluster = getattr(self, "client", None), self._cluster
        quiet = logging.getLogger("distributed")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)  # workers that lose the scheduler as it stops say so loudly
        try:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
        finally:
            quiet.setLevel(level)

    def abort(self) -> None:
        """Ctrl-C: no new submission goes out, and those out are cancelled."""
        self.aborted = True
        with self._lock:
            futures = list(self._futures)
        if futures:
            self.client.cancel(futures)

    def run(self, submission: Submission, requests: list[Request]) -> RunReport:
        """The submission's run report, from whichever worker ran it."""
        from distributed import KilledWorker
        from distributed import TimeoutError as DaskTimeout

        if self.aborted:
            raise Aborted()
        shipped = {"kind": submission.kind, "entry": submission.entry, "module": submission.module_name,
                   "cells": [cell.as_dict() for cell in submission.cells],
                   "files": [(name, base64.b64encode(data).decode("ascii")) for name, data in submission.files()]}
        future = self.client.submit(run_remote, self.config, shipped, requests, pure=False,
                                    key=f"grade-{uuid.uuid4().hex}")
        with self._lock:
            self._futures.add(future)
        wait = self.limits.submission_timeout + 2 * SPAWN_TIMEOUT + 60
        try:
            text = future.result(timeout=wait)
        except KilledWorker:
            raise ClusterError(f"grading it killed {ALLOWED_FAILURES + 1} Dask workers") from None
        except (DaskTimeout, TimeoutError):
            future.cancel()
            raise ClusterError(f"no Dask worker finished grading it within {wait:g} s") from None
        except Exception:
            if self.aborted:
                raise Aborted() from None
            raise
        finally:
            with self._lock:
                self._futures.discard(future)
        return report_from(text, requests)


# ---------------------------------------------------------------- on the grader's side


def report_from(text: Any, requests: list[Request]) -> RunReport:
    """A worker's report as the grader may use it: parsed within bounds, every reply checked
    as a child's is, every text cut; replies only for what was asked."""
    if not isinstance(text, str) or len(text) > REPORT_LIMIT * MAX_MESSAGE_BYTES \
            or text.count("[") + text.count("{") > REPORT_LIMIT * MAX_CONTAINERS \
            or text.count(",") + text.count(":") > REPORT_LIMIT * MAX_SEPARATORS:
        raise ClusterError("a Dask worker sent a report larger than any run makes")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise ClusterError("a Dask worker sent a malformed report")
    report = RunReport(sandboxed=data.get("sandboxed") is True)
    replies = data.get("replies") if isinstance(data.get("replies"), dict) else {}
    for request in requests:
        if request.key in replies:
            report.replies[request.key] = _reply(replies[request.key], len(request.steps))
    cells = data.get("cells") if isinstance(data.get("cells"), list) else []
    report.cells = [_clean_cell(cell) for cell in cells[:10_000]]
    ignored = data.get("ignored") if isinstance(data.get("ignored"), list) else []
    report.ignored = [str(item)[:200] for item in ignored[:50]]
    failure = data.get("load_failure")
    report.load_failure = clip(failure, DETAIL_CHARS) if isinstance(failure, str) else None
    report.restarts = _count(data.get("restarts"))
    report.seconds, report.code_seconds = _seconds(data.get("seconds")), _seconds(data.get("code_seconds"))
    tail = data.get("output_tail")
    report.output_tail = tail[-2 * OUTPUT_TAIL_BYTES:] if isinstance(tail, str) else ""
    report.output_bytes = _count(data.get("output_bytes"))
    return report


def _reply(item: Any, steps: int, statuses: set[str] = REPLY_STATUSES) -> Reply:
    if not isinstance(item, dict) or item.get("status") not in statuses:
        return Reply("invalid", detail="a malformed reply came back")
    status = item["status"]
    seconds = _seconds(item.get("seconds"))
    value = None
    if status == "ok" and "value" in item:
        try:
            value = wire.decode(item["value"])
        except wire.WireError as exc:
            return Reply("invalid", detail=str(exc), seconds=seconds)
        except (RecursionError, MemoryError, TypeError, ValueError):
            return Reply("invalid", detail="a malformed reply came back", seconds=seconds)
    mutated = checked_positions(item.get("mutated"))
    taken = item.get("steps") if isinstance(item.get("steps"), list) else []
    return Reply(status, value=value, error=_clean_error(item["error"]) if item.get("error") is not None else None,
                 mutated=mutated, seconds=seconds, detail=clip(str(item.get("detail", "")), DETAIL_CHARS),
                 steps=tuple(_reply(step, 0, STEP_STATUSES) for step in taken[:steps]))


def _count(value: Any) -> int:
    return value if type(value) is int and 0 <= value < 1 << 53 else 0


# ---------------------------------------------------------------- on a worker

_RUNNERS: dict[str, Runner] = {}
_RUNNERS_LOCK = threading.Lock()


def probe_worker(mode: str) -> tuple[bool | None, str]:
    """Whether this worker can sandbox (None: `required` and it cannot), and how it runs code."""
    from .errors import GradeError
    from .sandbox import choose

    try:
        confinement = choose(mode)
    except GradeError as exc:
        return None, str(exc)
    return confinement.sandboxed, getattr(confinement, "description", "")


def run_remote(config: dict, shipped: dict, requests: list[Request]) -> str:
    """Run one submission in this worker's sandboxed slots; the report as JSON."""
    report = _worker_runner(config).run(_Shipped(shipped), requests)
    return json.dumps(report_json(report))


def report_json(report: RunReport) -> dict:
    return {"replies": {key: _reply_json(reply) for key, reply in report.replies.items()},
            "cells": report.cells, "ignored": report.ignored, "load_failure": report.load_failure,
            "restarts": report.restarts, "seconds": report.seconds, "output_tail": report.output_tail,
            "output_bytes": report.output_bytes, "sandboxed": report.sandboxed, "code_seconds": report.code_seconds}


def _reply_json(reply: Reply) -> dict:
    data: dict[str, Any] = {"status": reply.status, "seconds": reply.seconds, "detail": reply.detail,
                            "mutated": list(reply.mutated), "error": reply.error,
                            "steps": [_reply_json(step) for step in reply.steps]}
    if reply.status == "ok" and not reply.steps:
        data["value"] = wire.encode(reply.value)
    return data


def _worker_runner(config: dict) -> Runner:
    """This worker's runner for one rubric's settings, kept warm from one submission to the next."""
    from .sandbox import choose

    key = json.dumps(config, sort_keys=True)
    with _RUNNERS_LOCK:
        if key not in _RUNNERS:
            _RUNNERS[key] = Runner(Limits(**config["limits"]), hidden=tuple(map(Path, config["hidden"])),
                                   confinement=choose(config["sandbox"]), support=config["support"])
        return _RUNNERS[key]


class _Shipped:
    """A submission as a worker gets it: what the slot sends to the student's process."""

    def __init__(self, shipped: dict) -> None:
        self.kind = shipped["kind"]
        self.entry = shipped["entry"]
        self.module_name = shipped["module"]
        self.cells = tuple(Cell(cell["label"], cell["source"]) for cell in shipped["cells"])
        self._files = [(name, base64.b64decode(data)) for name, data in shipped["files"]]

    def files(self) -> list[tuple[str, bytes]]:
        return self._files
