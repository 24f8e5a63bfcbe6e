"""Gradescope: the autograder's results.json, per its specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/, source:
github.com/gradescope/autograder_samples docs/specs.md).

`results_document` is what `run_autograder` writes to /autograder/results/results.json (see
grader/gradescope_autograder.py); `grade export --format gradescope` writes the same document
per student (`gradescope/<student>/results.json`) for the record: Gradescope takes results only
from an autograder run, which identifies the student through submission_metadata.json.

Top level: `score` (the total; the tests add up to it), `output` (the one-line summary),
`output_format` and `test_output_format` `md` (what a student wrote reaches them escaped for
Markdown, as in the feedback pages: no link, image, HTML or forged heading), `test_name_format`
`text`, `visibility` (`after_published` while any free-text points are suggestions no reviewer
has confirmed, so students do not see them before you publish; else `visible`),
`stdout_visibility` `hidden`, and `tests`, one per row of results.csv in sheet order:
`name` ("2e lora_fnn"), `score`, `max_score`, `status` (`passed` at full points, else
`failed`), `output` (the feedback) and `visibility`: `after_published` for the rubric's hidden
checks and for suggested free-text points, else `visible`. A late submission gets a test
`late penalty` with the negative points and `max_score` 0, so that the tests add up to `score`.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..escaping import markdown_text
from ..gradebook import write_atomically
from .common import (UNGRADED, Course, Graded, Options, coverage, left_out, number, pending_reviews, penalty,
                     summary, to_float)

FOLDER = "gradescope"
OUTPUT_LIMIT = 2000  # characters of one test's output


def results_document(graded: Graded, student: str) -> dict:
    row = graded.row(student)
    hidden = {(q.id, c.id) for q, c in graded.rubric.checks() if c.visibility == "hidden"}
    results = graded.results
    mine = results[results["student"] == student]
    waiting = pending_reviews(mine)
    tests = []
    for (_, r), pending in zip(mine.iterrows(), waiting):
        score, most = to_float(r["points"]), to_float(r["max_points"])
        later = pending or (r["question"], r["check"]) in hidden
        tests.append({"name": f"{r['question']} {r['check']}", "score": score, "max_score": most,
                      "status": "passed" if score >= most - 1e-9 else "failed",
                      "output": markdown_text(r["feedback"], OUTPUT_LIMIT),
                      "visibility": "after_published" if later else "visible"})
    late = penalty(row)
    if late:
        tests.append({"name": "late penalty", "score": -late, "max_score": 0.0, "status": "failed",
                      "output": markdown_text(f"Handed in {to_float(row.get('days_late', '0')):.2f} days late: "
                                              f"{number(late)} points off."),
                      "visibility": "visible"})
    return {"score": to_float(row["total"]), "output": markdown_text(summary(graded, student), OUTPUT_LIMIT),
            "output_format": "md", "test_output_format": "md", "test_name_format": "text",
            "visibility": "after_published" if bool(waiting.any()) else "visible",
            "stdout_visibility": "hidden", "tests": tests}


def write_results(path: Path, document: dict) -> None:
    write_atomically(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def write(graded: Graded, course: Course, to: Path, options: Options) -> tuple[list[Path], list[str]]:
    written, ungraded = [], []
    for student in graded.students:
        if not graded.gradable(student):
            ungraded.append(student)
            continue
        path = to / FOLDER / student / "results.json"
        write_results(path, results_document(graded, student))
        written.append(path)
    warnings = coverage(graded, course, f"{FOLDER}/")
    warnings += left_out(f"{FOLDER}/", course, ungraded, UNGRADED)
    return written, warnings
