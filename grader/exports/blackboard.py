"""Blackboard Learn (Original Grade Center): Work Offline -> Upload (`blackboard.csv`).

Blackboard's published upload layout ("Uploading or Downloading Grade Center Items for
Working Offline", help.blackboard.com / library.blackboard.com): the student is identified
only by `Username`; a row without one fails the upload, and a Username not enrolled in the
course is not processed; name changes are ignored. A grade column is identified by the
Column ID at the end of its header as Blackboard downloads it,
`Exercise 7 [Total Pts: 55 Score] |123456`; a header without a Column ID makes a new *text*
column with 0 points possible. A comma-separated file must have every value in quotes.
The confirmation page lists each column, its match and a preview before anything is saved.

So: `Last Name`, `First Name`, `Username`, the grade column; the Username from the roster's
`username` column (else the student id, with a warning); the Column ID from
`--blackboard-column` (else a warning); no row for a student with no grade (a blank would
clear the grade), with a warning.
"""

from __future__ import annotations

from pathlib import Path

from .common import UNGRADED, Course, Graded, Options, coverage, grade, left_out, number, write_rows

FILE = "blackboard.csv"
STUDENT_COLUMNS = ["Last Name", "First Name", "Username"]


def header(options: Options, max_total: float) -> str:
    column = f"{options.title} [Total Pts: {number(max_total)} Score]"
    return f"{column} |{options.blackboard_column}" if options.blackboard_column else column


def split_name(name: str) -> tuple[str, str]:
    """(last, first) from "Last, First" or "First Last" (Blackboard ignores both on upload)."""
    if "," in name:
        last, first = name.split(",", 1)
        return last.strip(), first.strip()
    first, _, last = name.rpartition(" ")
    return (last, first) if first else (name, "")


def write(graded: Graded, course: Course, to: Path, options: Options) -> tuple[list[Path], list[str]]:
    path = to / FILE
    from_id = "username" not in course.columns
    rows, ungraded, nameless = [], [], []
    for student in graded.students:
        if not graded.gradable(student):
            ungraded.append(student)
            continue
        username = student if from_id else course.get(student, "username")
        if not username:
            nameless.append(student)
            continue
        last, first = split_name(course.people[student].name)
        rows.append([last, first, username, grade(graded.row(student))])
    write_rows(path, [[*STUDENT_COLUMNS, header(options, graded.max_total)], *rows], quote_all=True)
    warnings = coverage(graded, course, FILE)
    warnings += left_out(FILE, course, ungraded, UNGRADED)
    if from_id:
        warnings.append(f"{FILE}: the roster has no username column, so Username is the student id; Blackboard "
                        "skips every Username not enrolled in the course")
    warnings += left_out(FILE, course, nameless, "with no username in the roster (the upload fails on a row "
                         "without one)")
    if not options.blackboard_column:
        warnings.append(f"{FILE}: no --blackboard-column given, so Blackboard makes a new text column with 0 points "
                        "possible; pass the Column ID from the header of the Grade Center's download (`|123456`)")
    return [path], warnings
