"""`grade report`: one self-contained HTML page, checked in a real browser where there is one."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from collections import Counter

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import EXAMPLES
from grader.cli import cli, main
from grader.ledger import Ledger
from grader.report import item_analysis, load_latest


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("grades")
    main(submissions=EXAMPLES, out=out, jobs=2)
    result = CliRunner().invoke(cli, ["report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_report_is_one_self_contained_page(graded):
    page = (graded / "report.html").read_text()
    assert not re.search(r'(src|href)="(https?:)?//', page), "the report must open offline"
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert policy and "default-src 'none'" in policy.group(1) and "img-src data:" in policy.group(1)
    assert "'unsafe-inline'" not in policy.group(1).split("script-src")[-1], "scripts only by their hash"
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,', page)
    assert images == ["Distribution of total scores", "Points per question", "Grading time per submission"]
    for heading in ("Item analysis", "Submissions with errors or timeouts", "Runtime per submission",
                    "Free text awaiting review"):
        assert f"<h2>{heading}</h2>" in page
    assert "judy</td><td>timeout" in page and "leo</td><td>load_error" in page
    kept = [json.loads(p.read_text())["result"] for p in (graded / ".grade" / "results").glob("*.json")]
    # a kept result's free-text answers await the class's suggestions (outcome to_suggest) until shown
    waiting = sum(1 for s in kept for c in s["checks"]
                  if c["question"] == "1a" and c["outcome"] in ("needs_review", "to_suggest"))
    assert 0 < waiting < 15 and f"<td>1a</td><td>{waiting}</td><td>15</td>" in page


def test_item_analysis_counts_match_the_kept_results(graded, rubric):
    kept = [json.loads(p.read_text())["result"] for p in (graded / ".grade" / "results").glob("*.json")]
    checks = [c for student in kept for c in student["checks"]]
    passed = Counter((c["question"], c["check"]) for c in checks if c["outcome"] == "passed")
    mistakes = Counter((c["question"], c["check"], c["mistake"]) for c in checks if c["mistake"])
    points = Counter()
    for c in checks:  # free-text points are suggested with the class's answers: results.csv has them
        points[c["question"], c["check"]] += c["auto_points"]
    text = {(c["question"], c["check"]) for c in checks if c["kind"] == "text"}
    for row in csv.DictReader(open(graded / "results.csv", newline="")):
        if (row["question"], row["check"]) in text:
            points[row["question"], row["check"]] += float(row["auto_points"])

    ledger = Ledger(graded)
    results, students = load_latest(ledger)
    known = {(q.id, c.id): [m.id for m in getattr(c, "mistakes", [])] for q, c in rubric.checks()}
    items = item_analysis(results, known).set_index(["question", "check"])
    assert len(students) == len(kept) == 15
    for key, row in items.iterrows():
        assert row["students"] == 15
        assert row["pass_rate"] == pytest.approx(passed[key] / 15)
        assert row["mean_points"] == pytest.approx(points[key] / 15)
        for mistake, count in row["mistakes"].items():
            assert count == mistakes[(*key, mistake)]
    assert items.loc[("2e", "lora_fnn"), "mistakes"]["no_scaling"] == 1
    page = (graded / "report.html").read_text()
    assert "7% no_scaling" in page and "7% no_causal_mask" in page


def test_each_student_gets_html_feedback_beside_the_markdown(graded):
    results = pd.read_csv(graded / "gradebook.csv")
    for student in results["student"]:
        assert (graded / "feedback" / f"{student}.html").is_file()
        page = (graded / "feedback" / f"{student}.html").read_text()
        assert "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';" in page


def test_the_report_escapes_what_students_wrote(tmp_path):
    from grader.report import _errors_table

    results = pd.DataFrame([{"student": "<b>s</b>", "outcome": "error", "question": "3b", "check_id": "lm_head",
                             "feedback": '<img src="http://evil.example/x.png">'}])
    students = pd.DataFrame([{"student": "<b>s</b>", "status": "load_error", "problem": "<script>alert(1)</script>"}])
    table = _errors_table(results, students)
    assert "<img" not in table and "<script" not in table and "<b>" not in table and "&lt;img" in table


def test_report_needs_a_graded_folder(tmp_path):
    result = CliRunner().invoke(cli, ["report", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "run `grade SUBMISSIONS" in result.stderr


def test_the_report_renders_in_headless_chromium(graded, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed here (Debian package chromium; .ci/run installs it)")
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
         (graded / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120).stdout
    loaded = re.search(r'data-images-loaded="(\d+)"', dom)
    total = re.search(r'data-images="(\d+)"', dom)
    assert loaded and total, "the page's load handler did not run in the browser"
    assert int(loaded.group(1)) == int(total.group(1)) == 3, "an embedded plot did not decode"
    assert dom.count("<table") >= 4 and "Item analysis" in dom
