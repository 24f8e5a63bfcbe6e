"""Canvas: the gradebook import CSV (`canvas.csv`) and the per-student comments (`canvas-comments.json`).

Read by `GradebookImporter` (lib/gradebook_importer.rb): the header row must start with a
column containing "Student" and one containing "ID"; "SIS User ID" then "SIS Login ID" follow,
then "Section" (the last student column). A row whose first cell contains "Points Possible"
describes the assignments. A row's student is found by `ID` (Canvas's user id), else by
`SIS User ID`, else by `SIS Login ID` (both in the course's root account), else by the name or
sortable name ("Last, First") exactly; else it is a new, unknown student. An assignment header
"Title (12345)" names assignment 12345; otherwise a published assignment whose title is exactly
the header, otherwise Canvas makes a new assignment. A cell is compared with the grade
already in Canvas: blank against a grade is a change, and the import erases that grade.

So: no row for a student with no grade (a duplicate), with a warning; the SIS columns come
from the roster (`sis_user_id`, `sis_login_id`; without a `sis_user_id` column the student id
stands in, with a warning); a warning names every row Canvas could match only by name.
Students whose roster rows give one canvas_id are left out of both files, with a warning, and
a name holding "Points Possible" (which would make Canvas skip the row) is written with
"Points possible".

Feedback comments are not part of the CSV import. `canvas-comments.json` is the body of
Canvas's bulk-update API call (Submissions API, "Grade or comment on multiple submissions"):

    POST /api/v1/courses/:course_id/assignments/:assignment_id/submissions/update_grades
    {"grade_data": {"<canvas user id>": {"text_comment": "..."}}}

for the students whose roster row gives `canvas_id`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..gradebook import write_atomically
from .common import (UNGRADED, Course, Graded, Options, count, coverage, grade, left_out, names, number, summary,
                     write_rows)

FILE = "canvas.csv"
COMMENTS = "canvas-comments.json"
STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "    Points Possible"  # as Canvas writes it
POINTS_MARK = "Points Possible"  # a row whose first cell holds it is the points row for Canvas
SHARED_ID = ("sharing their canvas_id with another student (Canvas would give one of them the other's grade "
             "and comment): fix the roster")


def write(graded: Graded, course: Course, to: Path, options: Options) -> tuple[list[Path], list[str]]:
    path = to / FILE
    sis_from_id = "sis_user_id" not in course.columns
    lines = [[*STUDENT_COLUMNS, options.assignment], [POINTS_POSSIBLE, "", "", "", "", number(graded.max_total)]]
    ungraded, by_name, renamed, shared = [], [], [], []
    clashes = _shared_canvas_ids(graded, course)
    for student in graded.students:
        person = course.people[student]
        if not graded.gradable(student):
            ungraded.append(student)
            continue
        if student in clashes:
            shared.append(student)
            continue
        sis_user_id = student if sis_from_id else course.get(student, "sis_user_id")
        if not (person.canvas_id or sis_user_id or person.sis_login_id):
            by_name.append(student)
        name = person.name
        if POINTS_MARK in name:  # Canvas reads such a row as the points row and skips it: no grade
            name = name.replace(POINTS_MARK, POINTS_MARK.lower())
            renamed.append(student)
        lines.append([name, person.canvas_id, sis_user_id, person.sis_login_id, person.section,
                      grade(graded.row(student))])
    write_rows(path, lines)
    warnings = coverage(graded, course, FILE)
    warnings += left_out(FILE, course, ungraded, UNGRADED)
    warnings += left_out(FILE, course, shared, SHARED_ID) + left_out(COMMENTS, course, shared, SHARED_ID)
    if renamed:
        warnings.append(f"{FILE}: {count(len(renamed), 'name')} holding \"{POINTS_MARK}\", which would make Canvas skip "
                        f"the row, written with \"{POINTS_MARK.lower()}\" (Canvas then matches the row by its ids "
                        f"only): {names(course, renamed)}")
    if sis_from_id:
        warnings.append(f"{FILE}: the roster has no sis_user_id column, so SIS User ID is the student id; Canvas "
                        "matches it only if the ids are Canvas SIS user ids (add canvas_id or sis_user_id to the "
                        "roster)")
    if by_name:
        warnings.append(f"{FILE}: {count(len(by_name), 'row')} with no ID, SIS User ID or SIS Login ID; Canvas "
                        "matches them by name only, and one it cannot match is a new student: "
                        f"{names(course, by_name)}")
    if not re.search(r"\s\(\d+\)$", options.assignment):
        warnings.append(f"{FILE}: the column {options.assignment!r} names no Canvas assignment id; unless a published "
                        "assignment has exactly this title, Canvas makes a new one (pass --assignment \"Title (ID)\")")
    return [path, _write_comments(graded, course, to)], warnings + _comment_warnings(graded, course)


def _shared_canvas_ids(graded: Graded, course: Course) -> set[str]:
    """Students whose canvas_id another graded student has too: Canvas would give one of them
    the other's grade and comment."""
    seen: dict[str, list[str]] = {}
    for student in graded.students:
        if graded.gradable(student) and course.people[student].canvas_id:
            seen.setdefault(course.people[student].canvas_id, []).append(student)
    return {s for group in seen.values() if len(group) > 1 for s in group}


def _write_comments(graded: Graded, course: Course, to: Path) -> Path:
    clashes = _shared_canvas_ids(graded, course)
    data = {course.people[s].canvas_id: {"text_comment": summary(graded, s)} for s in graded.students
            if graded.gradable(s) and course.people[s].canvas_id and s not in clashes}
    path = to / COMMENTS
    write_atomically(path, json.dumps({"grade_data": data}, indent=2, ensure_ascii=False) + "\n")
    return path


def _comment_warnings(graded: Graded, course: Course) -> list[str]:
    left = [s for s in graded.students if graded.gradable(s) and not course.people[s].canvas_id]
    return left_out(COMMENTS, course, left, "with no canvas_id in the roster (the API names users by it)")
