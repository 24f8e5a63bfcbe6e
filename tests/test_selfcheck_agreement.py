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

from conftest import ROOT

SECTION = ("fnn", "houlsby_fnn", "lora_fnn", "lora_delta")  # question 2's functions
MISTAKE = "clm_objective"  # its known mistake `first_token_skipped` earns half the points
# four typical mistakes: three functions as a known variant of the reference, one number
MISTAKES = {"clm_objective": "clm_objective__first_token_skipped", "lm_head": "lm_head__logits",
            "multi_head_attention": "multi_head_attention__no_causal_mask"}
MISTAKEN_VALUE = ("N_POSITIONAL_ENCODING_LAYERS", 96)  # the known mistake `one_per_layer`
CRASH, LOOP = "lm_head", "lora_delta"  # stage (d): one ends its process, one never returns
# the stages of the issue: (a) untouched, (b) one section filled, (c) four typical mistakes,
# (d) a crash and an endless loop, (e) fully correct in good prose, (f) fully correct with
# keyword-soup prose; and two more: one known mistake, the answer to 1a as a string only
STAGES = {"untouched", "section", "mistakes", "crash_loop", "prose", "soup", "mistake", "string"}


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


def value_names(reference) -> list[str]:
    return [name for name in dir(reference) if name.isupper() and not name.startswith("ANSWER_")]


def filled_values(text: str, reference, values: dict | None = None) -> str:
    """`text` (the template module or a cell) with each `NAME = None` placeholder set to the
    reference's value (or `values`)."""
    def fill(match):
        name = match.group(1)
        value = (values or {}).get(name, getattr(reference, name))
        return f"{name} = {value!r}\n"

    return re.sub(r"^([A-Z][A-Z0-9_]*) = None.*\n", fill, text, flags=re.M)


def everything(release, reference, sources: dict[str, str] | None = None, values: dict | None = None) -> str:
    """The template module with every function and value the reference's (but `sources`, `values`)."""
    names = [name for name in dir(reference) if inspect.isfunction(getattr(reference, name))]
    return filled_values(filled_module(release, reference, names=names, sources=sources), reference, values)


def renamed(reference, variant: str, name: str) -> str:
    return inspect.getsource(getattr(reference, variant)).replace(variant, name)


def keyword_soup(text: str) -> str:
    """An answer's longer words, once each, as a comma-separated list: no sentence at all."""
    words = dict.fromkeys(w.lower() for w in re.findall(r"[A-Za-z]{5,}", text))
    return ", ".join(words)


def answered_notebook(release, reference, prose) -> nbformat.NotebookNode:
    """The released template notebook filled in completely from the reference: its functions
    and values in their cells, each answer cell with `prose(reference answer)`."""
    notebook = nbformat.read(release / "ex07.ipynb", as_version=4)
    names = [name for name in dir(reference) if inspect.isfunction(getattr(reference, name))]
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        answer = next((t.split(":", 1)[1] for t in tags if t.startswith("answer:")), None)
        if answer is not None:
            cell.source = prose(getattr(reference, f"ANSWER_{answer.upper()}"))
        elif cell.cell_type == "code" and any(t.startswith("check:") for t in tags):
            source = re.sub(r'def (\w+)\(.*?raise NotImplementedError\("\1"\)\n',
                            lambda m: inspect.getsource(getattr(reference, m.group(1))) if m.group(1) in names
                            else m.group(0), cell.source, flags=re.S)
            cell.source = filled_values(source, reference)
    notebook.cells.append(nbformat.v4.new_code_cell("import math\n\n" + helpers(reference)))
    return notebook


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
    mistaken = {name: renamed(reference, variant, name) for name, variant in MISTAKES.items()}
    (folder / "mistakes.py").write_text(everything(release, reference, mistaken, dict([MISTAKEN_VALUE])))
    broken = {CRASH: f"def {CRASH}(H, E):\n    import os\n    os._exit(3)\n",
              LOOP: f"def {LOOP}(A, B, alpha):\n    while True:\n        pass\n"}
    (folder / "crash_loop.py").write_text(everything(release, reference, broken))
    nbformat.write(answered_notebook(release, reference, lambda text: text), folder / "prose.ipynb")
    nbformat.write(answered_notebook(release, reference, keyword_soup), folder / "soup.ipynb")
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
    assert set(checked) == STAGES
    for student, lines in checked.items():
        graded = results[results["student"] == student].set_index(["question", "check"])
        assert len(graded) == len(lines), student  # every check of the grade has its line
        compared = 0
        for line in lines:
            row = graded.loc[(line.question, line.check)]
            if line.where == "hidden":  # what cannot be judged here says exactly that
                assert (line.verdict, line.message) == ("graded later", "a hidden check, run when your work is graded")
            if line.outcome == "later":  # hidden, free text given, or checked for its form only
                continue
            assert line.outcome == final_class(row["outcome"]), (student, line, row["outcome"], row["feedback"])
            if line.outcome == "mistake":
                assert line.earned == row["points"] and line.message == row["feedback"], (student, line)
            compared += 1
        assert compared >= 11, student  # every check decided here (more where free text is missing)


def lines_of(checked, student) -> dict:
    return {(line.question, line.check): line for line in checked[student]}


def test_four_typical_mistakes_are_named_with_the_grades_words(stages):
    results, checked = stages
    lines = lines_of(checked, "mistakes")
    graded = results[results["student"] == "mistakes"].set_index("check")
    named = {key[1] for key, line in lines.items() if line.verdict == "known mistake"}
    assert named == {*MISTAKES, MISTAKEN_VALUE[0]}
    for check in named:
        assert graded.loc[check, "outcome"] == "mistake" and graded.loc[check, "feedback"] == \
            lines[next(k for k in lines if k[1] == check)].message
    assert graded.loc["N_POSITIONAL_ENCODING_LAYERS", "feedback"].startswith("Positional encodings are added once")
    passed = [line for line in lines.values() if line.verdict == "passed"]
    assert len(passed) >= 6 and all(graded.loc[line.check, "outcome"] == "passed" for line in passed)


def test_a_crash_and_an_endless_loop_cost_their_own_checks_on_both_sides(stages):
    results, checked = stages
    lines = lines_of(checked, "crash_loop")
    graded = results[results["student"] == "crash_loop"].set_index("check")
    crash = next(line for line in lines.values() if line.check == CRASH)
    loop = next(line for line in lines.values() if line.check == LOOP)
    assert crash.verdict == "error" and "crashed" in crash.message and graded.loc[CRASH, "outcome"] == "error"
    assert loop.verdict == "timeout" and "endless loop" in loop.message and graded.loc[LOOP, "outcome"] == "timeout"
    # lora_fnn calls the looping lora_delta: it times out too, on both sides; the rest passes
    others = [line for line in lines.values() if line.where == "here" and line.check not in (CRASH, LOOP, "lora_fnn")]
    assert others and all(line.verdict == "passed" for line in others), [l for l in others if l.verdict != "passed"]
    assert lines["2e", "lora_fnn"].outcome == final_class(graded.loc["lora_fnn", "outcome"]) == "failed"


@pytest.mark.parametrize("student", ["prose", "soup"])
def test_fully_correct_work_passes_everything_decided_here_and_leaves_free_text_to_a_person(stages, student):
    results, checked = stages
    lines = checked[student]
    graded = results[results["student"] == student].set_index(["question", "check"])
    for line in lines:
        if line.where == "here":
            assert line.verdict == "passed" and graded.loc[(line.question, line.check), "outcome"] == "passed", line
        elif line.where == "text":  # good prose or a keyword list: a person decides, on both sides
            assert (line.verdict, line.message) == ("graded later", "free text, read by a person."), line
            assert graded.loc[(line.question, line.check), "outcome"] == "needs_review"
        elif line.where == "form":
            assert line.verdict == "format only" and graded.loc[(line.question, line.check), "outcome"] == "passed"
        else:
            assert line.where == "hidden" and graded.loc[(line.question, line.check), "outcome"] == "passed"


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


# ---------------------------------------------------------------- classes (kind: object)

TEXTPROC = ROOT / "rubrics" / "textproc.yaml"
OBJECT_STUDENTS = ("ada", "max", "zed")  # correct; counts duplicates (the known mistake); a value that cannot travel
VOCABULARY_PRACTICE = [
    {"steps": [{"new": {"tokens": ["a", "b", "a"]}}, {"attr": "size"}, {"call": "index", "args": {"token": "b"}},
               {"call": "index", "args": {"token": "z"}, "raises": "KeyError"}, {"call": "add", "args": {"token": "c"}},
               {"attr": "size"}, {"call": "encode", "args": {"tokens": ["c", "a"]}}, {"call": "tokens"}]},
    {"steps": [{"new": {"tokens": []}}, {"call": "add", "args": {"token": "x"}}, {"call": "add", "args": {"token": "x"}},
               {"attr": "size"}, {"call": "tokens"}]}]


def textproc_rubric(folder, practice: bool):
    """rubrics/textproc.yaml, its paths made absolute; with `practice`, its class gets these
    practice cases, without, none (a class whose cases are all fixed values)."""
    import yaml

    data = yaml.safe_load(TEXTPROC.read_text())
    data["reference"] = str((TEXTPROC.parent / data["reference"]).resolve())
    data["support"] = str((TEXTPROC.parent / data["support"]).resolve())
    for question in data["questions"]:
        for check in question["checks"]:
            if check["kind"] == "object" and practice:
                check["practice"] = VOCABULARY_PRACTICE
            elif check["kind"] == "object":
                check.pop("practice", None)
    path = folder / "textproc.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def objects(tmp_path_factory):
    """Students' classes graded with textproc's rubric, and self-checked with the bundle of the
    rubric with practice steps (`practice`) and of the rubric with none (`shipped`)."""
    work = tmp_path_factory.mktemp("objects")
    folder = work / "students"
    folder.mkdir()
    for student in OBJECT_STUDENTS:
        shutil.copy(ROOT / "submissions_example" / "textproc" / f"{student}.py", folder / f"{student}.py")
    source = (folder / "ada.py").read_text()
    assert "        return self.ids[token]\n" in source
    (folder / "lenient.py").write_text(source.replace("        return self.ids[token]\n",
                                                      "        return self.ids.get(token, -1)\n"))
    bundles = {}
    for name, practice in (("practice", True), ("shipped", False)):
        (work / name).mkdir()
        rubric = textproc_rubric(work / name, practice)
        outcome = CliRunner().invoke(cli, ["assign", str(rubric), "--out", str(work / name / "release")])
        assert outcome.exit_code == 0, outcome.output
        bundles[name] = load_bundle(work / name / "release" / "textproc-check.json")
    shutil.copy(work / "practice" / "release" / "textproc.py", folder / "untouched.py")
    out = work / "out"
    main(submissions=folder, rubric=work / "practice" / "textproc.yaml", out=out, jobs=2)
    results = pd.read_csv(out / "results.csv", dtype={"student": str})
    graded = results[results["check"] == "vocabulary"].set_index("student")
    checked = {name: {path.stem: next(line for line in check_submission(bundle, path) if line.check == "vocabulary")
                      for path in sorted(folder.iterdir())} for name, bundle in bundles.items()}
    return graded, checked, bundles, folder


def test_a_class_takes_its_practice_steps_and_agrees_with_the_grade(objects):
    graded, checked, bundles, _ = objects
    entry = next(c for q in bundles["practice"].questions for c in q["checks"] if c["kind"] == "object")
    assert "expected" in entry and "forms" not in entry and len(entry["cases"]) == len(VOCABULARY_PRACTICE)
    lines = checked["practice"]
    assert set(lines) == {*OBJECT_STUDENTS, "lenient", "untouched"}
    verdicts = {student: line.verdict for student, line in lines.items()}
    assert verdicts == {"ada": "passed", "max": "known mistake", "zed": "failed", "lenient": "failed",
                        "untouched": "missing"}
    for student, line in lines.items():
        row = graded.loc[student]
        assert line.where == "here" and line.outcome == final_class(row["outcome"]), (student, line, row["feedback"])
        assert line.earned == row["points"], student
        if line.outcome in ("passed", "mistake", "missing"):  # the same words
            assert line.message == row["feedback"], student
    # a step that differs is named as the grade names it, on the practice steps
    assert lines["lenient"].message.startswith("after `Vocabulary(['a', 'b', 'a'])`, `.size`, `.index('b')`, "
                                               "`.index('z')` should raise KeyError, but returned an int")
    assert "`.index('dog')` should raise KeyError, but returned an int" in graded.loc["lenient", "feedback"]


def test_the_bundle_holds_the_practice_steps_answers_not_the_graded_ones(objects):
    _, _, bundles, _ = objects
    entry = next(c for q in bundles["practice"].questions for c in q["checks"] if c["kind"] == "object")
    text = json.dumps(entry)
    for graded_token in ("the", "cat", "mat", "dog"):  # the graded cases' arguments are not in it
        assert f'"v": "{graded_token}"' not in text


def test_a_class_with_fixed_cases_only_is_checked_for_its_form(objects):
    graded, checked, bundles, _ = objects
    entry = next(c for q in bundles["shipped"].questions for c in q["checks"] if c["kind"] == "object")
    assert "forms" in entry and "expected" not in entry
    lines = checked["shipped"]
    assert {s: line.verdict for s, line in lines.items()} == {
        "ada": "format only", "max": "format only", "zed": "failed", "lenient": "failed", "untouched": "missing"}
    for student, line in lines.items():
        assert line.where == "form"
        if line.outcome != "later":
            assert line.outcome == final_class(graded.loc[student, "outcome"]), student
    assert "whether they are right is graded later" in lines["ada"].message
    # the forms hold the exception a step must raise (the case says it), not an answer
    assert lines["lenient"].message.endswith("`.index('dog')` should raise KeyError, but returned an int (case 1 of 2).")


def test_grader_check_takes_the_steps_in_the_kernel_as_the_cli_does(objects, tmp_path):
    _, _, bundles, folder = objects
    bundle = bundles["practice"].path
    for student in ("max", "lenient"):
        alone = tmp_path / student
        alone.mkdir()
        shutil.copy(bundle, alone / bundle.name)
        shutil.copy(folder / f"{student}.py", alone / "textproc.py")
        cli_lines = [row for row in CliRunner().invoke(cli, ["check", str(alone / "textproc.py")]).stdout.splitlines()
                     if " vocabulary " in row]
        namespace: dict = {}
        exec(compile((folder / f"{student}.py").read_text(), "textproc.py", "exec"), namespace)
        question = next(q["id"] for q in bundles["practice"].questions
                        if any(c["kind"] == "object" for c in q["checks"]))
        result = grader.check(question, bundle=alone / bundle.name, namespace=namespace, quiet=True)
        assert [row for row in result.text.splitlines() if " vocabulary " in row] == cli_lines and len(cli_lines) == 1
