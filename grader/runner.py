"""The trusted side of running student code: one child process per submission.

The child is a fresh interpreter (`python -I -S`, never a fork of the grader, so nothing
the grader imported, the reference included, is inherited) started in its own session
and its own scratch folder. Requests (each after its length) and replies are JSON lines on
two private pipes, the requests written a few ahead of their replies (pipelined: the process
need not wait for the grader between them; a call seen early must still be answered within
its limit of being written); the student's stdout and stderr go to files
that nobody parses. When a call times out or the process dies (`os._exit`, a segfault, the
memory cap), the whole process group is killed and a fresh child is loaded for the checks
still to run: only the function that misbehaved pays for it.

The child runs inside a confinement (`sandbox.Bubblewrap`, or `sandbox.Plain` where
bubblewrap is missing) that `Runner.command` asks to wrap the child's argv. Replies carry a
per-process secret; anything else written to the reply channel is ignored.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import fcntl
import json
import math
import os
import queue
import secrets
import select
import selectors
import shutil
import socket
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cgroup
from .sandbox import WORKDIR_BYTES, Bubblewrap, Plain, python_locations
from .submissions import Submission

if TYPE_CHECKING:  # `grade check` runs with the bundle's limits: it needs no rubric model
    from .rubric import Limits, Rubric


class _LazyWire:
    """child/wire.py, imported when first used: it imports numpy, which `grade check` loads
    while the student's process starts (`Runner.warm`)."""

    def __getattr__(self, name: str):
        from .child import wire as module

        globals()["wire"] = module
        return getattr(module, name)


wire = _LazyWire()

CHILD_SCRIPT = Path(__file__).resolve().parent / "child" / "__main__.py"
PROJECT_ROOT = CHILD_SCRIPT.parent.parent.parent
MAX_MESSAGE_BYTES = 96 * 1024 * 1024  # one reply: a 64 MB array as base64, and its JSON
MAX_CONTROL_BYTES = 1024 * 1024
MAX_CONTAINERS = 1_000_000  # JSON lists and objects in one reply (see _too_complex)
MAX_SEPARATORS = 2_000_000  # commas and colons in one reply
CLOSE_SECONDS = 5.0  # a session that has not ended this long after it was told to costs its sandbox
WORKDIR_INODES = 16384  # tmpfs caps blocks, not inodes: without this, empty files eat kernel memory
SCRATCH_BYTES = 16 * 1024 * 1024
SCRATCH_INODES = 4096
OUTPUT_TAIL_BYTES = 4000
OPEN_FILES = 256
MAX_CELLS = 10_000  # cell reports kept from one load
PROCESSES = 64
SLOTS = 64
SLOT_OVERHEAD_MB = 256  # the zygote, and the page cache of what the sandbox reads
SPAWN_TIMEOUT = 60.0  # a cold sandbox imports numpy first
WINDOW_BYTES = 32 * 1024  # requests written ahead of their replies (at most half of the request pipe)


@dataclass(frozen=True)
class Request:
    """One thing to ask the student's process: call a function, read a top-level value, or
    make an object of a class and take steps with it (`steps`: (action, name, args, kwargs)
    each, action new | call | attr; see kinds/object.py)."""

    key: str
    op: str  # "call" | "get" | "steps"
    name: str
    args: tuple = ()
    timeout: float | None = None
    kwargs: tuple[tuple[str, Any], ...] = ()  # keyword arguments, as (name, value) pairs
    steps: tuple[tuple[str, str, tuple, tuple], ...] = ()

    @classmethod
    def call(cls, key: str, name: str, case: tuple, timeout: float | None = None) -> Request:
        """Call `name` with a case's arguments: its positional values, and its keyword ones
        (a `cases.Call`'s `kwargs`; a plain tuple has none)."""
        kwargs = getattr(case, "kwargs", None) or {}
        return cls(key, "call", name, tuple(case), timeout, tuple(kwargs.items()))


@dataclass
class Reply:
    """What came back for one request, already validated on the trusted side.

    status: ok | error | missing | not_callable | invalid | timeout | crashed; a step of an
    object's case (in `steps` of an ok reply) is also made | self | not_run
    """

    status: str
    value: Any = None
    error: dict | None = None
    mutated: tuple[int, ...] = ()
    seconds: float = 0.0
    detail: str = ""
    steps: tuple[Reply, ...] = ()  # an object's case: the outcome of each step, in order


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
    code_seconds: float = 0.0  # time spent in the student's code, as the child measured it


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
        # the hidden paths, their ancestors, and anything inside them (pytest puts the
        # project's tests/ on sys.path, for one): none of it may be bound into the sandbox
        if any(path == h or path in h.parents or h in path.parents for h in hidden_paths):
            continue
        if str(path) not in result:
            result.append(str(path))
    return result


def session_filesystems(workdir: str) -> list[dict]:
    """The fresh file systems each isolated session gets (see child/isolate.py)."""
    return [{"path": workdir, "size": WORKDIR_BYTES, "inodes": WORKDIR_INODES, "mode": "0700"},
            {"path": "/tmp", "size": SCRATCH_BYTES, "inodes": SCRATCH_INODES, "mode": "1777"},
            {"path": "/dev/shm", "size": SCRATCH_BYTES, "inodes": SCRATCH_INODES // 4, "mode": "1777"}]


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
    """Runs one submission's requests in a fresh forked process, restarting it after a death.

    Each concurrent slot has a warm zygote (an interpreter with numpy imported, inside its
    own sandbox with its own uid) that forks one process per session; no process that ran
    one student's code ever serves another. Use as a context manager, or call `close()`.
    """

    def __init__(self, limits: Limits, *, hidden: tuple[Path, ...] = (), python: str = sys.executable,
                 confinement: Plain | Bubblewrap | None = None, support: str | None = None) -> None:
        self.limits = limits
        # the source of the rubric's support module: sent in the zygote's config, made a module
        # there (`grade_support`) before any student code runs; never a file the child can reach
        self.support = support
        self.hidden = hidden  # paths the child must not be able to import from (the reference)
        self.python = python
        self.confinement = confinement or Plain()
        self._import_path = child_sys_path(hidden)
        self.aborted = False
        self._idle: queue.Queue[_Slot] = queue.Queue()
        self._slots: list[_Slot] = []
        self._lock = threading.Lock()
        weakref.finalize(self, _close_slots, self._slots)

    @classmethod
    def for_rubric(cls, rubric: Rubric, **options) -> Runner:
        """A runner with the rubric's limits that hides the rubric's reference (and the folder
        of its support module) from the child, and sends the support module's source."""
        support = rubric.support_path
        hidden = (rubric.reference_path,) if support is None else (rubric.reference_path, support)
        if support is not None and "support" not in options:
            options["support"] = support.read_text(encoding="utf-8")
        return cls(rubric.limits, hidden=hidden, **options)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Stop every zygote and remove the slots' scratch folders."""
        _close_slots(self._slots)

    def warm(self) -> None:
        """Start a slot's zygote now: its interpreter starts (and imports numpy) while the
        caller prepares the requests (`grade check` checks one submission)."""
        with self._slot() as slot:
            if slot.zygote is None:
                slot.zygote = _Zygote(self, slot)

    def abort(self) -> None:
        """Kill every running student process and start no new one (Ctrl-C, SIGTERM).
        The threads that were talking to them see the ends of their pipes and stop."""
        self.aborted = True
        for slot in list(self._slots):
            if slot.zygote is not None:
                slot.zygote.signal_group()

    # ------------------------------------------------------------ public

    def run(self, submission: Submission, requests: list[Request]) -> RunReport:
        report = RunReport(sandboxed=self.confinement.sandboxed)
        started = time.monotonic()
        deadline = started + self.limits.submission_timeout
        files = submission.files()
        output = _Output()
        pending = list(requests)
        with self._slot() as slot:
            try:
                self._run_sessions(slot, submission, files, output, pending, deadline, report)
            except (Aborted, KeyboardInterrupt):
                raise
            except Exception as exc:  # what the grader could not handle costs this student only
                slot.stop()
                detail = f"the grader could not handle what the process sent ({type(exc).__name__})"
                for request in requests:
                    report.replies.setdefault(request.key, Reply("crashed", detail=detail))
            if not self.confinement.isolates_sessions:
                slot.stop()  # sessions are not isolated from each other: no zygote serves two students
        report.output_tail, report.output_bytes = output.text(), output.total
        report.seconds = time.monotonic() - started
        return report

    def _run_sessions(self, slot: _Slot, submission: Submission, files: list[tuple[str, bytes]],
                      output: _Output, pending: list[Request], deadline: float, report: RunReport) -> None:
        """One session after another until every request has a reply: a call that kills or
        hangs its process costs that process, and a fresh one serves the rest."""
        dead: dict[str, Reply] = {}
        first_load = True
        one_at_a_time = False  # after a call answered too late after its writing (see _serve)
        while pending:
            session = self._session(slot, files, output)
            try:
                try:
                    loaded = session.load(submission, deadline)
                except (_ChildDied, _ChildTimeout) as exc:
                    report.load_failure = _load_failure_message(exc, self.limits, output.text())
                    for request in pending:
                        report.replies[request.key] = Reply(
                            "timeout" if isinstance(exc, _ChildTimeout) else "crashed", detail=report.load_failure)
                    return
                report.code_seconds += loaded["seconds"]
                if first_load:
                    report.cells, report.ignored = loaded["cells"], loaded["ignored"]
                    first_load = False
                left, again = self._serve(session, pending, deadline, dead, report, one_at_a_time)
                pending, one_at_a_time = left, one_at_a_time or again
            finally:
                session.close()
                if not session.clean:
                    slot.stop()  # not provably clean: this sandbox serves nobody else
            if pending and not again:
                report.restarts += 1

    def command(self, slot: _Slot, fds: tuple[int, int, int]) -> list[str]:
        confinement = self.confinement
        workdir = confinement.workdir(slot.scratch)
        readable = python_locations(self.python) + self._import_path
        filesystems = session_filesystems(workdir)
        config = {
            # read-only places only: the zygote must never import from the working folder
            "sys_path": [confinement.child_dir, *self._import_path],
            "workdir": workdir,
            "support": self.support,
            "own_pid_namespace": confinement.sandboxed,
            "isolate": confinement.isolates_sessions,
            "filesystems": filesystems,
            "keep": [p for p in readable if any(p.startswith(f"{fs['path']}/") for fs in filesystems)],
            "memory_mb": self.limits.memory_mb,
            "cpu_seconds": self.limits.submission_timeout + 5,
            "file_size_mb": 64,
            "open_files": OPEN_FILES,
            "processes": PROCESSES if slot.uid is not None else None,  # RLIMIT_NPROC counts per uid
        }
        script = f"{confinement.child_dir}/__main__.py"
        argv = [self.python, "-I", "-S", script, *map(str, fds), json.dumps(config)]
        wrapped = confinement.wrap(argv, slot.uid, readable)
        return slot.group.enter_then(wrapped) if slot.group is not None else wrapped

    # ------------------------------------------------------------ internals

    @contextlib.contextmanager
    def _slot(self):
        with self._lock:
            if self._idle.empty() and len(self._slots) < SLOTS:
                slot = _Slot(len(self._slots), self.confinement, self.limits)
                self._slots.append(slot)
                self._idle.put(slot)
        slot = self._idle.get()
        try:
            yield slot
        finally:
            self._idle.put(slot)

    def _session(self, slot: _Slot, files: list[tuple[str, bytes]], output: _Output) -> _Session:
        if self.aborted:
            raise Aborted()
        if slot.zygote is not None and not slot.zygote.alive():
            slot.stop()
        if slot.zygote is None:
            slot.zygote = _Zygote(self, slot)
        try:
            return slot.zygote.spawn(files, output)
        except _ChildDied:  # the zygote itself was gone: one fresh start
            slot.stop()
            slot.zygote = _Zygote(self, slot)
            return slot.zygote.spawn(files, output)

    def _serve(self, session: _Session, pending: list[Request], deadline: float, dead: dict[str, Reply],
               report: RunReport, one_at_a_time: bool = False) -> tuple[list[Request], bool]:
        """Answer requests in order; return those left when the session had to be dropped,
        and whether they are to be asked again one at a time.

        Pipelined: while the process works on the oldest unanswered request, the next ones
        already wait in its pipe (`_Session.write_ahead`), so it goes on without waiting for
        the grader. A request's limit counts from when the process can start it: when the
        previous reply has come (and been taken), or its writing if nothing was before it.
        The student's code can read its own pipe, so a call written ahead is visible early
        (a thread could work on it while earlier calls run, and so pool the time limits of
        several calls): its reply counts only if it came within its limit of the call's
        writing. One that came later is not taken; the session ends and a fresh one asks the
        rest `one_at_a_time`, each call written only when nothing is unanswered (the names
        to read still go ahead: they run no code). A request that hangs or ends the process
        ends its session, no later reply of that session is read, and the requests written
        behind it are simply still pending; the next session skips the cases of the failed
        check, as it always did.
        """
        ahead = 0  # pending[index:ahead] are written (or skipped), pending[ahead:] are not
        for index, request in enumerate(pending):
            if _skipped(request, dead):
                report.replies[request.key] = dead[_check_of(request)]
                continue
            ahead = max(ahead, index)
            remaining = deadline - time.monotonic()
            if remaining <= 0:  # so for every later request too: none is waited for
                report.replies[request.key] = Reply(
                    "timeout", detail=f"the submission's time limit of {self.limits.submission_timeout:g} s ran out")
                continue
            limit = min(request.timeout or self.limits.call_timeout, remaining)
            try:
                if ahead == index:  # nothing is written ahead of it: the process waits for it
                    end = session.write(request, limit)
                    ahead += 1
                else:
                    end = time.monotonic() + limit
                ahead = self._write_ahead(session, pending, ahead, dead, end, calls=not one_at_a_time)
                written, behind = session.oldest()
                reply = session.reply(len(request.steps), end)
                if behind and request.op != "get" and time.monotonic() > written + limit:
                    return pending[index:], True  # seen before its turn, answered too late: ask it alone
            except _ChildTimeout:
                reply = Reply("timeout", detail=f"did not return within {limit:g} s", seconds=limit)
            except _ChildDied as exc:
                reply = Reply("crashed", detail=f"the process ended while running it ({exc})")
            else:
                report.replies[request.key] = reply
                report.code_seconds += reply.seconds
                continue
            report.replies[request.key] = reply
            dead[_check_of(request)] = reply  # its check's other cases are not tried: they would cost as much
            return pending[index + 1:], False
        return [], False

    @staticmethod
    def _write_ahead(session: _Session, pending: list[Request], ahead: int, dead: dict[str, Reply],
                     end: float, calls: bool = True) -> int:
        """Write pending[ahead:] while the session's window has room, until `end` (that of
        the request running), without `calls` only the `get`s up to the next call; the index
        of the first request not written. Cases of a dead check are passed over."""
        while ahead < len(pending) and time.monotonic() < end:
            if not _skipped(pending[ahead], dead):
                if (not calls and pending[ahead].op != "get") or not session.write_ahead(pending[ahead], end):
                    break
            ahead += 1
        return ahead


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


class _Lines:
    """Whole lines from one pipe, bounded while they are read, never after: a line longer
    than `limit` is dropped as it arrives, and a line that does not start with `prefix` (the
    session's secret) is dropped from its first bytes on, unparsed and unbuffered. A reply
    that starts with the secret but outgrows the limit is remembered as `oversized`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.prefix = b""
        self.lines: collections.deque[bytes] = collections.deque()
        self.oversized = False
        self._partial = bytearray()
        self._skipping = False

    def reset(self, prefix: bytes) -> None:
        self.prefix = prefix
        self.lines.clear()
        self.oversized = False
        self._partial.clear()
        self._skipping = False

    def feed(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        start = 0
        while start < len(chunk):
            end = chunk.find(b"\n", start)
            stop = len(chunk) if end < 0 else end
            if not self._skipping:
                self._partial += view[start:stop]
                if not self._plausible():
                    self._skipping = True
                    self._partial.clear()
            if end < 0:
                return
            if not self._skipping and self._partial:
                self.lines.append(bytes(self._partial))
            self._partial.clear()
            self._skipping = False
            start = end + 1

    def _plausible(self) -> bool:
        if len(self._partial) > self.limit:
            self.oversized = self.oversized or (bool(self.prefix) and self._partial.startswith(self.prefix))
            return False
        known = min(len(self._partial), len(self.prefix))
        return self._partial[:known] == self.prefix[:known]


class _Slot:
    """One place to run a submission at a time: its own uid and, while warm, its zygote."""

    def __init__(self, index: int, confinement: Plain | Bubblewrap, limits: Limits | None = None) -> None:
        self.uid = confinement.uid_for(index)
        self.scratch = Path(tempfile.mkdtemp(prefix="grade-slot-"))
        self.zygote: _Zygote | None = None
        # all of the slot's processes together: one student's share of memory plus the zygote's
        self.group = cgroup.create(f"grade-{os.getpid()}-{index}-{secrets.token_hex(4)}", (limits.memory_mb + SLOT_OVERHEAD_MB) << 20,
                                   PROCESSES + 8) if limits is not None else None

    def stop(self) -> None:
        if self.zygote is not None:
            self.zygote.kill()
            self.zygote = None


def _close_slots(slots: list[_Slot]) -> None:
    for slot in slots:
        slot.stop()
        shutil.rmtree(slot.scratch, ignore_errors=True)
        if slot.group is not None:
            slot.group.remove()


class _Zygote:
    """A warm interpreter in its sandbox, forking one process per session (see child/)."""

    def __init__(self, runner: Runner, slot: _Slot) -> None:
        self.runner = runner
        ctl_in, self.control_w = os.pipe()
        self._ctl_r, ctl_out = os.pipe()
        # each session's own pipes are handed over on this socket (SCM_RIGHTS): no open file
        # description is ever shared by two sessions, so no flag or size set on one survives
        self.handover, handover_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        zygote_output_r, output_w = os.pipe()
        theirs = (ctl_in, ctl_out, handover_theirs.fileno())
        try:
            self.process = subprocess.Popen(
                runner.command(slot, theirs), stdin=subprocess.DEVNULL, stdout=output_w, stderr=output_w,
                pass_fds=theirs, cwd=slot.scratch, env=child_environment(), start_new_session=True)
        finally:
            for fd in (ctl_in, ctl_out, output_w):
                os.close(fd)
            handover_theirs.close()
        os.set_blocking(self.control_w, False)
        self.selector = selectors.DefaultSelector()
        for fd, role in ((self._ctl_r, "control"), (zygote_output_r, "output")):
            self.selector.register(fd, selectors.EVENT_READ, role)
        self._own_fds = [self.control_w, self._ctl_r, zygote_output_r]
        self.lines = {"control": _Lines(MAX_CONTROL_BYTES), "data": _Lines(MAX_MESSAGE_BYTES)}
        self.data_w: int | None = None  # the current session's request pipe, and its other ends
        self._session_fds: list[int] = []
        self.output: _Output | None = None
        self._killed = False
        self.control_lost = False
        self.init_pids: list[int] = []

    def alive(self) -> bool:
        return not self._killed and not self.control_lost and self.process.poll() is None

    def spawn(self, files: list[tuple[str, bytes]], output: _Output) -> _Session:
        if not self.alive():
            raise _ChildDied("the sandbox is gone")
        self.output = output
        self.end_session()
        secret = secrets.token_hex(16)
        self.lines["data"].reset(f'{{"secret": "{secret}"'.encode())
        request_r, self.data_w = os.pipe()
        reply_r, reply_w = os.pipe()
        output_r, output_w = os.pipe()
        os.set_blocking(self.data_w, False)
        self._session_fds = [self.data_w, reply_r, output_r]
        self.selector.register(reply_r, selectors.EVENT_READ, "data")
        self.selector.register(output_r, selectors.EVENT_READ, "output")
        end = time.monotonic() + SPAWN_TIMEOUT
        encoded = [{"path": name, "data": base64.b64encode(data).decode("ascii")} for name, data in files]
        try:
            self.send(self.control_w, {"op": "spawn", "secret": secret, "files": encoded}, end)
            socket.send_fds(self.handover, [b"P"], [request_r, reply_w, output_w])
        except OSError:
            raise _ChildDied(self.exit_description()) from None
        except _ChildTimeout:
            raise _ChildDied("the sandbox did not take the order in time") from None
        finally:
            for fd in (request_r, reply_w, output_w):
                os.close(fd)
        while self.read(max(end - time.monotonic(), 0.0)) != "control":
            if time.monotonic() >= end:
                raise _ChildDied("the sandbox did not start a process in time")
        if (_parse(self.next_line("control")) or {}).get("op") != "started":
            raise _ChildDied("the sandbox sent a malformed message")
        if not self.init_pids:
            self.init_pids = _children(self.process.pid)  # found while bwrap is surely alive
        return _Session(self, secret)

    def end_session(self) -> None:
        """Forget the last session's pipes (its processes are gone or about to be)."""
        for fd in self._session_fds:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(fd)
            with contextlib.suppress(OSError):
                os.close(fd)
        self._session_fds = []
        self.data_w = None

    def send(self, fd: int | None, message: dict | bytes, deadline: float, describe: bool = True) -> None:
        """Write one message (or one already `_framed`) to a non-blocking pipe by `deadline`:
        a process that stops reading (or swaps the pipe it reads for another) costs a
        timeout, never a hung grader. `describe`: say how the sandbox ended if the reading
        end is gone (waiting for it a little), rather than only that it is gone."""
        if fd is None:
            raise _ChildDied("its process ended")
        data = memoryview(message if isinstance(message, bytes) else _framed(message))
        try:
            while data:
                try:
                    data = data[os.write(fd, data):]
                except BlockingIOError:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise _ChildTimeout() from None
                    select.select([], [fd], [], min(left, 1.0))
        except OSError:  # the reading end is gone
            raise _ChildDied(self.exit_description() if describe else "its process ended") from None

    def read(self, timeout: float) -> str | None:
        """Read what is ready; the role of a pipe that now holds a whole line, if any."""
        role = self._complete_line()
        if role:
            return role
        for key, _ in self.selector.select(timeout):
            chunk = os.read(key.fd, 1 << 20)
            if key.data == "output":
                if chunk and self.output is not None:
                    self.output.add(chunk)
                elif not chunk:
                    self.selector.unregister(key.fd)
                continue
            if not chunk and key.data == "control":
                # the zygote is gone (killed with its sandbox): the session itself may go on
                self.control_lost = True
                self.selector.unregister(key.fd)
                continue
            if not chunk:  # every process of the session closed its reply pipe
                self.selector.unregister(key.fd)
                if self.control_lost:
                    raise _ChildDied(self.exit_description())
                continue
            self.lines[key.data].feed(chunk)
            if self.lines["control"].oversized or len(self.lines["control"].lines) > 16:
                raise _ChildDied("the sandbox sent a malformed message")
        return self._complete_line()

    def _complete_line(self) -> str | None:
        for role in ("control", "data"):
            if self.lines[role].lines:
                return role
        return None

    def next_line(self, role: str) -> bytes:
        return self.lines[role].lines.popleft()

    def exit_description(self) -> str:
        try:
            code = self.process.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            return "its process ended"
        return f"the sandbox ended: {_describe_exit(code)}"

    def signal_group(self) -> None:
        """SIGKILL to bwrap's group and to the sandbox's init (the zygote, in a session and
        PID namespace of its own, where it ignores what it does not handle but an ancestor's
        SIGKILL)."""
        for pid in {*self.init_pids, *_children(self.process.pid)}:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def kill(self) -> None:
        """Kill the sandbox (its PID namespace takes every process in it along)."""
        if self._killed:
            return
        self._killed = True
        self.signal_group()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.end_session()
        self.selector.close()
        self.handover.close()
        for fd in self._own_fds:
            with contextlib.suppress(OSError):
                os.close(fd)


class _Session:
    """One student process, forked by a zygote, talking on the zygote's data pipes.

    Requests are written ahead of their replies, in order, each with the next id: at most
    `window` bytes of them unanswered (half the pipe, so a write never waits on the
    process, which answers them one by one); a larger one only when none is unanswered."""

    def __init__(self, zygote: _Zygote, secret: str) -> None:
        self.zygote = zygote
        self.secret = secret
        self._next_id = 0
        self._ended = False
        self._hung = False
        self.clean = False  # the zygote confirmed that nothing of the session is left
        self.window = min(WINDOW_BYTES, fcntl.fcntl(zygote.data_w, fcntl.F_GETPIPE_SZ) // 2)
        # (id, bytes, when written, whether written behind another), oldest first
        self._unanswered: collections.deque[tuple[int, int, float, bool]] = collections.deque()
        self._encoded: tuple[Request, int, bytes] | None = None  # a request that waits for room, with its id
        self._pipe_gone = False

    def load(self, submission: Submission, deadline: float) -> dict:
        self._send({"op": "load", "kind": submission.kind, "module": submission.module_name,
                    "entry": submission.entry, "cells": [c.as_dict() for c in submission.cells]}, deadline)
        message = self._receive(max(deadline - time.monotonic(), 0.01))
        cells = message.get("cells")
        ignored = message.get("ignored")
        if not isinstance(cells, list) or not isinstance(ignored, list):
            raise _ChildDied("it sent a malformed load report")
        return {"cells": [_clean_cell(c) for c in cells[:MAX_CELLS]], "ignored": [str(i)[:200] for i in ignored[:50]],
                "seconds": _seconds(message.get("seconds"))}

    def write(self, request: Request, timeout: float) -> float:
        """Write a request (of any size) when none is unanswered, within `timeout`; the time
        by which its reply is due."""
        number, line = self._line(request)
        end = time.monotonic() + timeout
        self._write(number, line, end)
        return end

    def write_ahead(self, request: Request, deadline: float) -> bool:
        """Write a request behind the unanswered ones if the window has room (by `deadline`,
        should the process have shrunk its pipe); False if not, or if the process no longer
        reads its pipe (the reply awaited will tell why)."""
        if self._pipe_gone:
            return False
        number, line = self._line(request)
        if sum(entry[1] for entry in self._unanswered) + len(line) > self.window:
            return False
        try:
            self._write(number, line, deadline, describe=False)
        except _ChildDied:
            self._pipe_gone = True
            return False
        return True

    def oldest(self) -> tuple[float, bool]:
        """When the oldest unanswered request was written, and whether behind another one."""
        return self._unanswered[0][2:]

    def reply(self, steps: int, end: float) -> Reply:
        """The reply to the oldest unanswered request, by `end`; `steps`: how many it asked
        for. Only its id is taken: a forked copy of the student's process may answer an
        earlier request again (and a hostile one a later request early)."""
        number = self._unanswered[0][0]
        while True:
            answer = self._receive(max(end - time.monotonic(), 0.0))
            if answer.get("id") == number:
                self._unanswered.popleft()
                return _reply_from(answer, steps)

    def _line(self, request: Request) -> tuple[int, bytes]:
        """The request's id and line, encoded once, however long it waits for room."""
        if self._encoded is None or self._encoded[0] is not request:
            self._next_id += 1
            self._encoded = (request, self._next_id, _frame(b'{"id": %d, ' % self._next_id + _body(request)[1:]))
        return self._encoded[1:]

    def _write(self, number: int, line: bytes, deadline: float, describe: bool = True) -> None:
        try:
            self.zygote.send(self.zygote.data_w, line, deadline, describe)
        except _ChildTimeout:
            self._hung = True
            raise
        self._encoded = None
        self._unanswered.append((number, len(line), time.monotonic(), bool(self._unanswered)))

    def close(self) -> None:
        """End the session within CLOSE_SECONDS, whatever the student's process does; a
        session whose end the zygote does not confirm in time costs the whole sandbox."""
        if self._ended:
            return
        if self.zygote.control_lost:
            self.zygote.kill()
            return
        end = time.monotonic() + CLOSE_SECONDS
        try:
            # hung, or with requests written that the submission has no time left for: the
            # zygote kills the session's processes; it stays warm
            if self._hung or self._unanswered:
                self.zygote.send(self.zygote.control_w, {"op": "kill"}, end)
            else:
                try:
                    self._send({"op": "exit"}, min(end, time.monotonic() + 1.0))
                    self._drain_until(min(end, time.monotonic() + 1.0))
                except _ChildTimeout:  # not gone by itself: the zygote ends it
                    self.zygote.send(self.zygote.control_w, {"op": "kill"}, end)
            self._drain_until(end)
        except _ChildDied:
            pass
        except _ChildTimeout:
            self.zygote.kill()
            return
        try:
            self.zygote.read(0)  # what it printed last
        except _ChildDied:
            pass
        self.zygote.end_session()

    def _drain_until(self, end: float) -> None:
        """Ignore replies until the zygote reports the end (raises _ChildDied) or `end`."""
        while True:
            self._receive(max(end - time.monotonic(), 0.0))

    def _send(self, message: dict, deadline: float) -> None:
        self.zygote.send(self.zygote.data_w, message, deadline)

    def _receive(self, timeout: float) -> dict:
        """The next reply that carries this session's secret; other lines were dropped
        unread. A message on the control pipe means the session's process has ended (its
        replies sent before, read in the same round, are taken first)."""
        end = time.monotonic() + timeout
        while True:
            if self.zygote.lines["data"].oversized:
                raise _ChildDied(f"it sent a reply larger than {MAX_MESSAGE_BYTES // 2**20} MB")
            left = end - time.monotonic()
            if left <= 0:
                self._hung = True
                raise _ChildTimeout()
            role = self.zygote.read(left)
            if role == "control" and self.zygote.lines["data"].lines:
                role = "data"  # read in the same round as the end: sent before it, taken first
            if role == "control":
                self._ended = True
                ended = _parse(self.zygote.next_line("control")) or {}
                self.clean = ended.get("op") == "ended" and ended.get("clean") is True
                raise _ChildDied(_ended_description(ended))
            if role == "data":
                line = self.zygote.next_line("data")
                if _too_complex(line):
                    raise _ChildDied("it sent a reply with more items than any answer may have")
                message = _parse(line)
                if message is not None and message.pop("secret", None) == self.secret:
                    return message


_BODIES: dict[tuple, tuple[list, bytes]] = {}  # a request's JSON without its id, per the values it sends
MAX_BODIES_BYTES = 64 * 1024 * 1024  # then they are dropped (a `per_student` check's cases never repeat)
_bodies_bytes = 0
_bodies_lock = threading.Lock()


def _body(request: Request) -> bytes:
    """A request as JSON (without its id), ending in a newline. The plan's cases are the same
    objects for every student, so their encoding is kept, keyed by which objects they are;
    the kept entry holds them, so no other object can take their identity meanwhile."""
    values = [*request.args, *(value for _, value in request.kwargs),
              *(value for step in request.steps for value in (*step[2], *(v for _, v in step[3])))]
    shape = (request.op, request.name, len(request.args), tuple(name for name, _ in request.kwargs),
             tuple((action, name, len(args), tuple(key for key, _ in kwargs))
                   for action, name, args, kwargs in request.steps))
    key = (shape, tuple(map(id, values)))
    kept = _BODIES.get(key)
    if kept is not None and all(a is b for a, b in zip(kept[0], values)):
        return kept[1]
    message: dict[str, Any] = {"op": request.op, "name": request.name}
    if request.op == "call":
        message["args"] = [wire.encode(arg) for arg in request.args]
        if request.kwargs:
            message["kwargs"] = [[name, wire.encode(value)] for name, value in request.kwargs]
    elif request.op == "steps":
        message["steps"] = [{"action": action, "name": name, "args": [wire.encode(arg) for arg in args],
                             "kwargs": [[key, wire.encode(value)] for key, value in kwargs]}
                            for action, name, args, kwargs in request.steps]
    body = (json.dumps(message) + "\n").encode()
    global _bodies_bytes
    with _bodies_lock:
        if _bodies_bytes + len(body) > MAX_BODIES_BYTES:
            _BODIES.clear()
            _bodies_bytes = 0
        _BODIES[key] = (values, body)
        _bodies_bytes += len(body)
    return body


def _framed(message: dict) -> bytes:
    return _frame((json.dumps(message) + "\n").encode())


def _frame(line: bytes) -> bytes:
    """A JSON line as the child reads it: its length in 11 digits and a newline, then the
    line. The child reads exactly one message at a time (child/: `_Channel.receive`), so
    the requests written ahead of their turn wait in the pipe, not in the student's process."""
    return b"%011d\n" % len(line) + line


def _check_of(request: Request) -> str:
    """The check a request belongs to (its key without the case number: `2c/lora/3` -> `2c/lora`).
    After a call ended or hung its process, the other cases of the same check are not tried;
    other checks of the same function still are, on their own cases."""
    return request.key.rsplit("/", 1)[0] if request.key.count("/") >= 2 else request.key


def _skipped(request: Request, dead: dict[str, Reply]) -> bool:
    """Whether `request` is a case of a check that hung or ended its process: not asked."""
    return _check_of(request) in dead and request.op in ("call", "steps")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def _ended_description(message: dict | None) -> str:
    status = (message or {}).get("status") or {}
    if type(status.get("signal")) is int:
        return _describe_exit(-status["signal"])
    if type(status.get("exit")) is int:
        return _describe_exit(status["exit"])
    return "it ended"


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = {"SIGSEGV": "a segmentation fault", "SIGKILL": "killed, often by the memory limit",
                "SIGXCPU": "the CPU time limit"}.get(name)
        return f"{name}, {hint}" if hint else name
    return f"exit status {code}"


def _seconds(value: Any) -> float:
    """A time the student's process reported: a finite, non-negative float, else 0."""
    if type(value) not in (int, float):
        return 0.0
    try:
        seconds = float(value)
    except OverflowError:
        return 0.0
    return seconds if math.isfinite(seconds) and 0.0 <= seconds < 1e6 else 0.0


def _reply_from(answer: dict, steps: int = 0) -> Reply:
    """A reply rebuilt on the trusted side; whatever it holds, it never raises. `steps`: how
    many steps the request asked for (an object's case), so no more outcomes are read."""
    try:
        return _checked_reply(answer, steps)
    except (ValueError, TypeError, RecursionError, MemoryError, OverflowError, KeyError, AttributeError) as exc:
        return Reply("invalid", detail=f"a malformed reply came back ({type(exc).__name__})")


MAX_MUTATED = 64  # argument positions a reply may name as modified in place


def checked_positions(mutated) -> tuple[int, ...]:
    """The argument positions a reply names as modified in place, if they can be positions."""
    if not isinstance(mutated, list) or len(mutated) > MAX_MUTATED:
        return ()
    return tuple(sorted({i for i in mutated if type(i) is int and 0 <= i < MAX_MUTATED}))


def _checked_reply(answer: dict, steps: int = 0) -> Reply:
    status = answer.get("status")
    seconds = _seconds(answer.get("seconds"))
    if status == "ok" and steps:
        outcomes = answer.get("steps")
        if not isinstance(outcomes, list) or len(outcomes) > steps:
            return Reply("invalid", detail="a malformed reply came back", seconds=seconds)
        taken = tuple(_step_reply(outcome) for outcome in outcomes)
        return Reply("ok", steps=taken + (Reply("not_run"),) * (steps - len(taken)), seconds=seconds)
    if status == "ok":
        try:
            return Reply("ok", value=wire.decode(answer.get("value")), mutated=checked_positions(answer.get("mutated")),
                         seconds=seconds)
        except wire.WireError as exc:
            return Reply("invalid", detail=str(exc), seconds=seconds)
    if status == "error":
        return Reply("error", error=_clean_error(answer.get("error")), seconds=seconds)
    if status == "not_callable":
        return Reply("not_callable", detail=str(answer.get("type"))[:100])
    if status == "missing":
        return Reply("missing")
    return Reply("invalid", detail="a malformed reply came back")


def _step_reply(outcome: Any) -> Reply:
    """One step's outcome: made, self, a value (ok) or an error."""
    status = outcome.get("status") if isinstance(outcome, dict) else None
    if status in ("made", "self"):
        return Reply(status)
    if status == "ok":
        try:
            return Reply("ok", value=wire.decode(outcome.get("value")))
        except wire.WireError as exc:
            return Reply("invalid", detail=str(exc))
    if status == "error":
        return Reply("error", error=_clean_error(outcome.get("error")))
    return Reply("invalid", detail="a malformed reply came back")


def _too_complex(line: bytes) -> bool:
    """Whether parsing `line` could build more objects than any reply needs: 96 MB of `[],`
    would be 30 million lists and gigabytes of memory. Arrays travel as base64 strings, which
    hold none of these bytes; counting them is a bound taken before anything is built."""
    return (line.count(b"[") + line.count(b"{") > MAX_CONTAINERS
            or line.count(b",") + line.count(b":") > MAX_SEPARATORS)


def _parse(line: bytes) -> dict | None:
    try:
        message = json.loads(line)
    except (ValueError, RecursionError, MemoryError):  # e.g. nested too deep to parse
        return None
    return message if isinstance(message, dict) else None


MAX_MRO = 16  # names of an exception's classes kept from a reply


def _clean_error(error: Any) -> dict:
    error = error if isinstance(error, dict) else {}
    line = error.get("line")
    cleaned = {"type": str(error.get("type", "Exception"))[:100],
               "message": str(error.get("message", ""))[:500],
               "line": line if type(line) is int else None}
    mro = error.get("mro")
    if type(mro) is list and mro:  # the names of the exception's classes, its own first
        cleaned["mro"] = [str(name)[:100] for name in mro[:MAX_MRO]]
    return cleaned


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
