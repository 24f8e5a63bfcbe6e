"""`grade check`, `grader.check` and the final grade agree, check by check (issue: a self-check
that agrees with the final grade, and checks from inside the notebook)."""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil

import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner

import grader
from grader.cli import cli, main
from grader.kinds.text import TEXT_PLACEHOLDER
from grader.selfcheck import check_submission, find_bundle, load_bundle

SECTION = ("fnn", "houlsby_fnn", "lora_fnn", "lora_delta")  # question 2's functions
MISTAKE = "clm_objective"  # its known mistake `first_token_skipped` earns half the points


@pytest.fixture(scope="module")
def reference(ex07_reference):
    return ex07_reference


@pytest.fixture(scope="module")
def release(ex07_release):
    return ex07_release


def helpers(reference) -> str:
    return "\n\n".join(inspect.getsource(getattr(reference, name)) for name in dir(reference)
                       if name.startswith("_") and not name.startswith("__")
                       and inspect.isfunction(getattr(reference, name)))


def filled_module(release, reference, names=SECTION, sources: dict[str, str] | None = None) -> str:
    """The released template module with the stubs of `names` filled from the reference (or `sources`)."""
    text = (release / "ex07.py").read_text()

    def fill(match):
        name = match.group(1)
        if sources and name in sources:
            return sources[name]
        return inspect.getsource(getattr(reference, name)) if name in names else match.group(0)

    text = re.sub(r'def (\w+)\(.*?raise NotImplementedError\("\1"\)\n', fill, text, flags=re.S)
    return text + "\n\nimport math\n\n" + helpers(reference) + "\n"


def string_notebook(release, reference):
    """The template notebook, its answer cells left as they are, with `ANSWER_1A` in a code cell."""
    notebook = nbformat.read(release / "ex07.ipynb", as_version=4)
    assert any(cell.source == TEXT_PLACEHOLDER for cell in notebook.cells)
    notebook.cells.append(nbformat.v4.new_code_cell(f"ANSWER_1A = {reference.ANSWER_1A!r}"))
    return notebook


@pytest.fixture(scope="module")
def stages(release, reference, tmp_path_factory):
    """Each stage of a student's work, graded (results.csv) and self-checked (lines)."""
    folder = tmp_path_factory.mktemp("stages")
    shutil.copy(release / "ex07.py", folder / "untouched.py")
    (folder / "section.py").write_text(filled_module(release, reference))
    negated = inspect.getsource(reference.clm_objective__first_token_skipped).replace(
        "clm_objective__first_token_skipped", MISTAKE)
    (folder / "mistake.py").write_text(filled_module(release, reference, sources={MISTAKE: negated}))
    nbformat.write(string_notebook(release, reference), folder / "string.ipynb")
    out = tmp_path_factory.mktemp("stages-out")
    main(submissions=folder, out=out, jobs=2)
    results = pd.read_csv(out / "results.csv", dtype={"student": str})
    bundle = load_bundle(release / "ex07-check.json")
    checked = {path.stem: check_submission(bundle, path) for path in sorted(folder.iterdir())}
    return results, checked


def final_class(outcome: str) -> str:
    return {"passed": "passed", "mistake": "mistake", "missing": "missing", "needs_review": "later"}.get(
        outcome, "failed")


def test_check_and_grade_agree_check_by_check_at_every_stage(stages):
    results, checked = stages
    assert set(checked) == {"untouched", "section", "mistake", "string"}
    for student, lines in checked.items():
        graded = results[results["student"] == student].set_index(["question", "check"])
        compared = 0
        for line in lines:
            row = graded.loc[(line.question, line.check)]
            if line.outcome == "later":  # hidden, free text given, or checked for its form only
                continue
            assert line.outcome == final_class(row["outcome"]), (student, line, row["outcome"], row["feedback"])
            if line.outcome == "mistake":
                assert line.earned == row["points"] and line.message == row["feedback"], (student, line)
            compared += 1
        assert compared >= 15, student


def test_placeholders_are_missing_on_both_sides_and_the_string_is_read_on_both(stages):
    results, checked = stages
    lines = {(line.question, line.check): line for line in checked["string"]}
    graded = results[results["student"] == "string"].set_index(["question", "check"])
    texts = [key for key, line in lines.items() if line.where == "text"]
    assert len(texts) > 5
    for key in texts:
        if key[0] == "1a":
            continue
        assert lines[key].verdict == "missing" and graded.loc[key, "outcome"] == "missing", key
        assert "not answered yet" in lines[key].message and "not answered yet" in graded.loc[key, "feedback"]
    said = "Read from `ANSWER_1A`, since the cell tagged answer:1a is not filled in."
    assert lines["1a", "answer"].verdict == "graded later" and said in lines["1a", "answer"].message
    assert graded.loc[("1a", "answer"), "outcome"] == "needs_review"
    assert said in graded.loc[("1a", "answer"), "feedback"]


def test_every_line_shows_its_points_and_the_total_is_fixed(release, stages):
    results, checked = stages
    bundle = load_bundle(release / "ex07-check.json")
    mistake = next(line for line in checked["mistake"] if line.check == MISTAKE)
    assert mistake.verdict == "known mistake" and mistake.earned == 1 and mistake.points == 2
    from grader.selfcheck import render

    totals = set()
    for student, lines in checked.items():
        text = render(bundle, lines)
        for line in lines:
            shown = next(row for row in text.splitlines() if row.startswith(f"  {line.question} {line.check} "))
            assert re.search(r" (\?|[\d.]+)/\d+ ", shown), shown
        totals.add(re.search(r"Checked here: [\d.]+ of (\d+) points; graded later: (\d+) \(free text (\d+), "
                             r"hidden (\d+)", text).groups())
    assert len(totals) == 1
    assert "1/2" in next(row for row in render(bundle, checked["mistake"]).splitlines() if MISTAKE in row)


def test_grader_check_in_a_live_namespace_prints_the_cli_lines(release, reference, tmp_path, capsys):
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(release / "ex07-check.json", alone / "ex07-check.json")
    source = filled_module(release, reference)
    (alone / "ex07.py").write_text(source)
    cli_lines = [row for row in CliRunner().invoke(cli, ["check", str(alone / "ex07.py")]).stdout.splitlines()
                 if row.startswith("  2e ")]
    assert len(cli_lines) == 3 and " passed " in cli_lines[0]
    namespace: dict = {}
    exec(compile(source, "ex07.py", "exec"), namespace)
    result = grader.check("2e", bundle=alone / "ex07-check.json", namespace=namespace)
    assert capsys.readouterr().out.splitlines() == cli_lines
    assert result.text.splitlines() == cli_lines and [line.check for line in result.lines] == \
        ["lora_fnn", "lora_params", "answer"]
    assert "2e" in repr(result)
    namespace["lora_fnn"] = namespace["fnn"]  # redefined in the kernel: the next check sees it
    again = grader.check("2e", bundle=alone / "ex07-check.json", namespace=namespace, quiet=True)
    assert again.lines[0].outcome == "failed"
    everything = grader.check_all(bundle=alone / "ex07-check.json", namespace=namespace, quiet=True)
    assert "Checked here:" in everything.text and len(everything.lines) > 30


def test_grader_check_reads_the_callers_globals_and_finds_the_bundle(release, tmp_path, monkeypatch):
    shutil.copy(release / "ex07-check.json", tmp_path / "ex07-check (1).json")
    monkeypatch.chdir(tmp_path)
    code = "import grader\ndef lora_fnn(*args):\n    raise NotImplementedError\nresult = grader.check('2e', quiet=True)\n"
    namespace: dict = {"__name__": "notebook"}
    exec(compile(code, "cell", "exec"), namespace)
    assert namespace["result"].lines[0].verdict == "missing"


def test_the_bundle_of_this_sheet_is_found_among_json_files(release, tmp_path):
    shutil.copy(release / "ex07.py", tmp_path / "ex07.py")
    data = json.loads((release / "ex07-check.json").read_text())
    (tmp_path / "ex07-check (1).json").write_text(json.dumps(data))
    other = dict(data, title="Exercise 6", entry="ex06.py")
    (tmp_path / "ex06-check.json").write_text(json.dumps(other))
    (tmp_path / "data.json").write_text('{"cells": []}')
    (tmp_path / "broken.json").write_text("{")
    path, note = find_bundle(tmp_path / "ex07.py")
    assert path.name == "ex07-check (1).json" and not note
    shutil.copy(tmp_path / "ex07-check (1).json", tmp_path / "ex07-check.json")
    os.utime(tmp_path / "ex07-check (1).json", (2_000_000_000, 2_000_000_000))  # the newer download
    path, note = find_bundle(tmp_path / "ex07.py")
    assert path.name == "ex07-check (1).json" and "newest of 2" in note
    outcome = CliRunner().invoke(cli, ["check", str(tmp_path / "ex07.py")])
    assert outcome.exit_code == 0 and "Self-check: Exercise 7" in outcome.stdout
    (tmp_path / "mine.py").write_text("x = 1\n")  # a name that says nothing: two sheets, so ask
    outcome = CliRunner().invoke(cli, ["check", str(tmp_path / "mine.py")])
    assert outcome.exit_code == 2 and "Exercise 6" in outcome.stderr and "--bundle" in outcome.stderr


def test_a_wrong_bundle_file_gets_one_line_saying_what_to_pass(release, tmp_path):
    shutil.copy(release / "ex07.ipynb", tmp_path / "ex07.ipynb")
    shutil.copy(release / "ex07-check.json", tmp_path / "ex07-check.json")
    outcome = CliRunner().invoke(cli, ["check", str(tmp_path / "ex07.ipynb"), "--bundle", str(tmp_path / "ex07.ipynb")])
    assert outcome.exit_code == 2
    message = outcome.stderr.strip()
    assert len(message.splitlines()) == 1 and "notebook" in message and "--bundle 'ex07-check.json'" in message


def test_a_bundle_of_another_version_gets_one_line_not_an_internal_error(release, tmp_path):
    """A bundle whose format number was right but whose cases an older version had encoded
    otherwise made `grade check` stop with "internal error: WireError"."""
    import json

    from click.testing import CliRunner

    from grader.cli import cli

    bundle = json.loads((release / "ex07-check.json").read_text())
    function = next(c for q in bundle["questions"] for c in q["checks"] if c.get("cases"))
    function["cases"][0] = {"t": "no-such-tag", "v": 1}
    broken = tmp_path / "ex07-check.json"
    broken.write_text(json.dumps(bundle))
    (tmp_path / "ex07.py").write_text((release / "ex07.py").read_text())
    outcome = CliRunner().invoke(cli, ["check", str(tmp_path / "ex07.py"), "--bundle", str(broken)])
    assert outcome.exit_code == 2, outcome.output
    assert "this self-check bundle cannot be read by this version of grade" in outcome.output
    assert "ask for the current one" in outcome.output and "internal error" not in outcome.output
