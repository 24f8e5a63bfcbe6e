# Ian -- warm-up sheet

import re

import numpy as np
import pandas as pd


def tokenize(text):
    return re.findall(r"[a-z0-9]+", text.lower())


SENTENCE = "The cat sat on the mat. The mat was flat!"
SENTENCE_TOKENS = tokenize(SENTENCE)
N_TOKENS = len(SENTENCE_TOKENS)


def unique_tokens(text):
    out = []
    for t in tokenize(text):
        if t not in out:
            out.append(t)
    return out


def text_stats(text):
    tokens = tokenize(text)
    if not tokens:
        raise ValueError("no tokens")
    return len(tokens), len(set(tokens)), sum(len(t) for t in tokens) / len(tokens)


SENTENCE_TYPES = set(SENTENCE_TOKENS)
TYPE_TOKEN_RATIO = len(SENTENCE_TYPES) / len(SENTENCE_TOKENS)


def bag_of_words(text):
    counts = {}
    for t in tokenize(text):
        counts[t] = counts.get(t, 0) + 1
    return counts


SENTENCE_COUNTS = bag_of_words(SENTENCE)


def most_frequent_word(text):
    counts = bag_of_words(text)
    return max(counts, key=counts.get)


def frequent_words(counts, min_count=2):
    words = set()
    for word in counts:
        if counts[word] >= min_count:
            words.add(word)
    return words


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
    return float(np.dot(u, v))


def top_k(scores, k):
    idx = list(range(len(scores)))
    idx.sort(key=lambda i: scores[i], reverse=True)
    return idx[:k]


def term_frequencies(docs):
    bags = [bag_of_words(d) for d in docs]
    words = sorted({w for bag in bags for w in bag})
    rows = [[bag.get(w, 0) for w in words] for bag in bags]
    return pd.DataFrame(rows, columns=words, dtype="int64")


def author_stats(df):
    lengths = df["text"].apply(lambda t: len(tokenize(t)))
    g = lengths.groupby(df["author"])
    return pd.DataFrame({"n_docs": g.size(), "mean_tokens": g.mean()})


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
