"""A spreadsheet gradebook (`gradebook.xlsx`, Office Open XML, written with openpyxl): one
sheet per view, each with a frozen header row and first column.

- `Totals`: student, name, email, status, the late columns when the rubric has a deadline,
  total, max_total.
- `Questions`: student, then the points of each question in sheet order, total; the second
  row holds each question's maximum.
- `Checks`: the rows of results.csv: student, question, check, points, max_points, outcome,
  feedback.

Numbers are numbers (cells Excel and LibreOffice compute with); every text cell is a string
cell, never a formula, and one that a spreadsheet would run as a formula when typed or
pasted (starting with `=`, `+`, `-`, `@`) starts with `'`, as in the CSV files.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..escaping import spreadsheet_safe
from ..gradebook import atomic_file
from .common import Course, Graded, Options, coverage, to_float

FILE = "gradebook.xlsx"
LATE = ("submitted", "days_late", "late_penalty")
NUMERIC = {"total", "max_total", "days_late", "late_penalty", "points", "max_points", "auto_points",
           "manual_points", "confidence"}


def write(graded: Graded, course: Course, to: Path, options: Options) -> tuple[list[Path], list[str]]:
    from openpyxl import Workbook

    book = Workbook()
    totals = book.active
    totals.title = "Totals"
    late = [c for c in LATE if c in graded.gradebook.columns]
    _fill(totals, ["student", "name", "email", "status", *late, "total", "max_total"],
          [[s, course.people[s].name, course.people[s].email, *(graded.row(s)[c] for c in ["status", *late]),
            graded.row(s)["total"], graded.row(s)["max_total"]] for s in graded.students])
    questions = book.create_sheet("Questions")
    ids = graded.rubric.question_ids
    _fill(questions, ["student", *ids, "total"],
          [["(maximum)", *(q.max_points for q in graded.rubric.questions), graded.max_total]]
          + [[s, *(graded.row(s)[q] for q in ids), graded.row(s)["total"]] for s in graded.students],
          numeric=set(ids))
    checks = book.create_sheet("Checks")
    columns = ["student", "question", "check", "points", "max_points", "outcome", "feedback"]
    _fill(checks, columns, graded.results[columns].values.tolist())
    path = to / FILE
    with atomic_file(path, binary=True) as stream:
        book.save(stream)
    return [path], coverage(graded, course, FILE)


def _fill(sheet, header: list[str], rows: list[list], numeric: set[str] = frozenset()) -> None:
    numbers = NUMERIC | set(numeric)
    for column, name in enumerate(header, start=1):
        _text(sheet.cell(row=1, column=column), name)
    for line, values in enumerate(rows, start=2):
        for column, (name, value) in enumerate(zip(header, values), start=1):
            cell = sheet.cell(row=line, column=column)
            if name in numbers and _is_number(value):
                cell.value = to_float(value) if isinstance(value, str) else float(value)
            else:
                _text(cell, "" if value is None else str(value))
    sheet.freeze_panes = "B2"
    for column, name in enumerate(header, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=column).column_letter].width = \
            60 if name == "feedback" else max(10, len(name) + 2)


# characters that XML 1.0 (so an xlsx file) cannot hold: openpyxl refuses them, and a student
# controls some text (an exception message in the feedback can hold ESC or other controls)
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MAX_CELL_CHARS = 32_767  # Excel's limit for one cell; it calls a file with a longer one corrupt


def _text(cell, value: str) -> None:
    """A string cell: characters XML cannot hold become U+FFFD first (so that "\x01=1+1"
    cannot lose its guard), then the formula guard, then Excel's length limit."""
    cell.value = spreadsheet_safe(_NOT_IN_XML.sub("\ufffd", value))[:MAX_CELL_CHARS]
    cell.data_type = "s"  # openpyxl would store a string starting with "=" as a formula


def _is_number(value) -> bool:
    if isinstance(value, (int, float)):
        return True
    try:
        float(value)
        return value.strip() != ""
    except (TypeError, ValueError, AttributeError):
        return False
