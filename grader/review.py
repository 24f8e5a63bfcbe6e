"""Reviewing one question across all students: a sheet to fill in, and its import.

`write_sheets` writes `OUT/review/<qid>.csv` (for a spreadsheet) and `<qid>.html` (to read
the answers comfortably: the criteria, each answer, the suggested points and which concepts
were found). TAs can take a share each (`--share 2/3`). They fill in `points` (and
`comment`) and `import_sheet` records them in the ledger under the reviewer's name, for the
answer version they saw (its hash is a column of the sheet). The sheet's string cells are
spreadsheet-safe (a leading `'` before what would be a formula); the import takes them back,
whether or not the spreadsheet program kept that quote.
"""

from __future__ import annotations

import csv
import html
import zlib
from pathlib import Path

from .errors import GradeError
from .escaping import csp_meta, from_spreadsheet
from .gradebook import atomic_file, csv_writer, write_atomically
from .ledger import Ledger, ManualScore
from .rubric import Rubric, TextCheck

SHEET_COLUMNS = ["student", "question", "check", "max_points", "suggested_points", "answer_hash",
                 "points", "comment", "answer", "notes"]


def write_sheets(rubric: Rubric, ledger: Ledger, out: Path, question_id: str, share: tuple[int, int] = (1, 1)) -> list[Path]:
    question = next((q for q in rubric.questions if q.id == question_id), None)
    if question is None:
        raise GradeError(f"no question {question_id!r} in {rubric.path}; use one of {', '.join(rubric.question_ids)}")
    rows = [r for r in ledger.latest_results(question_id) if _in_share(r["student"], share)]
    if not rows:
        raise GradeError(f"no free-text answers of question {question_id} graded yet in {out}; run `grade` first")
    manual = ledger.manual_scores()
    for row in rows:
        score = manual.get((row["student"], row["question"], row["check_id"]))
        if score and score.answer_hash == row["answer_hash"]:
            row["points"], row["comment"] = f"{score.points:g}", score.comment
    suffix = "" if share == (1, 1) else f"-{share[0]}-of-{share[1]}"
    csv_path = out / "review" / f"{question_id}{suffix}.csv"
    html_path = csv_path.with_suffix(".html")
    with atomic_file(csv_path) as stream:
        writer = csv_writer(stream)
        writer.writerow(SHEET_COLUMNS)
        for r in rows:
            writer.writerow([r["student"], r["question"], r["check_id"], f"{r['max_points']:g}",
                             f"{r['auto_points']:g}", r["answer_hash"], r.get("points", ""), r.get("comment", ""),
                             r["answer"] or "", r["feedback"]])
    write_atomically(html_path, _page(rubric, question, rows))
    return [csv_path, html_path]


def _in_share(student: str, share: tuple[int, int]) -> bool:
    """A stable split of the students into N shares (the same on every run)."""
    part, parts = share
    return zlib.crc32(student.encode()) % parts == part - 1


def _page(rubric: Rubric, question, rows: list[dict]) -> str:
    criteria = "".join(f"<li><b>{c.points:g}</b> {html.escape(c.description)}</li>"
                       for check in question.checks if isinstance(check, TextCheck) for c in check.criteria)
    answers = "".join(
        f"<section><h3>{html.escape(r['student'])} <small>{html.escape(r['check_id'])}</small></h3>"
        f"<blockquote>{html.escape(r['answer'] or '(no answer)')}</blockquote>"
        f"<p class=auto>Suggested {r['auto_points']:g} / {r['max_points']:g}. {html.escape(r['feedback'])}</p>"
        + (f"<p class=manual>Reviewed: {html.escape(str(r['points']))} points. {html.escape(r.get('comment', ''))}</p>"
           if r.get("points") not in (None, "") else "")
        + "</section>" for r in rows)
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8>{csp_meta()}<title>Review {html.escape(question.id)}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:52em;margin:2em auto;padding:0 1em}}
blockquote{{white-space:pre-wrap;background:#f6f6f6;margin:0;padding:.8em;border-left:4px solid #888}}
.auto{{color:#555}}.manual{{color:#060}}section{{border-bottom:1px solid #ddd;padding:1em 0}}</style></head>
<body><h1>{html.escape(rubric.title)}</h1><h2>{html.escape(question.id)}. {html.escape(question.title)}</h2>
<p>{html.escape(question.prompt)}</p><h3>Criteria</h3><ul>{criteria}</ul>
<p>{len(rows)} answers. Enter points and comments in the CSV sheet beside this page, then
<code>grade review --import SHEET --reviewer NAME</code>.</p>{answers}</body></html>
"""


def import_sheet(rubric: Rubric, ledger: Ledger, sheet: Path, reviewer: str) -> int:
    """Record the sheet's filled-in points; refuse the whole sheet on the first bad row."""
    maxima = {(q.id, c.id): c.points for q, c in rubric.checks()}
    try:
        with open(sheet, newline="", encoding="utf-8") as handle:
            rows = [{key: from_spreadsheet(value) for key, value in row.items()} for row in csv.DictReader(handle)]
    except OSError as exc:
        raise GradeError(f"{sheet}: cannot read the review sheet ({exc.strerror or exc})") from None
    if rows and not {"student", "question", "check", "points", "answer_hash"} <= set(rows[0]):
        raise GradeError(f"{sheet}: not a review sheet (it needs the columns of `grade review QUESTION`)")
    scores = []
    for line, row in enumerate(rows, start=2):
        if not (row.get("points") or "").strip():
            continue
        key = (row["question"], row["check"])
        if key not in maxima:
            raise GradeError(f"{sheet}, line {line}: no check {row['check']!r} in question {row['question']!r}")
        try:
            points = float(row["points"])
        except ValueError:
            raise GradeError(f"{sheet}, line {line}: points {row['points']!r} is not a number") from None
        if not 0 <= points <= maxima[key]:
            raise GradeError(f"{sheet}, line {line}: points {points:g} are outside 0..{maxima[key]:g}")
        scores.append(ManualScore(row["student"], row["question"], row["check"], points,
                                  (row.get("comment") or "").strip(), reviewer, row["answer_hash"]))
    ledger.add_manual(scores)
    return len(scores)
