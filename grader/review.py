"""Reviewing one question across all students: a sheet to fill in, and its import.

`write_sheets` writes `OUT/review/<qid>.csv` (for a spreadsheet) and `<qid>.html` (to read
the answers comfortably: the criteria, each answer, the suggested points and which concepts
were found). Both list the answers by group (`group_rows`, see groups.py): identical answers
first, then groups of similar meaning, each with its size; a group's outliers come last in
it, with why (`outlier`). TAs can take a share each (`--share 2/3`). They fill in `points` (and
`comment`) and `import_sheet` records them in the ledger under the reviewer's name, for the
answer version they saw (its hash is a column of the sheet). The sheet's string cells are
spreadsheet-safe (a leading `'` before what would be a formula); the import takes them back,
whether or not the spreadsheet program kept that quote.
"""

from __future__ import annotations

import csv
import html
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from .errors import GradeError
from .escaping import csp_meta, from_spreadsheet
from .gradebook import atomic_file, csv_writer, write_atomically
from .groups import EmbeddingUnavailable, EmbedFunction, Group, group_answers
from .ledger import Ledger, ManualScore
from .rubric import Rubric, TextCheck

SHEET_COLUMNS = ["student", "question", "check", "group", "group_size", "outlier", "max_points",
                 "suggested_points", "answer_hash", "points", "comment", "answer", "notes"]


def reviewer_notes(row: dict) -> str:
    """What a reviewer reads beside an answer: the feedback, how sure the suggestion is, and
    its flags ("reads like a keyword list", "fitted from 4 reviewed answers")."""
    notes = row.get("feedback") or ""
    if row.get("confidence") is not None:
        notes += f" Confidence {row['confidence']:.2f}."
    if row.get("flags"):
        notes += f" Flags: {row['flags']}."
    return notes.strip()


def find_question(rubric: Rubric, question_id: str):
    question = next((q for q in rubric.questions if q.id == question_id), None)
    if question is None:
        raise GradeError(f"no question {question_id!r} in {rubric.path}; use one of {', '.join(rubric.question_ids)}")
    return question


def review_rows(ledger: Ledger, out: Path, question_id: str, share: tuple[int, int] = (1, 1)) -> list[dict]:
    """The latest run's free-text results of one question (one share of the students)."""
    rows = [r for r in ledger.latest_results(question_id) if _in_share(r["student"], share)]
    if not rows:
        raise GradeError(f"no free-text answers of question {question_id} graded yet in {out}; run `grade` first")
    return rows


def group_rows(rows: list[dict], embed: EmbedFunction | None = None,
               warn: Callable[[str], None] | None = None) -> list[Group]:
    """The rows' answer groups in review order, per check (a member's `index` is its row's
    position in `rows`; group ids run on across checks). If the embedding cannot be had,
    `warn` is told and only identical answers are grouped."""
    checks = list(dict.fromkeys(r["check_id"] for r in rows))
    groups: list[Group] = []
    identical_only = False
    for check in checks:
        positions = [i for i, r in enumerate(rows) if r["check_id"] == check]
        texts = [rows[i]["answer"] for i in positions]
        points = [rows[i]["auto_points"] for i in positions]
        arguments = {"max_points": rows[positions[0]]["max_points"], "embed": embed}
        try:
            found = group_answers(texts, points, identical_only=identical_only, **arguments)
        except EmbeddingUnavailable as exc:
            if warn is not None:
                warn(f"answers are grouped by identical text only: the embedding model is not available ({exc})")
            identical_only = True
            found = group_answers(texts, points, identical_only=True, **arguments)
        offset = len(groups)
        for g in found:
            members = tuple(replace(m, index=positions[m.index]) for m in g.members)
            groups.append(replace(g, id=g.id + offset, members=members, representative=positions[g.representative],
                                  near=None if g.near is None else g.near + offset))
    return groups


def write_sheets(rubric: Rubric, ledger: Ledger, out: Path, question_id: str, share: tuple[int, int] = (1, 1),
                 embed: EmbedFunction | None = None, warn: Callable[[str], None] | None = None) -> list[Path]:
    question = find_question(rubric, question_id)
    found = review_rows(ledger, out, question_id, share)
    groups = group_rows(found, embed, warn)
    rows = []
    for g in groups:
        for m in g.members:
            rows.append(dict(found[m.index], group=g.id, group_size=g.size, outlier=m.outlier))
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
            writer.writerow([r["student"], r["question"], r["check_id"], r["group"], r["group_size"], r["outlier"],
                             f"{r['max_points']:g}", f"{r['auto_points']:g}", r["answer_hash"], r.get("points", ""), r.get("comment", ""),
                             r["answer"] or "", reviewer_notes(r)])
    write_atomically(html_path, _page(rubric, question, rows, groups))
    return [csv_path, html_path]


def _in_share(student: str, share: tuple[int, int]) -> bool:
    """A stable split of the students into N shares (the same on every run)."""
    part, parts = share
    return zlib.crc32(student.encode()) % parts == part - 1


def criteria_of(question) -> list[tuple[float, str, list[str]]]:
    """(points, description, examples) of each criterion of the question's text checks."""
    found = []
    for check in question.checks:
        if isinstance(check, TextCheck):
            criteria = getattr(check, "scored_criteria", None) or check.criteria
            found.extend((c.points, c.description, list(getattr(c, "examples", []) or [])) for c in criteria)
    return found


def group_title(group: Group) -> str:
    """One line about a group, e.g. "Group 2: 5 answers similar in meaning; suggested 1.5 (1 to 2)"."""
    what = {"identical": f"{group.size} identical answers", "similar": f"{group.size} answers similar in meaning",
            "single": "1 answer like no other", "empty": f"{group.size} without an answer"}[group.kind]
    line = f"Group {group.id}: {what}"
    if group.suggested is not None and group.spread is not None:
        low, high = group.spread
        line += f"; suggested {group.suggested:g}" + (f" (all {low:g})" if low == high else f" ({low:g} to {high:g})")
    if group.outliers:
        line += f"; {len(group.outliers)} shown apart"
    if group.near is not None:
        line += f"; nearest group: {group.near}"
    return line


def _page(rubric: Rubric, question, rows: list[dict], groups: list[Group]) -> str:
    criteria = "".join(f"<li><b>{points:g}</b> {html.escape(description)}</li>"
                       for points, description, _ in criteria_of(question))
    by_group: dict[int, list[dict]] = {}
    for r in rows:
        by_group.setdefault(r["group"], []).append(r)

    def answer(r: dict) -> str:
        return (f"<section><h3>{html.escape(r['student'])} <small>{html.escape(r['check_id'])}</small></h3>"
                + (f"<p class=outlier>Shown apart: {html.escape(r['outlier'])}.</p>" if r["outlier"] else "")
                + f"<blockquote>{html.escape(r['answer'] or '(no answer)')}</blockquote>"
                f"<p class=auto>Suggested {r['auto_points']:g} / {r['max_points']:g}. {html.escape(r['feedback'])}</p>"
                + (f"<p class=manual>Reviewed: {html.escape(str(r['points']))} points. {html.escape(r.get('comment', ''))}</p>"
                   if r.get("points") not in (None, "") else "")
                + "</section>")

    blocks = []
    for g in groups:
        members = by_group.get(g.id, [])
        typical = "".join(answer(r) for r in members if not r["outlier"])
        apart = "".join(answer(r) for r in members if r["outlier"])
        blocks.append(f"<article class=group id=group-{g.id}><h2>{html.escape(group_title(g))}</h2>{typical}"
                      + (f"<h3 class=apart>Shown apart from group {g.id}</h3>{apart}" if apart else "") + "</article>")
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8>{csp_meta()}<title>Review {html.escape(question.id)}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:52em;margin:2em auto;padding:0 1em}}
blockquote{{white-space:pre-wrap;background:#f6f6f6;margin:0;padding:.8em;border-left:4px solid #888}}
.auto{{color:#555}}.manual{{color:#060}}.outlier{{color:#a50}}section{{border-bottom:1px solid #ddd;padding:1em 0}}
article.group{{border:2px solid #ccd;border-radius:6px;padding:0 1em;margin:1.5em 0}}
article.group>h2{{font-size:1.1em;background:#eef;margin:0 -1em;padding:.5em 1em}}</style></head>
<body><h1>{html.escape(rubric.title)}</h1><h2>{html.escape(question.id)}. {html.escape(question.title)}</h2>
<p>{html.escape(question.prompt)}</p><h3>Criteria</h3><ul>{criteria}</ul>
<p>{len(rows)} answers in {len(groups)} groups (identical answers first, then by meaning). Enter points and
comments in the CSV sheet beside this page, then <code>grade review --import SHEET --reviewer NAME</code>, or
review in the browser with <code>grade review {html.escape(question.id)} --serve</code>.</p>{"".join(blocks)}</body></html>
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
