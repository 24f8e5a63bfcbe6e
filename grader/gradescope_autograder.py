"""A Gradescope autograder for a rubric: `grade export --format gradescope-autograder` writes
`autograder.zip`, and `python -m grader.gradescope_autograder` is what it runs on Gradescope.

The zip follows Gradescope's autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/; source:
github.com/gradescope/autograder_samples docs/specs.md and docs/submission_metadata.md):

    setup.sh                  run once as root when Gradescope builds the image (Ubuntu): installs
                              Python, its venv module and bubblewrap with apt, makes the venv
                              /autograder/venv and installs the wheel below into it; pip fetches
                              numpy, pandas and the rest from PyPI
    run_autograder            run for every submission, in /autograder: grades /autograder/submission
                              and writes /autograder/results/results.json
    grade-<version>-py3-none-any.whl
                              the checker as installed here (grader/wheel.py; no course files in it)
    course/...                the rubric, its reference and support module, in their relative layout
    grade-autograder.json     which rubric, and the --sandbox setting

`run_autograder` copies the submission (a notebook, a module or several files: read as the
folder submission `<id>/`, entry as in `grade`) into a fresh folder (its folders and regular
files: no links, FIFOs or devices, which grading skips anyway), reads the hand-in time
(`created_at`) and the due date (the user's own `assignment.due_date` if Gradescope lists one,
for an extension, else the assignment's) from /autograder/submission_metadata.json and grades
with the rubric's late policy counted from that due date (no hand-in time: no late policy).
The results are `grader.exports.gradescope.results_document`. `AUTOGRADER_ROOT` replaces
/autograder (a test runs it on a temporary tree) and `GRADE_PYTHON` the venv's Python.

Isolation: Gradescope runs each submission in its own fresh container, with no access to
other students' work, and may cut its network off; inside it, everything runs as root, and
the student's code could read the rubric and the reference in /autograder/source, and, as
root beside the grader, rewrite results.json after it is written. So the zip grades with
`--sandbox required` by default: the student's code runs in the sandbox (no reference, no
network, its own unprivileged uid, limits), and where the container cannot make bubblewrap's
namespaces (Docker's default seccomp profile forbids them), run_autograder refuses to grade
with one line, and Gradescope shows the autograder as failed. `grade export --sandbox auto`
(or `off`) builds a zip that then runs the code as a plain child process with the rubric's
limits, and every row's status says "not sandboxed": only for work whose score nobody would
forge.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from datetime import datetime
from pathlib import Path

from .errors import GradeError
from .gradebook import atomic_file
from .rubric import Rubric, load_rubric

ZIP = "autograder.zip"
MANIFEST = "grade-autograder.json"
STUDENT = "submission"  # the id of the one submission graded per run
MAX_DEPTH = 64  # folders copied below the submission's own
_TIMESTAMP = (1980, 1, 1, 0, 0, 0)

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04 or later).
set -euxo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap
python3 -c 'import sys; assert sys.version_info >= (3, 10), "grade needs Python 3.10 or later"'
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install /autograder/source/{wheel}
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission, write
# /autograder/results/results.json. AUTOGRADER_ROOT replaces /autograder (a test run),
# GRADE_PYTHON the Python that setup.sh installed grade into.
set -euo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
python="${GRADE_PYTHON:-/autograder/venv/bin/python}"
cd "$root"
exec "$python" -m grader.gradescope_autograder --root "$root"
"""


def build(rubric: Rubric, to: Path, sandbox: str = "required") -> Path:
    """Write `to/autograder.zip` for `rubric`; returns its path."""
    from .wheel import build_wheel

    if rubric.path is None:
        raise GradeError("the rubric has no file; load it with `load_rubric` to build an autograder")
    course = [p for p in (rubric.path.resolve(), rubric.reference_path, rubric.support_path) if p is not None]
    missing = [str(p) for p in course if not p.is_file()]
    if missing:
        raise GradeError(f"{missing[0]}: not found; the autograder needs the rubric's reference and support files")
    base = Path(os.path.commonpath([p.parent for p in course]))
    with tempfile.TemporaryDirectory(prefix="grade-wheel-") as folder:
        wheel = build_wheel(Path(folder), never=course)
        entries = [(wheel.name, wheel.read_bytes(), 0o644)]
    entries += [(f"course/{p.relative_to(base).as_posix()}", p.read_bytes(), 0o644) for p in course]
    manifest = {"rubric": f"course/{rubric.path.resolve().relative_to(base).as_posix()}", "sandbox": sandbox}
    entries += [("setup.sh", SETUP.format(wheel=entries[0][0]).encode(), 0o755),
                ("run_autograder", RUN.encode(), 0o755),
                (MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode(), 0o644)]
    path = to / ZIP
    with atomic_file(path, binary=True) as stream, zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in sorted(entries):
            item = zipfile.ZipInfo(name, date_time=_TIMESTAMP)
            item.external_attr = (0o100000 | mode) << 16
            item.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(item, data)
    return path


# ---------------------------------------------------------------- on Gradescope


def run(root: Path) -> Path:
    """Grade `root/submission` with the zip's rubric; write and return `root/results/results.json`."""
    from .cli import main
    from .exports.common import read_outputs
    from .exports.gradescope import results_document, write_results

    started = time.monotonic()
    source = root / "source"
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GradeError(f"{source / MANIFEST}: cannot read it ({exc}); unpack the whole autograder.zip "
                         "there") from None
    rubric = load_rubric(source / manifest["rubric"])
    submitted, due = submission_times(root / "submission_metadata.json")
    if not (root / "submission").is_dir():
        raise GradeError(f"{root / 'submission'}: no submission folder; Gradescope puts the hand-in there")
    with tempfile.TemporaryDirectory(prefix="grade-autograder-") as folder:
        work = Path(folder)
        copy_submission(root / "submission", work / "submissions" / STUDENT)
        rubric_path = _rubric_due(rubric, due if submitted is not None else None, submitted is not None, work)
        times = None
        if submitted is not None:
            times = work / "times.csv"
            times.write_text(f"id,submitted_at\n{STUDENT},{submitted.isoformat()}\n", encoding="utf-8")
        main(submissions=work / "submissions", rubric=rubric_path, out=work / "out", jobs=1,
             sandbox=manifest.get("sandbox", "required"), timestamps=times)
        document = results_document(read_outputs(work / "out", rubric_path), STUDENT)
    document["execution_time"] = round(time.monotonic() - started)
    path = root / "results" / "results.json"
    write_results(path, document)
    return path


def copy_submission(source: Path, target: Path) -> None:
    """The hand-in's folders and regular files, copied without recursion (a tree however deep)
    and without following links; symbolic links, FIFOs, sockets and devices are left behind, as
    grading skips them anyway (a FIFO would block the copy), and so is a file that cannot be
    read, and whatever lies more than MAX_DEPTH folders down (Python's own tree walks recurse):
    the submission is graded with what is left, and still gets its row."""
    target.mkdir(parents=True)
    folders = [(source, target, 0)]
    while folders:
        here, there, depth = folders.pop()
        try:
            entries = list(os.scandir(here))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if depth < MAX_DEPTH:
                        (there / entry.name).mkdir()
                        folders.append((Path(entry.path), there / entry.name, depth + 1))
                elif entry.is_file(follow_symlinks=False):
                    shutil.copyfile(entry.path, there / entry.name, follow_symlinks=False)
            except OSError:
                continue


def submission_times(metadata: Path) -> tuple[datetime | None, datetime | None]:
    """(hand-in time, due date) from Gradescope's submission_metadata.json; None where absent."""
    try:
        data = json.loads(metadata.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:
        raise GradeError(f"{metadata}: cannot read it ({exc})") from None
    users = data.get("users") or [{}]
    own = (users[0] or {}).get("assignment") or {}
    due = own.get("due_date") or (data.get("assignment") or {}).get("due_date")
    return _moment(data.get("created_at")), _moment(due)


def _moment(text) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise GradeError(f"submission_metadata.json: {text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else None


def _rubric_due(rubric: Rubric, due: datetime | None, timed: bool, work: Path) -> Path:
    """The rubric with Gradescope's due date as its deadline (none without a hand-in time),
    its reference and support named by absolute path, written into `work`."""
    import yaml

    from .rubric import read_rubric_data

    data = read_rubric_data(rubric.path)
    data["reference"] = str(rubric.reference_path)
    if rubric.support_path is not None:
        data["support"] = str(rubric.support_path)
    if not timed:
        data.pop("deadline", None)
    elif due is not None:
        data["deadline"] = due.isoformat()
    path = work / rubric.path.name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.gradescope_autograder",
                                     description="Grade a Gradescope submission (what run_autograder runs).")
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("AUTOGRADER_ROOT", "/autograder")),
                        help="Gradescope's /autograder folder (default: $AUTOGRADER_ROOT, else /autograder).")
    args = parser.parse_args(argv)
    try:
        path = run(args.root)
    except GradeError as exc:
        print(f"grade: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # one line, as the `grade` command says it
        print(f"grade: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
