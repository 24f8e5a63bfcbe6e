"""`grade review QUESTION --serve`: the review page's app (token, origin, scores into the ledger
with the same meaning as `--import`), two reviewers at once against a real waitress server,
and the page itself in headless chromium (math, hostile answers, the keyboard flow).

Chromium is driven over the DevTools protocol through a pipe (`--remote-debugging-pipe`:
file descriptors 3 and 4, messages separated by NUL bytes), so no websocket client is needed."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, ROOT
from test_groups import fake_embed

from grader.cli import cli, main
from grader.ledger import Ledger
from grader.record import rubric_for
from grader.review_server import create_app, make_server, prepare_review

TOKEN = "t0k3n-for-tests"
ANSWERS = {  # student -> their answer to 1a (the rest of the sheet is alice's)
    "ann": "Pre-training: the model first learns general language from raw unlabelled text.",
    "bob": "Pre-training: a first, generic stage on unlabelled raw text, before fine-tuning.",
    "cyd": "Pre-training: the generic first stage on raw text without labels; fine-tuning adapts it later.",
    "dan": "Pre-training~: it was trained before on things, somehow, that is all I remember.",
    "eve": "Raw text first, then labels for the task later on.",
    "fay": "raw  TEXT first,   then labels for the task later on.",
    "gus": ('</script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
            '<b>bold</b> first generic raw text {{7*7}} $\\frac{a}{b}$ and $\\href{javascript:window.__pwned=3}{click}$'),
    "hal": ("The LoRA update is $W = W_0 + \\frac{\\alpha}{r} B A$, summed as $$\\sum_i x_i$$ at a cost "
            "\\(O(r d)\\), first on raw text; prices like $5 and $10 stay text."),
    "ivy": "",
}


def _submission(answer: str) -> str:
    return (EXAMPLES / "alice.py").read_text() + f"\nANSWER_1A = {answer!r}\n"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("subs")
    for student, answer in ANSWERS.items():
        (folder / f"{student}.py").write_text(_submission(answer))
    out = tmp_path_factory.mktemp("grades")
    main(submissions=folder, out=out, jobs=2)
    return folder, out


@pytest.fixture
def course(graded, tmp_path):
    """A copy of the graded course of its own (each test writes scores to its own ledger)."""
    folder, out = graded
    shutil.copytree(folder, tmp_path / "subs")
    shutil.copytree(out, tmp_path / "grades")
    return tmp_path / "subs", tmp_path / "grades"


def make_review(out, reviewer="ann", question="1a"):
    rubric, _ = rubric_for(out)
    return prepare_review(rubric, out, question, reviewer, embed=fake_embed)


@pytest.fixture
def review(course):
    return make_review(course[1])


@pytest.fixture
def client(review):
    return create_app(review, TOKEN).test_client()


def post(client, payload, **headers):
    sent = {"X-Review-Token": TOKEN, "Origin": "http://localhost", **headers}
    return client.post("/api/score", json=payload, headers={k: v for k, v in sent.items() if v is not None})


def index_of(review, student):
    return next(i for i, r in enumerate(review.rows) if r["student"] == student)


def manual_rows(out):
    with sqlite3.connect(out / "grade.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("select * from manual order by id")]


def results_of(out, question="1a"):
    results = pd.read_csv(out / "results.csv", dtype={"question": str, "reviewer": str})
    return results[results["question"] == question].set_index("student")


# ---------------------------------------------------------------- groups on the page

def test_the_page_lists_the_answers_by_group(review, client):
    students = [[review.rows[i]["student"] for i in g.indices] for g in review.groups]
    kinds = [g.kind for g in review.groups]
    assert kinds[0] == "identical" and sorted(students[0]) == ["eve", "fay"]
    assert kinds[1] == "similar" and sorted(students[1][:3]) == ["ann", "bob", "cyd"]
    assert students[1][-1] == "dan" and review.groups[1].outliers[0].outlier.startswith("far in meaning")
    assert kinds[-1] == "empty" and students[-1] == ["ivy"]
    page = client.get(f"/?token={TOKEN}").get_data(as_text=True)
    assert "Group 1: 2 identical answers" in page and "Group 2: 4 answers similar in meaning" in page
    assert "Shown apart" in page and "a first, generic training stage before adaptation to tasks" in page
    assert page.index('data-student="eve"') < page.index('data-student="ann"') < page.index('data-student="dan"')


# ---------------------------------------------------------------- who may talk to it

def test_every_request_needs_the_token(client):
    for path in ("/", "/static/review.js", "/static/katex/katex.min.js", "/api/state", "/nothing"):
        assert client.get(path).status_code == 403, path
        assert client.get(f"{path}?token=wrong").status_code == 403, path
    page = client.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and "HttpOnly" in page.headers["Set-Cookie"] and "SameSite=Strict" in page.headers["Set-Cookie"]
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "default-src 'none'" in policy and "'unsafe-inline'" not in policy
    assert client.get("/static/review.js").status_code == 200  # the cookie the page set
    assert client.get("/static/katex/fonts/KaTeX_Main-Regular.woff2").status_code == 200
    assert client.get("/api/state").status_code == 200
    assert client.application.test_client().get("/api/state").status_code == 403  # a client without it


def test_only_local_host_names_are_served(client):
    assert client.get(f"/?token={TOKEN}", headers={"Host": "evil.example:8765"}).status_code == 403
    assert client.get(f"/?token={TOKEN}", headers={"Host": "127.0.0.1:8765"}).status_code == 200


def test_every_post_needs_the_token_header_a_same_origin_and_json(client, review):
    client.get(f"/?token={TOKEN}")  # the cookie alone does not do for a POST
    payload = {"answers": [0], "points": 1}
    assert post(client, payload, **{"X-Review-Token": None}).status_code == 403
    assert post(client, payload, **{"X-Review-Token": "wrong"}).status_code == 403
    assert post(client, payload, Origin="http://evil.example").status_code == 403
    assert post(client, payload, Origin="http://localhost:9999").status_code == 403
    assert post(client, payload, Origin=None).status_code == 403
    assert post(client, payload, Origin=None, **{"Sec-Fetch-Site": "same-origin"}).status_code == 200
    form = client.post("/api/score", data={"answers": "0", "points": "1"},
                       headers={"X-Review-Token": TOKEN, "Origin": "http://localhost"})
    assert form.status_code == 403
    assert post(client, payload).status_code == 200


def test_bad_scores_are_refused_with_the_reason(client, review):
    for payload, why in (({"answers": [0], "points": 3}, "outside 0..2"), ({"answers": [0], "points": True}, "number"),
                         ({"answers": [0], "points": "2"}, "number"), ({"answers": [0], "points": float("nan")}, "number"),
                         ({"answers": [0], "points": 10 ** 400}, "number"), ({"group": True, "points": 1}, "no such group"),
                         ({"answers": [999], "points": 1}, "answer numbers"), ({"answers": [], "points": 1}, "answer numbers"),
                         ({"group": 99, "points": 1}, "no such group"), ({"answers": [0], "points": 1, "comment": "x" * 2001}, "comment"),
                         ([1, 2], "JSON object")):
        reply = client.post("/api/score", data=json.dumps(payload), content_type="application/json",
                            headers={"X-Review-Token": TOKEN, "Origin": "http://localhost"})
        assert reply.status_code == 400 and why in reply.json["error"], (payload, reply.json)
    assert manual_rows(review.out) == []


# ---------------------------------------------------------------- scores into the ledger

def test_scoring_an_answer_writes_the_ledger_with_reviewer_and_time(client, review):
    ann = index_of(review, "ann")
    before = datetime.now(timezone.utc) - timedelta(seconds=2)
    reply = post(client, {"answers": [ann], "points": 1.5, "comment": "say why it is 'pre'"})
    assert reply.status_code == 200 and reply.json["recorded"] == 1
    [row] = manual_rows(review.out)
    assert (row["student"], row["question"], row["check_id"], row["points"], row["comment"], row["reviewer"]) == (
        "ann", "1a", "answer", 1.5, "say why it is 'pre'", "ann")
    assert row["answer_hash"] == review.rows[ann]["answer_hash"]
    assert before <= datetime.fromisoformat(row["at"]) <= datetime.now(timezone.utc) + timedelta(seconds=2)
    state = client.get(f"/api/state?token={TOKEN}").json
    assert state["scores"][str(ann)] == {"points": 1.5, "comment": "say why it is 'pre'", "reviewer": "ann",
                                         "at": row["at"], "current": True}
    assert state["reviewed"] == 1 and state["total"] == len(ANSWERS) and state["changed"] == []


def test_scoring_a_group_scores_its_typical_answers_in_one_transaction(client, review):
    similar = next(g for g in review.groups if g.kind == "similar")
    typical = sorted(review.rows[m.index]["student"] for m in similar.typical)
    assert {"ann", "bob", "cyd"} <= set(typical) and "dan" not in typical
    reply = post(client, {"group": similar.id, "points": 2, "comment": "fine"})
    assert reply.status_code == 200 and reply.json["recorded"] == len(typical)
    rows = manual_rows(review.out)
    assert sorted(r["student"] for r in rows) == typical  # dan is shown apart: not scored with the group
    assert {(r["points"], r["comment"], r["reviewer"]) for r in rows} == {(2.0, "fine", "ann")}
    assert post(client, {"group": similar.id, "points": 1, "outliers": True}).json["recorded"] == similar.size == 4
    identical = review.groups[0]
    assert post(client, {"group": identical.id, "points": 0.5}).json["recorded"] == 2
    assert client.get(f"/api/state?token={TOKEN}").json["reviewed"] == 6


def test_server_scores_mean_what_imported_ones_mean(course, client, review):
    """Manual beats automatic and survives regrades; the latest score counts, whether given on
    the page or imported from a sheet; a changed answer is flagged for re-review."""
    folder, out = course
    ann, bob = index_of(review, "ann"), index_of(review, "bob")
    assert post(client, {"answers": [ann, bob], "points": 0.5, "comment": "too vague"}).status_code == 200
    main(submissions=folder, out=out, jobs=2)
    rows = results_of(out)
    assert rows.loc["ann", "outcome"] == "reviewed" and rows.loc["ann", "manual_points"] == 0.5
    assert rows.loc["ann", "points"] == 0.5 and rows.loc["ann", "reviewer"] == "ann"
    assert "too vague" in rows.loc["ann", "feedback"]

    invoke = CliRunner().invoke
    assert invoke(cli, ["review", "1a", "--out", str(out)]).exit_code == 0
    sheet = out / "review" / "1a.csv"
    lines = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    assert lines.set_index("student").loc["ann", "points"] == "0.5"  # the page's score is on the next sheet
    lines.loc[lines["student"] == "ann", "points"] = "2"
    lines.to_csv(sheet, index=False)
    result = invoke(cli, ["review", "--import", str(sheet), "--reviewer", "bo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    main(submissions=folder, out=out, jobs=2)
    rows = results_of(out)
    assert (rows.loc["ann", "manual_points"], rows.loc["ann", "reviewer"]) == (2, "bo")  # the import came later
    # bob's row came on the sheet with the page's 0.5 filled in: importing it records it again, as bo's
    assert (rows.loc["bob", "manual_points"], rows.loc["bob", "reviewer"]) == (0.5, "bo")

    assert post(client, {"answers": [ann], "points": 1}).status_code == 200
    main(submissions=folder, out=out, jobs=2)
    assert (results_of(out).loc["ann", "manual_points"], results_of(out).loc["ann", "reviewer"]) == (1, "ann")

    (folder / "ann.py").write_text(_submission("Pre-training: a new answer, first stage on raw text."))
    main(submissions=folder, out=out, jobs=2)
    rows = results_of(out)
    assert rows.loc["ann", "outcome"] == "needs_rereview" and pd.isna(rows.loc["ann", "manual_points"])
    state = client.get(f"/api/state?token={TOKEN}").json  # the page made before the regrade says so
    assert state["changed"] == [ann]
    late = post(client, {"answers": [ann], "points": 2})  # scores the version it shows, as a sheet would
    assert late.status_code == 200 and late.json["changed"] == [ann]
    main(submissions=folder, out=out, jobs=2)
    assert results_of(out).loc["ann", "outcome"] == "needs_rereview"
    fresh = create_app(make_review(out), TOKEN).test_client()
    page = fresh.get(f"/?token={TOKEN}").get_data(as_text=True)
    assert "ann gave 2 to an earlier version of this answer: review it again." in page
    assert fresh.get(f"/api/state?token={TOKEN}").json["scores"][str(ann)]["current"] is False


# ---------------------------------------------------------------- two reviewers at once

class Running:
    """A review app served by waitress on a free port of 127.0.0.1, in a thread."""

    def __init__(self, app):
        self.server = make_server(app, 0)
        self.port = int(self.server.effective_port)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.server.close()
        for channel in list(self.server._map.values()):  # kept-alive connections keep waitress's loop going
            channel.close()
        self.server.task_dispatcher.shutdown()
        self.thread.join(5)


@pytest.fixture
def running():
    started = []

    def start(app):
        started.append(Running(app))
        return started[-1]

    yield start
    for server in started:
        server.close()


def http(server, path, payload=None, token=TOKEN, origin="same"):
    headers = {"X-Review-Token": token}
    if payload is not None:
        headers["Content-Type"] = "application/json"
        headers["Origin"] = server.url() if origin == "same" else origin
    request = urllib.request.Request(server.url(path), data=None if payload is None else json.dumps(payload).encode(),
                                     headers=headers, method="GET" if payload is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def test_two_reviewers_at_once_lose_nothing(course, running):
    _, out = course
    ann_review, bo_review = make_review(out, "ann"), make_review(out, "bo")
    servers = {"ann": running(create_app(ann_review, TOKEN)), "bo": running(create_app(bo_review, "other-token"))}
    assert http(servers["ann"], f"/api/state?token={TOKEN}")[0] == 200
    assert http(servers["bo"], f"/api/state?token={TOKEN}")[0] == 403  # each server its own token
    shared = index_of(ann_review, "ann")  # both score this one, again and again
    own = {"ann": index_of(ann_review, "bob"), "bo": index_of(ann_review, "cyd")}
    group = next(g for g in ann_review.groups if g.kind == "identical")
    rounds = 15
    start = threading.Barrier(4)
    replies: list[tuple[str, int]] = []

    def reviewer(name, token, which):
        server = servers[name]
        start.wait()
        for k in range(rounds):
            if which == "same":
                payload = {"answers": [shared], "points": (k % 5) / 2, "comment": f"{name} {k}"}
            elif k % 5 == 4:
                payload = {"group": group.id, "points": 1, "comment": f"{name} group {k}"}
            else:
                payload = {"answers": [own[name]], "points": (k % 3) / 2, "comment": f"{name} {k}"}
            replies.append((name, http(server, "/api/score", payload, token=token)[0]))

    threads = [threading.Thread(target=reviewer, args=(name, token, which))
               for name, token in (("ann", TOKEN), ("bo", "other-token")) for which in ("same", "own")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(replies) == 4 * rounds and {code for _, code in replies} == {200}
    rows = manual_rows(out)
    group_posts = 2 * (rounds // 5)
    assert len(rows) == 2 * rounds + 2 * (rounds - rounds // 5) + group_posts * group.size  # every score is kept
    for name in ("ann", "bo"):
        mine = [r for r in rows if r["reviewer"] == name]
        assert {r["comment"] for r in mine if r["student"] == "ann"} == {f"{name} {k}" for k in range(rounds)}
        last = [r for r in mine if r["student"] == ann_review.rows[own[name]]["student"]][-1]
        k = max(k for k in range(rounds) if k % 5 != 4)  # each reviewer's own last score is the one that counts
        assert last["comment"] == f"{name} {k}" and last["points"] == (k % 3) / 2
    for comment in {r["comment"] for r in rows if "group" in r["comment"]}:  # a group's scores: one transaction
        ids = [r["id"] for r in rows if r["comment"] == comment]
        assert len(ids) == group.size and ids == list(range(ids[0], ids[0] + group.size))
    latest = Ledger(out).manual_scores()[("ann", "1a", "answer")]
    newest = max((r for r in rows if r["student"] == "ann"), key=lambda r: r["id"])
    assert (latest.reviewer, latest.comment, latest.points) == (newest["reviewer"], newest["comment"], newest["points"])
    status, state = http(servers["bo"], "/api/state", token="other-token")
    assert status == 200 and state["scores"][str(shared)]["comment"] == newest["comment"]  # each sees the other's


def test_a_post_from_another_origin_is_refused_by_the_real_server(course, running):
    server = running(create_app(make_review(course[1]), TOKEN))
    assert http(server, "/api/score", {"answers": [0], "points": 1}, origin="http://evil.example")[0] == 403
    # another origin, though on this machine: the page was opened as 127.0.0.1
    assert http(server, "/api/score", {"answers": [0], "points": 1}, origin=f"http://localhost:{server.port}")[0] == 403
    assert http(server, "/api/score", {"answers": [0], "points": 1}, origin=f"http://127.0.0.1:{server.port + 1}")[0] == 403
    assert http(server, "/api/score", {"answers": [0], "points": 1})[0] == 200
    assert len(manual_rows(course[1])) == 1


def test_the_serve_command_prints_a_tokened_url_and_serves_it(course):
    _, out = course
    process = subprocess.Popen([sys.executable, "-m", "grader", "review", "1a", "--serve", "--reviewer", "ann",
                                "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "?token=" in line:
                break
        found = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]{48})", "".join(lines))
        assert found, "".join(lines)
        url = found.group(0)
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200 and b"Group 1:" in response.read()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url.split("?")[0], timeout=30)
        assert refused.value.code == 403
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0 and "Stopped." in process.stdout.read()


# ---------------------------------------------------------------- in the browser

KEYS = {".": ("Period", 190), "Enter": ("Enter", 13), "Escape": ("Escape", 27)}  # key: (code, key code)


class Chromium:
    """Headless chromium driven over the DevTools protocol through a pipe."""

    def __init__(self, browser: str, profile) -> None:
        reading, self._send = os.pipe()
        self._receive, writing = os.pipe()
        # the browser reads commands from fd 3 and writes replies to fd 4: bash puts the pipe ends
        # there, from numbers of 10 and up (so that putting one in place cannot close the other)
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (reading, writing)]
        for fd in (reading, writing):
            os.close(fd)
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{high[0]} 4>&{high[1]} {high[0]}<&- {high[1]}>&-', "bash", browser,
             "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=high)
        for fd in high:
            os.close(fd)
        self._number = 0
        self._replies: dict[int, dict] = {}
        self._ready = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def _read(self) -> None:
        buffer = b""
        while chunk := os.read(self._receive, 1 << 16):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    with self._ready:
                        self._replies[message["id"]] = message
                        self._ready.notify_all()

    def call(self, method: str, timeout: float = 30, in_page: bool = False, **params) -> dict:
        with self._ready:
            self._number += 1
            number = self._number
        message = {"id": number, "method": method, "params": params}
        if in_page:
            message["sessionId"] = self.session
        os.write(self._send, json.dumps(message).encode() + b"\0")
        with self._ready:
            if not self._ready.wait_for(lambda: number in self._replies, timeout):
                raise TimeoutError(f"chromium did not answer {method}")
            reply = self._replies.pop(number)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def evaluate(self, expression: str):
        reply = self.call("Runtime.evaluate", in_page=True, expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in reply:
            raise RuntimeError(reply["exceptionDetails"])
        return reply["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise TimeoutError(f"never true in the page: {expression}")

    def open(self, url: str) -> None:
        self.call("Page.navigate", in_page=True, url=url)
        self.wait_for("document.readyState === 'complete' && document.body && document.body.dataset.ready === 'yes'")

    def press(self, *keys: str) -> None:
        for key in keys:
            if key in KEYS:
                code, number = KEYS[key]
            elif key.isdigit():
                code, number = f"Digit{key}", ord(key)
            else:
                code, number = f"Key{key.upper()}", ord(key.upper())
            text = {"Enter": "\r", "Escape": ""}.get(key, key)
            self.call("Input.dispatchKeyEvent", in_page=True, type="keyDown", key=key, code=code,
                      windowsVirtualKeyCode=number, text=text)
            self.call("Input.dispatchKeyEvent", in_page=True, type="keyUp", key=key, code=code,
                      windowsVirtualKeyCode=number)

    def type(self, text: str) -> None:
        self.call("Input.insertText", in_page=True, text=text)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # it may be gone already
            self.call("Browser.close", timeout=5)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._send)
        os.close(self._receive)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed here (Debian package chromium; .ci/run installs it)")
    driver = Chromium(browser, tmp_path_factory.mktemp("profile"))
    yield driver
    driver.close()


def test_the_page_shows_hostile_answers_as_text_and_renders_math(course, running, chromium):
    review = make_review(course[1])
    server = running(create_app(review, TOKEN))
    chromium.open(server.url(f"/?token={TOKEN}"))
    page = chromium.evaluate("""(() => {
        const answer = s => document.querySelector(`li.answer[data-student="${s}"] .said`);
        return {
            pwned: window.__pwned === undefined ? null : window.__pwned,
            math: document.body.dataset.math, violations: document.body.dataset.cspViolations || null,
            gus: answer("gus").textContent,
            gusMarkup: answer("gus").querySelectorAll("script, img, b, a, iframe").length,
            gusFractions: answer("gus").querySelectorAll(".katex .mfrac").length,
            halKatex: answer("hal").querySelectorAll(".katex").length,
            halDisplay: answer("hal").querySelectorAll(".katex-display").length,
            halText: answer("hal").textContent,
            scripts: Array.from(document.scripts).map(s => s.src.replace(location.origin, "")),
            handlers: Array.from(document.querySelectorAll("*")).flatMap(e => Array.from(e.attributes))
                .filter(a => a.name.startsWith("on")).length,
            javascriptLinks: document.querySelectorAll('a[href^="javascript"]').length,
            criteria: document.querySelector(".criteria").textContent,
            groups: document.querySelectorAll("article.group").length,
            fonts: document.fonts.check("16px KaTeX_Main"),
        };
    })()""")
    assert page["pwned"] is None, "a student's script ran"
    assert page["violations"] is None, "the page broke its own Content-Security-Policy"
    assert page["gusMarkup"] == 0 and page["javascriptLinks"] == 0
    assert '</script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold</b>' in page["gus"]
    assert page["gusFractions"] == 1  # its $\frac{a}{b}$ is math, its HTML is text
    assert page["math"] == "katex" and page["halKatex"] == 3 and page["halDisplay"] == 1
    assert "prices like $5 and $10 stay text" in page["halText"]
    assert page["scripts"] == ["/static/katex/katex.min.js", "/static/review.js"]  # no inline script
    assert page["handlers"] == 0  # no inline event handler anywhere
    assert "unlabelled raw text" in page["criteria"] and page["groups"] == len(review.groups)
    chromium.wait_for("document.fonts.status === 'loaded'")
    assert chromium.evaluate("document.fonts.check('16px KaTeX_Main')")


def test_the_keyboard_flow_scores_answers_and_groups(course, running, chromium):
    review = make_review(course[1])
    server = running(create_app(review, TOKEN))
    chromium.open(server.url(f"/?token={TOKEN}"))
    order = chromium.evaluate("Array.from(document.querySelectorAll('li.answer')).map(e => e.dataset.student)")
    assert order[:2] in (["eve", "fay"], ["fay", "eve"]) and order[-1] == "ivy"
    first, second = order[0], order[1]
    saves = 0

    def saved():
        nonlocal saves
        saves += 1
        chromium.wait_for(f"document.body.dataset.saves === '{saves}'")

    def latest():
        return {(r["student"]): (r["points"], r["comment"], r["reviewer"]) for r in manual_rows(course[1])}

    chromium.press("2")  # the first answer is selected when the page opens
    saved()
    assert latest() == {first: (2.0, "", "ann")}
    chromium.press("j", ".", "1")  # the next one: 1.5
    saved()
    assert latest()[second] == (1.5, "", "ann")
    chromium.press("c")
    chromium.wait_for("!document.getElementById('commentbox').hidden")
    chromium.type("spell out the <labels>")
    chromium.press("Enter")
    saved()
    assert latest()[second] == (1.5, "spell out the <labels>", "ann")
    assert chromium.evaluate(f"document.querySelector('li.answer[data-student=\"{second}\"] .mine').textContent").endswith(
        "“spell out the <labels>”")
    chromium.press("n", "3")  # the next group; 3 is more than the question is worth
    chromium.wait_for("document.getElementById('status').className === 'error'")
    assert "more than this answer is worth" in chromium.evaluate("document.getElementById('status').textContent")
    current = chromium.evaluate("document.body.dataset.current")
    group = next(g for g in review.groups if current in {str(i) for i in g.indices})
    assert group.kind == "similar" and int(current) == group.members[0].index
    chromium.press("g")  # not scored yet: nothing to give to the group
    chromium.wait_for("document.getElementById('status').textContent.includes('first')")
    chromium.press("1")
    saved()
    chromium.press("g")
    saved()
    scored = latest()
    assert all(scored[review.rows[m.index]["student"]] == (1.0, "", "ann") for m in group.typical)
    assert all(review.rows[m.index]["student"] not in scored for m in group.outliers)
    chromium.press("u")  # the next answer without a score: the outlier of this group
    outlier = group.outliers[0].index
    chromium.wait_for(f"document.body.dataset.current === '{outlier}'")
    chromium.press("a")  # accept the suggestion
    saved()
    assert latest()[review.rows[outlier]["student"]][0] == review.rows[outlier]["auto_points"]
    chromium.press("k")
    chromium.wait_for(f"document.body.dataset.current !== '{outlier}'")
    progress = chromium.evaluate("document.getElementById('progress').textContent")
    assert progress == f"{len(latest())} of {len(ANSWERS)} reviewed"
