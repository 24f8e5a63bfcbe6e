"""`grade assign` builds the students' template and self-check bundle; `grade check` runs it."""

from __future__ import annotations

import importlib.util
import inspect
import json
import re

import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import ROOT
from grader.assign import build_release
from grader.child import wire
from grader.cli import cli, main

GPT3 = 174_560_575_488
GPT3_FORMS = ["174560575488", "174_560_575_488", "174,560,575,488", "1.74560575488e+11", "174.560575488",
              "1.7456057548800e+11", "174560575488.0"]


@pytest.fixture(scope="module")
def reference():
    spec = importlib.util.spec_from_file_location("ex07_for_release_tests", ROOT / "reference" / "ex07.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def release(plan, tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    build_release(plan, out)
    return out


def numbers_in(data) -> list[float]:
    """Every number of a bundle, arrays decoded, hashed numbers excluded."""
    found = []
    if isinstance(data, dict):
        if data.get("t") == "ndarray":
            return list(wire.decode(data).ravel().astype(float))
        for key, value in data.items():
            if key not in ("salt", "digest"):
                found += numbers_in(value)
    elif isinstance(data, list):
        for item in data:
            found += numbers_in(item)
    elif type(data) in (int, float):
        found.append(float(data))
    return found


def test_release_has_template_module_and_bundle(release):
    assert sorted(p.name for p in release.iterdir()) == ["ex07-check.json", "ex07.ipynb", "ex07.py"]
    assert all(oct(p.stat().st_mode & 0o777) == "0o644" for p in release.iterdir())


def test_the_bundle_holds_no_reference_code(release, reference):
    text = (release / "ex07-check.json").read_text()
    source = inspect.getsource(reference)
    bodies = [line.strip() for line in source.splitlines()
              if line.strip().startswith("return ") and len(line.strip()) > 12]
    assert bodies and not [line for line in bodies if line in text]
    for name in dir(reference):
        if name.startswith("ANSWER_"):
            assert getattr(reference, name)[:60] not in text
    assert "__" not in "".join(re.findall(r'"variant[^"]*": "([^"]*)"', text))


def test_the_bundle_holds_nothing_of_hidden_checks(release, plan):
    bundle = json.loads((release / "ex07-check.json").read_text())
    hidden = [c for q in bundle["questions"] for c in q["checks"] if c["visibility"] == "hidden"]
    assert {c["id"] for c in hidden} == {"houlsby_params", "lora_params", "gpt3_params"}
    assert all(set(c) == {"id", "kind", "points", "visibility"} for c in hidden)
    public_numbers = set(numbers_in(bundle))
    for (qid, cid), function in plan.functions.items():
        if function.check.visibility == "hidden":
            large = [output for output in function.expected if output >= 1000]  # small ones occur anywhere
            assert large
            for output in large:
                assert float(output) not in public_numbers, (cid, output)
                assert str(output) not in (release / "ex07-check.json").read_text()


def test_no_value_answer_is_in_the_clear(release):
    for path in release.iterdir():
        text = path.read_text()
        for form in GPT3_FORMS:
            assert form not in text, (path.name, form)
    bundle = json.loads((release / "ex07-check.json").read_text())
    assert not [x for x in numbers_in(bundle) if abs(x - GPT3) <= GPT3 * 1e-3]
    values = {c["id"]: c for q in bundle["questions"] for c in q["checks"] if c["kind"] == "value"}
    assert set(values["GPT3_PARAMS"]["expected"]) == {"hashed", "salt", "digest", "rtol"}
    assert set(values["HOULSBY_MERGEABLE"]) == {"id", "kind", "points", "visibility", "name", "type"}


def fill(release, reference, broken: dict[str, str] | None = None):
    """The template notebook filled in with the reference's answers (or `broken` overrides)."""
    notebook = nbformat.read(release / "ex07.ipynb", as_version=4)
    helpers = "\n\n".join(inspect.getsource(getattr(reference, name)) for name in dir(reference)
                          if name.startswith("_") and not name.startswith("__")
                          and inspect.isfunction(getattr(reference, name)))
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if cell.source == "import numpy as np":
            cell.source = "import math\nimport numpy as np\n\n" + helpers
        for tag in tags:
            if tag.startswith("check:"):
                name = re.search(r"^(?:def )?(\w+)", cell.source).group(1)
                if (broken or {}).get(name):
                    cell.source = broken[name]
                elif cell.source.startswith("def "):
                    cell.source = inspect.getsource(getattr(reference, name))
                else:
                    cell.source = f"{name} = {getattr(reference, name)!r}"
            elif tag.startswith("answer:"):
                cell.source = getattr(reference, f"ANSWER_{tag.split(':')[1].upper()}")
    return notebook


def test_the_template_filled_with_the_reference_scores_full_marks(release, reference, tmp_path, rubric):
    folder = tmp_path / "subs"
    folder.mkdir()
    nbformat.write(fill(release, reference), folder / "ref.ipynb")
    main(submissions=folder, out=tmp_path / "out", jobs=1)
    book = pd.read_csv(tmp_path / "out" / "gradebook.csv").set_index("student")
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    assert set(results["outcome"]) <= {"passed", "needs_review"}, results[results["outcome"] != "passed"]
    assert book.loc["ref", "total"] == rubric.max_total


def test_the_unfilled_template_scores_zero_with_only_not_implemented(release, tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "blank.ipynb").write_bytes((release / "ex07.ipynb").read_bytes())
    (folder / "blank_py.py").write_bytes((release / "ex07.py").read_bytes())
    main(submissions=folder, out=tmp_path / "out", jobs=2)
    book = pd.read_csv(tmp_path / "out" / "gradebook.csv").set_index("student")
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (book["total"] == 0).all()
    assert book["status"].str.startswith("ok").all()
    assert set(results["outcome"]) == {"missing"}
    functions = results[results["check"] == "fnn"]
    assert functions["feedback"].str.contains("not implemented yet").all()


def test_check_and_grade_name_the_same_mistake(release, reference, tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    wrong = "import numpy as np\ndef fnn(X, W_up, W_down):\n    return np.maximum(X @ W_up @ W_down, 0)\n"
    nbformat.write(fill(release, reference, {"fnn": wrong}), folder / "pat.ipynb")
    main(submissions=folder, out=tmp_path / "out", jobs=1)
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    graded = results[results["check"] == "fnn"].iloc[0]
    assert graded["outcome"] == "mistake"
    outcome = CliRunner().invoke(cli, ["check", str(folder / "pat.ipynb"), "--bundle",
                                       str(release / "ex07-check.json")])
    assert outcome.exit_code == 0, outcome.output
    line = next(line for line in outcome.stdout.splitlines() if " fnn " in line)
    assert "known mistake" in line and graded["feedback"] in line
    assert "Passing here does not mean full marks" in outcome.stdout


def test_check_on_the_unfilled_template_never_claims_success(release):
    outcome = CliRunner().invoke(cli, ["check", str(release / "ex07.py"), "--bundle", str(release / "ex07-check.json")])
    assert outcome.exit_code == 0
    assert "Checked here: 0 of" in outcome.stdout
    assert "Still to be decided when your work is graded" in outcome.stdout
    assert " passed " not in outcome.stdout


def test_check_finds_the_bundle_beside_the_submission(release, tmp_path):
    (tmp_path / "ex07.py").write_bytes((release / "ex07.py").read_bytes())
    (tmp_path / "ex07-check.json").write_bytes((release / "ex07-check.json").read_bytes())
    outcome = CliRunner().invoke(cli, ["check", str(tmp_path / "ex07.py")])
    assert outcome.exit_code == 0 and "Self-check" in outcome.stdout


def test_check_without_a_bundle_is_one_line(tmp_path):
    (tmp_path / "mine.py").write_text("x = 1\n")
    outcome = CliRunner().invoke(cli, ["check", str(tmp_path / "mine.py")])
    assert outcome.exit_code == 2 and "pass it with --bundle" in outcome.stderr


def test_the_bundle_value_check_confirms_without_the_value(release, tmp_path):
    from grader.hashed import HashedNumber

    bundle = json.loads((release / "ex07-check.json").read_text())
    gpt3 = next(c for q in bundle["questions"] for c in q["checks"] if c["id"] == "GPT3_PARAMS")
    hashed = HashedNumber.from_dict(gpt3["expected"])
    assert hashed.matches(GPT3) and hashed.matches(174.5606e9) and hashed.matches(float(GPT3))
    assert not hashed.matches(175e9) and not hashed.matches(175_174_975_488) and not hashed.matches(GPT3 * 1.003)
