"""Finding submissions in a folder and reading them, without running anything.

Each test builds the few files it needs in `tmp_path`. A submission that cannot be read
must come back as a row with status `unreadable` and a one-line reason, never as an
exception; only an unusable submissions folder raises.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from grader import submissions as submissions_module
from grader.errors import SubmissionsError
from grader.submissions import discover, read_submission

ENTRY = "ex07.py"


def write_notebook(path: Path, *cells) -> Path:
    notebook = v4.new_notebook()
    notebook.cells = list(cells)
    nbformat.write(notebook, str(path))
    return path


def code(source: str, *tags: str):
    return v4.new_code_cell(source, metadata={"tags": list(tags)} if tags else {})


def markdown(source: str, *tags: str):
    return v4.new_markdown_cell(source, metadata={"tags": list(tags)} if tags else {})


def make_folder(path: Path, files: dict[str, str]) -> Path:
    path.mkdir()
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return path


def assert_unreadable(submission, *fragments: str) -> None:
    assert submission.status == "unreadable"
    assert submission.problem and "\n" not in submission.problem
    for fragment in fragments:
        assert fragment in submission.problem
    assert submission.cells == ()


# ---------------------------------------------------------------- discover


@pytest.fixture
def mixed_folder(tmp_path) -> Path:
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "a.py").write_text("x = 1\n")
    write_notebook(folder / "b.ipynb", code("y = 2"))
    make_folder(folder / "c", {"ex07.py": "import helper\n", "helper.py": "Z = 3\n"})
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    make_folder(folder / "__MACOSX", {"._a.py": "junk"})
    (folder / "notes.txt").write_text("remember to submit\n")
    make_folder(folder / "__pycache__", {"a.cpython-311.pyc": "junk"})
    return folder


def test_discover_finds_the_three_kinds_of_submission(mixed_folder):
    found, _ = discover(mixed_folder, ENTRY)
    assert [s.student for s in found] == ["a", "b", "c"]
    assert [s.status for s in found] == ["ok", "ok", "ok"]
    assert [(s.kind, s.entry) for s in found] == [("py", "a.py"), ("ipynb", "b.ipynb"), ("py", "ex07.py")]
    assert found[2].path == mixed_folder / "c"


def test_discover_warns_once_for_each_thing_it_skips(mixed_folder):
    _, warnings = discover(mixed_folder, ENTRY)
    assert len(warnings) == 4
    for skipped in (".DS_Store", "__MACOSX", "notes.txt", "__pycache__"):
        assert sum(skipped in warning for warning in warnings) == 1, skipped
    assert all("\n" not in warning for warning in warnings)


def test_discover_sorts_by_student_id(tmp_path):
    for name in ("zoe.py", "mia.ipynb", "adam.py"):
        (tmp_path / name).write_text("{}" if name.endswith(".ipynb") else "")
    (tmp_path / "lee").mkdir()
    (tmp_path / "lee" / "ex07.py").write_text("")
    found, _ = discover(tmp_path, ENTRY)
    assert [s.student for s in found] == ["adam", "lee", "mia", "zoe"]


def test_an_empty_folder_has_no_submissions(tmp_path):
    assert discover(tmp_path, ENTRY) == ([], [])


@pytest.mark.parametrize("other", ["d.ipynb", "d/"])
def test_two_submissions_with_one_id_are_a_duplicate(tmp_path, other):
    (tmp_path / "d.py").write_text("x = 1\n")
    if other.endswith("/"):
        make_folder(tmp_path / "d", {"ex07.py": "x = 2\n"})
    else:
        write_notebook(tmp_path / other, code("x = 2"))
    (tmp_path / "e.py").write_text("x = 3\n")
    found, warnings = discover(tmp_path, ENTRY)
    assert [(s.student, s.status) for s in found] == [("d", "duplicate"), ("e", "ok")]
    duplicate = found[0]
    other_name = other.rstrip("/")
    assert "d.py" in duplicate.problem and other_name in duplicate.problem
    assert "\n" not in duplicate.problem
    assert duplicate.cells == ()
    assert [w for w in warnings if "d.py" in w and other_name in w] == warnings
    assert len(warnings) == 1


def test_discover_refuses_a_missing_folder(tmp_path):
    with pytest.raises(SubmissionsError, match="no such folder") as caught:
        discover(tmp_path / "nope", ENTRY)
    assert str(tmp_path / "nope") in str(caught.value)


def test_discover_refuses_a_file(tmp_path):
    (tmp_path / "alice.py").write_text("")
    with pytest.raises(SubmissionsError, match="not a folder"):
        discover(tmp_path / "alice.py", ENTRY)


def _refuse_to_list(monkeypatch, folder: Path) -> None:
    """Listing `folder` fails as it does without read permission (root can list anything)."""
    real_iterdir = Path.iterdir

    def iterdir(self):
        if self == folder:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)


def test_discover_refuses_a_folder_it_cannot_list(tmp_path, monkeypatch):
    _refuse_to_list(monkeypatch, tmp_path)
    with pytest.raises(SubmissionsError) as caught:
        discover(tmp_path, ENTRY)
    assert str(tmp_path) in str(caught.value) and "\n" not in str(caught.value)


# ---------------------------------------------------------------- the entry of a folder


def test_a_folder_with_one_notebook_enters_by_the_notebook(tmp_path):
    folder = make_folder(tmp_path / "carol", {ENTRY: "x = 1\n", "helper.py": ""})
    write_notebook(folder / "work.ipynb", code("import helper"))
    submission = read_submission(folder, entry_module=ENTRY)
    assert (submission.status, submission.kind, submission.entry) == ("ok", "ipynb", "work.ipynb")
    assert submission.student == "carol"
    assert [c.source.strip() for c in submission.cells] == ["import helper"]


def test_a_folder_notebook_labels_its_cells_with_its_own_name(tmp_path):
    folder = tmp_path / "carol"
    folder.mkdir()
    write_notebook(folder / "work.ipynb", markdown("intro"), code("x = 1"))
    submission = read_submission(folder, entry_module=ENTRY)
    assert [c.label for c in submission.cells] == ["work.ipynb cell 2"]


def test_a_folder_without_notebook_enters_by_ex07_py(tmp_path):
    folder = make_folder(tmp_path / "carol", {"a_helper.py": "", ENTRY: "import a_helper\n", "z.py": ""})
    submission = read_submission(folder, entry_module=ENTRY)
    assert (submission.status, submission.kind, submission.entry) == ("ok", "py", ENTRY)
    assert submission.cells[0].source == "import a_helper\n"
    assert submission.module_name == "ex07"


def test_a_folder_with_one_py_enters_by_it(tmp_path):
    folder = make_folder(tmp_path / "carol", {"solution.py": "x = 1\n", "data.json": "{}"})
    submission = read_submission(folder, entry_module=ENTRY)
    assert (submission.status, submission.entry) == ("ok", "solution.py")


def test_hidden_files_and_checkpoints_do_not_count_as_notebooks(tmp_path):
    folder = tmp_path / "carol"
    folder.mkdir()
    write_notebook(folder / "work.ipynb", code("x = 1"))
    (folder / "._work.ipynb").write_bytes(b"\x00\x05\x16\x07")  # macOS AppleDouble
    (folder / ".ipynb_checkpoints").mkdir()
    write_notebook(folder / ".ipynb_checkpoints" / "work-checkpoint.ipynb", code("x = 0"))
    submission = read_submission(folder, entry_module=ENTRY)
    assert (submission.status, submission.entry) == ("ok", "work.ipynb")


def test_a_folder_with_two_notebooks_is_unreadable(tmp_path):
    folder = tmp_path / "carol"
    folder.mkdir()
    write_notebook(folder / "draft.ipynb", code("x = 0"))
    write_notebook(folder / "final.ipynb", code("x = 1"))
    (folder / ENTRY).write_text("x = 2\n")  # a notebook wins over ex07.py, but which one?
    assert_unreadable(read_submission(folder, entry_module=ENTRY), "draft.ipynb", "final.ipynb")


def test_a_folder_with_several_py_and_no_ex07_py_is_unreadable(tmp_path):
    folder = make_folder(tmp_path / "carol", {"main.py": "", "helper.py": ""})
    assert_unreadable(read_submission(folder, entry_module=ENTRY), "helper.py", "main.py", ENTRY)


def test_without_an_entry_module_several_py_are_ambiguous(tmp_path):
    folder = make_folder(tmp_path / "carol", {ENTRY: "", "helper.py": ""})
    assert_unreadable(read_submission(folder, entry_module=None), ENTRY, "helper.py")


@pytest.mark.parametrize("files", [{}, {"data.json": "{}", "README.md": "hi"}], ids=["empty", "only-data"])
def test_a_folder_without_code_is_unreadable(tmp_path, files):
    folder = make_folder(tmp_path / "carol", files)
    assert_unreadable(read_submission(folder, entry_module=ENTRY), "no notebook")


def test_a_folder_it_cannot_list_is_unreadable_not_an_exception(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "carol", {ENTRY: ""})
    _refuse_to_list(monkeypatch, folder)
    submission = read_submission(folder, entry_module=ENTRY)
    assert submission.student == "carol"
    assert_unreadable(submission, "carol")


def test_discover_reads_folders_with_the_entry_module(tmp_path):
    make_folder(tmp_path / "carol", {ENTRY: "x = 1\n", "helper.py": ""})
    (found,), _ = discover(tmp_path, ENTRY)
    assert (found.student, found.status, found.entry) == ("carol", "ok", ENTRY)


# ---------------------------------------------------------------- reading notebooks


def test_code_cells_become_cells_in_order_labelled_by_cell_number(tmp_path):
    path = write_notebook(tmp_path / "bob.ipynb",
                          markdown("# Exercise 7"),
                          code("import numpy as np"),
                          markdown("some thoughts"),
                          code("def fnn(X, W_up, W_down):\n    return X"),
                          code("   \n"),
                          code("N_HEADS = 96"))
    submission = read_submission(path)
    assert (submission.student, submission.kind, submission.entry, submission.status) == \
        ("bob", "ipynb", "bob.ipynb", "ok")
    assert [c.label for c in submission.cells] == ["bob.ipynb cell 2", "bob.ipynb cell 4", "bob.ipynb cell 6"]
    assert [c.source.strip() for c in submission.cells] == [
        "import numpy as np", "def fnn(X, W_up, W_down):\n    return X", "N_HEADS = 96"]
    assert submission.answers == {}


@pytest.mark.parametrize(("source", "expected"), [
    ("%matplotlib inline", "get_ipython().run_line_magic('matplotlib', 'inline')"),
    ("%%time\nx = 1", "get_ipython().run_cell_magic('time'"),
    ("!pip install x", "get_ipython().system('pip install x')"),
    ("import numpy as np\n%matplotlib inline\nx = np.zeros(3)", "get_ipython().run_line_magic('matplotlib'"),
], ids=["line-magic", "cell-magic", "shell", "magic-between-lines"])
def test_magics_become_plain_python(tmp_path, source, expected):
    path = write_notebook(tmp_path / "bob.ipynb", code(source))
    (cell,) = read_submission(path).cells
    assert expected in cell.source
    assert not any(line.lstrip().startswith(("%", "!")) for line in cell.source.splitlines())
    compile(cell.source, cell.label, "exec")  # the child can run it as it is


def test_a_cell_with_a_syntax_error_is_kept_for_the_child_to_report(tmp_path):
    path = write_notebook(tmp_path / "bob.ipynb", code("def f(:\n    pass"), code("x = 1"))
    submission = read_submission(path)
    assert submission.status == "ok"
    assert [c.source.strip() for c in submission.cells] == ["def f(:\n    pass", "x = 1"]


def test_tagged_markdown_cells_are_answers(tmp_path):
    path = write_notebook(tmp_path / "bob.ipynb",
                          markdown("Pre-training is a first stage.", "answer:1a"),
                          markdown("Causal and masked LM.", "Answer:1B", "other-tag"),
                          markdown("An untagged note."),
                          code("x = 1"))
    submission = read_submission(path)
    assert submission.answers == {"1a": "Pre-training is a first stage.", "1b": "Causal and masked LM."}
    assert len(submission.cells) == 1


def test_two_cells_with_one_tag_are_joined_in_order(tmp_path):
    path = write_notebook(tmp_path / "bob.ipynb",
                          markdown("First part.", "answer:2c"),
                          code("x = 1"),
                          markdown("Second part.", "answer:2c"))
    answer = read_submission(path).answers["2c"]
    assert "First part." in answer and "Second part." in answer
    assert answer.index("First part.") < answer.index("Second part.")


def test_a_tagged_code_cell_is_code_not_an_answer(tmp_path):
    path = write_notebook(tmp_path / "bob.ipynb", code("ANSWER_1A = 'pre-training'", "answer:1a"))
    submission = read_submission(path)
    assert submission.answers == {}
    assert [c.source.strip() for c in submission.cells] == ["ANSWER_1A = 'pre-training'"]


def test_a_notebook_with_a_byte_order_mark_is_read(tmp_path):
    path = write_notebook(tmp_path / "bob.ipynb", code("x = 1"))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    submission = read_submission(path)
    assert submission.status == "ok"
    assert submission.cells[0].source.strip() == "x = 1"


def test_a_version_3_notebook_is_converted(tmp_path):
    old = {
        "nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""},
        "worksheets": [{"metadata": {}, "cells": [
            {"cell_type": "markdown", "source": ["It comes first."], "metadata": {"tags": ["answer:1a"]}},
            {"cell_type": "code", "input": ["x = 1\n", "y = 2"], "language": "python",
             "outputs": [], "collapsed": False, "metadata": {}},
        ]}],
    }
    path = tmp_path / "bob.ipynb"
    path.write_text(json.dumps(old))
    submission = read_submission(path)
    assert (submission.status, submission.kind) == ("ok", "ipynb")
    assert [(c.label, c.source.strip()) for c in submission.cells] == [("bob.ipynb cell 2", "x = 1\ny = 2")]
    assert submission.answers == {"1a": "It comes first."}


def _truncated(path: Path) -> None:
    write_notebook(path, code("x = 1"), markdown("text", "answer:1a"))
    text = path.read_text()
    path.write_text(text[: len(text) // 2])


@pytest.mark.parametrize("damage", [
    _truncated,
    lambda path: path.write_text(""),
    lambda path: path.write_text("[]"),
    lambda path: path.write_text("print('a script, not a notebook')\n"),
    lambda path: path.write_text('{"nbformat": 99, "nbformat_minor": 0, "metadata": {}, "cells": []}'),
    lambda path: path.write_bytes(b"\xff\xfe{\x00}\x00"),
], ids=["truncated", "empty", "json-list", "python", "future-version", "utf16"])
def test_a_corrupt_notebook_is_unreadable_not_an_exception(tmp_path, damage):
    path = tmp_path / "bob.ipynb"
    damage(path)
    submission = read_submission(path)
    assert submission.student == "bob"
    assert_unreadable(submission, "bob.ipynb")
    assert len(submission.problem) < 400


def test_a_cell_with_odd_metadata_is_read_not_an_exception(tmp_path):
    path = tmp_path / "bob.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "source": "x = 1", "metadata": ["not", "a", "dict"], "outputs": []},
        {"cell_type": "markdown", "source": ["Because", " of it."], "metadata": {"tags": "answer:1a"}}]}))
    submission = read_submission(path)
    assert submission.status == "ok"
    assert [cell.source for cell in submission.cells] == ["x = 1"]
    assert submission.answers == {"1a": "Because of it."}


def test_a_notebook_of_format_4_is_read_without_importing_nbformat(tmp_path):
    """nbformat's import is a tenth of a second of every student's `grade check`."""
    import subprocess
    import sys

    path = tmp_path / "bob.ipynb"
    write_notebook(path, code("x = 1"), markdown("Yes.", "answer:1a"))
    probe = ("import sys; from grader.submissions import read_submission; "
             f"s = read_submission(__import__('pathlib').Path({str(path)!r})); "
             "print(s.status, s.answers, 'nbformat' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert shown.split() == ["ok", "{'1a':", "'Yes.'}", "False"]


# ---------------------------------------------------------------- reading .py files


def test_a_module_is_one_cell(tmp_path):
    path = tmp_path / "alice.py"
    path.write_text("def fnn(X, W_up, W_down):\n    return X\n")
    submission = read_submission(path)
    assert (submission.student, submission.kind, submission.entry, submission.status) == \
        ("alice", "py", "alice.py", "ok")
    assert [(c.label, c.source) for c in submission.cells] == \
        [("alice.py", "def fnn(X, W_up, W_down):\n    return X\n")]
    assert submission.module_name == "alice"


@pytest.mark.parametrize("content", [b"", b"\n\n   \n", b"# TODO: everything\n\n  # later\n"],
                         ids=["nothing", "blank lines", "only comments"])
def test_an_empty_module_is_empty_and_says_so(tmp_path, content):
    path = tmp_path / "alice.py"
    path.write_bytes(content)
    submission = read_submission(path)
    assert submission.status == "empty"
    assert submission.problem == "the file alice.py has no code and no answers"


def test_a_byte_order_mark_is_stripped(tmp_path):
    path = tmp_path / "alice.py"
    path.write_bytes(b"\xef\xbb\xbfN_HEADS = 96\n")
    (cell,) = read_submission(path).cells
    assert cell.source == "N_HEADS = 96\n"


def test_a_module_name_that_is_not_an_identifier_is_replaced(tmp_path):
    path = tmp_path / "anne-marie.py"
    path.write_text("")
    submission = read_submission(path)
    assert submission.student == "anne-marie"
    assert submission.module_name == "submission"


@pytest.mark.parametrize(("content", "fragment"), [
    (b"# caf\xe9 in latin-1\nx = 1\n", "UTF-8"),
    (b"\xff\xfex\x00 \x00=\x00 \x001\x00", "UTF-8"),
    (b"x = 1\x00\x00\x00\n", "binary"),
], ids=["latin-1", "utf-16", "nul-bytes"])
def test_a_module_that_is_not_text_is_unreadable(tmp_path, content, fragment):
    path = tmp_path / "alice.py"
    path.write_bytes(content)
    assert_unreadable(read_submission(path), "alice.py", fragment)


def test_a_too_large_module_is_unreadable(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions_module, "MAX_SOURCE_BYTES", 100)
    path = tmp_path / "alice.py"
    path.write_text("x = 1\n" * 100)
    assert_unreadable(read_submission(path), "alice.py", "too large")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read a mode-000 file")
def test_a_file_without_read_permission_is_unreadable(tmp_path):
    path = tmp_path / "alice.py"
    path.write_text("x = 1\n")
    path.chmod(0)
    try:
        assert_unreadable(read_submission(path), "alice.py", "cannot read")
    finally:
        path.chmod(0o644)


def test_a_read_error_is_unreadable_not_an_exception(tmp_path, monkeypatch):
    """The same as the chmod test, for when it is skipped (running as root)."""
    path = tmp_path / "alice.py"
    path.write_text("x = 1\n")
    real_read_bytes = Path.read_bytes

    def read_bytes(self):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    assert_unreadable(read_submission(path), "alice.py", "Permission denied")


def test_an_unreadable_submission_is_still_a_row_in_discover(tmp_path):
    (tmp_path / "alice.py").write_bytes(b"\x00\x01")
    (tmp_path / "bob.ipynb").write_text("{")
    (tmp_path / "carol.py").write_text("x = 1\n")
    found, warnings = discover(tmp_path, ENTRY)
    assert [(s.student, s.status) for s in found] == [("alice", "unreadable"), ("bob", "unreadable"),
                                                       ("carol", "ok")]
    assert warnings == []


# ---------------------------------------------------------------- the files the child gets


def test_a_folder_is_copied_with_its_helpers_and_data(tmp_path):
    folder = make_folder(tmp_path / "carol", {
        ENTRY: "import helper\n", "helper.py": "Z = 3\n", "config.json": '{"d": 4}',
        "data/table.csv": "a,b\n1,2\n", "__pycache__/helper.cpython-311.pyc": "stale"})
    submission = read_submission(folder, entry_module=ENTRY)
    files = dict(submission.files())
    assert sorted(files) == sorted([ENTRY, "config.json", "data/table.csv", "helper.py"])
    assert files["helper.py"] == b"Z = 3\n"
    assert submission.entry in files


def test_a_folder_notebook_travels_as_cells_and_its_helpers_as_files(tmp_path):
    folder = make_folder(tmp_path / "carol", {"helper.py": ""})
    write_notebook(folder / "work.ipynb", code("import helper"))
    submission = read_submission(folder, entry_module=ENTRY)
    files = dict(submission.files())
    assert "helper.py" in files
    assert submission.entry not in files  # outputs can make it huge; cells suffice
    assert submission.entry in dict(submission.content())  # but it identifies this version
    assert [c.source.strip() for c in submission.cells] == ["import helper"]


@pytest.mark.parametrize("name", ["alice.py", "bob.ipynb"])
def test_a_single_file_is_copied_as_its_entry(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".ipynb"):
        write_notebook(path, code("x = 1"))
    else:
        path.write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("not copied")
    submission = read_submission(path)
    if name.endswith(".ipynb"):
        assert submission.files() == []
        return
    assert submission.files() == [(name, path.read_bytes())] and submission.entry == name


def test_a_symlinked_submission_is_unreadable_not_followed(tmp_path):
    secret = tmp_path / "secret.py"
    secret.write_text("ANSWER = 42\n")
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "mallet.py").symlink_to(secret)
    submission = read_submission(folder / "mallet.py")
    assert submission.status == "unreadable" and "symbolic link" in submission.problem
    assert submission.cells == ()


def test_symlinks_inside_a_folder_are_not_copied_for_the_child(tmp_path):
    secret = tmp_path / "reference.py"
    secret.write_text("ANSWER = 42\n")
    folder = tmp_path / "trudy"
    folder.mkdir()
    (folder / "ex07.py").write_text("import helper\n")
    (folder / "helper.py").symlink_to(secret)
    (folder / "data.txt").write_text("fine")
    submission = read_submission(folder, entry_module="ex07.py")
    assert submission.status == "ok" and submission.entry == "ex07.py"
    assert sorted(name for name, _ in submission.files()) == ["data.txt", "ex07.py"]


def test_a_tag_written_as_a_plain_string_still_marks_an_answer(tmp_path):
    notebook = v4.new_notebook(cells=[v4.new_markdown_cell("Pre-training is ...")])
    notebook.cells[0].metadata["tags"] = "answer:1a"  # invalid by the schema, seen in hand-edited files
    path = tmp_path / "sam.ipynb"
    path.write_text(json.dumps(notebook))
    assert read_submission(path).answers == {"1a": "Pre-training is ..."}


# ---------------------------------------------------------------- empty hand-ins


@pytest.mark.parametrize("cells", [[], [markdown("# My solution"), code("   \n")], [code("# nothing yet")]],
                         ids=["no cells", "only markdown and blank code", "only a comment"])
def test_a_notebook_without_code_or_answers_is_empty(tmp_path, cells):
    submission = read_submission(write_notebook(tmp_path / "bob.ipynb", *cells))
    assert submission.status == "empty"
    assert submission.problem == "the notebook bob.ipynb has no code and no answers"


def test_a_notebook_with_only_answers_is_not_empty(tmp_path):
    submission = read_submission(write_notebook(tmp_path / "bob.ipynb", markdown("Pre-training first", "answer:1a")))
    assert submission.status == "ok" and submission.answers == {"1a": "Pre-training first"}


def test_a_folder_with_an_empty_entry_is_empty(tmp_path):
    folder = make_folder(tmp_path / "carol", {ENTRY: "\n", "helper.py": "X = 1\n"})
    submission = read_submission(folder, entry_module=ENTRY)
    assert (submission.status, submission.entry) == ("empty", ENTRY)
    assert "has no code and no answers" in submission.problem


# ---------------------------------------------------------------- ids a student chose


def test_a_name_too_long_for_a_file_becomes_a_short_readable_id(tmp_path):
    long_name = "x" * 240
    (tmp_path / f"{long_name}.py").write_text("x = 1\n")
    (tmp_path / f"{long_name[:-1]}y.py").write_text("x = 1\n")
    found, _ = discover(tmp_path, ENTRY)
    ids = [s.student for s in found]
    assert len(set(ids)) == 2 and all(s.status == "ok" for s in found)
    for student in ids:
        assert len(student.encode()) <= 100 and student.startswith("x" * 80) and "~" in student


def test_control_characters_and_undecodable_bytes_leave_the_id(tmp_path):
    os.close(os.open(os.fsencode(tmp_path) + b"/caf\xe9.py", os.O_CREAT | os.O_WRONLY))
    (tmp_path / "new\nline\x1b[31m.py").write_text("x = 1\n")
    (tmp_path / "back\\slash.py").write_text("x = 1\n")
    (tmp_path / "José Ñ.py").write_text("x = 1\n")
    found, _ = discover(tmp_path, ENTRY)
    ids = sorted(s.student for s in found)
    for student in ids:
        student.encode("utf-8")  # no lone surrogates: it can go into a CSV, the ledger, a page
        assert not any(c in student for c in "\n\x1b\\/")
    assert "José Ñ" in ids  # a printable id stays as it was
    assert len(ids) == 4


def test_a_submission_read_on_its_own_gets_the_same_id(tmp_path):
    path = tmp_path / ("y" * 200 + ".py")
    path.write_text("x = 1\n")
    (found,), _ = discover(tmp_path, ENTRY)
    assert read_submission(path).student == found.student


# ---------------------------------------------------------------- files that are not files


def test_a_fifo_named_like_a_module_is_unreadable_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.py")
    submission = read_submission(tmp_path / "pipe.py")
    assert_unreadable(submission, "pipe.py", "not a regular file")
    with pytest.raises(OSError):
        submission.content()


def test_a_fifo_inside_a_folder_is_left_out(tmp_path):
    folder = make_folder(tmp_path / "carol", {ENTRY: "x = 1\n"})
    os.mkfifo(folder / "data.txt")
    submission = read_submission(folder, entry_module=ENTRY)
    assert submission.status == "ok" and [name for name, _ in submission.content()] == [ENTRY]


def test_a_folder_with_too_much_data_is_unreadable(tmp_path):
    folder = make_folder(tmp_path / "carol", {ENTRY: "x = 1\n"})
    with open(folder / "data.bin", "wb") as handle:
        handle.truncate(submissions_module.MAX_FOLDER_BYTES + 1)  # sparse: no disk used
    assert_unreadable(read_submission(folder, entry_module=ENTRY), "MB", "large data files")
