"""The output folder's memory of the rubric it was graded with.

Every grading run that finishes writes `OUT/.grade/rubric.json`: the rubric file's absolute
path, a SHA-256 hash of its bytes and its title. `grade report`, `grade review` and `grade
export` read OUT with that rubric, so they need no `--rubric`; when the file has changed
since (or is gone) they refuse with one line that says what to do: grade again, or pass
`--rubric` to read the results with the rubric as it is now. An explicit `--rubric` always
wins; if it is not the recorded one, the command warns.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path

from .errors import GradeError, OutputError
from .gradebook import write_atomically
from .rubric import Rubric, load_rubric

RECORD = Path(".grade") / "rubric.json"
FORMAT = 1


def fingerprint(path: Path) -> str:
    """The SHA-256 of the rubric file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def record_of(rubric: Rubric) -> dict | None:
    """What OUT remembers of `rubric`; None for a rubric that was not read from a file."""
    if rubric.path is None:
        return None
    try:
        digest = fingerprint(rubric.path)
    except OSError:
        return None
    return {"format": FORMAT, "path": str(Path(rubric.path).resolve()), "sha256": digest, "title": rubric.title}


def write_record(out: Path, record: dict | None) -> None:
    """Remember the rubric (or forget a stale one, when this run's rubric had no file)."""
    path = out / RECORD
    try:
        if record is None:
            path.unlink(missing_ok=True)
        else:
            write_atomically(path, json.dumps(record, indent=1) + "\n")
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the results there ({exc.strerror or exc}); "
                          "choose another folder with --out") from None


def read_record(out: Path) -> dict | None:
    """The record, or None when there is none (or it is not one we wrote)."""
    try:
        record = json.loads((out / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("path"), str) \
            or not isinstance(record.get("sha256"), str):
        return None
    return record


def rubric_for(out: Path, explicit: Path | None = None) -> tuple[Rubric, list[str]]:
    """The rubric to read OUT with, and warnings: `explicit` if given, else the recorded one,
    refused with one line (what to do) if it is gone or has changed since grading."""
    record = read_record(out)
    if explicit is not None:
        rubric = load_rubric(explicit)
        warnings = []
        if record is not None and _digest_or_none(explicit) != record["sha256"]:
            recorded = Path(record["path"])
            what = "which has changed since" if recorded == Path(explicit).resolve() else "not this one"
            warnings.append(f"{out} was graded with the rubric {recorded} ({what}); reading it with --rubric "
                            f"{explicit} as asked")
        return rubric, warnings
    if record is None:
        raise GradeError(f"{out} does not record which rubric graded it (graded by an older version of grade); "
                         f"pass --rubric RUBRIC, or grade again ({regrade_command(out)}) and it will")
    path = Path(record["path"])
    digest = _digest_or_none(path)
    if digest is None:
        raise GradeError(f"{out} was graded with the rubric {path}, which is gone; grade again "
                         f"({regrade_command(out)}), or pass --rubric RUBRIC if it has only moved")
    if digest != record["sha256"]:
        raise GradeError(f"the rubric {path} has changed since {out} was graded with it; grade again "
                         f"({regrade_command(out, path)}), or pass --rubric {shlex.quote(str(path))} to read the "
                         "results with the rubric as it is now (only if the change leaves questions, checks and "
                         "points alone)")
    return load_rubric(path), []


def regrade_command(out: Path, rubric: Path | str | None = None) -> str:
    """How to grade OUT again with its rubric, as a command to copy."""
    if rubric is None:
        record = read_record(out)
        rubric = record["path"] if record is not None else "RUBRIC"
    shown = "RUBRIC" if rubric == "RUBRIC" else shlex.quote(str(rubric))
    record = read_record(out) or {}
    extra = "".join(f" --{option} {shlex.quote(record[option])}" for option in ("roster", "timestamps")
                    if isinstance(record.get(option), str))
    return f"`grade SUBMISSIONS --rubric {shown} --out {shlex.quote(str(out))}{extra}`"


def _digest_or_none(path: Path) -> str | None:
    try:
        return fingerprint(path)
    except OSError:
        return None
