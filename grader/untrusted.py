"""Values a student controls, made safe before they reach a file name, a CSV, the ledger or the disk.

A student chooses their file's name (the id), what their code prints and raises, how long
their answers are, and even what their process reports as its own running time. Everything
of that kind passes through here on the trusted side:

- `student_id`: the readable id of the gradebook row. Printable ids of up to 100 bytes stay
  as they are; anything else (control or invisible characters, undecodable bytes, path
  separators, `.` and `..`, longer ids) keeps its printable part, cut, plus `~` and a short
  hash of the whole, so two ids never become one.
- `file_stem`: the name under which an id's files are written (feedback, kept results).
  Plain ASCII ids (`alice`, `bob_2`, `s1234.x`) are used as they are; any other id becomes
  an ASCII part of at most 60 characters, `~` and a hash of the id: stable across runs,
  never a path, never too long, and never the stem of another id (a plain stem has no `~`).
- `clean_text` / `clip`: text that encodes as UTF-8 everywhere, cut to a bounded length
  with a note that says so.
- `seconds`: a time that is a finite, non-negative number (0 otherwise).
"""

from __future__ import annotations

import hashlib
import math
import numbers
import re
import unicodedata

MAX_ID_BYTES = 100  # longer ids are cut (their hash keeps them apart)
MAX_STEM_CHARS = 60  # the readable part of a hashed file stem
ANSWER_CHARS = 20_000  # a free-text answer, unless the rubric's `limits.answer_chars` says otherwise
FEEDBACK_CHARS = 2_000  # one check's feedback (it may quote an error message)
PROBLEM_CHARS = 2_000  # why a submission did not load or could not be graded
NOTE_CHARS = 1_000  # one note on running the code
MAX_NOTES = 20  # notes kept per submission; a line says how many more there were

_PLAIN_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", re.ASCII)
_NOT_IN_STEM = re.compile(r"[^A-Za-z0-9._-]+", re.ASCII)
_SURROGATES = re.compile("[\ud800-\udfff]")
_BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # control, format, surrogate, private, unassigned, breaks


def short_hash(text: str) -> str:
    """12 hex digits of the text's SHA-256 (lone surrogates included, so it never fails)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def clean_text(text: object) -> str:
    """`text` as a string that encodes as UTF-8: lone surrogates (from undecodable file
    names or JSON escapes such as "\\ud800") become U+FFFD."""
    if not isinstance(text, str):
        text = str(text)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text)


def clip(text: object, limit: int, what: str = "text") -> str:
    """At most `limit` characters of clean text, with a note when something was cut."""
    text = clean_text(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]} […{what} cut at {limit:,} characters]"


def _bad_id_char(char: str) -> bool:
    return char in "/\\" or unicodedata.category(char) in _BAD_CATEGORIES


def _cut_bytes(text: str, limit: int) -> str:
    """The longest start of `text` whose UTF-8 takes at most `limit` bytes."""
    return text.encode("utf-8", "surrogatepass")[:limit].decode("utf-8", "ignore")


def student_id(raw: str) -> str:
    """The readable id for a row: `raw` itself when it is printable and at most 100 bytes,
    else its printable part (cut) followed by `~` and a hash of `raw`."""
    raw = str(raw)
    cleaned = "".join("_" if _bad_id_char(c) else c for c in raw).strip()
    if not cleaned.strip("."):  # "." and ".." would name a folder, not a student
        cleaned = cleaned.replace(".", "_")
    if cleaned == raw and raw and len(raw.encode("utf-8", "surrogatepass")) <= MAX_ID_BYTES:
        return raw
    return f"{_cut_bytes(cleaned, MAX_ID_BYTES - 13).rstrip()}~{short_hash(raw)}"


def file_stem(student: str) -> str:
    """A file name for `student`'s files, without suffix: the id itself when it is plain
    ASCII of at most 100 characters, else an ASCII part, `~` and a hash of the id."""
    if _PLAIN_STEM.fullmatch(student) and not student.endswith("."):
        return student
    ascii_text = unicodedata.normalize("NFKD", _SURROGATES.sub("", student)).encode("ascii", "ignore").decode()
    readable = _NOT_IN_STEM.sub("_", ascii_text).lstrip("._-")[:MAX_STEM_CHARS].rstrip(".")
    return f"{readable or 'student'}~{short_hash(student)}"


def seconds(value: object) -> float:
    """A duration that can be stored and summed: finite and non-negative, else 0."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return 0.0
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return value if math.isfinite(value) and value >= 0 else 0.0
