"""Requests written ahead of their replies: every reply right and in order, each request on
its own time limit, and a call that hangs or ends its process costing its own check only."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from grader.rubric import Limits
from grader.runner import Request, Runner
from grader.submissions import read_submission

LIMITS = Limits(call_timeout=1, submission_timeout=60, memory_mb=1024)


@pytest.fixture
def run(tmp_path, confinement):
    """Run a source text's requests in the real sandbox where it works (else the plain child)."""
    def run(source: str, requests: list[Request]):
        path = tmp_path / "student.py"
        path.write_text(source)
        with Runner(LIMITS, confinement=confinement) as runner:
            return runner.run(read_submission(path), requests)
    return run


def calls(check: str, name: str, cases) -> list[Request]:
    return [Request.call(f"{check}/{i}", name, case) for i, case in enumerate(cases)]


SOURCE = """\
import fcntl, gc, os, sys, termios, time

VALUE = 7

def double(x):
    return 2 * x

def waiting():
    \"\"\"How many bytes of requests wait in this process's pipe while it runs.\"\"\"
    channel = next(o for o in gc.get_objects() if type(o).__name__ == "_Channel" and getattr(o, "secret", ""))
    return int.from_bytes(fcntl.ioctl(channel._fd_in, termios.FIONREAD, bytes(4)), sys.byteorder)

def hang(x):
    while x == 1:
        pass
    return x

def leave(x):
    if x == 1:
        os._exit(3)
    return x

def nap(seconds):
    time.sleep(seconds)
    return seconds

def total(values):
    return float(sum(values))

def shout(n):
    sys.stdout.write("x" * n + "\\n")
    return n

def fork_and_return(x):
    os.fork()  # the copy sends the same reply, then must take no request of the session
    return x

def pid():
    return os.getpid()
"""


def test_many_requests_are_answered_in_order_while_later_ones_wait_in_the_pipe(run):
    requests = [r for i in range(100) for r in (Request.call(f"q/double/{i}", "double", (i,)),
                                                Request.call(f"q/waiting/{i}", "waiting", ()))]
    report = run(SOURCE, requests + [Request("q/v", "get", "NOT_THERE")])
    assert [report.replies[f"q/double/{i}"].value for i in range(100)] == [2 * i for i in range(100)]
    assert all(reply.status == "ok" for reply in report.replies.values() if reply is not report.replies["q/v"])
    assert report.replies["q/v"].status == "missing" and report.restarts == 0
    # written ahead: while a call runs, the requests after it are already in its pipe
    assert min(report.replies[f"q/waiting/{i}"].value for i in range(100)) > 0


def test_a_call_seen_before_its_turn_and_answered_too_late_after_it_is_asked_again_alone(run):
    """The student's code can read its own pipe: a call written ahead is visible while the
    calls before it run. Its reply counts only within its limit of its writing; later, it is
    asked again in a fresh process, each call then written only at its turn (no blame: no
    restart is counted), so a thread that starts on a call early gains no time."""
    source = SOURCE + "\ndef nap_pid(seconds):\n    time.sleep(seconds)\n    return [seconds, os.getpid()]\n"
    naps = [Request.call(f"1/nap/{i}", "nap_pid", (0.6,)) for i in range(3)] + [Request("1/v", "get", "VALUE")]
    report = run(source, naps)
    replies = [report.replies[f"1/nap/{i}"] for i in range(3)]
    assert [reply.status for reply in replies] == ["ok"] * 3 and report.replies["1/v"].value == 7
    first, second, third = (reply.value[1] for reply in replies)
    assert second != first and third == second  # asked again elsewhere, then one at a time
    assert report.restarts == 0
    quick = run(source, [Request.call(f"2/nap/{i}", "nap_pid", (0.01,)) for i in range(5)])
    assert len({quick.replies[f"2/nap/{i}"].value[1] for i in range(5)}) == 1  # in time: one process


@pytest.mark.parametrize("name, status, detail", [("hang", "timeout", "did not return within 1 s"),
                                                   ("leave", "crashed", "exit status 3")])
def test_a_call_that_hangs_or_ends_its_process_mid_window_costs_its_own_check(run, name, status, detail):
    requests = (calls("1/bad", name, [(0,), (1,), (2,), (3,)]) + calls("1/good", "double", [(i,) for i in range(20)])
                + [Request("1/bad", "get", "VALUE")] + calls("2/again", name, [(5,)]))
    report = run(SOURCE, requests)
    failed = report.replies["1/bad/1"]
    assert report.replies["1/bad/0"].value == 0
    assert failed.status == status and detail in failed.detail
    # the check's later cases, written ahead, get its failure without being asked again
    assert report.replies["1/bad/2"] is failed and report.replies["1/bad/3"] is failed
    # the requests written behind it are answered by a fresh process
    assert [report.replies[f"1/good/{i}"].value for i in range(20)] == [2 * i for i in range(20)]
    assert report.replies["1/bad"].value == 7 and report.replies["2/again/0"].value == 5  # a value, another check
    assert report.restarts == 1


def test_each_request_has_its_own_limit_counted_from_when_it_can_start(run):
    """Five calls of 0.6 s each, all written at once, with a 1 s limit each: none times out."""
    report = run(SOURCE, calls("1/nap", "nap", [(0.6,)] * 5))
    assert [report.replies[f"1/nap/{i}"].status for i in range(5)] == ["ok"] * 5


def test_large_arguments_are_written_when_nothing_waits_and_do_not_deadlock(run):
    big = list(range(50_000))  # about 300 KB each as a request: more than the pipe holds
    array = np.arange(100_000, dtype=np.float64)  # 800 KB
    requests = []
    for i in range(4):
        requests += [Request.call(f"1/list/{i}", "total", (big,)), Request.call(f"1/array/{i}", "total", (array,)),
                     Request.call(f"1/small/{i}", "double", (i,))]
    report = run(SOURCE, requests)
    for i in range(4):
        assert report.replies[f"1/list/{i}"].value == float(sum(big))
        assert report.replies[f"1/array/{i}"].value == float(array.sum())
        assert report.replies[f"1/small/{i}"].value == 2 * i
    assert report.restarts == 0


def test_calls_that_print_megabytes_while_requests_are_pipelined_do_not_deadlock(run):
    requests = calls("1/shout", "shout", [(2_000_000,)] * 4) + calls("1/double", "double", [(i,) for i in range(30)])
    report = run(SOURCE, requests)
    assert [report.replies[f"1/shout/{i}"].value for i in range(4)] == [2_000_000] * 4
    assert [report.replies[f"1/double/{i}"].value for i in range(30)] == [2 * i for i in range(30)]
    assert report.output_bytes >= 8_000_000 and report.restarts == 0


def test_a_forked_copy_that_comes_back_takes_no_request_of_the_session(run):
    """Forked copies of the student's process answer their call again (ignored), then wait:
    the requests written ahead are all answered by the session's own process."""
    requests = [r for i in range(5) for r in [Request.call(f"1/fork/{i}", "fork_and_return", (i,)),
                                              *[Request.call(f"1/pid/{i}/{j}", "pid", ()) for j in range(10)]]]
    report = run(SOURCE, requests)
    assert [report.replies[f"1/fork/{i}"].value for i in range(5)] == list(range(5))
    pids = {report.replies[f"1/pid/{i}/{j}"].value for i in range(5) for j in range(10)}
    assert len(pids) == 1 and report.restarts == 0


def test_a_reply_sent_just_before_the_process_ended_counts(run, monkeypatch):
    """The process answers `double`, then ends at once in the request written behind it: when
    the grader looks (late, here), the reply and the report of the end are both there, and
    the reply is read first."""
    from grader import runner

    read = runner._Zygote.read

    def late(self, timeout):
        time.sleep(0.3)
        return read(self, timeout)

    monkeypatch.setattr(runner._Zygote, "read", late)
    requests = calls("1/a", "double", [(1,)]) + calls("1/b", "leave", [(1,)]) + calls("1/c", "double", [(2,)])
    report = run(SOURCE, requests)
    assert report.replies["1/a/0"].value == 2
    assert report.replies["1/b/0"].status == "crashed" and report.replies["1/c/0"].value == 4


def test_a_case_sent_to_many_students_is_encoded_once_and_as_it_is():
    """The plan's cases are the same objects for every student: their request is encoded once
    and kept while those objects live; an equal case that is another object, or the same
    function with other values, is encoded on its own."""
    from grader.child import wire
    from grader.runner import _body

    tokens = np.arange(12, dtype=np.int64).reshape(3, 4)
    case = (tokens, 0.5)
    first, second = Request.call("1a/0", "f", case), Request.call("1a/0", "f", case)
    assert first is not second and _body(first) is _body(second)
    sent = json.loads(_body(first))
    assert sent == {"op": "call", "name": "f", "args": [wire.encode(tokens), wire.encode(0.5)]}
    assert np.array_equal(wire.decode(sent["args"][0]), tokens)

    other = Request.call("1a/0", "f", (tokens + 1, 0.5))
    assert json.loads(_body(other))["args"][0] == wire.encode(tokens + 1)
    again = Request.call("1a/0", "f", (tokens.copy(), 0.5))  # equal, but another object
    assert _body(again) == _body(first) and _body(again) is not _body(first)
    renamed = Request.call("1a/0", "g", case)
    assert json.loads(_body(renamed))["name"] == "g"


def test_the_kept_encodings_are_bounded_in_bytes(monkeypatch):
    """A `per_student` check's cases are new objects for every student: their encodings are
    dropped once they hold more than MAX_BODIES_BYTES, and the next one is kept again."""
    from grader import runner

    monkeypatch.setattr(runner, "MAX_BODIES_BYTES", 20_000)
    runner._BODIES.clear()
    monkeypatch.setattr(runner, "_bodies_bytes", 0)
    for student in range(40):
        runner._body(Request.call("1a/0", "f", (np.full(1000, student, dtype=np.int64),)))
        kept = sum(len(body) for _, body in runner._BODIES.values())
        assert kept == runner._bodies_bytes <= 20_000
    assert 1 <= len(runner._BODIES) < 40
