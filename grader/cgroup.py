"""A cap on the memory and processes of everything one slot's sandbox runs (a control group).

The address-space limit binds one process; a submission that forks 60 processes could still
touch 60 times as much memory and push the machine into its OOM killer, which might pick the
grader. Where the grader may make control groups (as root, with cgroup v2's or v1's memory
controller), each slot gets one: its sandbox is started inside it, every process the student
makes stays inside it, and the kernel stops them at the slot's cap. Elsewhere (not root, or
no delegation) `create` returns None and only the per-process limits apply.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


class SlotGroup:
    """The control group folders (one per controller hierarchy) of one slot."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders

    @property
    def procs_files(self) -> list[str]:
        return [str(folder / "cgroup.procs") for folder in self.folders]

    def enter_then(self, argv: list[str]) -> list[str]:
        """`argv`, started by a shell that first moves itself into the group: nothing the
        command forks can start outside it."""
        script = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 111; shift; n=$((n-1)); done; exec "$@"'
        return ["/bin/sh", "-c", script, "sh", str(len(self.folders)), *self.procs_files, *argv]

    def remove(self) -> None:
        """Remove the group; its last processes may take a moment to leave it."""
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def create(name: str, memory_bytes: int, processes: int) -> SlotGroup | None:
    """A fresh group `name` capped at `memory_bytes` (no swap) and `processes`, or None where
    groups cannot be made here."""
    if os.name != "posix" or os.geteuid() != 0 or not CGROUP_ROOT.is_dir():
        return None
    made: list[Path] = []
    try:
        if (CGROUP_ROOT / "cgroup.controllers").exists():
            made.append(_make(CGROUP_ROOT / _own_group("").lstrip("/"), name))
            _enable(made[0].parent, ("memory", "pids"))
            _write(made[0] / "memory.max", memory_bytes)
            _write(made[0] / "memory.swap.max", 0, optional=True)
            _write(made[0] / "pids.max", processes)
        else:
            memory = _make(CGROUP_ROOT / "memory" / _own_group("memory").lstrip("/"), name)
            made.append(memory)
            _write(memory / "memory.limit_in_bytes", memory_bytes)
            _write(memory / "memory.memsw.limit_in_bytes", memory_bytes, optional=True)
            if (CGROUP_ROOT / "pids").is_dir():
                pids = _make(CGROUP_ROOT / "pids" / _own_group("pids").lstrip("/"), name)
                made.append(pids)
                _write(pids / "pids.max", processes)
    except (OSError, ValueError):
        SlotGroup(made).remove()
        return None
    return SlotGroup(made)


def _own_group(controller: str) -> str:
    """This process's group in the hierarchy of `controller` ("" for cgroup v2)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(",") or (controller == "" and controllers == ""):
            return path
    raise ValueError(f"no {controller or 'v2'} control group")


def _make(parent: Path, name: str) -> Path:
    _sweep(parent)
    folder = parent / name
    folder.mkdir()
    return folder


def _sweep(parent: Path) -> None:
    """Remove empty groups that a grader killed before it could clean up left behind."""
    for folder in parent.glob("grade-*-*"):
        owner = folder.name.split("-")[1]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            try:
                folder.rmdir()
            except OSError:
                pass


def _enable(parent: Path, controllers: tuple[str, ...]) -> None:
    wanted = [c for c in controllers if c not in (parent / "cgroup.subtree_control").read_text().split()]
    if wanted:
        (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted))


def _write(path: Path, value: int, optional: bool = False) -> None:
    if optional and not path.exists():
        return
    path.write_text(str(value))


def available() -> bool:
    """Whether slots get a control group here."""
    group = create(f"grade-probe-{os.getpid()}", 1 << 30, 64)
    if group is None:
        return False
    group.remove()
    return True
