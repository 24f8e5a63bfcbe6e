"""A wheel of the installed checker, for students: `pip install grade-<version>-py3-none-any.whl`.

`build_wheel` zips the files of the `grader` package as it is installed (editable from a
checkout or from a wheel; no source tree is needed): its modules and its package data
(`static/`), nothing else: no compiled files, no tests, no course files. The `.dist-info` is
made from the installed distribution's metadata (name, version, dependencies, console script)
and its RECORD holds every file's sha256 and size, as the wheel format asks. The output is the
same bytes for the same files: entries sorted, timestamps fixed.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

import grader

from .errors import GradeError

DISTRIBUTION = "grade"
PACKAGE = "grader"
TAG = "py3-none-any"
DATA = ("static",)  # package data folders, taken whole
ENTRY_POINTS = "[console_scripts]\ngrade = grader.cli:entry_point\n"
_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold: the same bytes for the same files
_UMASK = os.umask(0)
os.umask(_UMASK)
_HEADERS = ("Name", "Version", "Summary", "Requires-Python", "Requires-Dist", "Provides-Extra")


def wheel_name(version: str) -> str:
    return f"{_normalized(DISTRIBUTION)}-{_normalized_version(version)}-{TAG}.whl"


def build_wheel(out: Path, never: Iterable[Path] = ()) -> Path:
    """Write the wheel of the installed checker into `out` and return its path. A file of
    `never` (the rubric, the reference, ...) found among the package's files is an error, not
    left out quietly. Older wheels of this distribution in `out` are removed, so that
    `pip install out/grade-*.whl` names one file."""
    distribution = _distribution()
    version = distribution.version
    files = package_files(Path(grader.__file__).resolve().parent)
    forbidden = {Path(path).resolve() for path in never if path is not None}
    leaked = sorted(str(source) for _, source in files if source.resolve() in forbidden)
    if leaked:
        raise GradeError(f"the checker's wheel would hold course files: {', '.join(leaked)}")
    info = f"{_normalized(DISTRIBUTION)}-{_normalized_version(version)}.dist-info"
    entries = [(name, source.read_bytes()) for name, source in files]
    entries += [(f"{info}/METADATA", metadata_text(distribution).encode()),
                (f"{info}/WHEEL", wheel_text().encode()),
                (f"{info}/entry_points.txt", _entry_points(distribution).encode())]
    entries.sort()
    record = "".join(f"{name},{_digest(data)},{len(data)}\n" for name, data in entries) + f"{info}/RECORD,,\n"
    entries.append((f"{info}/RECORD", record.encode()))  # last, as the wheel format recommends

    out.mkdir(parents=True, exist_ok=True)
    path = out / wheel_name(version)
    handle, temporary = tempfile.mkstemp(dir=out, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream, zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                item = zipfile.ZipInfo(name, date_time=_TIMESTAMP)
                item.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
                item.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(item, data)
        os.chmod(temporary, 0o666 & ~_UMASK)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    for old in out.glob(f"{_normalized(DISTRIBUTION)}-*-{TAG}.whl"):
        if old != path:
            old.unlink()
    return path


def package_files(root: Path) -> list[tuple[str, Path]]:
    """(name in the wheel, file) for the package's modules and data: the `.py` files of every
    folder that is a package (has `__init__.py`), and every file under the data folders.
    Hidden files, `__pycache__` and test folders are left out."""
    found: list[tuple[str, Path]] = []
    for folder, subfolders, names in os.walk(root):
        here = Path(folder)
        parts = here.relative_to(root).parts
        in_data = bool(parts) and parts[0] in DATA
        subfolders[:] = sorted(d for d in subfolders
                               if not d.startswith(".") and d != "__pycache__" and not d.startswith("test")
                               and (in_data or (not parts and d in DATA) or (here / d / "__init__.py").is_file()))
        for name in sorted(names):
            if not name.startswith(".") and (in_data or name.endswith(".py")) and (here / name).is_file():
                found.append(("/".join((PACKAGE, *parts, name)), here / name))
    if not any(name == f"{PACKAGE}/__init__.py" for name, _ in found):
        raise GradeError(f"{root}: not the `{PACKAGE}` package (no __init__.py)")
    return sorted(found)


def metadata_text(distribution: importlib.metadata.Distribution) -> str:
    """The core metadata of the installed distribution: name, version, summary, the Python it
    needs and its dependencies (the long description is left out)."""
    fields = distribution.metadata
    lines = ["Metadata-Version: 2.1"]
    for header in _HEADERS:
        for value in fields.get_all(header) or []:
            lines.append(f"{header}: {value}")
    if not fields.get_all("Requires-Dist") and distribution.requires:
        lines += [f"Requires-Dist: {requirement}" for requirement in distribution.requires]
    return "\n".join(lines) + "\n"


def wheel_text() -> str:
    return (f"Wheel-Version: 1.0\nGenerator: {DISTRIBUTION} ({_distribution().version})\n"
            f"Root-Is-Purelib: true\nTag: {TAG}\n")


def _entry_points(distribution: importlib.metadata.Distribution) -> str:
    scripts = [point for point in distribution.entry_points if point.group == "console_scripts"]
    if not scripts:
        return ENTRY_POINTS
    return "[console_scripts]\n" + "".join(f"{point.name} = {point.value}\n"
                                           for point in sorted(scripts, key=lambda p: p.name))


def _distribution() -> importlib.metadata.Distribution:
    try:
        return importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise GradeError(f"`{DISTRIBUTION}` is not installed (pip install it), so its wheel cannot be "
                         "written for the students") from None


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _normalized_version(version: str) -> str:
    return version.replace("-", "_")

