"""Fixtures of Exercise 7: the toy language models passed as `p` to the objectives of question 1c.

The rubric names this file (`support:`). A case argument `{fixture: clm, vocab: 5}` is built
by calling `clm(rng, vocab=5)` on each side: in the grader for the reference, in the
student's process for the student, with generators in the same state, so both see the same
model. Only the name, the parameters and the generator's state cross between them.
"""

from __future__ import annotations

import numpy as np


def random_table(rng: np.random.Generator, rows: int, vocab: int) -> np.ndarray:
    """`rows` strictly positive distributions over `vocab` tokens."""
    logits = rng.normal(scale=1.5, size=(rows, vocab))
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def clm(rng: np.random.Generator, vocab: int, rows: int = 11):
    """A causal toy model: `p(prefix)` is a distribution over the next token."""
    table = _table(rng, vocab, rows)

    def p(prefix):
        tokens = [int(t) for t in prefix]
        key = 7 * len(tokens) + sum((i + 1) * t for i, t in enumerate(tokens))
        return table[key % rows].copy()
    return p


def mlm(rng: np.random.Generator, vocab: int, rows: int = 11):
    """A masked toy model: `p(sequence)` is one distribution per position."""
    table = _table(rng, vocab, rows)

    def p(sequence):
        tokens = [int(t) for t in sequence]
        total = sum(tokens)
        return np.stack([table[(7 * i + 3 * t + total) % rows] for i, t in enumerate(tokens)]) \
            if tokens else np.zeros((0, vocab))
    return p


def describe_clm(params: dict) -> str:
    return f"a toy model over {params['vocab']} tokens"


describe_mlm = describe_clm


def _table(rng: np.random.Generator, vocab, rows) -> np.ndarray:
    vocab, rows = int(vocab), int(rows)
    if vocab < 2 or rows < 1:
        raise ValueError(f"a toy model needs vocab >= 2 and rows >= 1 (got vocab={vocab}, rows={rows})")
    return random_table(rng, rows, vocab)
