"""The class's free-text answers awaiting a suggestion, and then their suggestions, on disk while a run lasts.

Free-text points are suggested for the whole class at once (suggestions.py), so every
student's answers wait until the last submission is graded. Held in memory they would make
the grader grow with the class (some KB a student, and as much again for the suggestions);
here they wait in an SQLite file of the run's own, OUT/.grade/answers.db: each answer with
its student's place in the class, then each check's suggestions and digest, written by the
copy of the grader that made them (copies.py) in one transaction. Only what one check or
one student needs is read back, when it is needed. Each process opens its own connection (a
forked copy never uses the grader's). The file is the grader's own (no student code runs in
a process that opens it); it is removed when the run is written, or swept away by the next
run if this one was killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping
from functools import wraps
from pathlib import Path

from .errors import OutputError

Where = tuple[str, str]  # (question, check)
FLUSH_EVERY = 512  # answers written at once while submissions are graded

_SCHEMA = """
create table if not exists answers (position integer, student blob, question text, check_id text, answer blob);
create index if not exists answers_of_check on answers (question, check_id, position);
create index if not exists answers_of_student on answers (student, question, check_id);
create table if not exists scored (question text, check_id text, student blob, data text,
                                   primary key (question, check_id, student)) without rowid;
create table if not exists digests (question text, check_id text, digest text,
                                    primary key (question, check_id)) without rowid;
"""


def _kept(method: Callable) -> Callable:
    """A failure to read or write the file is the usual one-line output error."""
    @wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.Error, OSError) as exc:
            raise OutputError(f"{self.path}: cannot keep the class's free-text answers there ({exc}); "
                              "choose another folder with --out") from None
    return guarded


class AnswerBook:
    """Answers (`add`, per student), then per check: its members, suggestions and digest."""

    shared = True  # what a forked copy writes here, the grader reads

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection: tuple[int, sqlite3.Connection] | None = None
        self._waiting: list[tuple] = []

    # ------------------------------------------------------------ while grading

    @_kept
    def add(self, position: int, student: str, answers: Mapping[Where, str]) -> None:
        """A student's answers awaiting a suggestion; `position`: their place in the class."""
        name = _blob(student)
        rows = [(position, name, question, check, _blob(answer)) for (question, check), answer in answers.items()]
        with self._lock:
            self._waiting += rows
            if len(self._waiting) >= FLUSH_EVERY:
                self._flush()

    @_kept
    def flush(self) -> None:
        """Write what `add` holds still (before the class is read, or a copy forked)."""
        with self._lock:
            self._flush()

    # ------------------------------------------------------------ per check, per student

    @_kept
    def checks(self) -> list[Where]:
        """The checks with at least one answer, in the order their first answer came."""
        return [(question, check) for question, check, _ in self._db().execute(
            "select question, check_id, min(position) as first from answers group by question, check_id "
            "order by first, question, check_id")]

    @_kept
    def members(self, where: Where) -> dict[str, str]:
        """A check's answers, student -> answer, in the class's order."""
        return {_str(student): _str(answer) for student, answer in self._db().execute(
            "select student, answer from answers where question = ? and check_id = ? order by position", where)}

    @_kept
    def of_student(self, student: str) -> dict[Where, tuple[str, list | None]]:
        """A student's answers, each with its suggestion if its check is scored."""
        return {(question, check): (_str(answer), json.loads(data) if data is not None else None)
                for question, check, answer, data in self._db().execute(
                    "select a.question, a.check_id, a.answer, s.data from answers a left join scored s "
                    "on s.question = a.question and s.check_id = a.check_id and s.student = a.student "
                    "where a.student = ?", (_blob(student),))}

    @_kept
    def put_scored(self, where: Where, scored: Mapping[str, list], digest: str | None = None) -> None:
        """A check's suggestions (per student, as plain data) and digest, all or none."""
        rows = [(*where, _blob(student), json.dumps(data)) for student, data in scored.items()]
        with self._lock, self._transaction() as db:
            db.executemany("insert or replace into scored values (?, ?, ?, ?)", rows)
            if digest is not None:
                db.execute("insert or replace into digests values (?, ?, ?)", (*where, digest))

    @_kept
    def is_scored(self, where: Where) -> bool:
        return self._db().execute("select 1 from scored where question = ? and check_id = ? limit 1",
                                  where).fetchone() is not None

    @_kept
    def scored(self, where: Where, student: str) -> list | None:
        found = self._db().execute("select data from scored where question = ? and check_id = ? and student = ?",
                                   (*where, _blob(student))).fetchone()
        return json.loads(found[0]) if found else None

    @_kept
    def digest(self, where: Where) -> str | None:
        found = self._db().execute("select digest from digests where question = ? and check_id = ?", where).fetchone()
        return found[0] if found else None

    # ------------------------------------------------------------ the file

    @_kept
    def release(self) -> None:
        """Close this process's connection (reopened when next needed): before a fork, so
        that no copy inherits an open one, which SQLite forbids."""
        with self._lock:
            self._flush()
            if self._connection is not None and self._connection[0] == os.getpid():
                self._connection[1].close()
            self._connection = None

    @_kept
    def clear(self) -> None:
        """Close this process's connection and remove the file (also a killed run's)."""
        with self._lock:
            self._waiting.clear()
        self.release()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _flush(self) -> None:
        if self._waiting:
            with self._transaction() as db:
                db.executemany("insert into answers values (?, ?, ?, ?, ?)", self._waiting)
            self._waiting.clear()

    @contextlib.contextmanager
    def _transaction(self):
        """All of it written, or none (the caller holds the lock)."""
        db = self._db()
        db.execute("begin immediate")
        try:
            yield db
            db.execute("commit")
        except BaseException:
            if db.in_transaction:  # SQLite rolls some failures back itself (a full disk)
                db.execute("rollback")
            raise

    def _db(self) -> sqlite3.Connection:
        """This process's connection: a forked copy opens its own."""
        connection = self._connection
        if connection is None or connection[0] != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            # the default journal, as the ledger's: WAL would need memory shared between the
            # processes, which a network file system may not give
            db.execute("pragma synchronous = off")  # the run's own scratch: a crash redoes the run
            db.execute("pragma cache_size = -512")  # KB: what is read back is read once
            db.executescript(_SCHEMA)
            connection = self._connection = (os.getpid(), db)
        return connection[1]


def _blob(text: str) -> bytes:
    """Student text (a name, an answer) as the file keeps it: UTF-8 bytes, a lone surrogate
    kept as it is, so that any string comes back exactly and every name has one spelling.
    (Suggestions are kept as JSON, which writes a surrogate as an escape.)"""
    return text.encode("utf-8", "surrogatepass")


def _str(blob: bytes) -> str:
    return blob.decode("utf-8", "surrogatepass")
