"""Showing the class: each student's row, feedback pages and ledger entry, after grading.

A student shown as last time is only looked up, by the grader. The others are shown afresh
(outputs.py: their row, their feedback pages, what the ledger will keep of them), by
forked copies of the grader when there are enough of them (copies.py): each copy sends
back, per student, the row, where it set aside their ledger entry, their rows of results.csv
and their result as the ledger keeps it (spool.py), and the number of files it wrote. Before
the copies are forked the grader makes what each of them reads (outputs.ready_to_fork); the
ledger and every file besides the feedback pages and the spool stay with the grader.
"""

from __future__ import annotations

from collections.abc import Callable

from .copies import copies_for, in_copies
from .outputs import Outputs
from .scoring import StudentRow


def show_all(count: int, as_last_time: Callable[[int], StudentRow | None], afresh: Callable[[int], StudentRow],
             outputs: Outputs, jobs: int, on_done: Callable[[int], None] | None = None) -> list[StudentRow]:
    """Every student's row, in order (`count` of them, by position); `on_done(position)` as
    each is shown."""
    rows: list[StudentRow | None] = [None] * count
    left = []
    for position in range(count):
        rows[position] = as_last_time(position)
        if rows[position] is None:
            left.append(position)
        elif on_done:
            on_done(position)
    copies = copies_for(len(left), jobs)
    if copies > 1:
        outputs.ready_to_fork(copies)

        def work(position: int) -> dict:
            before = outputs.written
            row = afresh(position)
            return {"row": outputs.row_json(row), "aside": outputs.aside_of(row.student),
                    "written": outputs.written - before}

        def take(index: int, outcome: dict) -> None:
            row = outputs.row_from(outcome["row"])
            outputs.take(row.student, outcome["aside"], outcome["written"])
            rows[left[index]] = row
            if on_done:
                on_done(left[index])

        in_copies(left, work, copies, take)
    for position in left:  # all of them without copies; else those no copy sent back
        if rows[position] is None:
            rows[position] = afresh(position)
            if on_done:
                on_done(position)
    return rows  # type: ignore[return-value]
