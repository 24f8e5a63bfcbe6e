"""Toy language models passed as `p` to the objectives of question 1c.

A toy travels as plain data (a table of next-token distributions) and is turned into a
callable on each side: in the grader for the reference, in the child for the student.
Both sides build it with this code, so both see the same model.
"""

from __future__ import annotations

import numpy as np


def random_table(rng: np.random.Generator, rows: int, vocab: int) -> np.ndarray:
    """`rows` strictly positive distributions over `vocab` tokens."""
    logits = rng.normal(scale=1.5, size=(rows, vocab))
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def build(kind: str, table: np.ndarray):
    """The callable `p` of a toy model; each call returns a fresh array."""
    table = np.array(table, dtype=np.float64)
    rows = table.shape[0]

    if kind == "clm":
        def p(prefix):
            tokens = [int(t) for t in prefix]
            key = 7 * len(tokens) + sum((i + 1) * t for i, t in enumerate(tokens))
            return table[key % rows].copy()
        return p

    if kind == "mlm":
        def p(sequence):
            tokens = [int(t) for t in sequence]
            total = sum(tokens)
            return np.stack([table[(7 * i + 3 * t + total) % rows] for i, t in enumerate(tokens)]) \
                if tokens else np.zeros((0, table.shape[1]))
        return p

    raise ValueError(f"unknown toy model {kind!r}")
