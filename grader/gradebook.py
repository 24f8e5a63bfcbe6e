"""The CSV outputs: `gradebook.csv` (a row per student) and `results.csv` (a row per check).

Built with pandas and written atomically (a temporary file, then `os.replace`), so a reader
never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from .rubric import Rubric
from .scoring import StudentResult, question_points, total_points

RESULT_COLUMNS = ["student", "question", "check", "points", "max_points", "outcome", "feedback"]


def gradebook_frame(rubric: Rubric, students: list[StudentResult]) -> pd.DataFrame:
    rows = []
    for student in students:
        row = {"student": student.student, **question_points(rubric, student.checks)}
        row.update(total=total_points(student.checks), max_total=rubric.max_total, status=student.status)
        rows.append(row)
    columns = ["student", *rubric.question_ids, "total", "max_total", "status"]
    return pd.DataFrame(rows, columns=columns)


def results_frame(students: list[StudentResult]) -> pd.DataFrame:
    rows = [
        {"student": s.student, "question": c.question, "check": c.check, "points": c.points,
         "max_points": c.max_points, "outcome": c.outcome, "feedback": c.feedback}
        for s in students for c in s.checks
    ]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    write_atomically(path, frame.to_csv(index=False, float_format="%.6g"))


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
