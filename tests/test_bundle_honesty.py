"""The self-check bundle keeps grading honest (issue 10).

A student holds the bundle: the public checks' cases and judged outputs. A submission that
implements nothing but answers each call with the bundle's output for the bundle's input (a
lookup table) must earn nothing when graded, because grading draws its cases from a stream
the bundle does not hold; checks whose cases are fixed numbers keep no outputs in the
bundle at all. The attacker is graded beside an honest victim, the way tests/test_hostile.py
grades its attacks, and the victim must score as it does alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from conftest import EXAMPLES
from grader.assign import bundle_for
from grader.child import wire
from grader.cli import cli, main
from grader.errors import RubricError
from grader.reference import prepare
from grader.rubric import load_rubric

VICTIMS = ("victim1", "victim2")

# the attack itself lives with the others in hostile/; here it is graded on its own
LOOKUP = (Path(__file__).parent / "hostile" / "answers_from_the_bundle.py").read_text()


def _plain(value) -> tuple[str, object]:
    if isinstance(value, np.ndarray):
        return "array", value.tolist()
    if wire.is_fixture(value):
        return "fixture", None
    return "literal", value


def lookup_table(bundle: dict) -> dict[str, list]:
    """name -> [(the case's arguments, the bundle's output)] for every public function check,
    whatever of the outputs the bundle holds in a form that can be returned."""
    table = {}
    for question in bundle["questions"]:
        for check in question["checks"]:
            if check["kind"] != "function" or check["visibility"] != "public":
                continue
            rows = []
            for case, output in zip(check["cases"], check.get("expected") or []):
                if output.get("hashed") or "raised" in output:
                    continue
                args = [_plain(arg) for arg in wire.decode(case, allow_fixtures=True)]
                rows.append((args, _plain(wire.decode(output))))
            table[check["name"]] = rows
    return table


@pytest.fixture(scope="module")
def release(ex07_release):
    return ex07_release


@pytest.fixture(scope="module")
def bundle(release) -> dict:
    return json.loads((release / "ex07-check.json").read_text())


@pytest.fixture(scope="module")
def attacker_source(bundle) -> str:
    return (EXAMPLES / "alice.py").read_text() + LOOKUP.replace("@@BUNDLE_TABLE@@", repr(lookup_table(bundle)))


@pytest.fixture(scope="module")
def public_functions(bundle) -> dict[str, str]:
    """check id -> question id of the public function checks."""
    return {c["id"]: q["id"] for q in bundle["questions"] for c in q["checks"]
            if c["kind"] == "function" and c["visibility"] == "public"}


def test_the_lookup_table_answers_the_bundle_itself(release, attacker_source, tmp_path, bundle):
    """The attack is real: on the bundle's own cases it passes every check whose outputs the
    bundle holds (a self-check cannot tell it from a solution; grading can, below)."""
    (tmp_path / "ex07.py").write_text(attacker_source)
    outcome = CliRunner().invoke(cli, ["check", str(tmp_path / "ex07.py"), "--bundle", str(release / "ex07-check.json")])
    assert outcome.exit_code == 0, outcome.output
    answered = {name for name, rows in lookup_table(bundle).items() if rows}
    assert answered == {"clm_objective", "mlm_objective", "fnn", "houlsby_fnn", "lora_fnn", "lora_delta",
                        "lm_head", "multi_head_attention"}  # every check but those of fixed numbers
    for line in outcome.stdout.splitlines():
        words = line.split()
        if len(words) > 2 and words[1] in answered:
            assert words[2] == "passed", line


def test_a_lookup_table_from_the_bundle_earns_nothing(attacker_source, tmp_path, public_functions):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    (submissions / "attacker.py").write_text(attacker_source)
    for victim in VICTIMS:
        shutil.copy(EXAMPLES / "alice.py", submissions / f"{victim}.py")
    main(submissions=submissions, out=tmp_path / "out", jobs=2)
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(EXAMPLES / "alice.py", alone / "victim1.py")
    main(submissions=alone, out=tmp_path / "alone-out", jobs=1)

    book = pd.read_csv(tmp_path / "out" / "gradebook.csv", dtype={"student": str}).set_index("student")
    clean = pd.read_csv(tmp_path / "alone-out" / "gradebook.csv", dtype={"student": str}).set_index("student")
    for victim in VICTIMS:
        assert book.loc[victim].equals(clean.loc["victim1"]), victim
    results = pd.read_csv(tmp_path / "out" / "results.csv", dtype={"student": str})
    mine = results[results["student"] == "attacker"].set_index("check")
    looked_up = mine.loc[list(public_functions)]
    assert (looked_up["points"] == 0).all(), looked_up[looked_up["points"] > 0][["points", "outcome"]]
    # everything else of the attacker is alice's honest work and still counts
    lost = {q for q in book.columns if q[:1].isdigit() and book.loc["attacker", q] < book.loc["victim1", q]}
    assert lost == set(public_functions.values())
    others = mine.drop(list(public_functions))
    honest = results[results["student"] == "victim1"].set_index("check").drop(list(public_functions))
    assert others["points"].sum() == honest["points"].sum()


# ---------------------------------------------------------------- `practice:` cases for checks of fixed numbers

TINY_REFERENCE = '''
def heads(d_model, d_head):
    return d_model // d_head

def heads__product(d_model, d_head):
    return d_model * d_head
'''


def tiny_rubric(folder, practice=None, cases=None) -> dict:
    check = {"id": "heads", "kind": "function", "name": "heads", "points": 1, "rtol": 0,
             "cases": cases or [{"d_model": 768, "d_head": 64}, {"d_model": 512, "d_head": 8}],
             "mistakes": [{"id": "product", "variant": "heads__product", "feedback": "multiplied"}]}
    if practice is not None:
        check["practice"] = practice
    (folder / "ref.py").write_text(TINY_REFERENCE)
    data = {"title": "Tiny", "reference": "ref.py", "entry": "tiny.py",
            "questions": [{"id": "1a", "checks": [check]}]}
    (folder / "rubric.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder / "rubric.yaml"


def tiny_check(bundle: dict) -> dict:
    return bundle["questions"][0]["checks"][0]


def self_check(folder, bundle: dict, source: str):
    from grader.selfcheck import check_submission, load_bundle

    (folder / "tiny-check.json").write_text(json.dumps(bundle))
    (folder / "tiny.py").write_text(source)
    line, = check_submission(load_bundle(folder / "tiny-check.json"), folder / "tiny.py")
    return line


def test_a_check_of_fixed_numbers_is_self_checked_for_its_form_only(tmp_path):
    bundle = bundle_for(prepare(load_rubric(tiny_rubric(tmp_path))))
    entry = tiny_check(bundle)
    assert "expected" not in entry and entry["forms"] == [{"form": "number"}] * 2 and entry["mistakes"] == []
    right = self_check(tmp_path, bundle, "def heads(d_model, d_head):\n    return d_model // d_head\n")
    wrong = self_check(tmp_path, bundle, "def heads(d_model, d_head):\n    return d_model * d_head\n")
    assert right.verdict == wrong.verdict == "format only"
    shape = self_check(tmp_path, bundle, "def heads(d_model, d_head):\n    return [d_model]\n")
    assert shape.verdict == "failed" and "expected a number" in shape.message


def test_practice_cases_give_a_check_of_fixed_numbers_its_full_self_check(tmp_path):
    rubric = load_rubric(tiny_rubric(tmp_path, practice=[{"d_model": 96, "d_head": 12}]))
    plan = prepare(rubric)
    assert plan.functions["1a", "heads"].cases == [(768, 64), (512, 8)]  # graded as before
    bundle = bundle_for(plan)
    entry = tiny_check(bundle)
    assert [wire.decode(case) for case in entry["cases"]] == [(96, 12)]  # a case's arguments: a tuple
    assert [wire.decode(out) for out in entry["expected"]] == [8]
    right = self_check(tmp_path, bundle, "def heads(d_model, d_head):\n    return d_model // d_head\n")
    wrong = self_check(tmp_path, bundle, "def heads(d_model, d_head):\n    return d_model * d_head\n")
    assert right.verdict == "passed"
    assert wrong.verdict == "known mistake" and wrong.message == "multiplied"


def test_a_practice_case_that_is_graded_too_is_refused(tmp_path):
    path = tiny_rubric(tmp_path, practice=[{"d_model": 96, "d_head": 12}, {"d_model": 512, "d_head": 8}])
    with pytest.raises(RubricError, match="practice case 2 is also a graded case"):
        prepare(load_rubric(path))


def test_a_practice_case_must_name_arguments_of_the_reference(tmp_path):
    """Arguments follow the reference's signature, in any order; an unknown name is refused."""
    prepare(load_rubric(tiny_rubric(tmp_path, practice=[{"d_head": 8, "d_model": 64}])))
    path = tiny_rubric(tmp_path, practice=[{"d_model": 64, "heads": 8}])
    with pytest.raises(RubricError, match="heads"):
        prepare(load_rubric(path))
