"""Finding and reading submissions, on the trusted side, without running anything.

A submission is `<student>.py`, `<student>.ipynb` or a folder `<student>/` (entry: its one
notebook, else the rubric's entry module, else its one `.py`). Notebooks are read with
nbformat; their code cells are turned into plain Python with IPython's own input
transformer (magics become `get_ipython()` calls that the child answers); markdown cells
tagged `answer:<qid>` are read as free-text answers. Anything else in the folder is skipped
with a warning; two submissions with one id are a `duplicate` row, not a silent pick.

The id is the file stem or folder name, made readable (`untrusted.student_id`): control
characters, undecodable bytes or a very long name cannot reach a file name, a CSV or the
ledger as they are. A file with no code and no answers is `empty`; only regular files are
read (a FIFO or device named `x.py` would block or never end).
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SubmissionsError
from .untrusted import student_id

CODE_SUFFIXES = (".py", ".ipynb")
JUNK_FOLDERS = {"__pycache__", ".ipynb_checkpoints", "__MACOSX"}
MAX_SOURCE_BYTES = 20 * 1024 * 1024
MAX_NOTEBOOK_BYTES = 512 * 1024 * 1024  # outputs make notebooks large; their code is small
MAX_FOLDER_BYTES = 64 * 1024 * 1024  # the files a folder's code gets (the sandbox's working folder holds 64 MB)
# parsing 512 MB of `[],` would take the grader tens of gigabytes: a notebook may hold this many
# JSON objects and lists (counted as brackets, strings included: a bound, taken before parsing)
MAX_NOTEBOOK_CONTAINERS = 2_000_000
MAX_CODE_CELLS = 10_000  # the cells a run reports on (runner.MAX_CELLS)
COMPILE_CHARS = 200_000  # a notebook cell longer than this is not compiled on the grader's side
EMPTY = "has no code and no answers"


@dataclass(frozen=True)
class Cell:
    label: str
    source: str

    def as_dict(self) -> dict:
        return {"label": self.label, "source": self.source}


@dataclass(frozen=True)
class Submission:
    """One student's hand-in as read from disk. `problem` set means it cannot be run."""

    student: str
    path: Path
    kind: str = "py"  # "py" | "ipynb"
    entry: str = ""  # the entry file, relative to the folder copied for the child
    cells: tuple[Cell, ...] = ()
    answers: dict[str, str] = field(default_factory=dict)  # qid -> text of tagged cells
    status: str = "ok"  # ok | empty | unreadable | duplicate | unread (found, not parsed yet)
    problem: str = ""

    @property
    def module_name(self) -> str:
        stem = Path(self.entry).stem
        return stem if stem.isidentifier() else "submission"

    def content(self) -> list[tuple[str, bytes]]:
        """Every file of the submission as (path relative to its folder, bytes), in a fixed
        order: what identifies this version of it. No system junk, no symbolic links, only
        regular files."""
        return [(name, path.read_bytes()) for name, path in self.file_paths()]

    def file_paths(self) -> list[tuple[str, Path]]:
        """The files of `content`, as (path relative to its folder, path), without reading them."""
        if not self.path.is_dir():
            if not _is_regular(self.path):
                raise OSError(f"{self.path.name} is not a regular file")
            return [(self.entry or self.path.name, self.path)]
        found = []
        for root, folders, names in os.walk(self.path):
            folders[:] = sorted(f for f in folders if f not in JUNK_FOLDERS and not os.path.islink(os.path.join(root, f)))
            for name in sorted(names):
                file = Path(root) / name
                if _is_regular(file):
                    found.append((str(file.relative_to(self.path)), file))
        return found

    def files(self) -> list[tuple[str, bytes]]:
        """The files the student's process gets: all of `content` but a notebook entry,
        whose cells travel on their own (outputs can make the file huge)."""
        if self.kind != "ipynb":
            return self.content()
        entry = self.entry or self.path.name
        return [(name, data) for name, data in self.content() if name != entry]


def discover(folder: str | Path, entry_module: str | None = None, *,
             read: bool = True) -> tuple[list[Submission], list[str]]:
    """Every submission in `folder`, sorted by student id, and warnings for what was skipped.

    With `read=False` nothing is parsed yet: each submission has status `unread` until
    `read_submission` (a rerun with kept results never needs to parse them)."""
    folder = Path(folder)
    if not folder.exists():
        raise SubmissionsError(f"{folder}: no such folder; pass the folder that holds the submissions")
    if not folder.is_dir():
        raise SubmissionsError(f"{folder}: not a folder; pass the folder that holds the submissions")
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise SubmissionsError(f"{folder}: cannot list the folder ({exc.strerror or exc}); "
                               "check its permissions") from None
    warnings: list[str] = []
    claims: dict[str, list[Path]] = defaultdict(list)
    for path in entries:
        name = path.name
        if name.startswith(".") or name in JUNK_FOLDERS or name.startswith("__"):
            warnings.append(f"skipped {path}: not a submission (hidden or system file)")
        elif path.is_dir() or path.suffix in CODE_SUFFIXES:
            claims[student_id(name if path.is_dir() else path.stem)].append(path)
        else:
            warnings.append(f"skipped {path}: not a submission (expected .py, .ipynb or a folder)")
    submissions = []
    for student, paths in sorted(claims.items()):
        if len(paths) > 1:
            names = " and ".join(p.name for p in paths)
            submissions.append(Submission(student, paths[0], status="duplicate",
                                          problem=f"{names} both claim id {student!r}; keep one and grade again"))
            warnings.append(f"duplicate id {student!r}: {names}")
        elif read:
            submissions.append(read_submission(paths[0], student, entry_module))
        else:
            submissions.append(Submission(student, paths[0], entry="" if paths[0].is_dir() else paths[0].name,
                                          status="unread"))
    return submissions, warnings


def read_submission(path: Path, student: str | None = None, entry_module: str | None = None) -> Submission:
    """Read one submission; a broken one comes back with status `unreadable` and the reason."""
    student = student or student_id(path.name if path.is_dir() else path.stem)
    try:
        if path.is_symlink():
            # a link could point anywhere the grader can read, the reference included
            raise _Unreadable(f"{path.name} is a symbolic link; hand in the file or folder itself")
        if path.is_dir():
            entry = _folder_entry(path, entry_module)
            base = _read_file(path / entry, student, entry)
            _check_folder_size(path, entry if base.kind == "ipynb" else None)
            return Submission(student, path, base.kind, entry, base.cells, base.answers, base.status, base.problem)
        return _read_file(path, student, path.name)
    except _Unreadable as exc:
        return Submission(student, path, status="unreadable", problem=str(exc))
    except (OSError, ValueError, RecursionError, MemoryError) as exc:  # whatever the file system or the file did
        return Submission(student, path, status="unreadable",
                          problem=f"cannot read {path.name}: {getattr(exc, 'strerror', None) or exc}")


class _Unreadable(Exception):
    pass


def _is_regular(path: Path) -> bool:
    """A regular file, not a link, FIFO, socket or device (reading those blocks or never ends)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _check_folder_size(folder: Path, notebook: str | None) -> None:
    total = 0
    for name, path in Submission("", folder).file_paths():
        if name != notebook:  # a notebook entry's cells travel on their own
            total += path.stat().st_size
    if total > MAX_FOLDER_BYTES:
        raise _Unreadable(f"the folder holds {total // 1_000_000} MB of files, more than the "
                          f"{MAX_FOLDER_BYTES // 2**20} MB the code may get; leave out large data files")


def _folder_entry(folder: Path, entry_module: str | None) -> str:
    try:
        files = [p for p in folder.iterdir()
                 if p.is_file() and not p.is_symlink() and not p.name.startswith(".")]
    except OSError as exc:
        raise _Unreadable(f"cannot list the folder {folder.name}: {exc.strerror or exc}") from None
    notebooks = sorted(p.name for p in files if p.suffix == ".ipynb")
    modules = sorted(p.name for p in files if p.suffix == ".py")
    if len(notebooks) == 1:
        return notebooks[0]
    if len(notebooks) > 1:
        raise _Unreadable(f"the folder holds {len(notebooks)} notebooks ({', '.join(notebooks)}); keep only one")
    if entry_module and entry_module in modules:
        return entry_module
    if len(modules) == 1:
        return modules[0]
    if not modules:
        raise _Unreadable("the folder holds no notebook and no .py file")
    wanted = f" or name it {entry_module}" if entry_module else ""
    raise _Unreadable(f"cannot tell which of {', '.join(modules)} is the entry; keep one notebook{wanted}")


def _read_file(path: Path, student: str, entry: str) -> Submission:
    try:
        if not _is_regular(path):
            raise _Unreadable(f"{path.name} is not a regular file; hand in the file itself")
        size = path.stat().st_size
        if size > (MAX_NOTEBOOK_BYTES if path.suffix == ".ipynb" else MAX_SOURCE_BYTES):
            raise _Unreadable(f"{path.name} is {size // 1_000_000} MB, too large; clear the outputs and hand it in again")
        raw = path.read_bytes()
    except OSError as exc:
        raise _Unreadable(f"cannot read {path.name}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"{path.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    if "\x00" in text:
        raise _Unreadable(f"{path.name} holds binary data, not source code")
    if path.suffix == ".ipynb":
        cells, answers = read_notebook(text, entry)  # the file's own name, also inside a folder
        empty = not answers and not any(_has_code(cell.source) for cell in cells)
        return Submission(student, path, "ipynb", entry, cells, answers,
                          *(("empty", f"the notebook {entry} {EMPTY}") if empty else ()))
    if not _has_code(text):
        return Submission(student, path, "py", entry, (Cell(entry, text),), status="empty",
                          problem=f"the file {entry} {EMPTY}")
    return Submission(student, path, "py", entry, (Cell(entry, text),))


def _has_code(source: str) -> bool:
    """Whether the source has a line that is neither blank nor a comment."""
    return any(line.strip() and not line.lstrip().startswith("#") for line in source.splitlines())


def read_notebook(text: str, name: str) -> tuple[tuple[Cell, ...], dict[str, str]]:
    """Code cells as plain Python (magics transformed) and the tagged free-text answers."""
    if text.count("{") + text.count("[") > MAX_NOTEBOOK_CONTAINERS:  # bounded before anything is parsed
        raise _Unreadable(f"{name} is too complex to read (more than {MAX_NOTEBOOK_CONTAINERS:,} JSON objects and "
                          "lists); clear its outputs and hand it in again")
    notebook = _version_4(text)
    if notebook is None:  # another version, or not JSON: nbformat converts it or says what is wrong
        import nbformat

        try:
            notebook = nbformat.reads(text, as_version=4)
        except Exception as exc:  # nbformat raises many kinds for bad JSON or unknown versions
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise _Unreadable(f"{name} is not a readable notebook ({reason}); re-save it from Jupyter") from None
    transform = _lazy_transform  # IPython (most of a second to import) only if a cell needs it
    cells: list[Cell] = []
    answers: dict[str, list[str]] = defaultdict(list)
    code_chars = 0
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        elif not isinstance(source, str):  # nbformat allows a string or a list of strings only
            raise _Unreadable(f"{name} is not a readable notebook (cell {number} has a source that is not text); "
                              "re-save it from Jupyter")
        metadata = cell.get("metadata")
        tags = (metadata.get("tags") if isinstance(metadata, dict) else None) or []
        for tag in [tags] if isinstance(tags, str) else tags if isinstance(tags, list) else []:
            tag = str(tag).strip().lower()
            if tag.startswith("answer:") and cell.get("cell_type") != "code":
                answers[tag.removeprefix("answer:").strip()].append(source.strip())
        if cell.get("cell_type") == "code" and source.strip():
            code_chars += len(source)
            if len(cells) >= MAX_CODE_CELLS:
                raise _Unreadable(f"{name} has more than {MAX_CODE_CELLS:,} code cells; merge them")
            if code_chars > MAX_SOURCE_BYTES:  # as much code as a .py file may hold, before any is parsed
                raise _Unreadable(f"{name} holds more than {MAX_SOURCE_BYTES // 2**20} MB of code; hand in the "
                                  "code itself, without data pasted into cells")
            python = _as_python(source, transform)
            cells.append(Cell(f"{name} cell {number}", python))
    return tuple(cells), {qid: "\n\n".join(parts) for qid, parts in answers.items()}


def _version_4(text: str) -> dict | None:
    """A notebook of format 4 as its JSON, which is all that is read of it here (cells, their
    type, source and tags): nbformat's import and validation cost a student's `grade check`
    a tenth of a second, and its conversion changes nothing in a notebook of this format."""
    try:
        notebook = json.loads(text)
    except ValueError:
        return None
    if isinstance(notebook, dict) and notebook.get("nbformat") == 4 and isinstance(notebook.get("cells"), list) \
            and all(isinstance(cell, dict) for cell in notebook["cells"]):
        return notebook
    return None


def _as_python(source: str, transform) -> str:
    """A cell's code as plain Python. IPython's syntax (magics, `!`, `?`, prompts) is never
    valid Python, so a cell that compiles is already plain and skips the (slow) transformer.
    A cell longer than COMPILE_CHARS is neither compiled nor transformed here (compiling a
    few MB costs the grader seconds and gigabytes): it goes to the student's process as it is,
    which reports its errors."""
    if len(source) > COMPILE_CHARS:
        return source
    try:
        compile(source, "<cell>", "exec", dont_inherit=True)
        return source
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # too deep to compile: the child says so
        pass
    try:
        return transform(source)
    except Exception:
        return source  # the child reports the syntax error with its line


_TRANSFORMERS = threading.local()  # submissions are read in grading threads


def _lazy_transform(source: str) -> str:
    return _transformer()(source)


def _transformer():
    if not hasattr(_TRANSFORMERS, "transform"):
        from IPython.core.inputtransformer2 import TransformerManager

        _TRANSFORMERS.transform = TransformerManager().transform_cell
    return _TRANSFORMERS.transform
