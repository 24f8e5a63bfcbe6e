"""The runner on its own: the child's import path, the wrap hook, the private reply channel."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from grader.rubric import Limits
from grader.runner import PROJECT_ROOT, Request, Runner, child_sys_path
from grader.submissions import read_submission

LIMITS = Limits(call_timeout=2, submission_timeout=20, memory_mb=1024)


def run(tmp_path: Path, source: str, requests: list[Request], **options):
    path = tmp_path / "student.py"
    path.write_text(source)
    return Runner(LIMITS, **options).run(read_submission(path), requests)


def test_child_path_leaves_out_hidden_paths_their_ancestors_and_what_is_inside_them(tmp_path, monkeypatch):
    course = tmp_path / "course"
    (course / "reference").mkdir(parents=True)
    secret = course / "reference" / "ex07.py"
    secret.write_text("ANSWER = 42\n")
    elsewhere = tmp_path / "libs"
    elsewhere.mkdir()
    monkeypatch.setattr(sys, "path", ["", str(tmp_path), str(course), str(course / "reference"),
                                      str(elsewhere), str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")])
    path = child_sys_path(hidden=(secret,))
    assert path == [str(elsewhere)]  # nothing inside the project tree either (tests/, say)


def test_values_and_calls_come_back_as_plain_data(tmp_path):
    source = "import numpy as np\nX = np.arange(6.0).reshape(2, 3)\ndef double(a):\n    return a * 2\n"
    report = run(tmp_path, source, [Request("x", "get", "X"),
                                    Request("call", "call", "double", (np.ones((2, 2), np.float32),)),
                                    Request("none", "get", "NOT_THERE")])
    assert report.replies["x"].status == "ok"
    assert np.array_equal(report.replies["x"].value, np.arange(6.0).reshape(2, 3))
    doubled = report.replies["call"].value
    assert type(doubled) is np.ndarray and doubled.dtype == np.float32 and (doubled == 2).all()
    assert report.replies["none"].status == "missing"


def test_printing_a_forged_reply_does_not_reach_the_channel(tmp_path):
    forged = json.dumps({"id": 1, "status": "ok", "value": {"t": "int", "v": 96}})
    source = f"import sys\nprint({forged!r})\nsys.stdout.flush()\ndef f():\n    print({forged!r})\n    return 1\n"
    report = run(tmp_path, source, [Request("f", "call", "f")])
    assert report.replies["f"].value == 1
    assert forged in report.output_tail


def test_the_confinement_wraps_the_command(tmp_path):
    from grader.sandbox import Plain

    seen = []

    class Recording(Plain):
        def wrap(self, argv, uid, readable):
            seen.append((argv, readable))
            return ["/usr/bin/env", *argv]

    report = run(tmp_path, "VALUE = 3\n", [Request("v", "get", "VALUE")], confinement=Recording())
    assert report.replies["v"].value == 3
    argv, readable = seen[0]
    assert argv[0] == sys.executable and argv[1:3] == ["-I", "-S"]
    assert sys.base_prefix in readable


def test_junk_on_the_reply_channel_is_ignored(tmp_path):
    source = ("import os\n"
              "def f():\n"
              "    for fd in range(3, 64):\n"
              "        try:\n"
              "            os.write(fd, b'{\"id\": 1, \"status\": \"ok\", \"value\": {\"t\": \"int\", \"v\": 96}}\\n garbage')\n"
              "        except OSError:\n"
              "            pass\n"
              "    return 1\n"
              "f()\n")
    report = run(tmp_path, source, [Request("f", "call", "f"), Request("g", "call", "f")])
    assert report.load_failure is None
    assert report.replies["f"].value == 1 and report.replies["g"].value == 1


def test_a_print_flood_keeps_only_a_bounded_tail(tmp_path):
    source = "import sys\nfor _ in range(3000):\n    sys.stdout.write('x' * 10000 + '\\n')\nVALUE = 5\n"
    report = run(tmp_path, source, [Request("v", "get", "VALUE")])
    assert report.replies["v"].value == 5
    assert report.output_bytes >= 30_000_000
    assert len(report.output_tail) <= 4000


def test_a_hang_at_import_time_is_a_load_timeout(tmp_path):
    limits = Limits(call_timeout=1, submission_timeout=1.5, memory_mb=1024)
    path = tmp_path / "student.py"
    path.write_text("while True:\n    pass\n")
    report = Runner(limits).run(read_submission(path), [Request("v", "get", "VALUE")])
    assert report.load_failure and "time limit of 1.5 s" in report.load_failure
    assert report.replies["v"].status == "timeout"


def test_a_submission_the_grader_cannot_copy_still_gets_a_row(tmp_path, fast_plan, monkeypatch):
    from grader.pipeline import grade_submission
    from grader.submissions import Submission

    path = tmp_path / "pat.py"
    path.write_text("VALUE = 1\n")

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Submission, "files", refuse)
    student = grade_submission(fast_plan, read_submission(path), Runner.for_rubric(fast_plan.rubric))
    assert student.status == "error" and "Permission denied" in student.problem
    assert len(student.checks) == sum(len(q.checks) for q in fast_plan.rubric.questions)
    assert all(c.outcome == "not_run" and c.points == 0 for c in student.checks)


# ---------------------------------------------------------------- replies bounded on the trusted side

SECRET = b'{"secret": "abc"'


def test_a_junk_line_is_dropped_as_it_arrives_not_buffered():
    from grader.runner import _Lines

    lines = _Lines(limit=1 << 20)
    lines.reset(SECRET)
    chunk = b"x" * (1 << 20)
    for _ in range(60):  # 60 MB of one line without the secret
        lines.feed(chunk)
        assert len(lines._partial) == 0
    lines.feed(b"\n" + SECRET + b', "id": 1}\n')
    assert list(lines.lines) == [SECRET + b', "id": 1}'] and not lines.oversized


def test_a_reply_with_the_secret_larger_than_the_limit_is_flagged_and_dropped():
    from grader.runner import _Lines

    lines = _Lines(limit=1000)
    lines.reset(SECRET)
    lines.feed(SECRET + b"y" * 600)
    lines.feed(b"y" * 600)
    assert lines.oversized and len(lines._partial) == 0
    lines.feed(b"yyy\n" + SECRET + b"}\n")
    assert list(lines.lines) == [SECRET + b"}"]


def test_lines_split_across_chunks_come_out_whole():
    from grader.runner import _Lines

    lines = _Lines(limit=1000)
    lines.reset(SECRET)
    message = SECRET + b', "id": 7}\n'
    for i in range(len(message)):
        lines.feed(message[i:i + 1])
    lines.feed(b"\n\n" + message[:5])
    lines.feed(message[5:])
    assert list(lines.lines) == [message[:-1], message[:-1]]


def test_a_reply_nested_too_deep_is_an_outcome_not_an_exception():
    from grader.runner import _parse, _reply_from

    deep = "[" * 200_000 + "]" * 200_000
    assert _parse(('{"secret": "s", "value": %s}' % deep).encode()) is None
    nested: dict = {"t": "none"}
    for _ in range(5000):
        nested = {"t": "list", "v": [nested]}
    reply = _reply_from({"status": "ok", "value": nested})
    assert reply.status == "invalid"


def test_times_the_student_reports_are_finite_and_non_negative():
    from grader.runner import _reply_from

    for forged in (float("nan"), float("inf"), -5.0, 1e300, "3", True):
        reply = _reply_from({"status": "ok", "value": {"t": "none"}, "seconds": forged})
        assert reply.seconds == 0.0, forged
    assert _reply_from({"status": "ok", "value": {"t": "none"}, "seconds": 0.25}).seconds == 0.25


def test_the_zygote_imports_nothing_from_the_working_folder(tmp_path):
    """The child's import path holds read-only places only; the working folder is added in
    the session's fork, after the child's own modules and `resource` are imported."""
    runner = Runner(LIMITS)
    command = runner.command(runner_slot(tmp_path), (3, 4, 5))
    config = json.loads(command[-1])
    assert config["workdir"] not in config["sys_path"]
    assert all(Path(entry).resolve() != tmp_path.resolve() for entry in config["sys_path"])


def runner_slot(tmp_path: Path):
    from grader.runner import _Slot
    from grader.sandbox import Plain

    slot = _Slot(0, Plain())
    slot.scratch = tmp_path
    return slot


def test_a_python_living_under_tmp_stays_visible_in_each_session(tmp_path, confinement):
    """Each session mounts a fresh /tmp; an interpreter installed under /tmp must show through
    it (read-only), twice in a row in one warm sandbox."""
    import subprocess

    import pytest

    if not confinement.sandboxed:
        pytest.skip("needs the sandbox (install bubblewrap)")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    source = ("import os, sys\nopen('/tmp/mine', 'w').write('x')\n"
              "SEEN = sorted(os.listdir('/tmp'))\nPREFIX = os.path.dirname(os.path.dirname(sys.executable))\n"
              "def writable():\n    try:\n        open(os.path.join(PREFIX, 'planted'), 'w')\n"
              "        return True\n    except OSError:\n        return False\n")
    path = tmp_path / "student.py"
    path.write_text(source)
    with Runner(LIMITS, python=str(venv / "bin" / "python"), confinement=confinement) as runner:
        for _ in range(2):
            report = runner.run(read_submission(path), [Request("seen", "get", "SEEN"), Request("prefix", "get", "PREFIX"),
                                                        Request("w", "call", "writable")])
            assert report.replies["prefix"].value == str(venv)
            assert report.replies["seen"].value == sorted(["mine", str(venv.relative_to("/tmp")).split("/")[0]])
            assert report.replies["w"].value is False


def test_a_reply_of_millions_of_tiny_items_is_refused_before_it_is_parsed():
    from grader.runner import MAX_CONTAINERS, _too_complex

    assert _too_complex(b'{"secret": "s", "value": [' + b"[]," * (MAX_CONTAINERS + 1) + b"[]]}")
    assert _too_complex(b'{"secret": "s", "value": [' + b"1," * 3_000_000 + b"1]}")
    items = ",".join('{"t": "int", "v": 1}' for _ in range(100_000))
    assert not _too_complex(('{"secret": "s", "value": {"t": "list", "v": [%s]}}' % items).encode())
    assert not _too_complex(b'{"secret": "s", "value": {"t": "ndarray", "npy": "' + b"QUJD" * 10_000_000 + b'"}}')


# ---------------------------------------------------------------- the support module (`support:` in the rubric)


SNOOPING_SUPPORT = '''
import importlib, os, sys

REFERENCE = {reference!r}
FOUND = []
for name in ("ex07", "reference", "reference.ex07", "grade_reference_ex07", "ex07_support"):
    try:
        importlib.import_module(name)
        FOUND.append("import " + name)
    except ImportError:
        pass
FOUND += [name for name in sys.modules if "ex07" in name or name.startswith("grade_reference")]
for path in (REFERENCE, os.path.dirname(REFERENCE)):
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path).read()
        FOUND.append("read " + path)
    except OSError:
        pass
FILE = globals().get("__file__")


def box(rng, n):
    return {{"n": n, "draw": float(rng.normal())}}
'''


def test_the_support_module_cannot_reach_the_reference(tmp_path, confinement):
    """The support module runs in the student's process (as `grade_support`, made before any
    fork from the source the grader sends, from no file): it can neither import the reference
    nor, in the sandbox, read its file or folder."""
    from grader.rubric import load_rubric

    rubric = load_rubric(PROJECT_ROOT / "rubrics" / "ex07.yaml")
    support = SNOOPING_SUPPORT.format(reference=str(rubric.reference_path))
    path = tmp_path / "student.py"
    path.write_text("import grade_support\nFOUND = grade_support.FOUND\nFILE = grade_support.FILE\n"
                    "def f(box):\n    return [box['n'], box['draw']]\n")
    fixture = {"__fixture__": "box", "params": {"n": 3}, "seed": wire_seed(7)}
    requests = [Request("found", "get", "FOUND"), Request("file", "get", "FILE"), Request.call("f", "f", (fixture,))]
    with Runner.for_rubric(rubric, confinement=confinement, support=support) as runner:
        report = runner.run(read_submission(path), requests)
    found = report.replies["found"].value
    if not confinement.sandboxed:  # the plain child has the grader's rights: only imports are kept from it
        found = [what for what in found if not what.startswith("read ")]
    assert found == []
    assert report.replies["file"].value is None
    assert report.replies["f"].value == [3, float(np.random.default_rng(7).normal())]  # built as the grader would


def wire_seed(seed: int) -> list:
    from grader.child import wire

    return wire.fixture_seed(np.random.default_rng(seed))


def test_the_support_source_travels_in_the_config_and_the_reference_stays_hidden(tmp_path):
    from grader.rubric import load_rubric

    rubric = load_rubric(PROJECT_ROOT / "rubrics" / "ex07.yaml")
    runner = Runner.for_rubric(rubric)
    config = json.loads(runner.command(runner_slot(tmp_path), (3, 4, 5))[-1])
    assert config["support"] == rubric.support_path.read_text(encoding="utf-8")
    folders = {str(rubric.reference_path.parent), str(rubric.support_path.parent)}
    assert not folders & set(config["sys_path"])
    assert Runner(LIMITS).command(runner_slot(tmp_path), (3, 4, 5))[-1].count('"support": null') == 1


# ---------------------------------------------------------------- numpy.random in the zygote


def test_numpy_random_comes_imported_and_each_session_draws_afresh(tmp_path, confinement):
    """numpy imports numpy.random lazily; the zygote imports it before any fork, so a
    session's first fixture (or the student's first draw) does not pay for the import. The
    global generator so made is reseeded in each session: unseeded draws differ from one
    session to the next (here, the fresh session after a call that ends the process), as
    with the import a session used to make of its own."""
    source = ("import os, sys\nIMPORTED = 'numpy.random' in sys.modules\nimport numpy as np\n"
              "DRAW = np.random.random(4).tolist()\ndef end():\n    os._exit(3)\n")
    requests = [Request("imported", "get", "IMPORTED"), Request("first", "get", "DRAW"),
                Request("end", "call", "end"), Request("second", "get", "DRAW")]
    report = run(tmp_path, source, requests, confinement=confinement)
    assert report.replies["end"].status == "crashed"
    assert report.replies["imported"].value is True
    first, second = report.replies["first"].value, report.replies["second"].value
    assert len(first) == len(second) == 4 and first != second
