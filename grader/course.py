"""The course around the submissions: who is enrolled (a roster) and when each handed in.

The roster is a CSV with columns `id,name,email`. Submission times come from a CSV with
columns `id,submitted_at` (ISO 8601; a time without a zone is read as UTC) or, without one,
from the files' modification times (for a folder, its newest file). Ids are made readable
the way submissions' ids are (`untrusted.student_id`), so the two always match.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .errors import GradeError
from .submissions import Submission
from .untrusted import student_id


@dataclass(frozen=True)
class Person:
    """One roster row. The optional columns serve the LMS exports."""

    id: str
    name: str
    email: str = ""
    moodle_id: str = ""
    canvas_id: str = ""
    sis_login_id: str = ""
    section: str = ""


def read_roster(path: Path) -> dict[str, Person]:
    """The roster CSV: `id,name,email`, optionally `moodle_id`, `canvas_id`, `sis_login_id`, `section`."""
    people: dict[str, Person] = {}
    for row in _read_csv(path, {"id", "name", "email"}, "a roster"):
        cell = {key: (value or "").strip() for key, value in row.items() if key}
        if not cell["id"]:
            continue
        cell["id"] = student_id(cell["id"])  # as a submission's id is read: never a path, never too long
        if cell["id"] in people:
            raise GradeError(f"{path}: the id {cell['id']!r} is listed twice")
        moodle_id = cell.get("moodle_id", "").removeprefix("Participant").strip()
        if moodle_id and not moodle_id.isdigit():
            raise GradeError(f"{path}: moodle_id {cell['moodle_id']!r} of {cell['id']!r} is not a number "
                             "(the N of \"Participant N\" in Moodle's grading worksheet)")
        people[cell["id"]] = Person(cell["id"], cell["name"] or cell["id"], cell["email"], moodle_id,
                                    cell.get("canvas_id", ""), cell.get("sis_login_id", ""), cell.get("section", ""))
    return people


def submission_times(submissions: list[Submission], timestamps: Path | None) -> dict[str, datetime]:
    if timestamps is not None:
        times = {}
        for line, row in enumerate(_read_csv(timestamps, {"id", "submitted_at"}, "a timestamps file"), start=2):
            try:
                moment = datetime.fromisoformat(row["submitted_at"].strip())
            except ValueError:
                raise GradeError(f"{timestamps}, line {line}: {row['submitted_at']!r} is not an ISO 8601 time "
                                 "(e.g. 2025-05-21T09:30:00+02:00)") from None
            times[student_id(row["id"].strip())] = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        return times
    times = {s.student: _modified(s.path) for s in submissions if s.path.exists()}
    return {student: moment for student, moment in times.items() if moment is not None}


def _modified(path: Path) -> datetime | None:
    """The newest modification time of the file, or of the files in the folder; None when
    none can be read (a time is the student's to set: one beyond the calendar is ignored)."""
    def moment(item: Path) -> datetime | None:
        try:
            return datetime.fromtimestamp(item.stat().st_mtime, tz=timezone.utc)
        except (OSError, ValueError, OverflowError):
            return None

    if path.is_dir():
        try:
            files = [p for p in path.rglob("*") if p.is_file()]
        except OSError:
            files = []
        found = [m for m in map(moment, files) if m is not None]
        if found:
            return max(found)
    return moment(path)


def _read_csv(path: Path, columns: set[str], what: str) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            header = set(reader.fieldnames or [])
    except FileNotFoundError:
        raise GradeError(f"{path}: no such file; pass {what} as a CSV with the columns "
                         f"{','.join(sorted(columns))}") from None
    except OSError as exc:
        raise GradeError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise GradeError(f"{path}: {what} is not UTF-8 text (byte {exc.start}); save it as \"CSV UTF-8\" "
                         "from your spreadsheet") from None
    except csv.Error as exc:
        raise GradeError(f"{path}: {what} is not a readable CSV ({exc}); save it as CSV from your spreadsheet") from None
    if not columns <= header:
        raise GradeError(f"{path}: {what} needs the columns {', '.join(sorted(columns))}; "
                         f"it has {', '.join(sorted(header)) or 'none'}")
    return rows
