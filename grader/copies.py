"""Work done by forked copies of the grader, several at once, after grading.

Once every submission is graded, what is left (the class's free-text suggestions, showing
each student) needs only what the grader already holds, and would otherwise run on the
grader's one thread while the other cores wait. `in_copies` forks copies of the grader
(no student code runs in them, and none is ever asked to run any), gives each every
`copies`-th task, and hands the grader each task's outcome, a JSON object, as it arrives:
nothing crosses as a pickle. A task no copy sent back (its copy failed, or died) is left to
the caller, who does it itself, so a failure is raised as it is without copies. The stages
a copy times (timing.py) are added to the grader's.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
from collections.abc import Callable, Sequence
from typing import Any

from . import timing

FORK_FROM = 64  # with fewer students, forking costs more than it saves
CORES = os.cpu_count() or 1


def copies_for(students: int, jobs: int) -> int:
    """How many copies to fork for work on this many students: at most `jobs`, no more than
    the cores (a copy only computes; each one more would load the sentence model once more
    for nothing), and at least FORK_FROM / 2 students each; 1 (none) where the system cannot
    fork."""
    if not hasattr(os, "fork") or students < FORK_FROM:
        return 1
    return max(1, min(jobs, CORES, students // (FORK_FROM // 2)))


def in_copies(tasks: Sequence[Any], work: Callable[[Any], dict], copies: int,
              take: Callable[[int, dict], None]) -> None:
    """`take(index, work(tasks[index]))` in the grader, for each task a copy did."""
    children: dict[int, int] = {}  # read end -> pid
    try:
        for number in range(copies):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the copy: it does its tasks, and never returns
                os.close(read)
                _copy([(index, tasks[index]) for index in range(number, len(tasks), copies)], work, write)
            os.close(write)
            children[read] = pid
        _gather(children, take)
    finally:
        for read, pid in children.items():
            try:
                os.kill(pid, signal.SIGKILL)  # gone already unless something failed here
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            os.close(read)


def _copy(tasks: list[tuple[int, Any]], work: Callable[[Any], dict], write: int) -> None:
    status = 0
    try:
        os.environ["TOKENIZERS_PARALLELISM"] = "false"  # its threads were not forked
        timing.reset()  # the stages this copy adds to the grader's
        with os.fdopen(write, "w", encoding="utf-8", errors="surrogatepass") as stream:
            for index, task in tasks:
                stream.write(json.dumps({"index": index, "outcome": work(task)}, ensure_ascii=False) + "\n")
                stream.flush()
            stream.write(json.dumps({"stages": timing.totals()}) + "\n")
    except BaseException:  # the grader does whatever was not sent back, and meets the error itself
        status = 1
    finally:
        os._exit(status)


def _gather(children: dict[int, int], take: Callable[[int, dict], None]) -> None:
    selector = selectors.DefaultSelector()
    partial = {read: b"" for read in children}
    for read in children:
        selector.register(read, selectors.EVENT_READ)
    open_ = len(children)
    while open_:
        for key, _ in selector.select():
            chunk = os.read(key.fd, 1 << 16)
            if not chunk:
                selector.unregister(key.fd)
                open_ -= 1
                continue
            *lines, partial[key.fd] = (partial[key.fd] + chunk).split(b"\n")
            for line in lines:
                message = json.loads(line.decode("utf-8", "surrogatepass"))
                if "stages" in message:
                    for stage, (seconds, times) in message["stages"].items():
                        timing.add(stage, seconds, times)
                else:
                    take(message["index"], message["outcome"])
    selector.close()
