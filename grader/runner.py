"""The trusted side of running student code: one child process per submission.

The child is a fresh interpreter (`python -I -S`, never a fork of the grader, so nothing
the grader imported, the reference included, is inherited) started in its own session
and its own scratch folder. Requests and replies are JSON lines on two private pipes;
the student's stdout and stderr go to files that nobody parses. When a call times out or
the process dies (`os._exit`, a segfault, the memory cap), the whole process group is
killed and a fresh child is loaded for the checks still to run: only the function that
misbehaved pays for it.

The child runs inside a confinement (`sandbox.Bubblewrap`, or `sandbox.Plain` where
bubblewrap is missing) that `Runner.command` asks to wrap the child's argv. Replies carry a
per-process secret; anything else written to the reply channel is ignored.
"""

from __future__ import annotations

import json
import os
import secrets
import selectors
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .child import wire
from .rubric import Limits, Rubric
from .sandbox import Bubblewrap, Plain, python_locations
from .submissions import Submission

CHILD_SCRIPT = Path(__file__).resolve().parent / "child" / "__main__.py"
PROJECT_ROOT = CHILD_SCRIPT.parent.parent.parent
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
OUTPUT_TAIL_BYTES = 4000
OPEN_FILES = 256
PROCESSES = 64


@dataclass(frozen=True)
class Request:
    """One thing to ask the student's process: call a function or read a top-level value."""

    key: str
    op: str  # "call" | "get"
    name: str
    args: tuple = ()
    timeout: float | None = None


@dataclass
class Reply:
    """What came back for one request, already validated on the trusted side.

    status: ok | error | missing | not_callable | invalid | timeout | crashed
    """

    status: str
    value: Any = None
    error: dict | None = None
    mutated: tuple[int, ...] = ()
    seconds: float = 0.0
    detail: str = ""


@dataclass
class RunReport:
    replies: dict[str, Reply] = field(default_factory=dict)
    cells: list[dict] = field(default_factory=list)  # per cell: label and error (or None)
    ignored: list[str] = field(default_factory=list)  # magics and shell escapes not run
    load_failure: str | None = None  # the process died or hung while loading
    restarts: int = 0
    seconds: float = 0.0
    output_tail: str = ""  # the end of what the student's code printed
    output_bytes: int = 0
    sandboxed: bool = False


class Aborted(Exception):
    """The run was interrupted: results from now on are not to be trusted or stored."""


class _ChildDied(Exception):
    pass


class _ChildTimeout(Exception):
    pass


def child_sys_path(hidden: tuple[Path, ...] = ()) -> list[str]:
    """The grader's sys.path less every entry from which a hidden path (the reference, the
    project tree) could be imported. The child gets these plus its own folder and the
    submission's. Without `site`, .pth hooks such as an editable install's are not run.
    """
    hidden_paths = [Path(h).resolve() for h in (PROJECT_ROOT, *hidden)]
    result: list[str] = []
    for entry in sys.path:
        if not entry:
            continue
        path = Path(entry).resolve()
        if not (path.is_dir() or (path.suffix == ".zip" and path.is_file())):
            continue
        if any(path == h or path in h.parents for h in hidden_paths):
            continue
        if str(path) not in result:
            result.append(str(path))
    return result


def child_environment() -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # older OpenBLAS builds need these
        if name in os.environ:
            env[name] = os.environ[name]
    return env


class Runner:
    """Runs one submission's requests in a child process, restarting it after a death."""

    def __init__(self, limits: Limits, *, hidden: tuple[Path, ...] = (), python: str = sys.executable,
                 confinement: Plain | Bubblewrap | None = None) -> None:
        self.limits = limits
        self.hidden = hidden  # paths the child must not be able to import from (the reference)
        self.python = python
        self.confinement = confinement or Plain()
        self._import_path = child_sys_path(hidden)
        self.aborted = False
        self._live: set[_Child] = set()
        self._live_lock = threading.Lock()

    def abort(self) -> None:
        """Kill every running child and start no new one (Ctrl-C, SIGTERM)."""
        self.aborted = True
        with self._live_lock:
            live = list(self._live)
        for child in live:
            child.kill()

    @classmethod
    def for_rubric(cls, rubric: Rubric, **options) -> Runner:
        """A runner with the rubric's limits that hides the rubric's reference from the child."""
        return cls(rubric.limits, hidden=(rubric.reference_path,), **options)

    # ------------------------------------------------------------ public

    def run(self, submission: Submission, requests: list[Request]) -> RunReport:
        report = RunReport(sandboxed=self.confinement.sandboxed)
        started = time.monotonic()
        deadline = started + self.limits.submission_timeout
        with tempfile.TemporaryDirectory(prefix="grade-", ignore_cleanup_errors=True) as scratch, \
                self.confinement.slot() as uid:
            workdir = Path(scratch) / "work"
            submission.copy_files_to(workdir)
            output = _Output()
            pending = list(requests)
            dead: dict[str, Reply] = {}
            first_load = True
            while pending:
                with _Child(self, workdir, uid, output) as child:
                    try:
                        loaded = child.load(submission, deadline)
                    except (_ChildDied, _ChildTimeout) as exc:
                        report.load_failure = _load_failure_message(exc, self.limits, output.text())
                        for request in pending:
                            report.replies[request.key] = Reply(
                                "timeout" if isinstance(exc, _ChildTimeout) else "crashed",
                                detail=report.load_failure)
                        break
                    if first_load:
                        report.cells, report.ignored = loaded["cells"], loaded["ignored"]
                        first_load = False
                    pending = self._serve(child, pending, deadline, dead, report)
                if pending:
                    report.restarts += 1
            report.output_tail, report.output_bytes = output.text(), output.total
        report.seconds = time.monotonic() - started
        return report

    def command(self, workdir: Path, fd_in: int, fd_out: int, uid: int | None = None) -> list[str]:
        confinement = self.confinement
        config = {
            "sys_path": [confinement.child_dir, confinement.workdir(workdir), *self._import_path],
            "workdir": confinement.workdir(workdir),
            "memory_mb": self.limits.memory_mb,
            "cpu_seconds": self.limits.submission_timeout + 5,
            "file_size_mb": 64,
            "open_files": OPEN_FILES,
            "processes": PROCESSES if uid is not None else None,  # RLIMIT_NPROC counts per uid
        }
        script = f"{confinement.child_dir}/__main__.py"
        argv = [self.python, "-I", "-S", script, str(fd_in), str(fd_out), json.dumps(config)]
        return confinement.wrap(argv, workdir, uid, python_locations() + self._import_path)

    # ------------------------------------------------------------ internals

    def _serve(self, child: _Child, pending: list[Request], deadline: float,
               dead: dict[str, Reply], report: RunReport) -> list[Request]:
        """Answer requests in order; return those left when the child had to be dropped."""
        for index, request in enumerate(pending):
            if request.name in dead and request.op == "call":
                report.replies[request.key] = dead[request.name]
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                report.replies[request.key] = Reply(
                    "timeout", detail=f"the submission's time limit of {self.limits.submission_timeout:g} s ran out")
                continue
            limit = min(request.timeout or self.limits.call_timeout, remaining)
            try:
                reply = child.ask(request, limit)
            except _ChildTimeout:
                reply = Reply("timeout", detail=f"did not return within {limit:g} s", seconds=limit)
            except _ChildDied as exc:
                reply = Reply("crashed", detail=f"the process ended while running it ({exc})")
            else:
                report.replies[request.key] = reply
                continue
            report.replies[request.key] = reply
            dead[request.name] = reply
            return pending[index + 1:]
        return []


class _Output:
    """What the student's code prints: only the count and the last bytes are kept, so a
    print loop of any size costs the grader no memory."""

    def __init__(self) -> None:
        self.total = 0
        self._tail = b""

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self._tail = (self._tail + chunk)[-OUTPUT_TAIL_BYTES:]

    def text(self) -> str:
        return self._tail.decode("utf-8", "replace")


class _Child:
    """One live child process, its two private pipes and its output pipe."""

    def __init__(self, runner: Runner, workdir: Path, uid: int | None, output: _Output) -> None:
        self.runner = runner
        self.workdir = workdir
        self.uid = uid
        self.output = output
        self.secret = secrets.token_hex(16)
        self._buffer = b""
        self._next_id = 0

    def __enter__(self) -> _Child:
        if self.runner.aborted:
            raise Aborted()
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        self._output, output_w = os.pipe()
        try:
            self.process = subprocess.Popen(
                self.runner.command(self.workdir, to_child_r, from_child_w, self.uid),
                stdin=subprocess.DEVNULL, stdout=output_w, stderr=output_w,
                pass_fds=(to_child_r, from_child_w), cwd=self.workdir,
                env=child_environment(), start_new_session=True)
        finally:
            for fd in (to_child_r, from_child_w, output_w):
                os.close(fd)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._from_child, selectors.EVENT_READ, "reply")
        self._selector.register(self._output, selectors.EVENT_READ, "output")
        with self.runner._live_lock:
            self.runner._live.add(self)
        self._send({"op": "hello", "secret": self.secret})
        return self

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def __exit__(self, *exc_info) -> None:
        with self.runner._live_lock:
            self.runner._live.discard(self)
        try:
            self._send({"op": "exit"})
        except _ChildDied:
            pass
        self._kill_group()
        self._drain_output()
        self._selector.close()
        for fd in (self._from_child, self._to_child, self._output):
            os.close(fd)

    def load(self, submission: Submission, deadline: float) -> dict:
        self._send({"op": "load", "kind": submission.kind, "module": submission.module_name,
                    "entry": submission.entry, "cells": [c.as_dict() for c in submission.cells]})
        message = self._receive(max(deadline - time.monotonic(), 0.01))
        cells = message.get("cells")
        ignored = message.get("ignored")
        if not isinstance(cells, list) or not isinstance(ignored, list):
            raise _ChildDied("it sent a malformed load report")
        return {"cells": [_clean_cell(c) for c in cells], "ignored": [str(i)[:200] for i in ignored][:50]}

    def ask(self, request: Request, timeout: float) -> Reply:
        self._next_id += 1
        message: dict[str, Any] = {"op": request.op, "id": self._next_id, "name": request.name}
        if request.op == "call":
            message["args"] = [wire.encode(arg) for arg in request.args]
        self._send(message)
        end = time.monotonic() + timeout
        while True:  # a forked copy of the student's process may answer an earlier request again
            answer = self._receive(max(end - time.monotonic(), 0.0))
            if answer.get("id") == self._next_id:
                return _reply_from(answer)

    def _send(self, message: dict) -> None:
        data = (json.dumps(message) + "\n").encode()
        try:
            while data:
                data = data[os.write(self._to_child, data):]
        except (BrokenPipeError, OSError):
            raise _ChildDied(self._exit_description()) from None

    def _receive(self, timeout: float) -> dict:
        """The next reply that carries this child's secret; other lines are ignored."""
        end = time.monotonic() + timeout
        while True:
            while b"\n" not in self._buffer:
                left = end - time.monotonic()
                if left <= 0:
                    raise _ChildTimeout()
                if not self._read_ready(left):
                    raise _ChildDied(self._exit_description())
            line, self._buffer = self._buffer.split(b"\n", 1)
            message = _parse(line)
            if message is not None and message.pop("secret", None) == self.secret:
                return message

    def _read_ready(self, timeout: float) -> bool:
        """Read whatever is ready; False when the reply channel is closed."""
        for key, _ in self._selector.select(timeout):
            chunk = os.read(key.fd, 1 << 20)
            if key.data == "output":
                if chunk:
                    self.output.add(chunk)
                else:
                    self._selector.unregister(key.fd)
            elif not chunk:
                return False
            else:
                self._buffer += chunk
                if len(self._buffer) > MAX_MESSAGE_BYTES:
                    raise _ChildDied("it sent an oversized message")
        return True

    def _drain_output(self) -> None:
        while self._output in self._selector.get_map():
            ready = self._selector.select(0)
            if not any(key.fd == self._output for key, _ in ready):
                return
            chunk = os.read(self._output, 1 << 20)
            if not chunk:
                return
            self.output.add(chunk)

    def _exit_description(self) -> str:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "it closed its channel"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = {"SIGSEGV": "a segmentation fault", "SIGKILL": "killed, often by the memory limit",
                    "SIGXCPU": "the CPU time limit"}.get(name)
            return f"{name}, {hint}" if hint else name
        return f"exit status {code}"

    def _kill_group(self) -> None:
        self.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _reply_from(answer: dict) -> Reply:
    status = answer.get("status")
    seconds = answer.get("seconds")
    seconds = float(seconds) if type(seconds) in (int, float) else 0.0
    if status == "ok":
        mutated = answer.get("mutated") or []
        if not (isinstance(mutated, list) and all(type(i) is int for i in mutated)):
            mutated = []
        try:
            return Reply("ok", value=wire.decode(answer.get("value")), mutated=tuple(mutated), seconds=seconds)
        except wire.WireError as exc:
            return Reply("invalid", detail=str(exc), seconds=seconds)
    if status == "error":
        return Reply("error", error=_clean_error(answer.get("error")), seconds=seconds)
    if status == "not_callable":
        return Reply("not_callable", detail=str(answer.get("type"))[:100])
    if status == "missing":
        return Reply("missing")
    return Reply("invalid", detail="a malformed reply came back")


def _parse(line: bytes) -> dict | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _clean_error(error: Any) -> dict:
    error = error if isinstance(error, dict) else {}
    line = error.get("line")
    return {"type": str(error.get("type", "Exception"))[:100],
            "message": str(error.get("message", ""))[:500],
            "line": line if type(line) is int else None}


def _clean_cell(cell: Any) -> dict:
    cell = cell if isinstance(cell, dict) else {}
    error = cell.get("error")
    return {"label": str(cell.get("label", "?"))[:200], "error": _clean_error(error) if error else None}


def _load_failure_message(exc: Exception, limits: Limits, output: str) -> str:
    if isinstance(exc, _ChildTimeout):
        return f"loading the submission took longer than the time limit of {limits.submission_timeout:g} s"
    last = next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "")
    said = f"; its last output: {last[:200]}" if last else ""
    return f"the process ended while loading the submission ({exc}){said}"
