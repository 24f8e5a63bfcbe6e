"""Free-text points, suggested for the whole class at once once every submission is graded.

Judging reads each free-text answer and leaves its points to this step (outcome
`to_suggest`, kinds/text.py), since an answer's suggestion depends on the others: it is
placed among the class's answers to the same check and fitted to the answers reviewers
scored (semantic.py). `Suggestions` takes every student's unscored answers, scores each
check's answers in one batch, and fills them into a student's result when it is shown. A
student whose answer a reviewer scored keeps the suggestion the answer gets alone (fitting
it to the reviews would fit it to itself); the reviewer's points are shown anyway.

`digest` identifies what a check's suggestions depend on besides the answer itself (the
class's answers and the reviewed ones), so that outputs.py knows whose page may change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import replace

from . import semantic
from .copies import in_copies
from .kinds.text import TO_SUGGEST, MatchBudget, suggest_answers, suggested
from .scoring import StudentResult

Where = tuple[str, str]  # (question, check)
BATCH = 100  # answers suggested at once


def unscored(result: StudentResult) -> dict[Where, str]:
    """A result's answers that await a suggestion, per (question, check)."""
    return {(c.question, c.check): c.answer for c in result.checks if c.outcome == TO_SUGGEST and c.answer}


class Suggestions:
    """Every check's suggestions for the class. `answers`: per student, their unscored
    answers (`unscored`); `reviewed`: per check, the answers reviewers scored; `decided`:
    the (student, question, check) a reviewer scored; `enrolled`: the students whose answers
    make the class (with a roster: one person handing in under several ids is one student,
    the others are placed among the class but do not move it); None: everyone's."""

    def __init__(self, rubric, answers: Mapping[str, Mapping[Where, str]],
                 reviewed: Mapping[Where, list[semantic.Labelled]] | None = None,
                 decided: Collection[tuple[str, str, str]] = (), enrolled: Collection[str] | None = None) -> None:
        self.reviewed = reviewed or {}
        self.decided = frozenset(decided)
        self.enrolled = None if enrolled is None else frozenset(enrolled)
        self._specs = {(q.id, c.id): (q, c) for q, c in rubric.checks() if c.kind == "text"}
        self._class: dict[Where, dict[str, str]] = {}  # per check: student -> answer
        for student, own in answers.items():
            for where, answer in own.items():
                if where in self._specs:
                    self._class.setdefault(where, {})[student] = answer
        self._scored: dict[Where, dict[str, tuple[semantic.Suggestion, list[str]]]] = {}
        self._budgets: dict[str, MatchBudget] = {}  # one per submission, for all its pattern searches
        self._digests: dict[Where, str] = {}
        self._cohorts: dict[Where, list[str]] = {}

    def digest(self, where: Where) -> str:
        """What a check's suggestions depend on besides the answer: the class's answers and
        the reviewed answers with their points."""
        if where not in self._digests:
            answers = sorted(self._cohort(where))
            labelled = [(a.answer, a.points) for a in self.reviewed.get(where, ())]
            text = json.dumps([answers, labelled], ensure_ascii=False)
            self._digests[where] = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return self._digests[where]

    def score_all(self, copies: int = 1) -> None:
        """Every check's suggestions and digest, made now rather than when first asked for;
        with `copies` > 1 the checks are shared among that many forked copies of the grader
        (copies.py), and those no copy sent back are scored here."""
        todo = [where for where in self._class if where not in self._scored]
        if copies > 1 and len(todo) > 1:
            in_copies(todo, self._scored_data, min(copies, len(todo)),
                      lambda index, outcome: self._take(todo[index], outcome))
        for where in todo:
            if where not in self._scored:
                self._score(where)
        for where in self._class:
            self.digest(where)

    def fill(self, result: StudentResult) -> StudentResult:
        """The result with a suggestion for each answer that awaited one."""
        if not any(c.outcome == TO_SUGGEST for c in result.checks):
            return result
        checks = []
        for check in result.checks:
            where = (check.question, check.check)
            if check.outcome == TO_SUGGEST and where in self._specs:
                question, spec = self._specs[where]
                among, labelled = self._context(result.student, where)
                if self._class.get(where, {}).get(result.student) == check.answer:
                    if where not in self._scored:
                        self._score(where)
                    suggestion, unchecked = self._scored[where][result.student]
                else:  # not an answer the class was made of: placed among it, moving nobody's
                    [(suggestion, unchecked)] = suggest_answers(
                        question, spec, [check.answer], [self._budgets.setdefault(result.student, MatchBudget())],
                        cohort=among, reviewed=labelled)
                fitted = len(labelled)
                check = suggested(question, spec, check.answer, suggestion, unchecked, check.feedback, fitted=fitted)
            checks.append(check)
        return replace(result, checks=tuple(checks))

    def _score(self, where: Where) -> None:
        """Every answer of the class to this check, in two batches: those no reviewer
        decided, placed among the class's and fitted to the reviewed; the decided, alone."""
        question, spec = self._specs[where]
        members = self._class.get(where, {})
        open_ = [s for s in members if (s, *where) not in self.decided]
        decided = [s for s in members if (s, *where) in self.decided]
        scored: dict[str, tuple[semantic.Suggestion, list[str]]] = {}
        for students in (open_, decided):
            among, labelled = self._context(students[0], where) if students else ([], [])
            for start in range(0, len(students), BATCH):  # memory: a batch's word vectors at a time
                batch = students[start:start + BATCH]
                scored.update(zip(batch, suggest_answers(question, spec, [members[s] for s in batch],
                                                         [self._budgets.setdefault(s, MatchBudget()) for s in batch],
                                                         cohort=among, reviewed=labelled)))
        self._scored[where] = scored

    def _scored_data(self, where: Where) -> dict:
        """A check's suggestions as plain data (made in a copy of the grader)."""
        self._score(where)
        return {student: [s.points, s.max_points, [list(c) for c in s.criteria], s.confidence, list(s.flags),
                          s.reasons, unchecked]
                for student, (s, unchecked) in self._scored[where].items()}

    def _take(self, where: Where, data: dict) -> None:
        """A check's suggestions as a copy of the grader made them (`_scored_data`). The
        texts many answers share (criteria, flags, reasons) are kept once."""
        once: dict = {}
        same = lambda text: once.setdefault(text, text)  # noqa: E731
        self._scored[where] = {
            student: (semantic.Suggestion(points=points, max_points=maximum,
                                          criteria=same(tuple((same(text), fraction) for text, fraction in criteria)),
                                          confidence=confidence, flags=same(tuple(map(same, flags))),
                                          reasons=same(reasons)),
                      list(map(same, unchecked)))
            for student, (points, maximum, criteria, confidence, flags, reasons, unchecked) in data.items()}

    def _context(self, student: str, where: Where) -> tuple[list[str], list[semantic.Labelled]]:
        """What a student's answer is placed among and fitted to: the class's answers and the
        reviewed ones; nothing for an answer a reviewer decided (it would be fitted to itself)."""
        if (student, *where) in self.decided:
            return [], []
        return self._cohort(where), self.reviewed.get(where, [])

    def _cohort(self, where: Where) -> list[str]:
        """The class's answers to a check: the enrolled students'. Made once per check: the
        class does not change once made."""
        if where not in self._cohorts:
            members = self._class.get(where, {})
            self._cohorts[where] = [answer for student, answer in members.items()
                                    if self.enrolled is None or student in self.enrolled]
        return self._cohorts[where]
