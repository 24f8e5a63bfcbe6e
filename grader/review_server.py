"""`grade review QUESTION --serve`: review one question's free text in the browser.

A small Flask app, served by waitress on 127.0.0.1 only, shows the question's criteria and
its answers by group (groups.py: identical answers first, then by meaning; a group's
outliers apart), each answer with its math rendered (KaTeX, bundled under static/), the
suggested points and their reasons. The TA scores with the keyboard (j/k to move, digits to
give points, g to give the same to the whole group, c to comment); each score goes straight
to the ledger (`Ledger.add_manual`, one transaction per action) under the reviewer's name
and the time, for the answer version shown (its hash), exactly as `grade review --import`
records a sheet: a manual score wins over the automatic one, and a changed answer is flagged
for re-review at the next grading run.

Who may talk to it:

- Only this machine: the server listens on 127.0.0.1, and a request whose Host is not a
  local name (127.0.0.1, localhost) is refused, so a web page cannot reach it through a
  DNS name that points here.
- Only who has the token: a random token is printed in the URL, as Jupyter does. Every
  request without it is refused with 403. The page's URL carries it as `?token=`; the reply
  sets it as an HttpOnly, SameSite=Strict cookie so that the page's own files (scripts,
  stylesheet, fonts) load (a GET may also carry it in the `X-Review-Token` header); every
  POST must carry it in that header (a cookie alone is not enough), have an `Origin` equal
  to the page's own (or, without one, `Sec-Fetch-Site: same-origin`), and be JSON.

What students wrote is shown as text, never as markup: the page escapes it, the script
reads it back as text and gives KaTeX only the math between delimiters (with `trust` off),
and the Content-Security-Policy runs scripts only from this origin (no inline script, no
inline event handler; styles and fonts from this origin too).
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import html
import math
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, jsonify, request

from .errors import GradeError
from .groups import EmbedFunction, Group
from .ledger import Ledger, ManualScore
from .review import criteria_of, find_question, group_rows, group_title, review_rows, reviewer_notes
from .rubric import Rubric
from .untrusted import clean_text

STATIC = Path(__file__).with_name("static")
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
LOCAL_NAMES = frozenset({"127.0.0.1", "localhost"})
TOKEN_HEADER = "X-Review-Token"
COMMENT_CHARS = 2_000
REVIEWER_CHARS = 100


@dataclass
class Review:
    """What one served page shows: the question, its rows (the latest run's results) and groups."""
    rubric: Rubric
    question: object
    out: Path
    reviewer: str
    rows: list[dict]
    groups: list[Group]

    def __post_init__(self) -> None:
        self.group_of = {m.index: g for g in self.groups for m in g.members}
        self.by_id = {g.id: g for g in self.groups}


def default_reviewer() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name: say so plainly
        raise GradeError("--serve needs --reviewer NAME here: no login name to record scores under") from None


def check_reviewer(name: str) -> str:
    name = clean_text(name).strip()
    if not name or len(name) > REVIEWER_CHARS or not name.isprintable():
        raise GradeError(f"--reviewer {name!r}: give a printable name of 1 to {REVIEWER_CHARS} characters")
    return name


def prepare_review(rubric: Rubric, out: Path, question_id: str, reviewer: str, share: tuple[int, int] = (1, 1),
                   embed: EmbedFunction | None = None, warn: Callable[[str], None] | None = None) -> Review:
    question = find_question(rubric, question_id)
    rows = review_rows(Ledger(out), out, question_id, share)
    return Review(rubric, question, out, check_reviewer(reviewer), rows, group_rows(rows, embed, warn))


# ---------------------------------------------------------------- the app

def create_app(review: Review, token: str) -> Flask:
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024
    cookie = "grade-review-" + hashlib.sha256(token.encode()).hexdigest()[:12]
    local = threading.local()  # one ledger connection per server thread; SQLite serialises the writers

    def ledger() -> Ledger:
        if getattr(local, "ledger", None) is None:
            local.ledger = Ledger(review.out)
        return local.ledger

    def is_token(value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(value.encode("utf-8", "replace"), token.encode())

    @app.before_request
    def guard():
        if (request.host.rsplit(":", 1)[0] if request.host.count(":") == 1 else request.host) not in LOCAL_NAMES:
            return _refuse("this page answers local requests only (http://127.0.0.1:PORT/)")
        if request.method == "GET" or request.method == "HEAD":
            if not (is_token(request.args.get("token")) or is_token(request.cookies.get(cookie))
                    or is_token(request.headers.get(TOKEN_HEADER))):
                return _refuse("open the URL with the token that `grade review --serve` printed")
            return None
        if not is_token(request.headers.get(TOKEN_HEADER)):
            return _refuse(f"a POST needs the {TOKEN_HEADER} header")
        origin = request.headers.get("Origin")
        own = f"{request.scheme}://{request.host}"
        if origin is not None and origin != own:
            return _refuse("a POST must come from this page's own origin")
        if origin is None and request.headers.get("Sec-Fetch-Site") != "same-origin":
            return _refuse("a POST must say where it comes from (Origin header)")
        if not request.is_json:
            return _refuse("a POST must send JSON")
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        if response.status_code < 400 and is_token(request.args.get("token")):
            response.set_cookie(cookie, token, httponly=True, samesite="Strict", path="/")
        return response

    @app.get("/")
    def page():
        return Response(render_page(review, token, _state(review, ledger())), mimetype="text/html")

    @app.get("/api/state")
    def state():
        return jsonify(_state(review, ledger()))

    @app.post("/api/score")
    def score():
        data = request.get_json(silent=True)
        try:
            targets, points, comment = _parse_score(review, data)
        except ValueError as exc:
            return jsonify(error=str(exc)), 400
        ledger().add_manual([ManualScore(review.rows[i]["student"], review.rows[i]["question"],
                                         review.rows[i]["check_id"], points, comment, review.reviewer,
                                         review.rows[i]["answer_hash"]) for i in targets])
        current = _state(review, ledger())
        return jsonify(recorded=len(targets), answers=targets, scores=current["scores"],
                       reviewed=current["reviewed"], total=current["total"], changed=current["changed"])

    return app


def _refuse(why: str) -> Response:
    return Response(f"403 Forbidden: {why}.\n", status=403, mimetype="text/plain")


def _parse_score(review: Review, data) -> tuple[list[int], float, str]:
    """The answers a POST scores, its points and its comment; ValueError says what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("send a JSON object")
    points = data.get("points")
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not math.isfinite(_float(points)):
        raise ValueError("points must be a number")
    comment = data.get("comment", "")
    if not isinstance(comment, str) or len(comment) > COMMENT_CHARS:
        raise ValueError(f"comment must be text of at most {COMMENT_CHARS} characters")
    if "group" in data:
        number = data["group"]
        group = review.by_id.get(number) if isinstance(number, int) and not isinstance(number, bool) else None
        if group is None:
            raise ValueError("no such group")
        members = group.members if data.get("outliers") is True else group.typical
        targets = [m.index for m in members]
    else:
        answers = data.get("answers")
        if (not isinstance(answers, list) or not answers
                or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(review.rows) for i in answers)):
            raise ValueError("answers must be a list of answer numbers on this page")
        targets = list(dict.fromkeys(answers))
    for i in targets:
        top = review.rows[i]["max_points"]
        if not 0 <= points <= top:
            raise ValueError(f"points {points:g} are outside 0..{top:g} for {review.rows[i]['student']}")
    return targets, float(points), clean_text(comment).strip()


def _float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer too large for a float
        return math.inf


def _state(review: Review, ledger: Ledger) -> dict:
    """The latest manual score of each answer on the page (`current`: given for the answer
    shown), how many are reviewed, and whether a grading run has changed answers since."""
    manual = ledger.manual_scores()
    scores = {}
    for i, row in enumerate(review.rows):
        found = manual.get((row["student"], row["question"], row["check_id"]))
        if found is not None:
            scores[str(i)] = {"points": found.points, "comment": found.comment, "reviewer": found.reviewer,
                              "at": found.at, "current": found.answer_hash == row["answer_hash"]}
    now = {(r["student"], r["check_id"]): r["answer_hash"]
           for r in ledger.latest_results(review.question.id)}  # type: ignore[attr-defined]
    changed = [i for i, r in enumerate(review.rows) if now.get((r["student"], r["check_id"])) != r["answer_hash"]]
    return {"scores": scores, "reviewed": sum(1 for s in scores.values() if s["current"]),
            "total": len(review.rows), "changed": changed}


# ---------------------------------------------------------------- the page

HELP = ("j/k or arrows: next/previous answer · n/p: next/previous group · u: next unreviewed · "
        "0-9: give points (press . first for a half: . 1 = 1.5) · a: accept the suggestion · "
        "g: give the current answer's points and comment to its whole group (not to the answers shown apart) · "
        "c: comment · ?: this help")


def render_page(review: Review, token: str, state: dict) -> str:
    e = html.escape
    question = review.question
    criteria = "".join(
        f"<li><b>{points:g}</b> {e(description)}"
        + ("".join(f"<div class=example>e.g. <span class=tex>{e(x)}</span></div>" for x in examples)) + "</li>"
        for points, description, examples in criteria_of(question))
    blocks = []
    for group in review.groups:
        typical = "".join(_answer(review, m.index, group, state) for m in group.typical)
        apart = "".join(_answer(review, m.index, group, state) for m in group.outliers)
        blocks.append(
            f'<article class="group" id="g-{group.id}" data-group="{group.id}" data-kind="{group.kind}" '
            f'data-size="{group.size}"><h2>{e(group_title(group))}</h2>'
            + f'<ol class="answers">{typical}</ol>'
            + (f'<h3 class="apart">Shown apart: look at these one by one (g does not score them)</h3>'
               f'<ol class="answers outliers">{apart}</ol>' if apart else "")
            + "</article>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{POLICY}">
<meta name="referrer" content="no-referrer">
<meta name="review-token" content="{e(token)}">
<title>Review {e(question.id)}</title>
<link rel="stylesheet" href="/static/katex/katex.min.css">
<link rel="stylesheet" href="/static/review.css">
<script src="/static/katex/katex.min.js" defer></script>
<script src="/static/review.js" defer></script>
</head><body data-ready="no">
<header><h1>{e(review.rubric.title)}: {e(question.id)}. {e(question.title)}</h1>
<p class="who">Reviewer <b>{e(review.reviewer)}</b> · <span id="progress">{state["reviewed"]} of {state["total"]} reviewed</span>
· {len(review.rows)} answers in {len(review.groups)} groups</p>
<p class="keys" id="help">{e(HELP)}</p>
<p id="status" role="status" aria-live="polite"></p></header>
<main>
<section class="question"><div class="prompt tex">{e(question.prompt)}</div>
<h2>Criteria</h2><ul class="criteria">{criteria}</ul></section>
{"".join(blocks)}
</main>
<div id="commentbox" hidden><label for="comment">Comment on <span id="comment-who"></span>
(Enter saves, Esc cancels)</label><input id="comment" type="text" maxlength="{COMMENT_CHARS}" autocomplete="off"></div>
</body></html>
"""


def _answer(review: Review, i: int, group: Group, state: dict) -> str:
    e = html.escape
    row = review.rows[i]
    member = next(m for m in group.members if m.index == i)
    score = state["scores"].get(str(i))
    answer = row["answer"]
    repeated = group.kind == "identical" and group.members[0].index != i
    if answer is None or not answer.strip():
        text = '<div class="said none">(no answer)</div>'
    elif repeated:
        text = (f'<div class="said same">The same answer as {e(review.rows[group.members[0].index]["student"])} '
                f'(up to case and spacing).</div>')
    else:
        text = f'<div class="said tex">{e(answer)}</div>'
    attributes = (f'data-i="{i}" data-group="{group.id}" data-max="{row["max_points"]:g}" '
                  f'data-suggested="{row["auto_points"]:g}" data-student="{e(row["student"])}"'
                  + (' data-outlier="1"' if member.outlier else "")
                  + (f' data-points="{score["points"]:g}" data-given="{e(score["comment"])}"'
                     if score and score["current"] else ""))
    return (f'<li class="answer" id="a-{i}" tabindex="-1" {attributes}>'
            f'<div class="head"><b>{e(row["student"])}</b> <span class="check">{e(row["check_id"])}</span>'
            + (' <span class="badge">representative</span>' if group.kind == "similar" and i == group.representative else "")
            + (f' <span class="why">shown apart: {e(member.outlier)}</span>' if member.outlier else "")
            + f"</div>{text}"
            f'<div class="auto">Suggested <b>{row["auto_points"]:g}</b> of {row["max_points"]:g}. {e(reviewer_notes(row))}</div>'
            f'<div class="mine">{e(_score_line(score))}</div></li>')


def _score_line(score: dict | None) -> str:
    """The same words the script writes (review.js, scoreLine)."""
    if not score:
        return "Not reviewed yet."
    comment = f" “{score['comment']}”" if score["comment"] else ""
    if not score["current"]:
        return f"{score['reviewer']} gave {score['points']:g} to an earlier version of this answer: review it again."
    return f"{score['points']:g} points, by {score['reviewer']} at {score['at']}.{comment}"


# ---------------------------------------------------------------- serving

def make_server(app: Flask, port: int = 0, threads: int = 4):
    """A waitress server for `app` on 127.0.0.1 (port 0: any free one), not yet running."""
    from waitress.server import create_server

    try:
        return create_server(app, host="127.0.0.1", port=port, threads=threads, ident="grade review")
    except OSError as exc:
        raise GradeError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}); try another --port") from None


def serve(rubric: Rubric, out: Path, question_id: str, reviewer: str, *, port: int = 0, share: tuple[int, int] = (1, 1),
          echo: Callable[[str], None] = print, warn: Callable[[str], None] | None = None,
          embed: EmbedFunction | None = None) -> None:
    """Serve the review page of one question until Ctrl-C."""
    review = prepare_review(rubric, out, question_id, reviewer, share, embed, warn)
    token = secrets.token_hex(24)
    server = make_server(create_app(review, token), port)
    url = f"http://127.0.0.1:{server.effective_port}/?token={token}"
    echo(f"Reviewing question {question_id} as {review.reviewer}: {len(review.rows)} answers in "
         f"{len(review.groups)} groups. Every score goes straight to {review.out / 'grade.db'}.\n"
         f"Open this URL in a browser on this machine (it holds the access token):\n\n    {url}\n\n"
         "Press Ctrl-C to stop.")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    echo("Stopped. Grade again (nothing is run again) to put the scores in the gradebook.")
