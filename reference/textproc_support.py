"""Fixtures of the sheet "Text processing warm-up": random sentences and small corpora.

The rubric names this file (`support:`). A case argument `{fixture: sentence, words: 8}` is
built by calling `sentence(rng, words=8)` on each side: in the grader for the reference, in
the student's process for the student, with generators in the same state, so both see the
same text. Only the name, the parameters and the generator's state cross between them.
Everything here draws from `rng` alone (never from `random` or the clock), and holds no answer.
"""

from __future__ import annotations

import numpy as np

WORDS = ("the", "a", "cat", "dog", "bird", "mat", "tree", "sat", "ran", "saw", "on", "under",
         "and", "big", "red", "fast", "old", "it", "was", "2nd")
GAPS = (" ", " ", " ", " ", ", ", " - ", "  ", "; ")
ENDS = (".", "!", "?", "...")


def sentence(rng: np.random.Generator, words: int = 8) -> str:
    """A sentence of `words` words from a small word list: the first word capitalised, some
    others capitalised or in capitals, punctuation between some words and at the end."""
    words = int(words)
    if words < 1:
        raise ValueError(f"a sentence needs at least one word (got words={words})")
    picked = [WORDS[int(i)] for i in rng.integers(0, len(WORDS), size=words)]
    shapes = rng.random(size=words)
    gaps = rng.integers(0, len(GAPS), size=words - 1)
    end = ENDS[int(rng.integers(0, len(ENDS)))]
    out = []
    for number, (word, shape) in enumerate(zip(picked, shapes)):
        if number == 0 or shape < 0.2:
            word = word.capitalize()
        elif shape < 0.3:
            word = word.upper()
        out.append(word)
    text = out[0]
    for gap, word in zip(gaps, out[1:]):
        text += GAPS[int(gap)] + word
    return text + end


def corpus(rng: np.random.Generator, n_docs: int = 4, length: int = 6) -> list[str]:
    """`n_docs` sentences (a list of str), each of `length` words give or take two."""
    n_docs, length = int(n_docs), int(length)
    if n_docs < 1:
        raise ValueError(f"a corpus needs at least one document (got n_docs={n_docs})")
    sizes = rng.integers(max(1, length - 2), length + 3, size=n_docs)
    return [sentence(rng, words=int(size)) for size in sizes]


def describe_sentence(params: dict) -> str:
    return f"a random sentence of {params.get('words', 8)} words"


def describe_corpus(params: dict) -> str:
    return f"a corpus of {params.get('n_docs', 4)} random sentences"
