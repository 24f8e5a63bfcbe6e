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
from .answerbook import AnswerBook
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
    answers (`unscored`), or an AnswerBook that holds them on disk (answerbook.py);
    `reviewed`: per check, the answers reviewers scored; `decided`: the (student, question,
    check) a reviewer scored; `enrolled`: the students whose answers make the class (with a
    roster: one person handing in under several ids is one student, the others are placed
    among the class but do not move it); None: everyone's."""

    def __init__(self, rubric, answers: Mapping[str, Mapping[Where, str]] | AnswerBook,
                 reviewed: Mapping[Where, list[semantic.Labelled]] | None = None,
                 decided: Collection[tuple[str, str, str]] = (), enrolled: Collection[str] | None = None) -> None:
        self.reviewed = reviewed or {}
        self.decided = frozenset(decided)
        self.enrolled = None if enrolled is None else frozenset(enrolled)
        self._specs = {(q.id, c.id): (q, c) for q, c in rubric.checks() if c.kind == "text"}
        self._book = answers if isinstance(answers, AnswerBook) else _InMemory(answers)
        self._budgets: dict[str, MatchBudget] = {}  # one per submission, for all its pattern searches
        self._digests: dict[Where, str] = {}

    def digest(self, where: Where) -> str:
        """What a check's suggestions depend on besides the answer: the class's answers and
        the reviewed answers with their points."""
        if where not in self._digests:
            self._digests[where] = self._book.digest(where) or self._digest_of(where, self._book.members(where))
        return self._digests[where]

    def score_all(self, copies: int = 1) -> None:
        """Every check's suggestions and digest, made now rather than when first asked for;
        with `copies` > 1 the checks are shared among that many forked copies of the grader
        (copies.py), and those no copy made are scored here."""
        todo = [where for where in self._book.checks() if where in self._specs and not self._book.is_scored(where)]
        if copies > 1 and len(todo) > 1:
            self._book.release()
            in_copies(todo, self._scored_data, min(copies, len(todo)),
                      lambda index, outcome: self._take(todo[index], outcome))
        for where in todo:
            if not self._book.is_scored(where):
                self._score(where)
        for where in self._book.checks():
            if where in self._specs:
                self.digest(where)

    def fill(self, result: StudentResult) -> StudentResult:
        """The result with a suggestion for each answer that awaited one."""
        if not any(c.outcome == TO_SUGGEST for c in result.checks):
            return result
        checks = []
        own = self._book.of_student(result.student)  # their answers in the class, each with its suggestion
        for check in result.checks:
            where = (check.question, check.check)
            if check.outcome == TO_SUGGEST and where in self._specs:
                question, spec = self._specs[where]
                labelled = self._context(result.student, where)[1]
                answer, data = own.get(where, (None, None))
                if answer == check.answer:
                    if data is None:
                        self._score(where)
                        data = self._book.scored(where, result.student)
                    suggestion, unchecked = _from_data(data)
                else:  # not an answer the class was made of: placed among it, moving nobody's
                    among, labelled = self._context(result.student, where, among=True)
                    [(suggestion, unchecked)] = suggest_answers(
                        question, spec, [check.answer], [self._budgets.setdefault(result.student, MatchBudget())],
                        cohort=among, reviewed=labelled)
                fitted = len(labelled)
                check = suggested(question, spec, check.answer, suggestion, unchecked, check.feedback, fitted=fitted)
            checks.append(check)
        return replace(result, checks=tuple(checks))

    def _score(self, where: Where) -> str:
        """Every answer of the class to this check, in two batches: those no reviewer
        decided, placed among the class's and fitted to the reviewed; the decided, alone.
        Kept with the check's digest, which is returned."""
        question, spec = self._specs[where]
        members = self._book.members(where)
        cohort = self._cohort(members)
        open_ = [s for s in members if (s, *where) not in self.decided]
        decided = [s for s in members if (s, *where) in self.decided]
        scored: dict[str, list] = {}
        for students in (open_, decided):
            among, labelled = (cohort, self.reviewed.get(where, [])) if students is open_ else ([], [])
            for start in range(0, len(students), BATCH):  # memory: a batch's word vectors at a time
                batch = students[start:start + BATCH]
                made = suggest_answers(question, spec, [members[s] for s in batch],
                                       [self._budgets.setdefault(s, MatchBudget()) for s in batch],
                                       cohort=among, reviewed=labelled)
                scored.update((student, _data_of(*pair)) for student, pair in zip(batch, made))
        digest = self._digest_of(where, members, cohort)
        self._book.put_scored(where, scored, digest)
        return digest

    def _scored_data(self, where: Where) -> dict:
        """A check scored in a copy of the grader: kept where the grader reads it (the
        AnswerBook), or sent back as plain data when the class is held in memory."""
        digest = self._score(where)
        if self._book.shared:
            return {"digest": digest}
        return {"digest": digest, "scored": {student: self._book.scored(where, student)
                                             for student in self._book.members(where)}}

    def _take(self, where: Where, outcome: dict) -> None:
        """A check as a copy of the grader scored it (`_scored_data`)."""
        if "scored" in outcome:
            self._book.put_scored(where, outcome["scored"], outcome["digest"])
        self._digests[where] = outcome["digest"]

    def _context(self, student: str, where: Where, among: bool = False) -> tuple[list[str], list[semantic.Labelled]]:
        """What a student's answer is placed among (with `among`; else left empty) and fitted
        to: the class's answers and the reviewed ones; nothing for an answer a reviewer
        decided (it would be fitted to itself)."""
        if (student, *where) in self.decided:
            return [], []
        return self._cohort(self._book.members(where)) if among else [], self.reviewed.get(where, [])

    def _cohort(self, members: Mapping[str, str]) -> list[str]:
        """The class's answers to a check: the enrolled students'."""
        return [answer for student, answer in members.items() if self.enrolled is None or student in self.enrolled]

    def _digest_of(self, where: Where, members: Mapping[str, str], cohort: list[str] | None = None) -> str:
        answers = sorted(self._cohort(members) if cohort is None else cohort)
        labelled = [(a.answer, a.points) for a in self.reviewed.get(where, ())]
        text = json.dumps([answers, labelled], ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class _InMemory:
    """The class's answers and suggestions held in memory (one student's, or a test's):
    AnswerBook's questions, answered from dicts."""

    shared = False  # a forked copy's writes stay in the copy

    def __init__(self, answers: Mapping[str, Mapping[Where, str]]) -> None:
        self._class: dict[Where, dict[str, str]] = {}  # per check: student -> answer
        for student, own in answers.items():
            for where, answer in own.items():
                self._class.setdefault(where, {})[student] = answer
        self._scored: dict[Where, dict[str, list]] = {}
        self._digests: dict[Where, str] = {}

    def checks(self) -> list[Where]:
        return list(self._class)

    def members(self, where: Where) -> dict[str, str]:
        return self._class.get(where, {})

    def of_student(self, student: str) -> dict[Where, tuple[str, list | None]]:
        return {where: (members[student], self._scored.get(where, {}).get(student))
                for where, members in self._class.items() if student in members}

    def put_scored(self, where: Where, scored: Mapping[str, list], digest: str | None = None) -> None:
        self._scored[where] = dict(scored)
        if digest is not None:
            self._digests[where] = digest

    def is_scored(self, where: Where) -> bool:
        return where in self._scored

    def scored(self, where: Where, student: str) -> list | None:
        return self._scored.get(where, {}).get(student)

    def digest(self, where: Where) -> str | None:
        return self._digests.get(where)

    def release(self) -> None:
        return None


def _data_of(suggestion: semantic.Suggestion, unchecked: list[str]) -> list:
    """A suggestion and the criteria it could not check, as plain data (JSON)."""
    s = suggestion
    return [s.points, s.max_points, [list(c) for c in s.criteria], s.confidence, list(s.flags), s.reasons, list(unchecked)]


def _from_data(data: list) -> tuple[semantic.Suggestion, list[str]]:
    points, maximum, criteria, confidence, flags, reasons, unchecked = data
    return (semantic.Suggestion(points=points, max_points=maximum, criteria=tuple((text, fraction) for text, fraction in criteria),
                                confidence=confidence, flags=tuple(flags), reasons=reasons), list(unchecked))
