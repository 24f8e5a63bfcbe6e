"""The slot's control group: made, entered by the sandbox's command, removed, swept."""

from __future__ import annotations

import os
import subprocess

import pytest

from grader import cgroup

pytestmark = pytest.mark.skipif(not cgroup.available(), reason="control groups need root and a memory controller")


def test_a_command_starts_inside_the_group_and_the_group_goes_away(tmp_path):
    group = cgroup.create(f"grade-{os.getpid()}-test", 256 << 20, 16)
    assert group is not None
    try:
        argv = group.enter_then(["/bin/sh", "-c", "cat /proc/self/cgroup"])
        shown = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        assert f"grade-{os.getpid()}-test" in shown
        limit = next(f for f in group.folders[0].iterdir() if f.name in ("memory.max", "memory.limit_in_bytes"))
        assert int(limit.read_text()) == 256 << 20
    finally:
        group.remove()
    assert not any(folder.exists() for folder in group.folders)


def test_groups_left_by_a_killed_grader_are_swept():
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = cgroup.create(f"grade-{dead.pid}-0-stale", 64 << 20, 8)
    assert stale is not None
    fresh = cgroup.create(f"grade-{os.getpid()}-sweeper", 64 << 20, 8)
    try:
        assert not any(folder.exists() for folder in stale.folders)
    finally:
        fresh.remove()
        stale.remove()
