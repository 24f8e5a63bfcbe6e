# Text processing warm-up
# Cyd -- the tokenizer and the counter live in text_utils.py

import math

import numpy as np
import pandas as pd

from text_utils import count, split_tokens


def tokenize(text):
    return split_tokens(text)


SENTENCE = "The cat sat on the mat. The mat was flat!"
SENTENCE_TOKENS = tokenize(SENTENCE)
N_TOKENS = len(SENTENCE_TOKENS)


def unique_tokens(text):
    return list(count(tokenize(text)))


def text_stats(text):
    toks = tokenize(text)
    if not toks:
        raise ValueError(f"no tokens in {text!r}")
    n = len(toks)
    return (n, len(count(toks)), sum(len(t) for t in toks) / n)


SENTENCE_TYPES = set(unique_tokens(SENTENCE))
TYPE_TOKEN_RATIO = len(SENTENCE_TYPES) / N_TOKENS


def bag_of_words(text):
    return count(tokenize(text))


SENTENCE_COUNTS = bag_of_words(SENTENCE)


def most_frequent_word(text):
    best_word, best = None, 0
    for word, n in bag_of_words(text).items():
        if n > best:
            best_word, best = word, n
    return best_word


def frequent_words(counts, min_count=2):
    result = set()
    for word, n in counts.items():
        if n >= min_count:
            result.add(word)
    return result


def remove_stopwords(tokens, stopwords):
    kept = []
    for t in tokens:
        if t in stopwords:
            continue
        kept.append(t)
    return kept


STEMMING = "the Stemming."

ANSWER_1D = ("So that the same word written with a capital (at the start of a sentence) and without "
             "is one token: the vocabulary is smaller. Lost: proper nouns / names of people and "
             "companies, and acronyms.")


def softmax(x, *, temperature=1.0):
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    x = np.array(x, dtype=float)
    if len(x) == 0:
        raise ValueError("cannot take the softmax of nothing")
    x = x / temperature
    x -= np.max(x)
    np.exp(x, out=x)
    return x / np.sum(x)


SOFTMAX_123 = softmax([1, 2, 3])

ANSWER_2A = ("Large T: all scores shrink towards 0, so the distribution gets flat / uniform. "
             "Small T: the biggest score dominates, the distribution is peaked (almost one-hot, greedy).")


def cosine_similarity(u, v):
    dot = sum(a * b for a, b in zip(u, v))
    return dot / (math.sqrt(sum(a * a for a in u)) * math.sqrt(sum(b * b for b in v)))


def top_k(scores, k):
    # highest score first; among equal scores the later index first
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], -i))
    return ranked[:k]


def term_frequencies(docs):
    bags = [bag_of_words(d) for d in docs]
    vocabulary = list(count(w for bag in bags for w in bag))  # first-seen order
    data = {w: [bag.get(w, 0) for bag in bags] for w in vocabulary}
    return pd.DataFrame(data, columns=vocabulary).astype(np.int64)


def author_stats(df):
    table = df.assign(n=[len(tokenize(t)) for t in df["text"]])
    stats = table.groupby("author")["n"].agg(n_docs="count", mean_tokens="mean")
    return stats.sort_values("n_docs", ascending=False)  # the busiest authors first


class Vocabulary:
    def __init__(self, tokens=()):
        self.words = []
        self.lookup = {}
        for t in tokens:
            self.add(t)

    @property
    def size(self):
        return len(self.words)

    def add(self, token):
        if token not in self.lookup:
            self.lookup[token] = len(self.words)
            self.words.append(token)
        return self

    def index(self, token):
        if token not in self.lookup:
            raise KeyError(f"unknown token {token!r}")
        return self.lookup[token]

    def encode(self, tokens):
        return [self.index(t) for t in tokens]

    def tokens(self):
        return self.words[:]
