"""Results kept as soon as they exist, so an interrupted run resumes and a rerun is cheap.

One JSON file per student under `OUT/.grade/results/`, written atomically right after that
student is graded. Its name is made from the student id (cut, ASCII, with a hash of the
id: never a path, never too long); inside, a key made of the submission's content, the
rubric, the reference, the grader's version and whether the sandbox was on. A stored
result is used only when the key still matches.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from . import __version__
from .checks import CheckResult
from .gradebook import write_atomically
from .reference import Plan
from .scoring import StudentResult
from .submissions import MAX_NOTEBOOK_BYTES, Submission
from .untrusted import file_stem, short_hash

FORMAT = 2  # 2: free-text answers await the class's suggestions (outcome to_suggest)
CHUNK = 1 << 20


class ResultStore:
    def __init__(self, out: Path, plan: Plan, sandboxed: bool, *, reuse: bool = True) -> None:
        self.folder = out / ".grade" / "results"
        self.plan_key = _plan_key(plan, sandboxed)
        self.reuse = reuse  # False (--force): grade everything again, keep the new results

    def get(self, submission: Submission, key: str | None = None) -> StudentResult | None:
        """The kept result while its key matches (`key`: this submission's, if known already)."""
        if not self.reuse:
            return None
        path = self._path(submission)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or data.get("key") != (key or self.key(submission)):
            return None
        try:
            return _result_from(data["result"])
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    def load(self, submission: Submission) -> StudentResult:
        """The kept result, without checking its key: for reading back what was just stored."""
        data = json.loads(self._path(submission).read_text(encoding="utf-8"))
        return _result_from(data["result"])

    def put(self, submission: Submission, result: StudentResult, key: str | None = None) -> None:
        data = {"format": FORMAT, "key": key or self.key(submission), "result": result.as_data()}
        write_atomically(self._path(submission), json.dumps(data, separators=(",", ":")))

    def stamp(self, submission: Submission) -> list[int] | None:
        """The kept file's size and modification time (in ns): a file written since has
        other ones, whatever it holds. None when nothing is kept."""
        try:
            state = self._path(submission).stat()
        except OSError:
            return None
        return [state.st_size, state.st_mtime_ns]

    def key(self, submission: Submission) -> str:
        """What identifies this version of the submission, read in chunks (a file of any
        size costs no memory; one beyond what would be read is known by its size and time)."""
        digest = hashlib.sha256(self.plan_key.encode())
        digest.update(b"duplicate" if submission.status == "duplicate" else b"")
        budget = [MAX_NOTEBOOK_BYTES]  # bytes read for the key; beyond that, sizes and times
        try:
            for name, path in submission.file_paths():
                digest.update(name.encode("utf-8", "surrogatepass") + b"\0" + _file_digest(path, budget))
        except Exception as exc:  # unreadable: what went wrong identifies this version
            digest.update(b"unreadable\0" + repr(exc).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def _path(self, submission: Submission) -> Path:
        return self.folder / f"{file_stem(submission.student)}-{short_hash(submission.student)[:8]}.json"


def _file_digest(path: Path, budget: list[int]) -> bytes:
    state = path.stat()
    if state.st_size > budget[0]:  # too large to be graded (unreadable), whatever is in it
        return f"size {state.st_size} modified {state.st_mtime_ns}".encode()
    budget[0] -= state.st_size
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.digest()


def _plan_key(plan: Plan, sandboxed: bool) -> str:
    digest = hashlib.sha256(f"grade {__version__} format {FORMAT} sandboxed {sandboxed}".encode())
    for path in (plan.rubric.path, plan.rubric.reference_path, plan.rubric.support_path):
        if path is not None and Path(path).is_file():
            digest.update(Path(path).read_bytes())
    digest.update(plan.rubric.model_dump_json().encode())
    return digest.hexdigest()


def _result_from(data: dict) -> StudentResult:
    checks = tuple(CheckResult(**check) for check in data.pop("checks"))
    return StudentResult(**{**data, "checks": checks, "notes": tuple(data.get("notes", ()))})
