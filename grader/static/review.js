// The review page of `grade review QUESTION --serve`: math rendering and keyboard scoring.
//
// Students' text reaches this script only as text (textContent): it is never parsed as HTML.
// KaTeX gets only what stands between math delimiters, with `trust` off. Scores go to the
// server as JSON with the page's token in a header; the server writes them to the ledger.
"use strict";

(function () {
  const body = document.body;
  const token = document.querySelector('meta[name="review-token"]').content;
  const answers = Array.from(document.querySelectorAll("li.answer"));
  const status = document.getElementById("status");
  const progress = document.getElementById("progress");
  const help = document.getElementById("help");
  const box = document.getElementById("commentbox");
  const input = document.getElementById("comment");
  let current = -1;
  let half = false;
  let saves = 0;
  let violations = 0;
  let knownChanges = 0;

  document.addEventListener("securitypolicyviolation", function () {
    violations += 1;
    body.dataset.cspViolations = String(violations);
  });

  // ------------------------------------------------------------ math

  // $$...$$, \[...\], \(...\), and $...$ (no line break inside, no space just inside the
  // dollars, no digit right after the closing one: "$5 and $10" stays text).
  const MATH = /\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|\\\(([\s\S]+?)\\\)|\$(?=\S)((?:\\\$|[^$\n])+?)(?<=\S)\$(?!\d)/g;
  const MAX_TEX = 2000;
  const MAX_PIECES = 200;

  function renderMath(element) {
    const text = element.textContent;
    if (!window.katex || text.indexOf("$") < 0 && text.indexOf("\\") < 0) return 0;
    const parts = document.createDocumentFragment();
    let last = 0;
    let count = 0;
    let match;
    MATH.lastIndex = 0;
    while ((match = MATH.exec(text)) !== null && count < MAX_PIECES) {
      const tex = match[1] || match[2] || match[3] || match[4] || "";
      if (tex.length > MAX_TEX) continue;
      parts.appendChild(document.createTextNode(text.slice(last, match.index)));
      const span = document.createElement("span");
      span.className = "math";
      try {
        window.katex.render(tex, span, {
          displayMode: match[1] !== undefined || match[2] !== undefined,
          throwOnError: false, trust: false, strict: "ignore", maxSize: 20, maxExpand: 200,
        });
      } catch (error) {
        span.textContent = match[0];
      }
      parts.appendChild(span);
      last = match.index + match[0].length;
      count += 1;
    }
    if (count === 0) return 0;
    parts.appendChild(document.createTextNode(text.slice(last)));
    element.textContent = "";
    element.appendChild(parts);
    return count;
  }

  let formulas = 0;
  document.querySelectorAll(".tex").forEach(function (element) { formulas += renderMath(element); });
  body.dataset.math = window.katex ? "katex" : "text";
  body.dataset.formulas = String(formulas);

  // ------------------------------------------------------------ scores shown

  function scoreLine(score) {  // the same words as review_server._score_line
    if (!score) return "Not reviewed yet.";
    const points = formatPoints(score.points);
    if (!score.current) {
      return score.reviewer + " gave " + points + " to an earlier version of this answer: review it again.";
    }
    const comment = score.comment ? " \u201c" + score.comment + "\u201d" : "";
    return points + " points, by " + score.reviewer + " at " + score.at + "." + comment;
  }

  function formatPoints(value) {
    return String(Math.round(value * 1000) / 1000);
  }

  function apply(state) {
    answers.forEach(function (element) {
      const score = state.scores[element.dataset.i];
      const line = element.querySelector(".mine");
      const text = scoreLine(score);
      if (line.textContent !== text) line.textContent = text;
      if (score && score.current) {
        element.dataset.points = formatPoints(score.points);
        element.dataset.given = score.comment;
      } else {
        delete element.dataset.points;
        delete element.dataset.given;
      }
    });
    const changed = state.changed || [];
    changed.forEach(function (i) {
      const element = document.getElementById("a-" + i);
      if (element) element.dataset.changed = "1";
    });
    if (changed.length !== knownChanges) {
      knownChanges = changed.length;
      say(changed.length + " answers changed in a later grading run: restart `grade review --serve` to see them.", "error");
    }
    progress.textContent = state.reviewed + " of " + state.total + " reviewed";
  }

  function say(text, kind) {
    status.textContent = text;
    status.className = kind || "";
  }

  function send(payload, what) {
    body.dataset.busy = "1";
    return fetch("/api/score", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Review-Token": token },
      body: JSON.stringify(payload),
      credentials: "same-origin",
      cache: "no-store",
    }).then(function (response) {
      return response.json().catch(function () { return { error: response.status + " " + response.statusText }; })
        .then(function (reply) {
          if (!response.ok || reply.error) throw new Error(reply.error || String(response.status));
          apply(reply);
          saves += 1;
          body.dataset.saves = String(saves);
          say("Saved: " + what + ".", "ok");
          return reply;
        });
    }).catch(function (error) {
      say("Not saved: " + error.message, "error");
    }).finally(function () {
      delete body.dataset.busy;
    });
  }

  // ------------------------------------------------------------ moving

  function select(i) {
    if (!answers.length) return;
    i = Math.max(0, Math.min(answers.length - 1, i));
    if (current >= 0) answers[current].classList.remove("current");
    current = i;
    const element = answers[current];
    element.classList.add("current");
    element.focus({ preventScroll: true });
    element.scrollIntoView({ block: "nearest" });
    body.dataset.current = element.dataset.i;
  }

  function nextGroup(step) {
    if (current < 0) return select(0);
    const group = answers[current].dataset.group;
    let i = current;
    while (i >= 0 && i < answers.length && answers[i].dataset.group === group) i += step;
    if (step < 0 && i >= 0) {  // to the first answer of the previous group
      const previous = answers[i].dataset.group;
      while (i > 0 && answers[i - 1].dataset.group === previous) i -= 1;
    }
    select(i);
  }

  function nextUnreviewed() {
    for (let k = 1; k <= answers.length; k += 1) {
      const i = (Math.max(current, 0) + k) % answers.length;
      if (answers[i].dataset.points === undefined) return select(i);
    }
    say("Every answer on this page is reviewed.", "ok");
  }

  // ------------------------------------------------------------ scoring

  function pending(element) {
    return element.dataset.comment || "";
  }

  function give(points) {
    const element = answers[current];
    const top = Number(element.dataset.max);
    if (points > top) return say(formatPoints(points) + " is more than this answer is worth (" + element.dataset.max + ").", "error");
    const comment = pending(element) || currentComment(element);
    delete element.dataset.comment;
    return send({ answers: [Number(element.dataset.i)], points: points, comment: comment },
      formatPoints(points) + " points to " + element.dataset.student);
  }

  function currentComment(element) {  // a comment already given stays when only the points change
    return element.dataset.points !== undefined ? element.dataset.given || "" : "";
  }

  function giveGroup() {
    const element = answers[current];
    if (element.dataset.points === undefined) {
      return say("Give this answer its points first (a digit), then g gives the same to its group.", "error");
    }
    const group = Number(element.dataset.group);
    const points = Number(element.dataset.points);
    return send({ group: group, points: points, comment: currentComment(element) },
      formatPoints(points) + " points to group " + group);
  }

  function openComment() {
    const element = answers[current];
    document.getElementById("comment-who").textContent = element.dataset.student;
    input.value = pending(element) || currentComment(element);
    box.hidden = false;
    input.focus();
  }

  function closeComment(save) {
    const element = answers[current];
    box.hidden = true;
    element.focus({ preventScroll: true });
    if (!save) return;
    const comment = input.value.trim();
    if (element.dataset.points !== undefined) {
      send({ answers: [Number(element.dataset.i)], points: Number(element.dataset.points), comment: comment },
        "comment on " + element.dataset.student);
    } else {
      element.dataset.comment = comment;
      say("The comment is kept: it is saved with the points you give next.");
    }
  }

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); closeComment(true); }
    if (event.key === "Escape") { event.preventDefault(); closeComment(false); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.target === input || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    if (current < 0) return;
    let handled = true;
    if (key === "j" || key === "ArrowDown") select(current + 1);
    else if (key === "k" || key === "ArrowUp") select(current - 1);
    else if (key === "n" || key === "J") nextGroup(1);
    else if (key === "p" || key === "K") nextGroup(-1);
    else if (key === "u") nextUnreviewed();
    else if (key === ".") { half = true; say("Half a point more: now a digit (. 1 = 1.5)."); }
    else if (/^[0-9]$/.test(key)) { const points = Number(key) + (half ? 0.5 : 0); half = false; give(points); }
    else if (key === "a") give(Number(answers[current].dataset.suggested));
    else if (key === "g") giveGroup();
    else if (key === "c") openComment();
    else if (key === "?") help.hidden = !help.hidden;
    else handled = false;
    if (handled) event.preventDefault();
  });

  answers.forEach(function (element, i) {
    element.addEventListener("click", function () { select(i); });
  });

  // Other reviewers' scores appear as they are given.
  function poll() {
    fetch("/api/state", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) { if (state) apply(state); })
      .catch(function () { say("The review server does not answer: is it still running?", "error"); });
  }
  window.setInterval(poll, 5000);

  if (answers.length) select(0);
  body.dataset.ready = "yes";
})();
