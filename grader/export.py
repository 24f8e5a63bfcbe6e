"""`grade export`: an output folder turned into files that learning platforms import on the first try.

Each format follows the platform's own import code or published import layout; the rules
each one applies are summed up at the top of its module in grader/exports/ and reproduced by
tests/lms_importers.py, which the tests run on every file written here. Sources:

- Moodle assignment worksheet: moodle/moodle, mod/assign/feedback/offline/importgradeslib.php
  (https://github.com/moodle/moodle/blob/main/mod/assign/feedback/offline/importgradeslib.php)
- Moodle gradebook CSV import: moodle/moodle, grade/import/csv/classes/load_data.php
- Moodle feedback files zip: moodle/moodle, mod/assign/feedback/file/importziplib.php
- Canvas gradebook import: instructure/canvas-lms, lib/gradebook_importer.rb
  (https://github.com/instructure/canvas-lms/blob/master/lib/gradebook_importer.rb); comments:
  Canvas REST API, Submissions, "Grade or comment on multiple submissions" (update_grades)
- Blackboard Learn: "Uploading or Downloading Grade Center Items for Working Offline"
  (Blackboard Help, library.blackboard.com / help.blackboard.com, Original Course View)
- Brightspace (D2L): "Importing grades" (https://community.d2l.com/brightspace/kb/articles/3538-importing-grades)
  and its Grades_Sample_Import_File.csv
- Gradescope: autograder specification and submission metadata
  (https://gradescope-autograders.readthedocs.io/en/latest/specs/ and .../submission_metadata/;
  source github.com/gradescope/autograder_samples, docs/specs.md, docs/submission_metadata.md)

It reads `OUT/gradebook.csv` and `OUT/results.csv` (written by `grade SUBMISSIONS --out OUT`)
and writes, each file atomically, into `--to` (default `OUT/export/`):

| format                  | file(s)                                      | module                      |
|-------------------------|----------------------------------------------|-----------------------------|
| `gradebook`             | `gradebook.csv`                              | exports/gradebook.py        |
| `xlsx`                  | `gradebook.xlsx` (Totals, Questions, Checks) | exports/spreadsheet.py      |
| `moodle`                | `moodle.csv` (assignment grading worksheet)  | exports/moodle.py           |
| `moodle-grades`         | `moodle-grades.csv` (gradebook import, email)| exports/moodle.py           |
| `moodle-feedback`       | `moodle-feedback.zip` (feedback files)       | exports/feedback_files.py   |
| `canvas`                | `canvas.csv`, `canvas-comments.json`         | exports/canvas.py           |
| `blackboard`            | `blackboard.csv`                             | exports/blackboard.py       |
| `brightspace`           | `brightspace.csv`                            | exports/brightspace.py      |
| `gradescope`            | `gradescope/<student>/results.json`          | exports/gradescope.py       |
| `gradescope-autograder` | `autograder.zip`                             | gradescope_autograder.py    |

A roster (`--roster`, a CSV with the columns `id,name,email`) gives names and emails; without
one, or for a student it does not list, the name is the student id and the email is empty.
Optional roster columns, each for the platform that matches on it: `moodle_id` (the N of
"Participant N" in the assignment's downloaded worksheet), `canvas_id`, `sis_user_id`,
`sis_login_id` and `section` (Canvas), `username` (Blackboard, Brightspace), `org_defined_id`
(Brightspace). Extra columns are ignored.

No file holds a blank grade: a student with no grade (status `duplicate`) is left out of every
file, since a blank erases a grade in Canvas and in Moodle's gradebook import. For each file,
the warnings name every student it leaves out and why (no key the platform matches on, no
grade), every roster student without a row in the gradebook (graded without `--roster`) and
every row not on the roster. Suggested points of free-text answers that no reviewer has
confirmed yet are part of the totals, as in the gradebook; the command warns.

Every CSV file written here has spreadsheet-safe string cells: one that a spreadsheet would
run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) starts with a
single quote `'` instead (`escaping.spreadsheet_safe`), and so does every text cell of the
xlsx file, which holds no formula. gradebook.csv and results.csv are read back without that
quote, so ids and feedback are what the student handed in.
"""

from __future__ import annotations

from pathlib import Path

from .errors import GradeError
from .exports import blackboard, brightspace, canvas, feedback_files, gradebook, gradescope, moodle, spreadsheet
from .exports.common import Graded, Options, merged, pending_reviews, read_course, read_outputs

WRITERS = {
    "gradebook": gradebook.write,
    "xlsx": spreadsheet.write,
    "moodle": moodle.write_worksheet,
    "moodle-grades": moodle.write_grades,
    "moodle-feedback": feedback_files.write,
    "canvas": canvas.write,
    "blackboard": blackboard.write,
    "brightspace": brightspace.write,
    "gradescope": gradescope.write,
    "gradescope-autograder": None,  # built from the rubric, not from the grades
}
FORMATS = tuple(WRITERS)
DEFAULT = tuple(name for name in FORMATS if name != "gradescope-autograder")


def parse_formats(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise GradeError(f"--format {text!r}: choose one or more of {', '.join(FORMATS)}, separated by commas")
    return list(dict.fromkeys(names))


def export(out: Path, rubric_path: Path | None = None, to: Path | None = None,
           formats: list[str] | tuple[str, ...] = DEFAULT, roster: Path | None = None,
           assignment: str | None = None, blackboard_column: str | None = None,
           sandbox: str = "required") -> tuple[list[Path], list[str]]:
    """Write the chosen formats; returns (files written, warnings for the person running it).
    Without `rubric_path`, OUT is read with the rubric it was graded with (record.py)."""
    warnings: list[str] = []
    graded = read_outputs(out, rubric_path, warnings)
    course = read_course(graded, roster)
    warnings += _warnings(graded)
    to = to if to is not None else out / "export"
    options = Options(assignment or graded.rubric.title, (blackboard_column or "").strip())
    written: list[Path] = []
    try:
        for name in formats:
            if name == "gradescope-autograder":
                from .gradescope_autograder import build

                written.append(build(graded.rubric, to, sandbox))
                continue
            files, told = WRITERS[name](graded, course, to, options)
            written += files
            warnings += told
    except OSError as exc:
        raise GradeError(f"{to}: cannot write the export there ({exc.strerror or exc}); choose another folder "
                         "with --to") from None
    return written, merged(warnings)


def _warnings(graded: Graded) -> list[str]:
    pending = int(pending_reviews(graded.results).sum())
    if pending:
        return [f"{pending} free-text answers have suggested points that no reviewer has confirmed; "
                "the exported grades include them (see `grade review`)"]
    return []
