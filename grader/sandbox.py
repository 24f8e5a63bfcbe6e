"""Confinement of the student's process: a real sandbox (bubblewrap) or a plain child.

`Bubblewrap` runs the child in new PID, network, IPC and UTS namespaces, on a root made of
read-only binds of the system and of Python, a private size-capped tmpfs as working folder
(the submission's files are written there for each session and wiped after it), and nothing
else: the project tree, the rubric, the reference, the output folder and other students'
files do not exist in there. As root, bwrap keeps its
capabilities, so the child first drops to an unprivileged uid of its own (one per concurrent
slot, so per-uid limits such as RLIMIT_NPROC do not mix) with `setpriv`: no capabilities,
no new privileges. When bwrap dies, so does every process in the namespace, including
children that called setsid().

`Plain` is the fallback where bubblewrap is missing: the same child process with the same
resource limits, but with the grader's uid and view of the files. Results say so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import GradeError

CHILD_DIR = Path(__file__).resolve().parent / "child"
INSIDE_CHILD_DIR = "/run/grade/child"
INSIDE_WORKDIR = "/run/grade/work"
FIRST_UID = 61000
WORKDIR_BYTES = 64 * 1024 * 1024
TMP_BYTES = 16 * 1024 * 1024
SANDBOX_MODES = ("auto", "required", "off")


class SandboxUnavailable(GradeError):
    """`--sandbox required` was asked for where bubblewrap cannot run."""


class Plain:
    """No sandbox: a child process with resource limits only."""

    sandboxed = False
    isolates_sessions = False
    child_dir = str(CHILD_DIR)

    def __init__(self, reason: str = "the sandbox is off") -> None:
        self.reason = reason
        self.description = f"WITHOUT a sandbox ({reason}), with the grader's rights"

    def workdir(self, host_scratch: Path) -> str:
        return str(host_scratch)

    def uid_for(self, slot: int) -> int | None:
        return None

    def wrap(self, argv: list[str], uid: int | None, readable: list[str]) -> list[str]:
        return argv


class Bubblewrap:
    """The real sandbox. See the module docstring for what it isolates."""

    sandboxed = True
    child_dir = INSIDE_CHILD_DIR
    description = "sandboxed (bubblewrap)"

    def __init__(self, bwrap: str, setpriv: str | None, isolates_sessions: bool = False) -> None:
        self.bwrap = bwrap
        self.setpriv = setpriv  # None when not root: bwrap's user namespace drops rights instead
        # whether each session can get namespaces and file systems of its own (child/isolate.py);
        # only then may one warm zygote serve one student after another
        self.isolates_sessions = isolates_sessions

    def workdir(self, host_scratch: Path) -> str:
        return INSIDE_WORKDIR

    def uid_for(self, slot: int) -> int | None:
        """The unprivileged uid of a slot: no two concurrent submissions share one."""
        return FIRST_UID + slot if self.setpriv is not None else None

    def wrap(self, argv: list[str], uid: int | None, readable: list[str]) -> list[str]:
        # --as-pid-1: the zygote is the namespace's init, so the student's code, same uid or
        # not, cannot kill it (init only gets signals it handles); when it ends, all end
        args = [self.bwrap, "--unshare-pid", "--as-pid-1", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
        if uid is None:
            # no --disable-userns: each session makes a user namespace of its own (isolate.py)
            args += ["--unshare-user", "--cap-drop", "ALL"]
        else:
            args += ["--cap-drop", "ALL"] + [a for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")
                                             for a in ("--cap-add", cap)]
        args += _system_binds()
        # mounts apply in order: /tmp first, so Python or a venv living under /tmp shows through
        args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
        made: set[str] = {"/", "/usr", "/etc", "/tmp", "/proc", "/dev"}
        for path in sorted(set(readable) - {str(CHILD_DIR)}):
            args += _parents(path, made) + ["--ro-bind", path, path]
        args += _parents(INSIDE_CHILD_DIR, made) + ["--ro-bind", str(CHILD_DIR), INSIDE_CHILD_DIR]
        args += _parents(INSIDE_WORKDIR, made) + [
            "--perms", "0777", "--size", str(WORKDIR_BYTES), "--tmpfs", INSIDE_WORKDIR,
            "--chdir", INSIDE_WORKDIR]
        if uid is not None:
            args += [self.setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                     "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
        return args + argv


def python_locations(python: str = sys.executable) -> list[str]:
    """What must be readable for the interpreter to start: its prefixes and executable (and,
    for another interpreter such as a virtualenv's, the folder it lives in)."""
    places = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
              str(Path(python).parent), str(Path(python).resolve().parent.parent)}
    if python != sys.executable:
        places.add(str(Path(python).parent.parent))
    return sorted(p for p in places if p and os.path.isdir(p) and p != "/")


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "nsswitch.conf"):
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _parents(path: str, made: set[str]) -> list[str]:
    """Create the path's missing ancestors world-traversable (bwrap makes them 0700)."""
    args: list[str] = []
    for parent in reversed(Path(path).parents):
        key = str(parent)
        if key not in made:
            made.add(key)
            args += ["--perms", "0755", "--dir", key]
    return args


def choose(mode: str) -> Plain | Bubblewrap:
    """The confinement for `mode` (auto, required, off); `required` refuses to fall back."""
    if mode not in SANDBOX_MODES:
        raise GradeError(f"unknown sandbox mode {mode!r}; use one of {', '.join(SANDBOX_MODES)}")
    if mode == "off":
        return Plain("--sandbox off")
    problem, sandbox = probe()
    if sandbox is not None:
        return sandbox
    if mode == "required":
        raise SandboxUnavailable(f"the sandbox is required but cannot run: {problem}; "
                                 "install bubblewrap (Debian: apt-get install bubblewrap) or use --sandbox auto")
    return Plain(problem)


_PROBED: tuple[str, Bubblewrap | None] | None = None


def probe() -> tuple[str, Bubblewrap | None]:
    """Whether bubblewrap works here: a trivial command is run inside it once per process."""
    global _PROBED
    if _PROBED is None:
        _PROBED = _probe()
    return _PROBED


def _probe() -> tuple[str, Bubblewrap | None]:
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux, this is {sys.platform}", None
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bwrap is not installed", None
    setpriv = shutil.which("setpriv") if os.geteuid() == 0 else None
    if os.geteuid() == 0 and setpriv is None:
        return "setpriv (util-linux) is needed to drop root inside the sandbox", None
    sandbox = Bubblewrap(bwrap, setpriv)
    try:
        script = f"{INSIDE_CHILD_DIR}/isolate.py"
        argv = sandbox.wrap([sys.executable, "-I", "-S", script, "probe"], sandbox.uid_for(0), python_locations())
        result = subprocess.run(argv, capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap did not start ({exc})", None
    said = result.stderr.decode(errors="replace").strip().splitlines()
    if result.returncode == 1 and said and said[-1].startswith("isolation:"):
        return "", sandbox  # a sandbox per student: sessions cannot be isolated inside one
    if result.returncode != 0:
        return f"bwrap failed: {said[-1] if said else f'exit status {result.returncode}'}", None
    sandbox.isolates_sessions = True
    return "", sandbox
