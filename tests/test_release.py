"""`grade assign` builds the students' template and self-check bundle; `grade check` runs it."""

from __future__ import annotations

import inspect
import json
import re

import nbformat
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from grader import __version__
from grader.assign import build_release
from grader.child import wire
from grader.cli import cli, main

GPT3 = 174_560_575_488
GPT3_FORMS = ["174560575488", "174_560_575_488", "174,560,575,488", "1.74560575488e+11", "174.560575488",
              "1.7456057548800e+11", "174560575488.0"]


@pytest.fixture(scope="module")
def reference(ex07_reference):
    return ex07_reference


@pytest.fixture(scope="module")
def release(plan, tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    build_release(plan, out)
    return out


def unhashed_text(data) -> str:
    """The bundle as text without its salts and digests: random hex, in which any short run of
    digits turns up now and then (a hidden check's 55552 did, in one run of twenty)."""
    def strip(node):
        if isinstance(node, dict):
            return {key: strip(value) for key, value in node.items() if key not in ("salt", "digests")}
        if isinstance(node, list):
            return [strip(item) for item in node]
        return node
    return json.dumps(strip(data))


def numbers_in(data) -> list[float]:
    """Every number of a bundle, arrays decoded, hashed numbers excluded."""
    found = []
    if isinstance(data, dict):
        if data.get("t") == "ndarray":
            return list(wire.decode(data).ravel().astype(float))
        for key, value in data.items():
            if key not in ("salt", "digests", "iterations"):
                found += numbers_in(value)
    elif isinstance(data, list):
        for item in data:
            found += numbers_in(item)
    elif type(data) in (int, float):
        found.append(float(data))
    return found


def test_release_has_template_module_and_bundle(release):
    assert sorted(p.name for p in release.iterdir()) == ["ex07-check.json", "ex07.ipynb", "ex07.py",
                                                          f"grade-{__version__}-py3-none-any.whl"]
    assert all(oct(p.stat().st_mode & 0o777) == "0o644" for p in release.iterdir())


def test_the_template_notebook_names_its_kernel_and_has_one_stub_per_function(release, plan):
    notebook = nbformat.read(release / "ex07.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"] == {"name": "python3", "display_name": "Python 3", "language": "python"}
    assert notebook.metadata["language_info"]["name"] == "python"
    stubs = [cell.source.split("(")[0] for cell in notebook.cells if cell.source.startswith("def ")]
    functions = {f"def {function.check.name}" for function in plan.functions.values()}
    assert sorted(stubs) == sorted(functions)


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
                assert str(output) not in unhashed_text(bundle), (cid, output)


def test_no_value_answer_is_in_the_clear(release):
    for path in release.iterdir():
        if path.suffix == ".whl":  # the checker itself (test_student_install.py reads inside it)
            continue
        text = path.read_text()
        for form in GPT3_FORMS:
            assert form not in text, (path.name, form)
    bundle = json.loads((release / "ex07-check.json").read_text())
    assert not [x for x in numbers_in(bundle) if abs(x - GPT3) <= GPT3 * 1e-3]
    values = {c["id"]: c for q in bundle["questions"] for c in q["checks"] if c["kind"] == "value"}
    assert set(values["GPT3_PARAMS"]["expected"]) == {"hashed", "salt", "digests", "rtol", "iterations"}
    assert set(values["HOULSBY_MERGEABLE"]) == {"id", "kind", "points", "visibility", "name", "type",
                                                 "compare", "ordered", "loose_types"}


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


# ---------------------------------------------------------------- the bundle keeps grading honest (issue 10)


def bundle_checks(release) -> dict[str, dict]:
    bundle = json.loads((release / "ex07-check.json").read_text())
    return {c["id"]: c for q in bundle["questions"] for c in q["checks"]}


def _same_args(a: list, b: list) -> bool:
    return len(a) == len(b) and all(wire.encode(x) == wire.encode(y) for x, y in zip(a, b))


def test_the_bundle_holds_no_output_of_a_graded_case(release, plan):
    checks = bundle_checks(release)
    fixed = set()
    for (qid, cid), function in plan.functions.items():
        if function.check.visibility == "hidden":
            continue
        entry = checks[cid]
        graded = [list(args) for args in function.cases]
        if function.practice is None:  # fixed numbers: the graded cases, only the form of their answers
            fixed.add(cid)
            assert "expected" not in entry and all("outputs" not in m for m in entry["mistakes"])
            assert entry["cases"] == [wire.encode(args) for args in function.cases]
            assert all(f == {"form": "number"} or set(f) == {"form", "shape", "finite"} for f in entry["forms"])
            continue
        assert len(entry["cases"]) == len(function.practice.cases) > 0
        practice = [list(wire.decode(case, allow_fixtures=True)) for case in entry["cases"]]
        assert not [case for case in practice if any(_same_args(case, g) for g in graded)], cid
        for kept in [*entry["expected"], *(o for m in entry["mistakes"] for o in m.get("outputs", []))]:
            if "raised" in kept:
                continue
            kept = wire.decode(kept)
            for output in function.expected:
                if isinstance(output, np.ndarray):
                    assert not (np.shape(kept) == output.shape and np.allclose(kept, output)), cid
                else:
                    assert kept != pytest.approx(output, rel=1e-3), cid
    assert fixed == {"sinusoidal_positional_encoding", "num_heads"}


def test_every_named_mistake_is_told_apart_on_the_practice_cases_as_when_graded(plan):
    from grader.checks import compare
    from grader.reference import Raised

    def apart(expected, variant, rtol):
        return any(isinstance(v, Raised) or compare(e, v, rtol, 1e-8) is not None for e, v in zip(expected, variant))

    told = 0
    for (qid, cid), function in plan.functions.items():
        if function.practice is None:
            continue
        rtol = function.check.rtol if function.check.rtol is not None else plan.rubric.tolerance.rtol
        for mistake, outputs in function.variants.items():
            practice = function.practice
            assert apart(function.expected, outputs, rtol) == apart(practice.expected, practice.variants[mistake], rtol)
            told += 1
    assert told >= 15


def variant_source(reference, plan, name: str, mistake: str) -> str:
    """The reference's variant as the student's `name`. A variant may call checked functions
    (`-clm_objective(p, S)`, `fnn(...)` inside `houlsby_fnn`) or other variants: it gets them,
    the right ones under other names, whatever else the submission gets wrong."""
    checked = {f.check.name for f in plan.functions.values()}
    calls = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\(")
    sources: dict[str, str] = {}

    def include(function: str, as_name: str) -> None:
        if as_name in sources:
            return
        sources[as_name] = ""
        head, rest = inspect.getsource(getattr(reference, function)).split("\n", 1)

        def swap(match) -> str:
            called = match.group(1)
            if called in checked:
                include(called, f"_right_{called}")
                return f"_right_{called}("
            if "__" in called.strip("_") and callable(getattr(reference, called, None)):
                include(called, called)
            return match.group(0)

        sources[as_name] = head.replace(f"def {function}(", f"def {as_name}(", 1) + "\n" + calls.sub(swap, rest)

    include(f"{name}__{mistake}", name)
    return "\n\n".join(sources.values())


RAISING = {  # the mistakes named by an exception, written as a student would make them
    "lora_fnn": "def lora_fnn(X, W_up, W_down, A, B, alpha):\n"
                "    return _relu(X @ (W_up + (alpha / A.shape[1]) * (B @ A))) @ W_down\n",
    "lora_delta": "def lora_delta(A, B, alpha):\n    return (alpha / A.shape[1]) * (B @ A)\n",
}


@pytest.fixture(scope="module")
def mistaken(release, reference, plan, tmp_path_factory):
    """Submissions that make, between them, every named mistake of every public function check."""
    folder = tmp_path_factory.mktemp("mistaken")
    made = {}
    for k in range(max(len(f.check.mistakes) for f in plan.functions.values())):
        broken = {}
        for (qid, cid), function in plan.functions.items():
            check = function.check
            if check.visibility == "hidden" or k >= len(check.mistakes):
                continue
            mistake = check.mistakes[k]
            if mistake.variant is not None:
                broken[check.name] = variant_source(reference, plan, check.name, mistake.id)
            elif check.name in RAISING:
                broken[check.name] = RAISING[check.name]
            else:
                continue
            made[f"m{k}", cid] = mistake.id
        nbformat.write(fill(release, reference, broken), folder / f"m{k}.ipynb")
    nbformat.write(fill(release, reference), folder / "right.ipynb")
    out = tmp_path_factory.mktemp("mistaken-out")
    main(submissions=folder, out=out, jobs=2)
    return folder, out, made


def test_check_and_grade_agree_on_every_named_mistake_and_on_a_right_answer(release, mistaken, plan):
    from grader.selfcheck import check_submission, load_bundle

    folder, out, made = mistaken
    assert {cid for _, cid in made} == {cid for (_, cid), f in plan.functions.items()
                                        if f.check.visibility == "public" and f.check.mistakes}
    results = pd.read_csv(out / "results.csv", dtype={"student": str})
    bundle = load_bundle(release / "ex07-check.json")
    public = {cid: f for (_, cid), f in plan.functions.items() if f.check.visibility == "public"}
    for student in sorted({student for student, _ in made} | {"right"}):
        graded = results[results["student"] == student].set_index("check")
        lines = {line.check: line for line in check_submission(bundle, folder / f"{student}.ipynb")}
        for cid, function in public.items():
            row, line = graded.loc[cid], lines[cid]
            mistake = made.get((student, cid))
            if mistake is None:
                assert row["outcome"] == "passed", (student, cid, row["feedback"])
                assert line.verdict == ("format only" if function.practice is None else "passed"), (student, line)
                continue
            feedback = next(m.feedback for m in function.check.mistakes if m.id == mistake)
            assert row["outcome"] == "mistake" and row["feedback"] == feedback, (student, cid, row["feedback"])
            told = function.practice is not None or next(m for m in function.check.mistakes if m.id == mistake).raises
            if told:  # the same mistake, in the same words
                assert line.verdict == "known mistake" and line.message == feedback, (student, line)
            else:  # a function of fixed numbers: the bundle does not hold the answers to tell it
                assert line.verdict == "format only", (student, line)
        if student == "right":
            assert {line.verdict for line in lines.values()} <= {"passed", "format only", "graded later"}


def test_a_value_answer_is_hashed_once_per_tolerance_whatever_it_is_compared_with(release):
    """What keeps `grade check` fast with a costly hash: one salt per value check, a cache."""
    from grader import hashed
    from grader.hashed import HashedNumber

    values = {cid: c for cid, c in bundle_checks(release).items() if c["kind"] == "value" and "expected" in c}
    assert set(values) == {"N_POSITIONAL_ENCODING_LAYERS", "N_HEADS", "GPT3_PARAMS"}
    hashed._digest.cache_clear()
    for entry in values.values():
        numbers = [entry["expected"], *(m["value"] for m in entry["mistakes"] if m["value"])]
        assert len({n["salt"] for n in numbers}) == 1 and all(n["iterations"] >= 50_000 for n in numbers)
        for guess in (3, 96, 174.56e9, 1.0e12):  # every comparison the self-check could make
            for number in numbers:
                HashedNumber.from_dict(number).matches(guess)
    # 4 guesses: once per value check, and once more for GPT3_PARAMS's `billions` tolerance
    assert hashed._digest.cache_info().misses == 4 * (len(values) + 1)


def test_check_refuses_a_bundle_of_another_format(release, tmp_path):
    data = json.loads((release / "ex07-check.json").read_text())
    data["format"] = 1
    (tmp_path / "old-check.json").write_text(json.dumps(data))
    outcome = CliRunner().invoke(cli, ["check", str(release / "ex07.py"), "--bundle", str(tmp_path / "old-check.json")])
    assert outcome.exit_code == 2 and "ask for the current one" in outcome.stderr


def test_a_question_that_asks_for_the_calculation_has_a_cell_for_it(release, plan):
    """3d says "Show the calculation", and the released notebook had no cell to show it in."""
    notebook = nbformat.read(release / "ex07.ipynb", as_version=4)
    work = [cell for cell in notebook.cells if any(t.startswith("work:") for t in cell.metadata.get("tags", []))]
    assert [cell.metadata["tags"] for cell in work] == [["work:3d"], ["work:3e"]]
    assert all(cell.cell_type == "markdown" and "Your calculation" in cell.source for cell in work)
    assert "# Your calculation (how you got the answer below" in (release / "ex07.py").read_text()
    assert [q.id for q in plan.rubric.questions if q.show_work] == ["3d", "3e"]
