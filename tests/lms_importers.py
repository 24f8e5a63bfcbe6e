"""The platforms' import rules, reproduced in a few lines each, to run on the exported files.

Each function reads a file as the platform's importer does and says, for a course in a given
state (its users and the grades already there), which rows would be imported, which skipped,
which would erase a grade, and whether the whole upload would fail. The rules are those cited
at the top of grader/export.py; where the platform's code is not public (Blackboard,
Brightspace), the published layout is followed and a blank cell is taken, to be safe, as
erasing the grade there.
"""

from __future__ import annotations

import csv
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Outcome:
    imported: dict[str, str] = field(default_factory=dict)  # platform user -> grade set
    skipped: list[str] = field(default_factory=list)  # rows the platform ignores (described by their key)
    erased: list[str] = field(default_factory=list)  # users whose grade a blank would erase
    created: list[str] = field(default_factory=list)  # assignments, columns or students the import would make
    failed: str = ""  # the whole upload fails, and why


def _rows(path: Path, delimiter: str = ",") -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def _grade(outcome: Outcome, user: str, value: str, current: dict[str, str]) -> None:
    value = value.strip()
    if value in ("", "-"):
        if current.get(user, "") not in ("", "-"):
            outcome.erased.append(user)
    else:
        outcome.imported[user] = value


# ---------------------------------------------------------------- Canvas, lib/gradebook_importer.rb


@dataclass(frozen=True)
class CanvasUser:
    id: int
    name: str
    sortable_name: str
    sis_user_id: str = ""
    login_id: str = ""


def canvas(path: Path, users: list[CanvasUser], assignments: dict[int, str],
           grades: dict[str, str]) -> Outcome:
    """`grades`: the current grade of each user (by name) in the one assignment of the file."""
    outcome = Outcome()
    rows = _rows(path)
    header = rows[0]
    if not (len(header) > 3 and "Student" in header[0] and "ID" in header[1]):
        return Outcome(failed="Invalid header row")
    count, sis_user, sis_login = 3, None, None
    if re.match(r"SIS\s+Login\s+ID", header[2]):
        sis_login, count = 2, 4
    elif re.match(r"SIS\s+User\s+ID", header[2]) and re.match(r"SIS\s+Login\s+ID", header[3]):
        sis_user, sis_login, count = 2, 3, 5
    if "Section" not in header[count - 1]:
        return Outcome(failed="Invalid header row")
    titles = header[count:]
    for title in titles:
        match = re.match(r"\A(.*)\s\((\d+)\)\Z", title)
        if not (match and int(match.group(2)) in assignments) and title not in assignments.values():
            outcome.created.append(f"assignment {title}")
    column = count  # one assignment per file here
    for row in rows[1:]:
        if row and "Points Possible" in row[0]:
            continue
        user = next((u for u in users if row[1] and str(u.id) == row[1]), None)
        if user is None and sis_user is not None and row[sis_user]:
            user = next((u for u in users if u.sis_user_id == row[sis_user]), None)
        if user is None and sis_login is not None and row[sis_login]:
            user = next((u for u in users if u.login_id == row[sis_login]), None)
        if user is None:
            user = next((u for u in users if row[0] in (u.name, u.sortable_name)), None)
        if user is None:
            outcome.created.append(f"student {row[0]}")
            continue
        _grade(outcome, user.name, row[column], grades)
    return outcome


# ---------------------------------------------------------------- Moodle


ENGLISH = {"recordid": "Identifier", "grade": "Grade", "lastmodifiedgrade": "Last modified (grade)",
           "hiddenuser": "Participant "}


def moodle_worksheet(path: Path, participants: dict[int, str], grades: dict[str, str],
                     strings: dict[str, str] = ENGLISH) -> Outcome:
    """mod/assign/feedback/offline/importgradeslib.php: `participants` maps the assignment's
    unique id (the N of "Participant N") to the user; `strings` are the uploader's language's."""
    rows = _rows(path)
    header = rows[0]
    try:
        ident, grade, _ = (header.index(strings[k]) for k in ("recordid", "grade", "lastmodifiedgrade"))
    except ValueError:
        return Outcome(failed="the worksheet's columns are not found in the uploader's language")
    outcome = Outcome()
    for row in rows[1:]:
        number = row[ident][len(strings["hiddenuser"]):]
        user = participants.get(int(number)) if number.isdigit() else None
        if user is None:
            outcome.skipped.append(row[ident] or "(no identifier)")  # Moodle says nothing
            continue
        _grade(outcome, user, row[grade], grades)
    return outcome


def moodle_gradebook(path: Path, emails: dict[str, str], grades: dict[str, str], grade_column: str) -> Outcome:
    """grade/import/csv/classes/load_data.php, with "Email address" mapped to the user's email."""
    rows = _rows(path)
    header = rows[0]
    email, column = header.index("Email address"), header.index(grade_column)
    outcome = Outcome()
    for line in rows[1:]:
        if len(line) <= 1:
            continue
        value = line[email].strip()
        if not value:
            return Outcome(failed="usermappingerrorusernotfound: a row without an email")
        if value not in emails:
            return Outcome(failed=f"usermappingerror: no user with email address {value}")
        _grade(outcome, emails[value], line[column], grades)
    return outcome


def moodle_feedback_files(path: Path, participants: dict[int, str]) -> Outcome:
    """mod/assign/feedback/file/importziplib.php: which user each file of the zip goes to."""
    outcome = Outcome()
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            parts = name.split("/")
            for at, part in enumerate(parts):
                info = part.split("_", 4)
                if len(info) < 4 or not info[1].isdigit() or int(info[1]) not in participants:
                    continue
                if (info[2], info[3]) != ("assignfeedback", "file"):
                    continue
                rest = "/".join([info[4] if len(info) > 4 else "", *parts[at + 1:]])
                outcome.imported[participants[int(info[1])]] = rest
                break
            else:
                outcome.skipped.append(name)
    return outcome


# ---------------------------------------------------------------- Blackboard Learn


def blackboard(path: Path, usernames: dict[str, str], columns: dict[str, str], grades: dict[str, str]) -> Outcome:
    """Grade Center upload: rows by Username (enrolled only), columns by their Column ID."""
    rows = _rows(path)
    header = rows[0]
    if "Username" not in header:
        return Outcome(failed="no Username column")
    key = header.index("Username")
    outcome = Outcome()
    for title in header:
        if title in ("Last Name", "First Name", "Username"):
            continue
        match = re.search(r"\|(\d+)$", title)
        if not (match and match.group(1) in columns):
            outcome.created.append(f"text column {title}")
    column = len(header) - 1
    for row in rows[1:]:
        if not row[key]:
            return Outcome(failed="a row without a Username")
        if row[key] not in usernames:
            outcome.skipped.append(row[key])
            continue
        _grade(outcome, usernames[row[key]], row[column], grades)
    return outcome


# ---------------------------------------------------------------- Brightspace


def brightspace(path: Path, org_ids: dict[str, str], usernames: dict[str, str], items: list[str],
                grades: dict[str, str]) -> Outcome:
    """Grades import: users by OrgDefinedId, else Username; `<item> Points Grade` columns;
    the End-of-Line Indicator last."""
    rows = _rows(path)
    header = rows[0]
    if header[-1] != "End-of-Line Indicator" or not {"OrgDefinedId", "Username"} & set(header):
        return Outcome(failed="not an import file (keys or End-of-Line Indicator missing)")
    outcome = Outcome()
    grade_columns = [i for i, title in enumerate(header) if title.endswith(" Points Grade")]
    for i in grade_columns:
        if header[i].removesuffix(" Points Grade") not in items:
            outcome.created.append(f"grade item {header[i]}")
    org = header.index("OrgDefinedId") if "OrgDefinedId" in header else None
    name = header.index("Username") if "Username" in header else None
    for row in rows[1:]:
        if row[-1] != "#":
            return Outcome(failed="a row without the End-of-Line Indicator")
        user = org_ids.get(row[org].lstrip("#")) if org is not None and row[org] else None
        if user is None and name is not None and row[name]:
            user = usernames.get(row[name].lstrip("#"))
        if user is None:
            outcome.skipped.append(row[org] or row[name])
            continue
        for i in grade_columns:
            _grade(outcome, user, row[i], grades)
    return outcome
