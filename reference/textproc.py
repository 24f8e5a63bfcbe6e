"""Trusted reference for the sheet "Text processing warm-up".

Conventions (the rubric's docstrings tell the students): a *token* is a maximal run of
ASCII letters and digits of the lower-cased text, so "Don't stop!" has the tokens
["don", "t", "stop"]; arguments are never modified in place; functions return plain
Python containers (a dict, not a Counter) or NumPy arrays and pandas DataFrames where the
sheet asks for them.

Besides the correct answers, this module defines the common mistakes as
``<function>__<mistake>`` with the same signature (and the class ``VocabularyWithDuplicates``),
so the grader can name them, and the judge ``accept_any_tie_order`` for ``top_k``.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd

_TOKEN = re.compile(r"[a-z0-9]+")


# ----------------------------------------------------------------------------
# 1  Tokens, types and counts
# ----------------------------------------------------------------------------

def tokenize(text):
    """The tokens of `text`: maximal runs of ASCII letters and digits, lower-cased, in order."""
    return _TOKEN.findall(text.lower())


SENTENCE = "The cat sat on the mat. The mat was flat!"
N_TOKENS = len(tokenize(SENTENCE))  # 10
SENTENCE_TOKENS = tokenize(SENTENCE)


def unique_tokens(text):
    """The distinct tokens of `text`, each once (any order)."""
    return list(dict.fromkeys(tokenize(text)))


def text_stats(text):
    """(number of tokens, number of distinct tokens, mean token length); ValueError without tokens."""
    tokens = tokenize(text)
    if not tokens:
        raise ValueError("the text has no tokens")
    return (len(tokens), len(set(tokens)), sum(len(t) for t in tokens) / len(tokens))


SENTENCE_TYPES = set(SENTENCE_TOKENS)
TYPE_TOKEN_RATIO = len(SENTENCE_TYPES) / len(SENTENCE_TOKENS)  # 0.7
SENTENCE_STATS = text_stats(SENTENCE)  # (10, 7, 3.0)


def bag_of_words(text):
    """A plain dict token -> number of occurrences in `text` (tokens as `tokenize` makes them)."""
    return dict(Counter(tokenize(text)))


SENTENCE_COUNTS = bag_of_words(SENTENCE)


def most_frequent_word(text):
    """The most frequent token of `text`; among equally frequent ones, the one that comes first."""
    counts = Counter(tokenize(text))
    if not counts:
        raise ValueError("the text has no tokens")
    best = max(counts.values())
    return next(token for token in counts if counts[token] == best)  # a Counter keeps first-seen order


def frequent_words(counts, min_count=2):
    """The set of words whose count is at least `min_count`."""
    return {word for word, count in counts.items() if count >= min_count}


def remove_stopwords(tokens, stopwords):
    """The tokens (a list or tuple) without those in `stopwords`, as a list in their order."""
    return [token for token in tokens if token not in stopwords]


STEMMING = "stemming"
ANSWER_1D = (
    "Lower-casing makes 'The' at the start of a sentence and 'the' inside it the same word, so "
    "their counts are merged, the vocabulary gets smaller and the counts less sparse. What is "
    "lost is the information carried by capital letters: proper nouns and named entities "
    "('Apple' the company versus 'apple' the fruit, 'US' versus 'us'), acronyms and the start "
    "of a sentence."
)


# ----------------------------------------------------------------------------
# 2  Vectors and scores
# ----------------------------------------------------------------------------

def softmax(x, *, temperature=1.0):
    """softmax(x / temperature) of a non-empty 1-D x; ValueError when x is empty or temperature <= 0."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("softmax needs a non-empty 1-D array")
    if not temperature > 0:
        raise ValueError("the temperature must be positive")
    z = x / float(temperature)
    e = np.exp(z - z.max())
    return e / e.sum()


SOFTMAX_123 = softmax([1.0, 2.0, 3.0])
ANSWER_2A = (
    "The temperature T divides the scores before the softmax. A high temperature (T > 1) makes "
    "the distribution flatter, closer to uniform, so sampling becomes more random and diverse; "
    "a low temperature (T < 1) makes it sharper and more peaked, and as T goes to 0 all the "
    "mass goes to the largest score (greedy argmax)."
)


def cosine_similarity(u, v):
    """u . v / (|u| |v|) of two 1-D vectors of equal length, as a float."""
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def top_k(scores, k):
    """The indices of the k largest scores, largest first (a list of ints); ties in any order."""
    scores = np.asarray(scores, dtype=np.float64)
    return [int(i) for i in np.argsort(-scores, kind="stable")[:int(k)]]


def accept_any_tie_order(expected, actual, args):
    """Judge of `top_k`: any list of k distinct indices whose scores are the k largest, in
    descending order, is right, whichever of equal scores it names first (or at all, at the
    boundary). The right indices in another order earn half."""
    scores = np.asarray(args[0], dtype=np.float64)
    k = int(args[1])
    if type(actual) is not list:
        return 0.0, "return a list of indices"
    if not all(isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)) for i in actual):
        return 0.0, "the list should hold integer indices"
    indices = [int(i) for i in actual]
    if len(indices) != k:
        return 0.0, f"{len(indices)} indices for k = {k}"
    if len(set(indices)) != k:
        return 0.0, "an index appears twice"
    if any(not 0 <= i < len(scores) for i in indices):
        return 0.0, "an index is out of range"
    got = scores[indices]
    best = np.sort(scores)[::-1][:k]
    if np.array_equal(got, best):
        return True
    if np.array_equal(np.sort(got)[::-1], best):
        return 0.5, "the right indices, but not largest first"
    return False


# ----------------------------------------------------------------------------
# 3  Tables
# ----------------------------------------------------------------------------

def term_frequencies(docs):
    """A DataFrame with one row per document (index 0..n-1, in order) and one int64 column per
    token of the corpus (any column order): how often the token occurs in the document."""
    counts = [Counter(tokenize(doc)) for doc in docs]
    vocabulary = sorted(set().union(*counts))
    return pd.DataFrame([[c[token] for token in vocabulary] for c in counts],
                        columns=vocabulary, dtype="int64")


def author_stats(df):
    """Per author of `df` (columns `author`, `text`): `n_docs`, the number of their texts, and
    `mean_tokens`, the mean number of tokens of a text; indexed by `author`, rows in any order."""
    lengths = df["text"].map(lambda text: len(tokenize(text)))
    grouped = lengths.groupby(df["author"])
    return pd.DataFrame({"n_docs": grouped.size().astype("int64"), "mean_tokens": grouped.mean().astype("float64")})


# ----------------------------------------------------------------------------
# 4  A vocabulary class
# ----------------------------------------------------------------------------

class Vocabulary:
    """Numbers distinct tokens 0, 1, 2, ... in the order they are first seen."""

    def __init__(self, tokens=()):
        self._ids = {}
        for token in tokens:
            self.add(token)

    @property
    def size(self):
        """How many distinct tokens it holds."""
        return len(self._ids)

    def add(self, token):
        """Add `token` if it is new; returns the vocabulary itself (so calls can be chained)."""
        if token not in self._ids:
            self._ids[token] = len(self._ids)
        return self

    def index(self, token):
        """The number of `token`; KeyError if it is not in the vocabulary."""
        return self._ids[token]

    def encode(self, tokens):
        """The numbers of `tokens`, a list of ints (KeyError for an unknown token)."""
        return [self.index(token) for token in tokens]

    def tokens(self):
        """The distinct tokens, in the order of their numbers."""
        return list(self._ids)


# ----------------------------------------------------------------------------
# Common mistakes (same signatures; each is wrong on a generic input)
# ----------------------------------------------------------------------------

def tokenize__split_on_spaces(text):
    return text.lower().split()


def bag_of_words__case_sensitive(text):
    return dict(Counter(re.findall(r"[A-Za-z0-9]+", text)))


def frequent_words__strictly_greater(counts, min_count=2):
    return {word for word, count in counts.items() if count > min_count}


def softmax__ignores_temperature(x, *, temperature=1.0):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max())
    return e / e.sum()


def cosine_similarity__not_normalised(u, v):
    return float(np.asarray(u, dtype=np.float64) @ np.asarray(v, dtype=np.float64))


def top_k__ascending(scores, k):
    return np.argsort(scores)[-int(k):].tolist()


def term_frequencies__transposed(docs):
    return term_frequencies(docs).T


def author_stats__agg_column_names(df):
    lengths = df["text"].map(lambda text: len(tokenize(text)))
    return lengths.groupby(df["author"]).agg(["count", "mean"])


class VocabularyWithDuplicates:
    """A vocabulary that appends every token it is given, seen or not."""

    def __init__(self, tokens=()):
        self._tokens = []
        for token in tokens:
            self.add(token)

    @property
    def size(self):
        return len(self._tokens)

    def add(self, token):
        self._tokens.append(token)
        return self

    def index(self, token):
        if token not in self._tokens:
            raise KeyError(token)
        return self._tokens.index(token)

    def encode(self, tokens):
        return [self.index(token) for token in tokens]

    def tokens(self):
        return list(self._tokens)
