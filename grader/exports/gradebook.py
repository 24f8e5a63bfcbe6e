"""`gradebook.csv`: exactly the columns of `OUT/gradebook.csv`, for spreadsheets."""

from __future__ import annotations

from pathlib import Path

from ..gradebook import write_csv
from .common import Course, Graded, Options, coverage

FILE = "gradebook.csv"


def write(graded: Graded, course: Course, to: Path, options: Options) -> tuple[list[Path], list[str]]:
    path = to / FILE
    write_csv(graded.gradebook, path, lineterminator="\n", float_format=None)
    return [path], coverage(graded, course, FILE)
