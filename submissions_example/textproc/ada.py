"""Text processing warm-up -- Ada's submission."""

import re
from collections import Counter

import numpy as np
import pandas as pd


# ---------------------------------------------------------------------- 1a. Tokenizing

def tokenize(text):
    """Lower-case `text` and return the runs of ASCII letters and digits, in order."""
    return re.findall(r"[a-z0-9]+", text.lower())


SENTENCE = "The cat sat on the mat. The mat was flat!"
N_TOKENS = 10
SENTENCE_TOKENS = ["the", "cat", "sat", "on", "the", "mat", "the", "mat", "was", "flat"]


# ---------------------------------------------------------------------- 1b. Types and tokens

def unique_tokens(text):
    return sorted(set(tokenize(text)))


def text_stats(text):
    tokens = tokenize(text)
    if not tokens:
        raise ValueError("the text has no tokens")
    return len(tokens), len(set(tokens)), sum(map(len, tokens)) / len(tokens)


SENTENCE_TYPES = {"the", "cat", "sat", "on", "mat", "was", "flat"}
TYPE_TOKEN_RATIO = 7 / 10


# ---------------------------------------------------------------------- 1c. Bag of words

def bag_of_words(text):
    return dict(Counter(tokenize(text)))


SENTENCE_COUNTS = {"the": 3, "cat": 1, "sat": 1, "on": 1, "mat": 2, "was": 1, "flat": 1}


def most_frequent_word(text):
    counts = Counter(tokenize(text))
    return counts.most_common(1)[0][0]  # most_common keeps first-seen order among ties


def frequent_words(counts, min_count=2):
    return {word for word, n in counts.items() if n >= min_count}


# ---------------------------------------------------------------------- 1d. Normalising text

def remove_stopwords(tokens, stopwords):
    return [t for t in tokens if t not in stopwords]


STEMMING = "Stemming"

ANSWER_1D = """
Lower-casing makes "The" at the start of a sentence and "the" in the middle the same word,
so their counts are merged and the vocabulary gets smaller (fewer, less sparse features).
What we lose is what capital letters tell us: proper nouns and named entities ("Apple" the
company vs. "apple" the fruit), acronyms like "US" vs. "us", and where a sentence starts.
"""


# ---------------------------------------------------------------------- 2a. Softmax with a temperature

def softmax(x, *, temperature=1.0):
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("x must be a non-empty 1-D array")
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    z = x / temperature
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


SOFTMAX_123 = softmax([1.0, 2.0, 3.0])

ANSWER_2A = """
With a large temperature the scores are divided by a big number, so they move closer together
and the distribution becomes flatter, close to uniform: sampling is more random. With a small
temperature the differences are blown up and the distribution becomes sharply peaked on the
largest score; for T -> 0 it is the argmax (greedy decoding).
"""


# ---------------------------------------------------------------------- 2b. Cosine similarity

def cosine_similarity(u, v):
    u = np.asarray(u, dtype=float)
    v = np.asarray(v, dtype=float)
    return float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))


# ---------------------------------------------------------------------- 2c. The k best scores

def top_k(scores, k):
    order = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)
    return order[:k]


# ---------------------------------------------------------------------- 3a. Term frequencies

def term_frequencies(docs):
    rows = [Counter(tokenize(doc)) for doc in docs]
    return pd.DataFrame(rows).fillna(0).astype("int64")


# ---------------------------------------------------------------------- 3b. Statistics per author

def author_stats(df):
    n_tokens = df["text"].map(lambda text: len(tokenize(text)))
    return (df.assign(n_tokens=n_tokens)
              .groupby("author")
              .agg(n_docs=("n_tokens", "size"), mean_tokens=("n_tokens", "mean")))


# ---------------------------------------------------------------------- 4. A vocabulary

class Vocabulary:
    def __init__(self, tokens=()):
        self.ids = {}
        for token in tokens:
            self.add(token)

    @property
    def size(self):
        return len(self.ids)

    def add(self, token):
        if token not in self.ids:
            self.ids[token] = len(self.ids)
        return self

    def index(self, token):
        return self.ids[token]

    def encode(self, tokens):
        return [self.ids[t] for t in tokens]

    def tokens(self):
        return list(self.ids)
