"""The CSV outputs: `gradebook.csv` (a row per student) and `results.csv` (a row per check).

The gradebook is written from one small row per student, the results are streamed; both with
`csv`. Both are written atomically (a temporary file, then `os.replace`), so a reader
never sees half a file. Every CSV file we write goes through `csv_writer`, `write_csv` or
`gradebook_text`, so no string cell starts like a spreadsheet formula (`escaping.spreadsheet_safe`); whoever reads
one back undoes that with `escaping.from_spreadsheet`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from numbers import Integral, Real
from pathlib import Path

from numpy import bool_ as numpy_bool

from .escaping import safe_frame, spreadsheet_safe
from .rubric import Rubric
from .scoring import StudentResult, StudentRow, counted

RESULT_COLUMNS = ["student", "question", "check", "points", "max_points", "outcome", "feedback",
                  "auto_points", "manual_points", "reviewer", "confidence"]


def gradebook_text(rubric: Rubric, rows: list[StudentRow]) -> str:
    """gradebook.csv: a row per student, a column per question, then the total. Written with
    `csv` (as pandas' `to_csv` wrote it, byte for byte: a column of numbers as `%.6g`, or as
    integers when all of them are, a missing number as an empty cell; text spreadsheet-safe),
    so a run never imports pandas: 0.3 s and 30 MB of every run, a rerun's largest part."""
    late = ["submitted", "days_late", "late_penalty"] if rubric.deadline is not None else []
    names = ["student", *rubric.question_ids, *late, "total", "max_total", "status"]
    records = [{"student": row.student, **row.points, "submitted": row.submitted.isoformat() if row.submitted else "",
                "days_late": row.days_late, "late_penalty": row.late_penalty, "total": row.total,
                "max_total": rubric.max_total, "status": row.status} for row in rows]
    columns = [_cells([record.get(name) for record in records]) for name in names]
    stream = io.StringIO()
    csv.writer(stream, lineterminator="\n").writerow(names)  # the rubric's own names, as pandas wrote them
    csv.writer(stream, lineterminator="\n").writerows(zip(*columns))
    return stream.getvalue()


def _cells(values: list) -> list:
    """A column's cells: numbers (None or NaN for none) formatted as one numeric column;
    anything else as text, made spreadsheet-safe."""
    numbers = [value for value in values if value is not None and value == value]
    if all(isinstance(value, Real) and not isinstance(value, (bool, numpy_bool)) for value in numbers):
        if all(isinstance(value, Integral) for value in numbers) and len(numbers) == len(values):
            return [str(int(value)) for value in values]
        return ["" if value is None or value != value else "%.6g" % value for value in values]
    return ["" if value is None else spreadsheet_safe(value) for value in values]


@contextlib.contextmanager
def results_file(path: Path):
    """results.csv, one row per student and check, written as results come: yields a
    function that adds one student's rows (as `results_text` made them), so memory does not
    grow with N."""
    with atomic_file(path) as stream:
        csv_writer(stream).writerow(RESULT_COLUMNS)
        yield stream.write


def results_text(student: StudentResult, count_suggested: bool = True) -> str:
    """One student's rows of results.csv. `points` is what the check counts with
    (scoring.counted); `auto_points` what was suggested or computed, `confidence` how sure a
    suggestion for free text is."""
    stream = io.StringIO()
    csv_writer(stream).writerows(
        [student.student, c.question, c.check, _number(counted(c, count_suggested)),
         _number(c.max_points), c.outcome, c.feedback, _number(c.auto_points),
         "" if c.manual_points is None else _number(c.manual_points), c.reviewer or "",
         "" if c.confidence is None else f"{c.confidence:.2f}"] for c in student.checks)
    return stream.getvalue()


def _number(value: float) -> str:
    return f"{value:.6g}"


def write_csv(frame, path: Path, **options) -> None:
    """A DataFrame as CSV, its string cells spreadsheet-safe (numbers stay numbers)."""
    write_atomically(path, safe_frame(frame).to_csv(index=False, **({"float_format": "%.6g"} | options)))


def csv_writer(stream) -> _SafeWriter:
    """`csv.writer` for our outputs: string cells are spreadsheet-safe, lines end in \\n."""
    return _SafeWriter(stream)


class _SafeWriter:
    def __init__(self, stream) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")

    def writerow(self, row) -> None:
        self._writer.writerow([spreadsheet_safe(value) for value in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def write_atomically(path: Path, text: str) -> None:
    with atomic_file(path) as stream:
        stream.write(text)


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_file(path: Path, binary: bool = False):
    """A text (or `binary`) stream whose content replaces `path` only once it is complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with (os.fdopen(handle, "wb") if binary else os.fdopen(handle, "w", encoding="utf-8", newline="")) as stream:
            yield stream
        os.chmod(temporary, 0o666 & ~_UMASK)  # as an ordinary file, not mkstemp's 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
