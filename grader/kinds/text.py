"""Text checks (`kind: text`): a free-text answer, read by a person.

The answer comes from the notebook cell tagged `answer:<question>`, else from the string the
check names (`ANSWER_<QUESTION>`), asked of the student's process (`requests`). `judge` only
suggests points: each criterion whose patterns occur in the answer (the `regex` engine, with
a time limit per search and a budget per submission) is met; the result is marked for
review and a reviewer's points win.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import replace
from typing import Any

import numpy as np
import regex

from ..checks import SEARCH_SECONDS, CheckResult, result
from ..compare import kind as _kind
from ..reference import Plan
from ..rubric import TEXT_FLAGS, Question, TextCheck
from ..runner import Reply, Request, RunReport
from ..untrusted import ANSWER_CHARS, clean_text

TEXT_PLACEHOLDER = "YOUR ANSWER HERE"  # what the released template's answer cells hold

PLANS = None  # nothing is planned for a text check


def prepare(plan: Plan, question: Question, check: TextCheck, where: str, student: str | None = None) -> None:
    """Nothing to ask the reference: the criteria are the rubric's."""


def requests(plan: Plan, key: str, question: Question, check: TextCheck, submission) -> list[Request]:
    """The answer string, unless a tagged cell holds the answer."""
    return [] if question.id in submission.answers else [Request(key, "get", question.answer_name(check))]


def judge(plan: Plan, key: str, question: Question, check: TextCheck, report: RunReport, submission,
          budget: MatchBudget) -> CheckResult:
    answer, source = _text_answer(question, check, submission, report.replies.get(key))
    return judge_text(question, check, answer, source, max_chars=plan.rubric.limits.answer_chars, budget=budget)


def _text_answer(question, check, submission, reply: Reply | None):
    if question.id in submission.answers:
        return submission.answers[question.id], f"the cell tagged {question.answer_tag}"
    name = question.answer_name(check)
    if reply is None or reply.status != "ok":
        return None, name
    return reply.value, f"`{name}`"


def judge_text(question: Question, check: TextCheck, answer: Any, source: str, *,
               max_chars: int = ANSWER_CHARS, budget: MatchBudget | None = None) -> CheckResult:
    """Suggested points from the criteria met. An answer longer than `max_chars` is cut
    (and the feedback says so); each pattern searches under a time limit drawn from
    `budget` (one per submission; a fresh one if none is given): a search that runs out of
    time counts as not matched and the criterion is flagged for the reviewer."""
    if answer is None:
        return result(question, check, "missing",
                      f"No answer found: write it in a markdown cell tagged `{question.answer_tag}` "
                      f"or a string `{question.answer_name(check)}`.")
    if type(answer) is np.str_:  # numpy scalars count as their Python kind
        answer = str(answer)
    if type(answer) is not str:
        return result(question, check, "failed", f"{source} should be a string, not {_kind(answer)}.")
    cut = len(answer) > max_chars
    answer = clean_text(answer[:max_chars])
    note = f" The answer was truncated at {max_chars:,} characters; only that part was read." if cut else ""
    if not answer.strip() or answer.strip() == TEXT_PLACEHOLDER:
        return result(question, check, "missing", f"{source} is not answered yet.")
    if len(answer.split()) < check.min_words:
        return replace(result(question, check, "needs_review", "The answer is too short to suggest points; "
                              "a reviewer will read it." + note), answer=answer)
    budget = budget if budget is not None else MatchBudget()
    met, missed, unchecked, points = [], [], [], 0.0
    for criterion in check.criteria:
        found = [_search_text(pattern, answer, budget) for pattern in criterion.any]
        if True in found:
            met.append(criterion.description)
            points += criterion.points
        elif None in found:
            unchecked.append(criterion.description)
        else:
            missed.append(criterion.description)
    feedback = f"Suggested {points:g}/{check.points:g}, to be confirmed by a reviewer."
    if met:
        feedback += f" Covers: {'; '.join(met)}."
    if missed:
        feedback += f" Not found: {'; '.join(missed)}."
    if unchecked:
        feedback += (f" Not checked (matching took too long; the reviewer decides): {'; '.join(unchecked)}.")
    return CheckResult(question.id, check.id, check.kind, check.points, points, "needs_review", feedback + note,
                       check.visibility, answer=answer)



MATCH_SECONDS = 0.5  # all pattern searches of one submission's answers together


class MatchBudget:
    """The time left for matching one submission's free-text answers against the criteria.

    Patterns such as `adapter.*lora` take time quadratic in the answer's length on some
    texts; the answer is capped and every search has a time limit, and all searches of a
    submission together have this budget, so no answer costs the grader more than a moment."""

    def __init__(self, seconds: float = MATCH_SECONDS) -> None:
        self.left = seconds
        self.lock = threading.Lock()

    def spend(self, seconds: float) -> None:
        with self.lock:
            self.left -= seconds


@functools.lru_cache(maxsize=4096)
def text_pattern(pattern: str) -> regex.Pattern:
    """A criterion's pattern as the grader runs it (compiled once)."""
    return regex.compile(pattern, TEXT_FLAGS)


def _search_text(pattern: str, answer: str, budget: MatchBudget) -> bool | None:
    """Whether `pattern` occurs in `answer`; None when the search ran out of time."""
    limit = min(SEARCH_SECONDS, budget.left)
    if limit <= 0:
        return None
    started = time.perf_counter()
    try:
        return text_pattern(pattern).search(answer, timeout=limit) is not None
    except TimeoutError:
        return None
    finally:
        budget.spend(time.perf_counter() - started)

