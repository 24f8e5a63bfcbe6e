"""`grade assign` writes a wheel of the checker: a student installs `grade check` from it alone."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from importlib.metadata import distribution
from pathlib import Path

import pytest

from grader.wheel import build_wheel

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "submissions_example" / "ex07"


@pytest.fixture(scope="module")
def wheel(ex07_release) -> Path:
    found = sorted(ex07_release.glob("grade-*.whl"))
    assert len(found) == 1, sorted(p.name for p in ex07_release.iterdir())
    assert found[0].name == f"grade-{distribution('grade').version}-py3-none-any.whl"
    return found[0]


@pytest.fixture(scope="module")
def names(wheel) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def _read(wheel: Path, name: str) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(name)


def test_every_file_is_in_the_record_with_its_hash_and_size(wheel, names):
    info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/RECORD"))
    rows = list(csv.reader(io.StringIO(_read(wheel, f"{info}/RECORD").decode())))
    assert sorted(row[0] for row in rows) == sorted(names)
    for name, digest, size in rows:
        if name == f"{info}/RECORD":
            assert digest == size == ""
            continue
        data = _read(wheel, name)
        assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert int(size) == len(data)


def test_the_metadata_names_the_distribution_its_dependencies_and_the_script(wheel, names):
    info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
    installed = distribution("grade")
    assert info == f"grade-{installed.version}.dist-info"
    metadata = Parser().parsestr(_read(wheel, f"{info}/METADATA").decode())
    assert metadata["Name"] == "grade" and metadata["Version"] == installed.version
    assert sorted(metadata.get_all("Requires-Dist")) == sorted(installed.requires)
    assert any(r.startswith("numpy") for r in metadata.get_all("Requires-Dist"))
    wheel_file = Parser().parsestr(_read(wheel, f"{info}/WHEEL").decode())
    assert wheel_file["Wheel-Version"] == "1.0" and wheel_file["Root-Is-Purelib"] == "true"
    assert wheel_file["Tag"] == "py3-none-any"
    assert "grade = grader.cli:entry_point" in _read(wheel, f"{info}/entry_points.txt").decode()


def test_the_wheel_holds_the_package_and_nothing_of_the_course(wheel, names):
    package = [n for n in names if not n.split("/")[0].endswith(".dist-info")]
    assert all(n.startswith("grader/") for n in package), package
    assert {"grader/__init__.py", "grader/selfcheck.py", "grader/child/wire.py", "grader/kinds/function.py",
            "grader/static/review.js", "grader/static/katex/katex.min.js"} <= set(names)
    assert any(n.startswith("grader/static/katex/fonts/") for n in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/tests/" in n or "test_" in n]
    assert not [n for n in names if n.startswith(("reference/", "rubrics/", "submissions"))]
    course = [ROOT / "reference" / "ex07.py", ROOT / "rubrics" / "ex07.yaml", EXAMPLES / "alice.py"]
    with zipfile.ZipFile(wheel) as archive:
        contents = b"".join(archive.read(n) for n in package)
    for path in course:
        lines = [line.strip() for line in path.read_text().splitlines() if len(line.strip()) > 40]
        assert lines and not [line for line in lines if line.encode() in contents], path
    for form in ["174560575488", "174_560_575_488", "174,560,575,488", "1.74560575488e+11"]:  # a value answer
        assert form.encode() not in contents, form


def test_the_wheel_is_the_same_bytes_every_time(wheel, tmp_path):
    again = build_wheel(tmp_path)
    assert again.name == wheel.name and again.read_bytes() == wheel.read_bytes()
    bundle = wheel.parent / "ex07-check.json"
    assert oct(again.stat().st_mode & 0o777) == oct(wheel.stat().st_mode & 0o777) == oct(bundle.stat().st_mode & 0o777)


def test_a_student_installs_the_wheel_alone_and_checks_their_work(ex07_release, wheel, tmp_path):
    """A fresh environment (seeing the installed numpy etc., so nothing is downloaded) runs the
    checker as installed from the wheel, from a folder outside the repository."""
    venv = tmp_path / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                          capture_output=True, text=True, timeout=120)
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    python = scripts / ("python.exe" if os.name == "nt" else "python")
    if made.returncode != 0 or not python.exists():
        pytest.skip(f"cannot create a virtual environment with pip here: {made.stderr.strip()[-300:]}")
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    def run(*command, cwd):
        return subprocess.run([str(c) for c in command], cwd=cwd, env=environment, capture_output=True, text=True,
                              timeout=120)

    # --ignore-installed: the checker this environment sees from outside must not count as installed
    installed = run(python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", wheel,
                    cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    student = tmp_path / "student"
    student.mkdir()
    shutil.copy(EXAMPLES / "alice.py", student / "ex07.py")
    shutil.copy(ex07_release / "ex07-check.json", student / "ex07-check.json")
    assert not student.resolve().is_relative_to(ROOT)

    where = run(python, "-c", "import grader, sys; print(grader.__file__)", cwd=student)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).resolve().is_relative_to(venv.resolve()), where.stdout

    grade = scripts / ("grade.exe" if os.name == "nt" else "grade")
    assert grade.exists()
    checked = run(grade, "check", "ex07.py", "--bundle", "ex07-check.json", cwd=student)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("Self-check: ")
    assert "  2b fnn " in checked.stdout and "passed" in checked.stdout
    assert "Passing here does not mean full marks." in checked.stdout
