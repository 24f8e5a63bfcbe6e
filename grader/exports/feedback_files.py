"""Feedback pages for Moodle's "Upload multiple feedback files in a zip" (`moodle-feedback.zip`).

Read by `assignfeedback_file_zip_importer` (mod/assign/feedback/file/importziplib.php): each
path part is split at `_` into at most five pieces, `fullname_participantid_plugintype_pluginname_rest`;
the part names its student by the participant id (the N of "Participant N", the assignment's
own number for the user) and the plugin by `assignfeedback` `file`; the rest is the file name.
Anything else (another number, no number) is ignored without a word. Enable "Feedback files"
in the assignment's feedback types, then View all submissions -> Grading action -> "Upload
multiple feedback files in a zip".

So each student with a `moodle_id` in the roster gets `<Full name>_<N>_assignfeedback_file_feedback.html`
(their feedback page, `OUT/feedback/<student>.html`; in the name, underscores, slashes, `:*?"<>|`,
control and format characters become spaces, and it is cut at 60 characters; N as Moodle reads
it, "05" as 5), and a warning names everyone left out. Students whose roster rows give the same
N are left out, with a warning: their pages would go to one participant.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..gradebook import atomic_file
from ..untrusted import file_stem
from .common import SHARED, Course, Graded, Options, coverage, left_out, one_line

FILE = "moodle-feedback.zip"
_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


NAME_CHARS = 60  # of the full name in an entry's name (Moodle reads only the number; names stay short)
_NOT_IN_NAME = set('_/\\:*?"<>|')  # Moodle's separator, path separators, what Windows refuses


def entry_name(full_name: str, participant: str) -> str:
    """`<Full name>_<N>_assignfeedback_file_feedback.html`: one plain file name, whatever the
    roster's name holds (no separator, control or format character, never too long)."""
    name = "".join(" " if c in _NOT_IN_NAME else c for c in one_line(full_name, NAME_CHARS))
    name = " ".join(name.split()).strip(" .") or "student"
    return f"{name}_{participant}_assignfeedback_file_feedback.html"


def write(graded: Graded, course: Course, to: Path, options: Options) -> tuple[list[Path], list[str]]:
    entries, unmatched, pageless, shared = [], [], [], []
    clashes = course.shared_participants([s for s in graded.students if graded.gradable(s)])
    for student in graded.students:
        person = course.people[student]
        page = graded.out / "feedback" / f"{file_stem(student)}.html"
        if not graded.gradable(student) or not course.participant(student):
            unmatched.append(student)
        elif student in clashes:
            shared.append(student)
        elif not page.is_file():
            pageless.append(student)
        else:
            entries.append((entry_name(person.name, course.participant(student)), page.read_bytes()))
    path = to / FILE
    with atomic_file(path, binary=True) as stream, zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name, date_time=_TIMESTAMP), data, zipfile.ZIP_DEFLATED)
    warnings = coverage(graded, course, FILE)
    warnings += left_out(FILE, course, unmatched, "with no moodle_id in the roster, or no grade")
    warnings += left_out(FILE, course, shared, SHARED)
    warnings += left_out(FILE, course, pageless, f"with no feedback page in {graded.out / 'feedback'} (run `grade` "
                         "again)")
    return [path], warnings
