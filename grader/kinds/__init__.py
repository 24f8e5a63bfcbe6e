"""The kinds of check, one module each, along the flow of a check's data:

    prepare(plan, question, check, where, student=None)
        on the grader's side, before anything is graded: what the reference answers (into
        the plan); a `per_student` check is prepared again with a student's own draw
    requests(plan, key, question, check, submission) -> [Request]
        what to ask the student's process (runner.py)
    judge(plan, key, question, check, report, submission, budget) -> CheckResult
        the replies judged against the plan, on the grader's side

A check's spec (the fields a rubric may give it) is a model in rubric.py with `kind:
Literal["NAME"]`, listed in its `CheckSpec`; a new kind is that model and one module here,
named in KINDS. The comparison rules (compare.py) and the wire format (child/wire.py) are
shared by all kinds.
"""

from __future__ import annotations

from types import ModuleType

from . import function, object, text, value

KINDS: dict[str, ModuleType] = {"function": function, "value": value, "text": text, "object": object}


def kind_of(check) -> ModuleType:
    """The module of a check's kind."""
    return KINDS[check.kind]
