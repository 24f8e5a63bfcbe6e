"""The student's side: a warm interpreter that forks a fresh process for each session.

Run as a script by the runner (`python -I -S .../child/__main__.py CTL_IN CTL_OUT DATA_IN
DATA_OUT CONFIG`), inside the sandbox. The process itself (the "zygote") imports numpy and
everything else it will ever need once, with a sys.path of read-only places only (the
standard library, site-packages, this folder), and never runs, imports or reads anything
a student can touch. For each session the grader sends on the control pipe the
submission's files and a secret; the zygote forks and waits. The fork drops the control
pipe, enters a world of its own (`isolate`: fresh user, mount and IPC namespaces, fresh
capped tmpfs file systems, a new session keyring, no capabilities), writes the files, sets
its limits, puts the working folder on its sys.path and serves the session on the data
pipes: load the submission, answer calls, until told to stop. When it has ended, the zygote
kills every process left in the sandbox, reaps them, and says so on the control pipe,
which student code cannot reach (the zygote is not dumpable, so not traceable either).
Without isolation (`config["isolate"]` false) the runner lets a zygote serve one student
only. It knows nothing of the reference: it only runs student code on the arguments it is
given.
"""

import base64
import builtins
import json
import linecache
import os
import resource
import select
import signal
import socket
import sys
import time
import traceback
import types


def main() -> None:
    ctl_in, ctl_out, handover = (int(fd) for fd in sys.argv[1:4])
    config = json.loads(sys.argv[4])
    sys.path[:] = config["sys_path"]  # read-only places only: never the working folder
    import numpy  # noqa: F401  (imported once, before any fork: the point of the zygote)
    import numpy.random  # noqa: F401  (numpy imports it lazily: else each session's first fixture would)

    import isolate
    import wire

    support = _load_support(config.get("support"))

    global _OWN_PID_NAMESPACE
    _OWN_PID_NAMESPACE = config["own_pid_namespace"]
    _die_with_parent()
    _prctl(4, 0)  # PR_SET_DUMPABLE 0: no ptrace, no /proc/<pid>/mem for the student
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as PID 1, no handler means no delivery
    builtins.get_ipython = lambda: None  # replaced per notebook; present so the snapshot keeps it
    builtins.display = lambda *objects, **kwargs: None
    pristine = dict(builtins.__dict__)
    control = _Channel(ctl_in, ctl_out)
    handover_socket = socket.socket(fileno=handover)  # where each session's own pipes arrive
    modules = {"wire": wire, "support": support, "isolate": isolate}
    while True:
        order = control.receive()
        if order is None or order.get("op") != "spawn":
            return  # the grader is gone or done
        pid = _spawn(order, config, (ctl_in, ctl_out, handover_socket), modules, pristine)
        control.send({"op": "started"})  # only now may the grader write to the data pipe
        status, grader_gone = _watch(pid, control)
        clean = _end_session(pid)
        if grader_gone:
            return
        control.send({"op": "ended", "status": _describe_status(status), "clean": clean})


def _watch(pid: int, control) -> tuple[int, bool]:
    """Wait for the session to end, or for the grader to order its end (a timeout) or to
    vanish (killed): then end it. Returns its wait status and whether the grader is gone."""
    process = os.pidfd_open(pid)
    try:
        while True:
            ready, _, _ = select.select([process, control.fileno()], [], [])
            if process in ready:
                return os.waitpid(pid, 0)[1], False
            order = control.receive()
            if order is None or order.get("op") == "kill":
                _kill_session(pid)
                return os.waitpid(pid, 0)[1], order is None
    finally:
        os.close(process)


def _spawn(order: dict, config: dict, own_fds, modules: dict, pristine) -> int:
    """Fork the session with the pipes the grader made for it alone (request, reply, output)."""
    _, fds, _, _ = socket.recv_fds(own_fds[2], 1, 3)
    if len(fds) != 3:
        raise SystemExit("grade: the grader sent no pipes for the session")
    request_in, reply_out, output = fds
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        return pid
    try:
        for channel in own_fds:
            channel.close() if isinstance(channel, socket.socket) else os.close(channel)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setsid()
        if config["isolate"]:
            try:
                modules["isolate"].enter(config["filesystems"], config["keep"])
            except OSError as exc:  # no world of its own: no student code runs
                print(f"grade: the session could not be isolated ({exc})", file=sys.stderr)
                os._exit(70)
        # numpy's global generator, made in the zygote and forked: fresh entropy for each
        # session, as its own import gave (before the working folder is on sys.path)
        sys.modules["numpy.random"].seed()
        _write_files(config["workdir"], order["files"])
        _apply_limits(config)
        os.chdir(config["workdir"])
        sys.path.insert(0, config["workdir"])  # the student's own modules, for this session only
        _serve(_Channel(request_in, reply_out, secret=order["secret"]), config, modules["wire"], modules["support"],
               pristine)
    finally:
        for stream in (sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except BaseException:
                pass
        os._exit(0)


def _serve(channel, config: dict, wire, support, pristine: dict) -> None:
    namespace: dict = {}
    while True:
        request = channel.receive()
        if request is None or request.get("op") == "exit":
            return
        if request["op"] == "load":
            namespace = _load(request, config)
            _restore(pristine)
            channel.send({"op": "loaded", **namespace.pop("__grade_report__")})
        elif request["op"] in ("call", "get", "steps"):
            answer = _steps if request["op"] == "steps" else _answer
            reply = answer(request, namespace, wire, support, pristine)
            _restore(pristine)
            channel.send({"id": request["id"], **reply})


def _write_files(workdir: str, files: list) -> None:
    for item in files:
        relative = os.path.normpath(item["path"])
        if relative.startswith(("..", "/")):
            continue
        target = os.path.join(workdir, relative)
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(base64.b64decode(item["data"]))
        except OSError as exc:  # e.g. more than the working folder holds: the session sees it
            print(f"grade: could not write {relative}: {exc.strerror}", file=sys.stderr)


_OWN_PID_NAMESPACE = False


def _kill_session(pid: int) -> None:
    try:
        if _OWN_PID_NAMESPACE:
            os.kill(-1, signal.SIGKILL)  # every process in this namespace but this one (init)
        else:
            os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _end_session(pid: int) -> bool:
    """Kill what the session left running and reap it all. True when nothing is left: in the
    sandbox's own PID namespace every process but this one is gone, and with them the
    session's namespaces and file systems. A process forked while the first kill went out
    is killed by the next; after a few seconds the sandbox is given up (False)."""
    deadline = time.monotonic() + 3.0
    while True:
        _kill_session(pid)
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            break
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    if not _OWN_PID_NAMESPACE:
        return False
    return [entry for entry in os.listdir("/proc") if entry.isdigit() and entry != "1"] == []


def _describe_status(status: int) -> dict:
    if os.WIFSIGNALED(status):
        return {"signal": os.WTERMSIG(status)}
    return {"exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1}


def _prctl(option: int, value: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None).prctl(option, value)
    except (OSError, AttributeError):
        pass


def _die_with_parent() -> None:
    """Ask the kernel to kill this process when the grader dies (Linux only)."""
    _prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL


def _restore(pristine: dict) -> None:
    """Undo what student code did to builtins (isinstance, len, ...): the grader's side of
    this process keeps working, and the student's answers are judged by the grader anyway."""
    for name in [name for name in builtins.__dict__ if name not in pristine]:
        del builtins.__dict__[name]
    builtins.__dict__.update(pristine)


class _Channel:
    # bound now: student code may replace json.dumps, os.read, os.write or os.getpid later
    _dumps, _loads = staticmethod(json.dumps), staticmethod(json.loads)
    _read, _write, _getpid, _pause = (staticmethod(os.read), staticmethod(os.write), staticmethod(os.getpid),
                                      staticmethod(signal.pause))

    def __init__(self, fd_in: int, fd_out: int, secret: str = "") -> None:
        self._fd_in = fd_in
        self._fd_out = fd_out
        self.secret = secret
        self._owner = self._getpid()

    def fileno(self) -> int:
        return self._fd_in

    def receive(self):
        """The next message, or None at the end of the pipe. Each comes as its length (11
        digits and a newline) and its JSON line, and exactly one is read: the requests the
        grader wrote behind it stay in the pipe, so what the student's code does to the
        pipe meanwhile (closes it, swaps it) costs the same requests however many were
        written ahead. A forked copy of the student's process that comes back here (its
        reply sent) takes none of them: it waits to be killed with the session."""
        while self._getpid() != self._owner:
            self._pause()
        header = self._exactly(12)
        body = self._exactly(int(header)) if header else None
        return self._loads(body) if body else None

    def _exactly(self, size: int) -> bytes | None:
        chunks = []
        while size > 0:
            chunk = self._read(self._fd_in, min(size, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def send(self, message: dict) -> None:
        # the secret marks our replies; the leading newline ends any partial line of junk
        # the secret comes first, so the grader can drop a line without parsing it
        data = ("\n" + self._dumps({"secret": self.secret, **message}) + "\n").encode()
        while data:
            data = data[self._write(self._fd_out, data):]


def _apply_limits(config: dict) -> None:
    memory = config["memory_mb"] * 1024 * 1024
    limits = {
        resource.RLIMIT_AS: memory,
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_FSIZE: config["file_size_mb"] * 1024 * 1024,
        resource.RLIMIT_CPU: int(config["cpu_seconds"]) + 1,
        resource.RLIMIT_NOFILE: config["open_files"],
    }
    if config.get("processes"):
        limits[resource.RLIMIT_NPROC] = config["processes"]
    for which, value in limits.items():
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass  # a lower hard limit was already set by whoever started us
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails instead of killing


# ---------------------------------------------------------------- loading the submission


def _load(request: dict, config: dict) -> dict:
    notes: list[str] = []
    if request["kind"] == "ipynb":
        module = types.ModuleType("__main__")
        sys.modules["__main__"] = module
    else:
        module = types.ModuleType(request["module"])
        module.__file__ = os.path.join(config["workdir"], request["entry"])
        sys.modules[request["module"]] = module
    namespace = module.__dict__
    namespace["__builtins__"] = builtins
    shell = _Shell(namespace, notes)
    builtins.get_ipython = lambda: shell
    builtins.display = lambda *objects, **kwargs: None
    cells = []
    started = time.perf_counter()
    for cell in request["cells"]:
        cells.append({"label": cell["label"], "error": _run_cell(cell["source"], cell["label"], namespace)})
    namespace["__grade_report__"] = {"cells": cells, "ignored": notes, "seconds": time.perf_counter() - started}
    return namespace


def _run_cell(source: str, label: str, namespace: dict):
    linecache.cache[label] = (len(source), None, source.splitlines(True), label)
    try:
        exec(compile(source, label, "exec"), namespace)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the next cell still runs
        return _describe_exception(exc, label)
    return None


# where code that is not the student's lives: this folder, the standard library, site-packages
_NOT_THEIRS = tuple(sorted({os.path.dirname(os.path.abspath(__file__)), sys.prefix, sys.base_prefix, sys.exec_prefix}))


def _describe_exception(exc: BaseException, label: str | None = None) -> dict:
    """The exception's type and message, and the line of the student's code it came from: of
    the cell `label`, else of the last frame that is not the grader's or a library's."""
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    if line is None:
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if (f.filename == label if label is not None else not f.filename.startswith(_NOT_THEIRS))]
        line = frames[-1].lineno if frames else None
    try:
        message = str(exc)
    except BaseException:
        message = "(the exception's message could not be shown)"
    return {"type": type(exc).__name__, "message": message[:500], "line": line}


class _Shell:
    """Just enough of IPython's shell for transformed magics: timing magics run their code,
    everything else (shell escapes, plotting set-up, help) is ignored and noted."""

    _RUN_BODY = {"time", "timeit", "capture", "prun", "memit", "debug"}

    def __init__(self, namespace: dict, notes: list[str]) -> None:
        self.user_ns = namespace
        self._notes = notes

    def run_line_magic(self, name, line, _stack_depth=1):
        if name in self._RUN_BODY:
            exec(compile(_strip_options(line), "<magic>", "exec"), self.user_ns)
        else:
            self._notes.append(f"%{name} {line}".strip())

    def run_cell_magic(self, name, line, cell):
        if name in self._RUN_BODY:
            exec(compile(cell, f"<%%{name} cell>", "exec"), self.user_ns)
        elif name == "writefile" and line.split() and ".." not in line:
            parts = line.split()
            with open(parts[-1], "a" if "-a" in parts else "w", encoding="utf-8") as handle:
                handle.write(cell)
        else:
            self._notes.append(f"%%{name} {line}".strip())

    def system(self, command):
        self._notes.append(f"!{command}")

    def getoutput(self, command, split=True):
        self._notes.append(f"!{command}")
        return []

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _strip_options(line: str) -> str:
    words = line.split(" ")
    while words and words[0].startswith("-"):
        option = words.pop(0)
        if option in ("-n", "-r", "-p") and words:
            words.pop(0)
    return " ".join(words)


# ---------------------------------------------------------------- answering requests


def _answer(request: dict, namespace: dict, wire, support, pristine: dict) -> dict:
    name = request["name"]
    if name not in namespace:
        return {"status": "missing"}
    target = namespace[name]
    if request["op"] == "get":
        return {"status": "ok", "value": wire.encode(target)}
    if not callable(target):
        return {"status": "not_callable", "type": type(target).__name__}
    args = [_build_arg(wire.decode(arg, allow_fixtures=True), wire, support) for arg in request["args"]]
    kwargs = {name: _build_arg(wire.decode(arg, allow_fixtures=True), wire, support)
              for name, arg in request.get("kwargs", ())}
    given = [*args, *kwargs.values()]  # positional, then keyword: the order `mutated` counts in
    # a record of each argument as plain data: compared after the call without calling any
    # `__eq__` of the student's (or a DataFrame's, which would raise)
    before = [wire.record(arg) if not callable(arg) else None for arg in given]
    started = time.perf_counter()
    try:
        result = target(*args, **kwargs)
    except BaseException as exc:  # sys.exit() inside a function is that function's error
        _restore(pristine)
        error = _describe_exception(exc)
        error["mro"] = _class_names(exc)
        return {"status": "error", "error": error, "seconds": time.perf_counter() - started}
    seconds = time.perf_counter() - started
    _restore(pristine)
    mutated = [i for i, (old, new) in enumerate(zip(before, given)) if old is not None and not wire.unchanged(old, new)]
    return {"status": "ok", "value": wire.encode(result), "mutated": mutated, "seconds": seconds}


def _steps(request: dict, namespace: dict, wire, support, pristine: dict) -> dict:
    """An object's case: make it with the class `name`, take every step with it, and report
    each step's outcome (made, self, a value, or the exception). After a step raises, the
    next steps still run on the same object; if making it raised, nothing more runs."""
    name = request["name"]
    if name not in namespace:
        return {"status": "missing"}
    target = namespace[name]
    if not callable(target):
        return {"status": "not_callable", "type": type(target).__name__}
    obj, outcomes = None, []
    started = time.perf_counter()
    for step in request["steps"]:
        try:
            args = [_build_arg(wire.decode(arg, allow_fixtures=True), wire, support) for arg in step["args"]]
            kwargs = {key: _build_arg(wire.decode(arg, allow_fixtures=True), wire, support)
                      for key, arg in step["kwargs"]}
            if step["action"] == "new":
                obj = target(*args, **kwargs)
                outcome = {"status": "made"}
            else:
                value = getattr(obj, step["name"])
                if step["action"] == "call":
                    value = value(*args, **kwargs)
                outcome = {"status": "self"} if value is obj else {"status": "ok", "value": wire.encode(value)}
        except BaseException as exc:  # the step's error, whatever it is
            _restore(pristine)
            error = _describe_exception(exc)
            error["mro"] = _class_names(exc)
            outcome = {"status": "error", "error": error}
        _restore(pristine)
        outcomes.append(outcome)
        if step["action"] == "new" and outcome["status"] == "error":
            break
    return {"status": "ok", "steps": outcomes, "seconds": time.perf_counter() - started}


def _class_names(exc: BaseException) -> list:
    """The names of the exception's class and the classes it derives from (its MRO), at most
    16, so the grader can tell a subclass of the exception a case asks for."""
    try:
        return [str(type.__dict__["__name__"].__get__(kind))[:100] for kind in type(exc).__mro__[:16]]
    except BaseException:
        return [type(exc).__name__]


def _build_arg(value, wire, support):
    """A fixture (plain data) made the object it stands for, by the support module, with a
    generator in the state the grader recorded; any other argument as it is."""
    if not wire.is_fixture(value):
        return value
    name = value["__fixture__"]
    function = getattr(support, name, None) if support is not None and not name.startswith("_") else None
    if not callable(function):
        raise RuntimeError(f"grade: the support module has no fixture {name!r}")
    return function(wire.fixture_rng(value["seed"]), **value["params"])


def _load_support(source):
    """The rubric's support module (instructor's code, sent in the config), made the module
    `grade_support` before any fork: from no file, least of all one in the working folder."""
    if source is None:
        return None
    module = types.ModuleType("grade_support")
    sys.modules["grade_support"] = module
    exec(compile(source, "<grade_support>", "exec"), module.__dict__)
    return module


if __name__ == "__main__":
    main()
