"""What showing a student adds to results.csv and the ledger, set aside until the run is written.

Whoever shows a student afresh (the grader, or a forked copy of it: showing.py) has their
fitted result in hand; it makes their ledger entry (what they were shown), their rows of
results.csv and what the ledger keeps of the result there (`Outputs.add`), and appends them
as one JSON line to a file of its own process in OUT/.grade/spool/. Only where that line is (file, offset, length) stays in memory, and
crosses from a copy. When the run is written (`Outputs.finish`) the lines are read back in
the students' order, so the grader neither reads their results again nor makes those rows on
its one thread while the other cores wait. The files are the grader's own (no student code
ever runs in a process that writes them) and are removed when the run is written, or swept
away by the next run if it was killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path

Where = list  # [file name, offset, length]


class Spool:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._writers: dict[int, object] = {}  # per process: a copy opens its own file
        self._readers: dict[str, object] = {}

    def put(self, record: dict) -> Where:
        """Append `record`; where it is."""
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "surrogatepass")
        with self._lock:
            pid = os.getpid()
            if pid not in self._writers:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._writers[pid] = open(self.folder / f"{pid}.jsonl", "ab")
            stream = self._writers[pid]
            offset = stream.tell()
            stream.write(data)
            stream.flush()  # a copy sends where it is next, then may end at once
        return [f"{pid}.jsonl", offset, len(data)]

    def get(self, where: Where) -> dict:
        """The record `put` set aside at `where`."""
        name, offset, length = where
        if name not in self._readers:
            self._readers[name] = open(self.folder / Path(name).name, "rb")
        stream = self._readers[name]
        stream.seek(offset)
        return json.loads(stream.read(length).decode("utf-8", "surrogatepass"))

    def clear(self) -> None:
        """Close and remove every file of the spool (also those of a run that was killed)."""
        for stream in [*self._writers.values(), *self._readers.values()]:
            stream.close()
        self._writers.clear()
        self._readers.clear()
        for leftover in self.folder.glob("*.jsonl"):
            leftover.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # gone, or holding something not ours: left as it is
            self.folder.rmdir()
