"""What every export format shares: the output folder read and checked against its rubric,
the roster matched against the graded rows, and small helpers (numbers, CSV rows, names)."""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..course import Person, read_roster
from ..errors import GradeError
from ..escaping import restored_frame, spreadsheet_safe
from ..gradebook import atomic_file, csv_writer
from ..record import rubric_for
from ..rubric import Rubric
from ..untrusted import student_id

RESULTS_NEEDED = {"student", "question", "check", "points", "max_points", "outcome", "feedback"}
NOT_GRADED = "duplicate"  # nothing of this student's was graded: no grade is exported
TOLERANCE = 1e-4
# roster columns read for the exports besides those of course.Person
EXTRA_COLUMNS = ("sis_user_id", "username", "org_defined_id")


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

    def gradable(self, student: str) -> bool:
        """Whether the student has a grade to export (a duplicate has none)."""
        return not not_graded(self.row(student))

    @property
    def max_total(self) -> float:
        if len(self.gradebook):
            return to_float(self.gradebook["max_total"].iloc[0])
        return float(self.rubric.max_total)


@dataclass
class Course:
    """The graded students as the roster knows them. Without a roster, every name is the id."""

    roster: Path | None
    people: dict[str, Person]  # every graded student: the roster's row, else a Person(id, id)
    extra: dict[str, dict[str, str]]  # roster id -> EXTRA_COLUMNS present in the roster
    columns: set[str] = field(default_factory=set)  # the roster's columns
    listed: dict[str, Person] = field(default_factory=dict)  # the roster as read

    def on_roster(self, student: str) -> bool:
        return student in self.listed

    def get(self, student: str, column: str) -> str:
        return self.extra.get(student, {}).get(column, "")

    def label(self, student: str) -> str:
        """'Name (id)', or the id when the name is the id; on one line, whatever the roster
        holds (a name with a line break could forge a line of `grade`'s own output)."""
        name = self.people[student].name if student in self.people else self.listed[student].name
        return student if name == student else f"{one_line(name)} ({student})"

    def participant(self, student: str) -> str:
        """The student's Moodle participant number as Moodle writes it ("05" is 5), or ""."""
        number = self.people[student].moodle_id
        return str(int(number)) if number.isascii() and number.isdigit() else ""

    def shared_participants(self, students: list[str]) -> set[str]:
        """Those of `students` whose participant number another of them has too: a row or file
        for them would give one student's grade and feedback to another."""
        seen: dict[str, list[str]] = {}
        for student in students:
            if self.participant(student):
                seen.setdefault(self.participant(student), []).append(student)
        return {s for group in seen.values() if len(group) > 1 for s in group}


def read_course(graded: Graded, roster: Path | None) -> Course:
    listed = read_roster(roster) if roster is not None else {}
    extra, columns = _extra_columns(roster) if roster is not None else ({}, set())
    people = {student: listed.get(student, Person(student, student)) for student in graded.students}
    return Course(roster, people, extra, columns, listed)


def _extra_columns(roster: Path) -> tuple[dict[str, dict[str, str]], set[str]]:
    with open(roster, newline="", encoding="utf-8-sig") as handle:  # read_roster has read it already
        reader = csv.DictReader(handle)
        rows = list(reader)
        columns = set(reader.fieldnames or [])
    extra = {}
    for row in rows:
        ident = (row.get("id") or "").strip()
        if ident:
            extra[student_id(ident)] = {name: (row.get(name) or "").strip() for name in EXTRA_COLUMNS if name in row}
    return extra, columns


def coverage(graded: Graded, course: Course, file: str) -> list[str]:
    """Warnings naming every roster student without a row and every row not on the roster."""
    if course.roster is None:
        return []
    warnings = []
    rowless = [s for s in course.listed if s not in graded.rows]
    if rowless:
        warnings.append(f"{file}: {count(len(rowless), 'roster student')} without a row in "
                        f"{graded.out / 'gradebook.csv'}, so not in the file (grade again with --roster to give them "
                        f"`missing`): {names(course, rowless)}")
    strangers = [s for s in graded.students if not course.on_roster(s)]
    if strangers:
        warnings.append(f"{file}: {count(len(strangers), 'row')} not on the roster {course.roster} (the name is the "
                        f"id, the email empty): {names(course, strangers)}")
    return warnings


def merged(warnings: list[str]) -> list[str]:
    """Warnings that say the same of several files, as one line naming the files."""
    files: dict[str, list[str]] = {}
    for warning in warnings:
        file, colon, rest = warning.partition(": ")
        key = rest if colon and " " not in file else warning
        files.setdefault(key, [])
        if key is rest:
            files[key].append(file)
    return [f"{', '.join(found)}: {key}" if found else key for key, found in files.items()]


_NOT_ON_A_LINE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # controls, bidi and other format characters, breaks
LABEL_CHARS = 100  # of a roster name in a warning


def one_line(text: str, limit: int = LABEL_CHARS) -> str:
    """Roster text as it may appear in a message: one line, no control or format characters, cut."""
    text = "".join(" " if unicodedata.category(c) in _NOT_ON_A_LINE else c for c in str(text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


def names(course: Course, students: list[str]) -> str:
    """Every student named: 'Name (id)', separated by semicolons (names may hold commas)."""
    return "; ".join(course.label(s) for s in students)


# ---------------------------------------------------------------- reading OUT


def read_outputs(out: Path, rubric_path: Path | None = None, warnings: list[str] | None = None) -> Graded:
    """OUT's gradebook and results with the rubric: `rubric_path`, else the one OUT was graded with."""
    gradebook_path, results_path = out / "gradebook.csv", out / "results.csv"
    if not gradebook_path.is_file() or not results_path.is_file():
        raise GradeError(f"{out}: no gradebook.csv and results.csv here; run `grade SUBMISSIONS --out {out}` first")
    gradebook = read_csv(gradebook_path, {"student", "total", "max_total", "status"})
    results = read_csv(results_path, RESULTS_NEEDED)
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


def read_csv(path: Path, needed: set[str], hint: str = "was it written by `grade`? Run `grade` again"):
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
    sums = results.assign(p=[to_float(v) for v in results["points"]]).groupby("student")["p"].sum()
    for student in graded.students:
        row = graded.row(student)
        if not safe_name(student):
            raise GradeError(f"{graded.out / 'gradebook.csv'}: the student id {student!r} cannot name a file")
        expected = to_float(row["total"]) + penalty(row)
        if abs(float(sums.get(student, 0.0)) - expected) > TOLERANCE:
            raise GradeError(f"{graded.out}: results.csv and gradebook.csv disagree on {student}'s points "
                             f"({float(sums.get(student, 0.0)):g} vs {expected:g}); run `grade SUBMISSIONS --out "
                             f"{graded.out}` again so both come from one run")


def pending_reviews(results) -> object:
    """A boolean Series: the rows of results.csv whose points are a suggestion no reviewer confirmed."""
    manual = results["manual_points"] if "manual_points" in results.columns else ""
    return (results["outcome"] == "needs_rereview") | ((results["outcome"] == "needs_review") & (manual == ""))


# ---------------------------------------------------------------- the student's one-line summary


def summary(graded: Graded, student: str) -> str:
    """One line for the student: the total, the points per question, a late penalty, the status."""
    row = graded.row(student)
    parts = [f"{q.id} {number(to_float(row[q.id]))}/{number(q.max_points)}" for q in graded.rubric.questions]
    text = (f"{graded.rubric.title}: {number(to_float(row['total']))}/{number(to_float(row['max_total']))} points. "
            + "; ".join(parts) + ".")
    if penalty(row):
        text += f" Late penalty: -{number(penalty(row))} ({to_float(row.get('days_late', '0')):.2f} days late)."
    if row["status"] != "ok":
        text += f" Status: {row['status']}."
    return text


# ---------------------------------------------------------------- helpers


def write_rows(path: Path, rows: list[list], quote_all: bool = False) -> None:
    """A CSV file, atomically; string cells spreadsheet-safe. `quote_all` quotes every cell
    (Blackboard reads a comma-separated file only so)."""
    with atomic_file(path) as stream:
        if quote_all:
            writer = csv.writer(stream, lineterminator="\n", quoting=csv.QUOTE_ALL)
            writer.writerows([[spreadsheet_safe(value) for value in row] for row in rows])
        else:
            csv_writer(stream).writerows(rows)


def grade(row: dict[str, str]) -> str:
    return "" if not_graded(row) else number(to_float(row["total"]))


def not_graded(row: dict[str, str]) -> bool:
    return row["status"].split(" ")[0] == NOT_GRADED


def penalty(row: dict[str, str]) -> float:
    return to_float(row.get("late_penalty", "") or "0")


def to_float(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise GradeError(f"{text!r} in the output folder is not a number; run `grade` again") from None


def number(value: float) -> str:
    return f"{value:.6g}"


_SAFE = re.compile(r"^[^/\\\x00]+$")


def safe_name(student: str) -> bool:
    return bool(_SAFE.match(student)) and student not in (".", "..")


@dataclass(frozen=True)
class Options:
    """What the person exporting chose besides the formats."""

    assignment: str  # the grade column's title; Canvas reads a trailing " (<digits>)" as its assignment id
    blackboard_column: str = ""  # Blackboard's Column ID of the grade column, from its downloaded file

    @property
    def title(self) -> str:
        """The assignment's title without a trailing Canvas id."""
        return re.sub(r"\s\(\d+\)$", "", self.assignment)


def left_out(file: str, course: Course, students: list[str], why: str) -> list[str]:
    """The warning naming every student `file` leaves out, and why; none for nobody."""
    if not students:
        return []
    return [f"{file}: {count(len(students), 'student')} left out, {why}: {names(course, students)}"]


UNGRADED = "with no grade (status duplicate), so the platform keeps the grade it has"
SHARED = ("sharing their moodle_id with another student (Moodle would give one of them the other's grade "
          "and feedback): fix the roster")
