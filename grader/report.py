"""The instructor's report: how the class did, question by question, in one HTML file.

Built from the latest run in the ledger (with reviewers' scores applied): score distributions
per question and for the total (matplotlib, embedded as PNG data, so the file opens offline),
an item analysis per check (pass rate, mean points, how often each known mistake occurred),
submissions with errors or timeouts, the runtime per submission, and free text still awaiting
review. `item_analysis` is a pure function of the result rows, so it can be checked apart.
Every value shown is HTML-escaped, and the page's Content-Security-Policy loads nothing from
outside it: the plots are `data:` images, the one script is allowed by its hash.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import pandas as pd

from .checks import ERROR_OUTCOMES
from .errors import GradeError
from .escaping import csp_meta
from .gradebook import write_atomically
from .ledger import Ledger
from .record import regrade_command
from .rubric import Rubric
from .scoring import base_status

REVIEW_OUTCOMES = ("needs_review", "needs_rereview")


def load_latest(ledger: Ledger) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The latest run's results (with the effective points) and its students."""
    run = ledger.latest_run()
    if run is None:
        raise GradeError(f"{ledger.path.parent}: no grading run recorded yet; run `grade SUBMISSIONS` first")
    results = pd.DataFrame(ledger.rows("select * from results where run = ?", run[0]))
    students = pd.DataFrame(ledger.rows("select * from students where run = ?", run[0]))
    manual = ledger.manual_scores()
    points = []
    for row in results.itertuples():
        score = manual.get((row.student, row.question, row.check_id))
        points.append(score.points if score and score.answer_hash == row.answer_hash else row.auto_points)
    results["points"] = points
    return results, students


def item_analysis(results: pd.DataFrame, mistakes: dict[tuple[str, str], list[str]]) -> pd.DataFrame:
    """Per check: how many students, pass rate, mean points, and each known mistake's share."""
    rows = []
    for (question, check), group in results.groupby(["question", "check_id"], sort=False):
        count = len(group)
        row = {"question": question, "check": check, "kind": group["kind"].iloc[0], "students": count,
               "max_points": group["max_points"].iloc[0],
               "pass_rate": float((group["outcome"] == "passed").sum()) / count,
               "mean_points": float(group["points"].mean())}
        found = group["mistake"].value_counts()
        row["mistakes"] = {m: int(found.get(m, 0)) for m in mistakes.get((question, check), [])}
        rows.append(row)
    return pd.DataFrame(rows)


def write_report(rubric: Rubric, ledger: Ledger, path: Path) -> Path:
    results, students = load_latest(ledger)
    _check_fits(rubric, results, ledger.path.parent)
    mistakes = {(q.id, c.id): [m.id for m in getattr(c, "mistakes", [])] for q, c in rubric.checks()}
    order = {qid: i for i, qid in enumerate(rubric.question_ids)}
    results = results.sort_values("question", key=lambda s: s.map(order), kind="stable")
    items = item_analysis(results, mistakes)
    per_question = results.pivot_table(index="student", columns="question", values="points", aggfunc="sum")
    per_question = per_question.reindex(columns=[q for q in rubric.question_ids if q in per_question.columns])
    totals = per_question.sum(axis=1)
    sections = [
        _summary(rubric, totals, students),
        "<h2>Scores</h2>" + _image(_total_histogram(totals, rubric.max_total), "Distribution of total scores")
        + _image(_question_grid(per_question, rubric), "Points per question"),
        "<h2>Item analysis</h2>" + _items_table(items),
        "<h2>Submissions with errors or timeouts</h2>" + _errors_table(results, students),
        "<h2>Runtime per submission</h2>" + _image(_runtime_histogram(students), "Grading time per submission")
        + _slowest_table(students),
        "<h2>Free text awaiting review</h2>" + _review_table(results, rubric),
    ]
    write_atomically(path, _page(rubric.title, sections))
    return path


def _check_fits(rubric: Rubric, results: pd.DataFrame, out: Path) -> None:
    """The latest run has results, and they are the rubric's checks, no more and no fewer."""
    if results.empty:
        raise GradeError(f"{out}: the latest run graded no submission, so there is nothing to report; "
                         f"run {regrade_command(out)} on a folder with submissions")
    graded = set(zip(results["question"], results["check_id"]))
    known = {(q.id, c.id) for q, c in rubric.checks()}
    strangers, lacking = sorted(graded - known), sorted(known - graded)
    if strangers or lacking:
        question, check = (strangers or lacking)[0]
        which = "which the rubric lacks" if strangers else "which the run lacks"
        raise GradeError(f"{out} does not match the rubric {rubric.path} (check {check} of question {question}, "
                         f"{which}); pass the rubric it was graded with (--rubric), or grade again with this one")


# ---------------------------------------------------------------- pictures


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    _figure().close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _total_histogram(totals: pd.Series, max_total: float) -> str:
    plt = _figure()
    figure, axis = plt.subplots(figsize=(7, 3))
    axis.hist(totals, bins=min(20, max(5, int(max_total))), range=(0, max_total), color="#4477aa", edgecolor="white")
    axis.set_xlabel(f"total points (of {max_total:g})")
    axis.set_ylabel("students")
    return _png(figure)


def _question_grid(per_question: pd.DataFrame, rubric: Rubric) -> str:
    plt = _figure()
    maxima = {q.id: q.max_points for q in rubric.questions}
    columns = list(per_question.columns)
    width = 6
    rows = (len(columns) + width - 1) // width
    figure, axes = plt.subplots(rows, width, figsize=(12, 1.9 * rows), squeeze=False)
    for axis, question in zip(axes.ravel(), columns):
        values = per_question[question].round(2).value_counts().sort_index()
        axis.bar([f"{v:g}" for v in values.index], values.values, color="#66aa55")
        axis.set_title(f"{question} (of {maxima[question]:g})", fontsize=9)
        axis.tick_params(labelsize=7)
    for axis in axes.ravel()[len(columns):]:
        axis.axis("off")
    figure.tight_layout()
    return _png(figure)


def _runtime_histogram(students: pd.DataFrame) -> str:
    plt = _figure()
    figure, axis = plt.subplots(figsize=(7, 2.6))
    ran = students[students["seconds"] > 0]
    axis.hist(ran["seconds"], bins=20, color="#aa7744", edgecolor="white")
    axis.set_xlabel("seconds")
    axis.set_ylabel("submissions")
    return _png(figure)


# ---------------------------------------------------------------- tables


def _summary(rubric: Rubric, totals: pd.Series, students: pd.DataFrame) -> str:
    statuses = students["status"].map(base_status).value_counts()
    parts = ", ".join(f"{count} {html.escape(status)}" for status, count in statuses.items())
    return (f"<p>{len(students)} submissions ({parts}). Mean total {totals.mean():.1f}, median "
            f"{totals.median():.1f} of {rubric.max_total:g} points.</p>")


def _items_table(items: pd.DataFrame) -> str:
    body = []
    for row in items.itertuples():
        shares = ", ".join(f"{count / row.students:.0%} {html.escape(m)}" for m, count in row.mistakes.items() if count)
        passed = "reviewed by hand" if row.kind == "text" else f"{row.pass_rate:.0%}"
        body.append(f"<tr><td>{html.escape(row.question)}</td><td>{html.escape(row.check)}</td>"
                    f"<td>{html.escape(row.kind)}</td><td>{passed}</td>"
                    f"<td>{row.mean_points:.2f} / {row.max_points:g}</td><td>{shares}</td></tr>")
    return ("<table class=items><tr><th>question</th><th>check</th><th>kind</th><th>passed</th>"
            f"<th>mean points</th><th>known mistakes</th></tr>{''.join(body)}</table>")


def _errors_table(results: pd.DataFrame, students: pd.DataFrame) -> str:
    bad = results[results["outcome"].isin(sorted(ERROR_OUTCOMES))]
    problems = students[students["problem"] != ""]
    rows = [f"<tr><td>{html.escape(r.student)}</td><td>{html.escape(r.status)}</td><td>{html.escape(r.problem)}</td></tr>"
            for r in problems.itertuples()]
    rows += [f"<tr><td>{html.escape(r.student)}</td><td>{html.escape(r.outcome)}</td><td>{html.escape(r.question)} "
             f"{html.escape(r.check_id)}: {html.escape(r.feedback)}</td></tr>" for r in bad.itertuples()]
    if not rows:
        return "<p>None.</p>"
    return f"<table class=errors><tr><th>student</th><th>what</th><th>detail</th></tr>{''.join(rows)}</table>"


def _slowest_table(students: pd.DataFrame) -> str:
    slow = students.sort_values("seconds", ascending=False).head(10)
    rows = "".join(f"<tr><td>{html.escape(r.student)}</td><td>{r.seconds:.2f} s</td><td>{r.code_seconds:.2f} s</td></tr>"
                   for r in slow.itertuples())
    return f"<table class=runtime><tr><th>student</th><th>grading</th><th>student code</th></tr>{rows}</table>"


def _review_table(results: pd.DataFrame, rubric: Rubric) -> str:
    text = results[results["kind"] == "text"]
    rows = []
    for question, group in text.groupby("question", sort=False):
        waiting = int(group["outcome"].isin(REVIEW_OUTCOMES).sum())
        rows.append(f"<tr><td>{html.escape(question)}</td><td>{waiting}</td><td>{len(group)}</td>"
                    f"<td><code>grade review {html.escape(question)}</code></td></tr>")
    return ("<table class=review><tr><th>question</th><th>awaiting review</th><th>answers</th><th>to review</th></tr>"
            f"{''.join(rows)}</table>")


def _image(data: str, title: str) -> str:
    return f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{data}"><figcaption>{html.escape(title)}</figcaption></figure>'


# counts the plots that decoded, for a browser test; the page's only script, allowed by its hash
_SCRIPT = """window.addEventListener("load", () => {
  const images = [...document.images];
  document.body.dataset.imagesLoaded = images.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.images = images.length;
});"""


def _page(title: str, sections: list[str]) -> str:
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8>{csp_meta(_SCRIPT)}<title>Report: {html.escape(title)}</title>
<style>body{{font:15px/1.45 system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;margin:.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:left}}
th{{background:#eee}}img{{max-width:100%}}figure{{margin:1em 0}}</style></head>
<body><h1>{html.escape(title)}</h1>{''.join(sections)}
<script>{_SCRIPT}</script></body></html>
"""
