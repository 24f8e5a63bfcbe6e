"""Text checks (`kind: text`): a free-text answer, read by a person.

The answer comes from the notebook cell tagged `answer:<question>`, else from the string the
check names (`ANSWER_<QUESTION>`), asked of the student's process (`requests`). `judge` reads
the answer and leaves its points to be suggested once the whole class is graded (outcome
`to_suggest`; suggestions.py): the suggestion scores each criterion by meaning (semantic.py),
the rubric's patterns one signal among others (the `regex` engine, with a time limit per
search and a budget per submission), among the class's answers and fitted to the answers
reviewers scored. The result is marked for review and a reviewer's points win.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import regex

from .. import semantic
from ..checks import SEARCH_SECONDS, CheckResult, result
from ..compare import kind as _kind
from ..reference import Plan
from ..runner import Reply, Request, RunReport
from ..untrusted import ANSWER_CHARS, clean_text

if TYPE_CHECKING:  # the rubric's models are not built by `grade check`
    from ..rubric import Question, TextCheck

TEXT_PLACEHOLDER = "YOUR ANSWER HERE"  # what the released template's answer cells hold
TO_SUGGEST = "to_suggest"  # an answer read, its points suggested with the class's (never shown as such)

PLANS = None  # nothing is planned for a text check


def prepare(plan: Plan, question: Question, check: TextCheck, where: str, student: str | None = None) -> None:
    """Nothing to ask the reference: the criteria are the rubric's."""


def requests(plan: Plan, key: str, question: Question, check: TextCheck, submission) -> list[Request]:
    """The answer string, unless a tagged cell holds a filled-in answer."""
    return [] if filled(submission.answers.get(question.id)) else [Request(key, "get", question.answer_name(check))]


def filled(answer: Any) -> bool:
    """Whether an answer is given: a string that is neither empty nor the template's placeholder."""
    if type(answer) is np.str_:
        answer = str(answer)
    return type(answer) is str and answer.strip() not in ("", TEXT_PLACEHOLDER)


class AnswerSource(str):
    """Where a text answer was read from, as the feedback names it; `why`, when it is not the
    first place looked (the string, because the tagged cell is not filled in)."""

    why: str = ""


def judge(plan: Plan, key: str, question: Question, check: TextCheck, report: RunReport, submission,
          budget: MatchBudget) -> CheckResult:
    answer, source = _text_answer(question, check, submission, report.replies.get(key))
    return judge_text(question, check, answer, source, max_chars=plan.rubric.limits.answer_chars, budget=budget,
                      suggest=False)


def _text_answer(question, check, submission, reply: Reply | None):
    """The answer and where it was read from: the tagged cell when it is filled in; else the
    string `ANSWER_<QID>` when it is (the final grade and `grade check` read it the same way);
    else the cell as it is (empty or the placeholder: missing)."""
    cell = submission.answers.get(question.id)
    name = question.answer_name(check)
    string = reply.value if reply is not None and reply.status == "ok" else None
    if filled(cell):
        return cell, AnswerSource(f"the cell tagged {question.answer_tag}")
    if cell is not None and not filled(string):
        return cell, AnswerSource(f"the cell tagged {question.answer_tag}")
    source = AnswerSource(f"`{name}`")
    if cell is not None:
        source.why = f"the cell tagged {question.answer_tag} is not filled in"
    if reply is None or reply.status != "ok":
        return None, source
    return reply.value, source


def judge_text(question: Question, check: TextCheck, answer: Any, source: str, *,
               max_chars: int = ANSWER_CHARS, budget: MatchBudget | None = None, suggest: bool = True) -> CheckResult:
    """Suggested points from the criteria met, by meaning (semantic.py), the rubric's
    patterns one signal among others. An answer longer than `max_chars` is cut (and the
    feedback says so); each pattern searches under a time limit drawn from `budget` (one per
    submission; a fresh one if none is given): a search that runs out of time counts as not
    matched and the criterion is flagged for the reviewer. Without `suggest`, an answer to
    score is returned unscored (outcome TO_SUGGEST, its feedback the note on how it was read),
    for `suggest_answers` to score with the class's."""
    read = f" Read from {source}, since {source.why}." if getattr(source, "why", "") else ""
    if answer is None:
        return result(question, check, "missing",
                      f"No answer found: write it in a markdown cell tagged `{question.answer_tag}` "
                      f"or a string `{question.answer_name(check)}`.")
    if type(answer) is np.str_:  # numpy scalars count as their Python kind
        answer = str(answer)
    if type(answer) is not str:
        return result(question, check, "failed", f"{source} should be a string, not {_kind(answer)}.{read}")
    cut = len(answer) > max_chars
    answer = clean_text(answer[:max_chars])
    note = read + (f" The answer was truncated at {max_chars:,} characters; only that part was read." if cut else "")
    if not filled(answer):
        return result(question, check, "missing", f"{source} is not answered yet.")
    if len(answer.split()) < check.min_words:
        return replace(result(question, check, "needs_review", "The answer is too short to suggest points; "
                              "a reviewer will read it." + note), answer=answer)
    if not suggest:
        return replace(result(question, check, TO_SUGGEST, note), answer=answer)
    [(suggestion, unchecked)] = suggest_answers(question, check, [answer], [budget if budget is not None else MatchBudget()])
    return suggested(question, check, answer, suggestion, unchecked, note)


def suggest_answers(question: Question, check: TextCheck, answers: list[str], budgets: list[MatchBudget], *,
                    cohort: list[str] = (), reviewed: list[semantic.Labelled] = ()
                    ) -> list[tuple[semantic.Suggestion, list[str]]]:
    """Suggestions for answers to one check, in one batch, each with the criteria its
    patterns could not check in time: placed among the class's answers (`cohort`) and
    fitted to the answers reviewers scored (`reviewed`), as semantic.py does. `budgets`:
    each answer's submission's budget for pattern searches."""
    criteria = check.scored_criteria
    hits = [[_pattern_hit(criterion.any, answer, budget) for criterion in criteria]
            for answer, budget in zip(answers, budgets)]
    suggestions = semantic.suggest_many(answers, [criterion_specs(check, own) for own in hits], check.points,
                                        model_answers=tuple(check.model_answer), reviewed=reviewed,
                                        rubric_text=rubric_text(question, check), cohort=cohort)
    return [(suggestion, [c.description for c, hit in zip(criteria, own) if c.any and hit is None])
            for suggestion, own in zip(suggestions, hits)]


def _pattern_hit(patterns: list[str], answer: str, budget: MatchBudget) -> bool | None:
    """Whether one of a criterion's patterns occurs in the answer; None when it has none, or
    when the searches ran out of time without finding one."""
    if not patterns:
        return None
    unknown = False
    for pattern in patterns:  # the first one found settles it
        found = _search_text(pattern, answer, budget)
        if found:
            return True
        unknown = unknown or found is None
    return None if unknown else False


def criterion_specs(check: TextCheck, hits: list[bool | None] | None = None) -> list[semantic.CriterionSpec]:
    criteria = check.scored_criteria
    hits = hits if hits is not None else [None] * len(criteria)
    return [semantic.CriterionSpec(c.points, c.description, tuple(c.examples), hit) for c, hit in zip(criteria, hits)]


def rubric_text(question: Question, check: TextCheck) -> str:
    """Everything the rubric says of the answer, to notice an answer that only repeats it."""
    parts = [question.prompt, *check.model_answer]
    for criterion in check.scored_criteria:
        parts += [criterion.description, *criterion.examples]
    return "\n".join(part for part in parts if part)


def suggested(question: Question, check: TextCheck, answer: str, suggestion: semantic.Suggestion,
              unchecked: list[str] = (), note: str = "", fitted: int = 0) -> CheckResult:
    """A text check's result from a suggestion: provisional points, what was found and not,
    for the student; the confidence and the flags, for the reviewer."""
    met = [description for description, fraction in suggestion.criteria if fraction >= 0.5]
    missed = [description for description, fraction in suggestion.criteria if fraction < 0.5
              and description not in unchecked]
    parts = []  # the points are shown beside this text (feedback pages, review sheets), so not here
    if met:
        parts.append(f"Covers: {'; '.join(met)}.")
    if missed:
        parts.append(f"Not found: {'; '.join(missed)}.")
    if unchecked:
        parts.append(f"Not checked (matching took too long; the reviewer decides): {'; '.join(unchecked)}.")
    feedback = " ".join(parts) or "No criterion could be checked; the reviewer decides."
    flags = list(suggestion.flags)
    if fitted:
        flags.append(f"fitted from {fitted} reviewed answer{'s' * (fitted != 1)}")
    return CheckResult(question.id, check.id, check.kind, check.points, suggestion.points, "needs_review",
                       feedback + note, check.visibility, answer=answer, confidence=round(suggestion.confidence, 4),
                       flags="; ".join(flags) or None)


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
    from ..rubric import TEXT_FLAGS

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

