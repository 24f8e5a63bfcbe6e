"""Moodle: the assignment's offline grading worksheet, and the gradebook's CSV import by email.

Worksheet (`moodle.csv`), read by `assignfeedback_offline_grade_importer`
(mod/assign/feedback/offline/importgradeslib.php): the columns are found by their header
text *in the uploader's language* (`get_string('recordid', 'assign')` = "Identifier",
`get_string('grade')` = "Grade", `get_string('lastmodifiedgrade', 'assign')` = "Last modified
(grade)", the feedback plugin's "Feedback comments"); the upload fails without the first three.
A row's student is found only by "Participant N": N is the assignment's own unique id for
the user (`get_user_id_for_uniqueid`), different in every assignment; a row whose N is not
a participant is skipped without a word. The assignment's maximum grade (a whole number in
Moodle) must be the sheet's total, or grades above it are refused. So: rows only for students whose roster `moodle_id`
gives N (for this assignment; two students with one N get no row, since one
would take the other's grade), a warning naming every other student, and no row at all for
a student with no grade (a duplicate), since a row would set the grade and the comment.

Gradebook import (`moodle-grades.csv`), read by `gradeimport_csv_load_data`
(grade/import/csv/classes/load_data.php): the uploader maps "Email address" to the user's
email (any column can be mapped, so the header language does not matter), the grade column
to the grade item and "Feedback" to its feedback. It works across assignments. A row whose
email matches no user aborts the *whole* import (`usermappingerror`), and so does a row with
an empty email (`usermappingerrorusernotfound`); an empty grade or `-` is imported as "no
grade" and erases one already there. So: rows only for students with an email and a grade.
"""

from __future__ import annotations

from pathlib import Path

from .common import SHARED, UNGRADED, Course, Graded, Options, coverage, grade, left_out, number, summary, write_rows

WORKSHEET = "moodle.csv"
GRADES = "moodle-grades.csv"
WORKSHEET_COLUMNS = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                     "Grade can be changed", "Last modified (submission)", "Online text",
                     "Last modified (grade)", "Feedback comments"]
GRADES_FIXED = ["Email address", "Full name"]  # then the assignment's title and "Feedback"
FEEDBACK = "Feedback"
PARTICIPANT = "Participant "  # get_string('hiddenuser', 'assign') in English


def write_worksheet(graded: Graded, course: Course, to: Path, options: Options) -> tuple[list[Path], list[str]]:
    path = to / WORKSHEET
    stamp = graded.written_at.isoformat(timespec="seconds")
    rows, unmatched, ungraded, shared = [], [], [], []
    clashes = course.shared_participants([s for s in graded.students if graded.gradable(s)])
    for student in graded.students:
        row, person = graded.row(student), course.people[student]
        if not graded.gradable(student):
            ungraded.append(student)
        elif not course.participant(student):
            unmatched.append(student)
        elif student in clashes:
            shared.append(student)
        else:
            rows.append([f"{PARTICIPANT}{course.participant(student)}", person.name, person.email, row["status"], grade(row),
                         number(graded.max_total), "Yes", "", "", stamp, summary(graded, student)])
    write_rows(path, [WORKSHEET_COLUMNS, *rows])
    warnings = coverage(graded, course, WORKSHEET)
    if rows and graded.max_total != int(graded.max_total):
        warnings.append(f"{WORKSHEET}: the maximum, {number(graded.max_total)}, is not a whole number, which a Moodle "
                        "assignment's maximum grade must be; Moodle refuses grades above the maximum it has")
    warnings += left_out(WORKSHEET, course, unmatched, "with no moodle_id in the roster (Moodle matches a worksheet "
                         f"row only by \"Participant N\"; use {GRADES} for them)")
    warnings += left_out(WORKSHEET, course, ungraded, UNGRADED)
    warnings += left_out(WORKSHEET, course, shared, SHARED)
    return [path], warnings


def write_grades(graded: Graded, course: Course, to: Path, options: Options) -> tuple[list[Path], list[str]]:
    path = to / GRADES
    rows, unmatched, ungraded = [], [], []
    for student in graded.students:
        row, person = graded.row(student), course.people[student]
        if not graded.gradable(student):
            ungraded.append(student)
        elif not person.email:
            unmatched.append(student)
        else:
            rows.append([person.email, person.name, grade(row), summary(graded, student)])
    write_rows(path, [[*GRADES_FIXED, options.title, FEEDBACK], *rows])
    warnings = coverage(graded, course, GRADES)
    warnings += left_out(GRADES, course, unmatched, "with no email in the roster (Moodle aborts the whole import on "
                         "a row without one)")
    warnings += left_out(GRADES, course, ungraded, UNGRADED)
    return [path], warnings
