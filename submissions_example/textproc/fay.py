"""Fay's solutions for the text processing warm-up."""

import re
from collections import Counter

import numpy as np
import pandas as pd


def tokenize(text):
    return re.findall(r"[a-z0-9]+", text.lower())


SENTENCE = "The cat sat on the mat. The mat was flat!"
SENTENCE_TOKENS = tokenize(SENTENCE)
N_TOKENS = len(SENTENCE_TOKENS)


def unique_tokens(text):
    return list(set(tokenize(text)))


def text_stats(text):
    tokens = tokenize(text)
    if not tokens:
        raise ValueError("no tokens")
    return len(tokens), len(set(tokens)), sum(len(t) for t in tokens) / len(tokens)


SENTENCE_TYPES = set(SENTENCE_TOKENS)
TYPE_TOKEN_RATIO = len(SENTENCE_TYPES) / len(SENTENCE_TOKENS)


def bag_of_words(text):
    words = re.findall(r"[A-Za-z0-9]+", text)
    return dict(Counter(words))


SENTENCE_COUNTS = dict(Counter(SENTENCE_TOKENS))


def most_frequent_word(text):
    return Counter(tokenize(text)).most_common(1)[0][0]


def frequent_words(counts, min_count=2):
    return {w for w, c in counts.items() if c >= min_count}


def remove_stopwords(tokens, stopwords):
    return [t for t in tokens if t not in stopwords]


STEMMING = "stemming"


ANSWER_1D = (
    "Lower-casing merges 'The' and 'the' into the same token, so the vocabulary is smaller "
    'and the counts are not split between variants. We lose the information in capital '
    "letters, e.g. proper nouns like 'Apple' vs 'apple' or acronyms like 'US'."
)


def softmax(x, *, temperature=1.0):
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        raise ValueError("empty input")
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    z = x / temperature
    e = np.exp(z - z.max())
    return e / e.sum()


SOFTMAX_123 = softmax([1.0, 2.0, 3.0])


ANSWER_2A = (
    'A large temperature makes the distribution flatter (closer to uniform), a small '
    'temperature makes it sharper, with almost all probability on the largest score (like '
    'argmax).'
)


def cosine_similarity(u, v):
    return float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))


def top_k(scores, k):
    return [int(i) for i in np.argsort(-np.asarray(scores), kind="stable")[:k]]


def term_frequencies(docs):
    return pd.DataFrame([Counter(tokenize(d)) for d in docs]).fillna(0).astype("int64")


def author_stats(df):
    n = df["text"].map(lambda t: len(tokenize(t)))
    return df.assign(n=n).groupby("author").agg(n_docs=("n", "size"), mean_tokens=("n", "mean"))


class Vocabulary:
    def __init__(self, tokens=()):
        self.ids = {}
        for t in tokens:
            self.add(t)

    @property
    def size(self):
        return len(self.ids)

    def add(self, token):
        self.ids.setdefault(token, len(self.ids))
        return self

    def index(self, token):
        return self.ids[token]

    def encode(self, tokens):
        return [self.ids[t] for t in tokens]

    def tokens(self):
        return list(self.ids)
