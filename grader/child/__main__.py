"""The student's side: load a submission, then answer calls until told to stop.

Run as a script by the runner (`python -I -S .../child/__main__.py FD_IN FD_OUT CONFIG`),
in a fresh interpreter whose sys.path holds the standard library, site-packages, this
folder and the submission's own folder, nothing else. It reads requests as JSON lines from
FD_IN and writes replies to FD_OUT, a channel that print() and sys.stdout never reach.
It knows nothing of the reference: it only runs student code on the arguments it is given.
"""

import builtins
import copy
import json
import linecache
import os
import sys
import time
import traceback
import types


def main() -> None:
    fd_in, fd_out, config = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
    sys.path[:] = config["sys_path"]
    import numpy  # noqa: F401  (imported before the limits; student code shares it)

    import toys
    import wire

    _die_with_parent()
    _apply_limits(config)
    os.chdir(config["workdir"])
    channel = _Channel(fd_in, fd_out)
    builtins.get_ipython = lambda: None  # replaced per notebook; present so the snapshot keeps it
    builtins.display = lambda *objects, **kwargs: None
    pristine = dict(builtins.__dict__)
    hello = channel.receive()
    channel.secret = hello.get("secret", "") if hello else ""
    namespace: dict = {}
    while True:
        request = channel.receive()
        if request is None or request["op"] == "exit":
            return
        if request["op"] == "load":
            namespace = _load(request, config)
            _restore(pristine)
            channel.send({"op": "loaded", **namespace.pop("__grade_report__")})
        elif request["op"] in ("call", "get"):
            reply = _answer(request, namespace, wire, toys, pristine)
            _restore(pristine)
            channel.send({"id": request["id"], **reply})


def _restore(pristine: dict) -> None:
    """Undo what student code did to builtins (isinstance, len, ...): the grader's side of
    this process keeps working, and the student's answers are judged by the grader anyway."""
    for name in [name for name in builtins.__dict__ if name not in pristine]:
        del builtins.__dict__[name]
    builtins.__dict__.update(pristine)


class _Channel:
    # bound now: student code may replace json.dumps or os.write later
    _dumps, _loads, _write = staticmethod(json.dumps), staticmethod(json.loads), staticmethod(os.write)

    def __init__(self, fd_in: int, fd_out: int) -> None:
        self._reader = os.fdopen(fd_in, "rb", buffering=1 << 16)
        self._fd_out = fd_out
        self.secret = ""

    def receive(self):
        line = self._reader.readline()
        return self._loads(line) if line else None

    def send(self, message: dict) -> None:
        # the secret marks our replies; the leading newline ends any partial line of junk
        data = ("\n" + self._dumps({**message, "secret": self.secret}) + "\n").encode()
        while data:
            data = data[self._write(self._fd_out, data):]


def _die_with_parent() -> None:
    """Ask the kernel to kill this process when the grader dies (Linux only)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass


def _apply_limits(config: dict) -> None:
    import resource
    import signal

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
    for cell in request["cells"]:
        cells.append({"label": cell["label"], "error": _run_cell(cell["source"], cell["label"], namespace)})
    namespace["__grade_report__"] = {"cells": cells, "ignored": notes}
    return namespace


def _run_cell(source: str, label: str, namespace: dict):
    linecache.cache[label] = (len(source), None, source.splitlines(True), label)
    try:
        exec(compile(source, label, "exec"), namespace)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the next cell still runs
        return _describe_exception(exc, label)
    return None


def _describe_exception(exc: BaseException, label: str | None = None) -> dict:
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    if line is None:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if label is None or f.filename == label]
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


def _answer(request: dict, namespace: dict, wire, toys, pristine: dict) -> dict:
    _restore(pristine)
    name = request["name"]
    if name not in namespace:
        return {"status": "missing"}
    target = namespace[name]
    if request["op"] == "get":
        return {"status": "ok", "value": wire.encode(target)}
    if not callable(target):
        return {"status": "not_callable", "type": type(target).__name__}
    args = [_build_arg(wire.decode(arg, allow_toys=True), toys) for arg in request["args"]]
    before = [copy.deepcopy(arg) if not callable(arg) else None for arg in args]
    started = time.perf_counter()
    try:
        result = target(*args)
    except BaseException as exc:  # sys.exit() inside a function is that function's error
        _restore(pristine)
        return {"status": "error", "error": _describe_exception(exc), "seconds": time.perf_counter() - started}
    seconds = time.perf_counter() - started
    _restore(pristine)
    mutated = [i for i, (old, new) in enumerate(zip(before, args)) if old is not None and not _same(old, new)]
    return {"status": "ok", "value": wire.encode(result), "mutated": mutated, "seconds": seconds}


def _build_arg(value, toys):
    if isinstance(value, dict) and "__toy__" in value:
        return toys.build(value["__toy__"], value["table"])
    return value


def _same(old, new) -> bool:
    import numpy as np

    if isinstance(old, np.ndarray):
        return type(new) is np.ndarray and old.shape == new.shape and np.array_equal(old, new, equal_nan=True)
    return old == new


if __name__ == "__main__":
    main()
