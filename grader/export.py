"""`grade export`: an output folder turned into files that learning platforms import.

It reads `OUT/gradebook.csv` and `OUT/results.csv` (written by `grade SUBMISSIONS --out OUT`)
and writes, each file atomically, into `--to` (default `OUT/export/`):

| format       | file(s)                                 | imported by                                     |
|--------------|-----------------------------------------|-------------------------------------------------|
| `gradebook`  | `gradebook.csv`                         | any spreadsheet                                 |
| `moodle`     | `moodle.csv`                            | Moodle assignment: "Upload grading worksheet"   |
| `canvas`     | `canvas.csv`                            | Canvas Grades: Import                           |
| `gradescope` | `gradescope/<student>/results.json`     | a Gradescope autograder (see below)             |

A roster (`--roster`, a CSV with the columns `id,name,email`) gives names and emails; without
one, or for a student it does not list, the name is the student id and the email is empty.
Optional roster columns: `moodle_id` (Moodle's participant number), `canvas_id` (Canvas's user
id), `sis_login_id` and `section` (Canvas). Extra columns are ignored.

A student whose status is `duplicate` (two submissions claimed the id, so nothing of theirs was
graded) gets an empty grade in the Moodle and Canvas files, which both platforms skip, and no
Gradescope file; the command warns about them. Suggested points of free-text answers that no
reviewer has confirmed yet are part of the totals, as in the gradebook; the command warns.

gradebook: `gradebook.csv`
    Exactly the columns of `OUT/gradebook.csv`, for spreadsheets: `student`, one column per
    question id in sheet order (the points earned), the late columns `submitted`, `days_late`,
    `late_penalty` when the rubric has a deadline, `total`, `max_total`, `status`.

moodle: `moodle.csv`, Moodle's offline "grading worksheet" (assignment feedback plugin
`assignfeedback_offline`; enable "Offline grading worksheet" in the assignment's feedback
types, then Assignment -> View all submissions -> Grading action -> "Upload grading worksheet").
The columns are those of the worksheet Moodle downloads for an assignment with online-text
submissions and feedback comments, in its order:
    `Identifier`                 "Participant N" when the roster's `moodle_id` column gives N
                                 (the number in Moodle's own downloaded worksheet), else empty
    `Full name`                  the roster's name
    `Email address`              the roster's email
    `Status`                     the gradebook's status (informational; Moodle ignores it)
    `Grade`                      the total
    `Maximum Grade`              max_total
    `Grade can be changed`       `Yes`
    `Last modified (submission)` empty
    `Online text`                empty
    `Last modified (grade)`      when the gradebook was written (ISO 8601 with its offset)
    `Feedback comments`          a one-line summary: points per question, late penalty, status
Matching: Moodle's importer (`mod/assign/feedback/offline/importgradeslib.php`) finds each row's
student by `Identifier` only, the "Participant N" of its own worksheet; it has no fallback to
the email address. A row with an empty Identifier is skipped on upload, so without `moodle_id`
in the roster this file is a worksheet to merge (by `Email address`) into the one Moodle
downloads, not one to upload as it is. Moodle also refuses to overwrite a grade changed in
Moodle more than a minute after `Last modified (grade)` unless "Allow updating records that
have been modified more recently in Moodle than in the spreadsheet" is ticked.

canvas: `canvas.csv`, Canvas's gradebook import CSV, laid out as Canvas exports its gradebook:
    `Student`        the roster's name as given (Canvas exports "Last, First")
    `ID`             the roster's `canvas_id`, else empty
    `SIS User ID`    the student id
    `SIS Login ID`   the roster's `sis_login_id`, else empty
    `Section`        the roster's `section`, else empty
    `<assignment>`   the total; the header is `--assignment` (default: the rubric's title).
                     Canvas reads a header ending in " (<digits>)" as "title (assignment id)",
                     so pass `--assignment "Exercise 7 (12345)"` to name an existing Canvas
                     assignment by its id; otherwise Canvas matches the title or creates a
                     new assignment.
The second row is `    Points Possible` (four leading spaces, as Canvas writes it) with
max_total under the assignment. Canvas finds a row's student by `ID`, then `SIS User ID`, then
`SIS Login ID`, then by the name.

gradescope: `gradescope/<student>/results.json`, Gradescope's autograder results format
(https://gradescope-autograders.readthedocs.io/en/latest/specs/), one per student. Gradescope
takes results.json only from an autograder run (`/autograder/results/results.json`); to use
these, ship them in the autograder zip and have `run_autograder` copy the submitter's file.
Top-level keys (only keys the specification defines):
    `score`              the total (equal to the sum of the tests' scores)
    `output`             the same one-line summary as Moodle's feedback comments
    `output_format`, `test_output_format`, `test_name_format`
                         `text`: Gradescope shows every output as plain text, so nothing a
                         student wrote (an exception message in a test's output) is read as
                         HTML or Markdown
    `stdout_visibility`  `hidden` (nothing is printed for students)
    `tests`              one per row of results.csv for that student, in sheet order:
        `name`        "<question> <check>", e.g. "2e lora_fnn"
        `score`       the points
        `max_score`   the check's maximum
        `output`      the feedback
        `visibility`  `visible`, or `after_published` for the rubric's hidden checks
      plus, for a late submission, a test `late penalty` with the negative points and
      `max_score` 0, so that the tests still add up to `score`.

Every CSV file written here has spreadsheet-safe string cells: one that a spreadsheet would
run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) starts with a
single quote `'` instead (`escaping.spreadsheet_safe`). gradebook.csv and results.csv are
read back without that quote, so ids and feedback are what the student handed in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import GradeError
from .course import Person, read_roster
from .escaping import restored_frame
from .gradebook import atomic_file, csv_writer, write_atomically, write_csv
from .record import rubric_for
from .rubric import Rubric

FORMATS = ("gradebook", "moodle", "canvas", "gradescope")

MOODLE_COLUMNS = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Online text",
                  "Last modified (grade)", "Feedback comments"]
CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_POSSIBLE = "    Points Possible"

RESULTS_NEEDED = {"student", "question", "check", "points", "max_points", "outcome", "feedback"}
NOT_GRADED = "duplicate"  # nothing of this student's was graded: no grade is exported
TOLERANCE = 1e-4


@dataclass
class Graded:
    """What `OUT` holds, read and checked against the rubric."""

    out: Path
    rubric: Rubric
    gradebook: object  # pandas.DataFrame, every cell a string as written
    results: object  # pandas.DataFrame, every cell a string as written
    written_at: datetime

    def __post_init__(self) -> None:
        self.rows = {row["student"]: row for row in self.gradebook.to_dict("records")}

    @property
    def students(self) -> list[str]:
        return list(self.gradebook["student"])

    def row(self, student: str) -> dict[str, str]:
        return self.rows[student]


def parse_formats(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise GradeError(f"--format {text!r}: choose one or more of {', '.join(FORMATS)}, separated by commas")
    return list(dict.fromkeys(names))


def export(out: Path, rubric_path: Path | None = None, to: Path | None = None,
           formats: list[str] | tuple[str, ...] = FORMATS, roster: Path | None = None,
           assignment: str | None = None) -> tuple[list[Path], list[str]]:
    """Write the chosen formats; returns (files written, warnings for the person running it).
    Without `rubric_path`, OUT is read with the rubric it was graded with (record.py)."""
    warnings: list[str] = []
    graded = read_outputs(out, rubric_path, warnings)
    people, more = _people(graded, roster)
    warnings += more + _warnings(graded)
    to = to if to is not None else out / "export"
    writers = {"gradebook": _write_gradebook, "moodle": _write_moodle, "canvas": _write_canvas,
               "gradescope": _write_gradescope}
    written: list[Path] = []
    try:
        for name in formats:
            written += writers[name](graded, people, to, assignment or graded.rubric.title)
    except OSError as exc:
        raise GradeError(f"{to}: cannot write the export there ({exc.strerror or exc}); choose another folder "
                         "with --to") from None
    return written, warnings


# ---------------------------------------------------------------- reading


def read_outputs(out: Path, rubric_path: Path | None = None, warnings: list[str] | None = None) -> Graded:
    """OUT's gradebook and results with the rubric: `rubric_path`, else the one OUT was graded with."""
    gradebook_path, results_path = out / "gradebook.csv", out / "results.csv"
    if not gradebook_path.is_file() or not results_path.is_file():
        raise GradeError(f"{out}: no gradebook.csv and results.csv here; run `grade SUBMISSIONS --out {out}` first")
    gradebook = _read_csv(gradebook_path, {"student", "total", "max_total", "status"})
    results = _read_csv(results_path, RESULTS_NEEDED)
    rubric, told = rubric_for(out, rubric_path)
    if warnings is not None:
        warnings += told
    duplicates = gradebook["student"][gradebook["student"].duplicated()]
    if len(duplicates):
        raise GradeError(f"{gradebook_path}: student {duplicates.iloc[0]!r} has two rows")
    graded = Graded(out, rubric, gradebook, results,
                    datetime.fromtimestamp(gradebook_path.stat().st_mtime).astimezone())
    _check(graded)
    return graded


def _read_csv(path: Path, needed: set[str], hint: str = "was it written by `grade`? Run `grade` again"):
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise GradeError(f"{path}: cannot read it ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                         ) from None
    missing = needed - set(frame.columns)
    if missing:
        raise GradeError(f"{path}: the columns {', '.join(sorted(missing))} are missing; {hint}")
    return restored_frame(frame)


def _check(graded: Graded) -> None:
    """The rubric is the one OUT was graded with, and the two files agree with each other."""
    rubric, gradebook, results = graded.rubric, graded.gradebook, graded.results
    where = f"{graded.out} does not match the rubric {rubric.path}"
    missing = [qid for qid in rubric.question_ids if qid not in gradebook.columns]
    if missing:
        raise GradeError(f"{where} (no column for question {', '.join(missing)} in gradebook.csv); "
                         "pass the rubric it was graded with (--rubric)")
    known = {(q.id, c.id) for q, c in rubric.checks()}
    strangers = sorted({(q, c) for q, c in zip(results["question"], results["check"])} - known)
    if strangers:
        q, c = strangers[0]
        raise GradeError(f"{where} (results.csv has check {c} of question {q}, which the rubric lacks); "
                         "pass the rubric it was graded with (--rubric)")
    sums = results.assign(p=_numbers(results["points"])).groupby("student")["p"].sum()
    for student in graded.students:
        row = graded.row(student)
        if not _safe_name(student):
            raise GradeError(f"{graded.out / 'gradebook.csv'}: the student id {student!r} cannot name a file")
        expected = _float(row["total"]) + _penalty(row)
        if abs(float(sums.get(student, 0.0)) - expected) > TOLERANCE:
            raise GradeError(f"{graded.out}: results.csv and gradebook.csv disagree on {student}'s points "
                             f"({float(sums.get(student, 0.0)):g} vs {expected:g}); run `grade SUBMISSIONS --out "
                             f"{graded.out}` again so both come from one run")


def _people(graded: Graded, roster: Path | None) -> tuple[dict[str, Person], list[str]]:
    listed = read_roster(roster) if roster is not None else {}
    people = {student: listed.get(student, Person(student, student)) for student in graded.students}
    warnings = []
    if roster is not None:
        absent = [student for student in graded.students if student not in listed]
        if absent:
            warnings.append(f"{len(absent)} students are not in the roster {roster} ({_some(absent)}): their name "
                            "is their id and their email is empty")
    return people, warnings


def _warnings(graded: Graded) -> list[str]:
    warnings = []
    skipped = [s for s in graded.students if _not_graded(graded.row(s))]
    if skipped:
        warnings.append(f"{len(skipped)} students have the status duplicate ({_some(skipped)}): their grade is left "
                        "empty in the Moodle and Canvas files and they get no Gradescope file")
    results = graded.results
    manual = results["manual_points"] if "manual_points" in results.columns else ""
    pending = int(((results["outcome"] == "needs_rereview")
                   | ((results["outcome"] == "needs_review") & (manual == ""))).sum())
    if pending:
        warnings.append(f"{pending} free-text answers have suggested points that no reviewer has confirmed; "
                        "the exported grades include them (see `grade review`)")
    return warnings


# ---------------------------------------------------------------- the formats


def _write_gradebook(graded: Graded, people, to: Path, assignment: str) -> list[Path]:
    path = to / "gradebook.csv"
    write_csv(graded.gradebook, path, lineterminator="\n", float_format=None)
    return [path]


def _write_moodle(graded: Graded, people: dict[str, Person], to: Path, assignment: str) -> list[Path]:
    path = to / "moodle.csv"
    stamp = graded.written_at.isoformat(timespec="seconds")
    rows = []
    for student in graded.students:
        row, person = graded.row(student), people[student]
        rows.append([f"Participant {person.moodle_id}" if person.moodle_id else "", person.name, person.email,
                     row["status"], _grade(row), _number(_float(row["max_total"])), "Yes", "", "", stamp,
                     summary(graded, student)])
    _write_rows(path, [MOODLE_COLUMNS, *rows])
    return [path]


def _write_canvas(graded: Graded, people: dict[str, Person], to: Path, assignment: str) -> list[Path]:
    path = to / "canvas.csv"
    max_total = _number(_float(graded.gradebook["max_total"].iloc[0])) if len(graded.gradebook) else \
        _number(graded.rubric.max_total)
    lines = [[*CANVAS_STUDENT_COLUMNS, assignment], [CANVAS_POINTS_POSSIBLE, "", "", "", "", max_total]]
    for student in graded.students:
        person = people[student]
        lines.append([person.name, person.canvas_id, student, person.sis_login_id, person.section,
                      _grade(graded.row(student))])
    _write_rows(path, lines)
    return [path]


def _write_gradescope(graded: Graded, people, to: Path, assignment: str) -> list[Path]:
    hidden = {(q.id, c.id) for q, c in graded.rubric.checks() if c.visibility == "hidden"}
    by_student = {student: rows for student, rows in graded.results.groupby("student", sort=False)}
    written = []
    for student in graded.students:
        row = graded.row(student)
        if _not_graded(row):
            continue
        mine = by_student.get(student, graded.results.iloc[0:0])
        tests = [{"name": f"{r['question']} {r['check']}", "score": _float(r["points"]),
                  "max_score": _float(r["max_points"]), "output": r["feedback"],
                  "visibility": "after_published" if (r["question"], r["check"]) in hidden else "visible"}
                 for r in mine.to_dict("records")]
        penalty = _penalty(row)
        if penalty:
            tests.append({"name": "late penalty", "score": -penalty, "max_score": 0.0,
                          "output": f"Handed in {_float(row.get('days_late', '0')):.2f} days late: "
                                    f"{_number(penalty)} points off.", "visibility": "visible"})
        document = {"score": _float(row["total"]), "output": summary(graded, student), "output_format": "text",
                    "test_output_format": "text", "test_name_format": "text", "stdout_visibility": "hidden",
                    "tests": tests}
        path = to / "gradescope" / student / "results.json"
        write_atomically(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written


def summary(graded: Graded, student: str) -> str:
    """One line for the student: the total, the points per question, a late penalty, the status."""
    row = graded.row(student)
    parts = [f"{q.id} {_number(_float(row[q.id]))}/{_number(q.max_points)}" for q in graded.rubric.questions]
    text = (f"{graded.rubric.title}: {_number(_float(row['total']))}/{_number(_float(row['max_total']))} points. "
            + "; ".join(parts) + ".")
    if _penalty(row):
        text += f" Late penalty: -{_number(_penalty(row))} ({_float(row.get('days_late', '0')):.2f} days late)."
    if row["status"] != "ok":
        text += f" Status: {row['status']}."
    return text


# ---------------------------------------------------------------- helpers


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    with atomic_file(path) as stream:
        csv_writer(stream).writerows(rows)


def _grade(row: dict[str, str]) -> str:
    return "" if _not_graded(row) else _number(_float(row["total"]))


def _not_graded(row: dict[str, str]) -> bool:
    return row["status"].split(" ")[0] == NOT_GRADED


def _penalty(row: dict[str, str]) -> float:
    return _float(row.get("late_penalty", "") or "0")


def _float(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise GradeError(f"{text!r} in the output folder is not a number; run `grade` again") from None


def _numbers(column):
    return [_float(value) for value in column]


def _number(value: float) -> str:
    return f"{value:.6g}"


_SAFE = re.compile(r"^[^/\\\x00]+$")


def _safe_name(student: str) -> bool:
    return bool(_SAFE.match(student)) and student not in (".", "..")


def _some(names: list[str], shown: int = 5) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
