"""Brightspace (D2L): Grades -> Enter Grades -> Import (`brightspace.csv`).

Brightspace's published import layout (D2L Community, "Importing grades", and its
Grades_Sample_Import_File.csv): `OrgDefinedId` and/or `Username` identify the user (at
least one; exported files have both, first and second); a numeric grade item's column is
`<grade item name> Points Grade`; the last column is `End-of-Line Indicator` with `#` in
every row. An item name that is not an existing grade item offers to create one; a user who
is not enrolled is reported as an error on the preview page and not imported. What a blank
grade cell does is not documented, so none is written.

So: both key columns from the roster (`org_defined_id`, `username`; without either column
the student id stands in as Username, with a warning); no row for a student with no grade
(a duplicate) or without a key, each named in a warning.
"""

from __future__ import annotations

from pathlib import Path

from .common import UNGRADED, Course, Graded, Options, coverage, grade, left_out, write_rows

FILE = "brightspace.csv"
KEYS = ["OrgDefinedId", "Username"]
END = "End-of-Line Indicator"


def write(graded: Graded, course: Course, to: Path, options: Options) -> tuple[list[Path], list[str]]:
    path = to / FILE
    from_id = not {"org_defined_id", "username"} & course.columns
    rows, ungraded, keyless = [], [], []
    for student in graded.students:
        if not graded.gradable(student):
            ungraded.append(student)
            continue
        org = course.get(student, "org_defined_id")
        username = student if from_id else course.get(student, "username")
        if not (org or username):
            keyless.append(student)
            continue
        rows.append([org, username, grade(graded.row(student)), "#"])
    write_rows(path, [[*KEYS, f"{options.title} Points Grade", END], *rows])
    warnings = coverage(graded, course, FILE)
    warnings += left_out(FILE, course, ungraded, UNGRADED)
    if from_id:
        warnings.append(f"{FILE}: the roster has no org_defined_id or username column, so Username is the student "
                        "id; Brightspace refuses every user it does not know")
    warnings += left_out(FILE, course, keyless, "with neither org_defined_id nor username in the roster")
    return [path], warnings
