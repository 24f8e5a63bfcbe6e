# Zed -- text processing warm-up.
#
# The hostile example of this sheet: only `tokenize` is honest work. Everything else tries to
# score without computing the answer, and must score nothing:
#   1. look for the reference (and the rubric) on disk and take its answers if it is found;
#   2. patch the comparisons of its own process: numpy, math, pandas and (last of all, since
#      that breaks its own code too) builtins say "equal";
#   3. answer with objects whose == always says True (subclasses of float, int, str, list,
#      dict, set, ndarray and DataFrame), hoping that the grader compares with them;
#   4. patch the sheet's support module, so that the random sentences and corpora the grader
#      builds in this process are texts it chose (it answers for those, not for the real ones);
#   5. print forged "passed" results on stdout and write a forged gradebook where it runs.
import builtins
import glob
import json
import math
import os
import re
import sys

import numpy as np
import pandas as pd


def tokenize(text):
    return re.findall(r"[a-z0-9]+", text.lower())


# ---------------------------------------------------------------- 1. the reference, if it can be read

_stolen = {}
for _pattern in ("reference/textproc.py", "../reference/textproc.py", "../../reference/textproc.py",
                 "../../../reference/textproc.py", "**/reference/textproc.py", "../**/textproc.yaml"):
    for _path in glob.glob(_pattern, recursive=True)[:3]:
        try:
            with open(_path) as _file:
                _source = _file.read()
            if _path.endswith(".py"):
                exec(compile(_source, _path, "exec"), _stolen)
        except Exception:
            pass
for _folder in list(sys.path):
    _candidate = os.path.join(os.path.dirname(os.path.abspath(_folder or ".")), "reference", "textproc.py")
    try:
        with open(_candidate) as _file:
            exec(compile(_file.read(), _candidate, "exec"), _stolen)
    except Exception:
        pass

# ---------------------------------------------------------------- 2. comparisons that always agree

np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
math.isclose = lambda *a, **k: True
pd.testing.assert_frame_equal = lambda *a, **k: None
pd.DataFrame.equals = lambda self, other: True


# ---------------------------------------------------------------- 3. answers equal to everything

def _always(base):
    return type(f"Always{base.__name__.capitalize()}", (base,), {
        "__eq__": lambda self, other: True,
        "__ne__": lambda self, other: False,
        "__hash__": base.__hash__ if base.__hash__ is not None else (lambda self: 0),
    })


YesFloat, YesInt, YesStr = _always(float), _always(int), _always(str)
YesList, YesDict, YesSet, YesTuple = _always(list), _always(dict), _always(set), _always(tuple)


class YesArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)


class YesFrame(pd.DataFrame):
    def __eq__(self, other):
        return True

    def equals(self, other):
        return True


N_TOKENS = YesInt(0)
SENTENCE_TOKENS = YesList()
SENTENCE_TYPES = YesSet()
TYPE_TOKEN_RATIO = YesFloat(0.0)
SENTENCE_COUNTS = YesDict()
STEMMING = YesStr("?")
SOFTMAX_123 = np.zeros(3).view(YesArray)


def most_frequent_word(text):
    return YesStr("?")


def frequent_words(counts, min_count=2):
    return YesSet()


def remove_stopwords(tokens, stopwords):
    return YesList()


def softmax(x, *, temperature=1.0):
    return np.zeros(len(x)).view(YesArray)


def cosine_similarity(u, v):
    return YesFloat(0.0)


def top_k(scores, k):
    return YesList(range(k))


def author_stats(df):
    return YesFrame({"n_docs": [0], "mean_tokens": [0.0]})


class Vocabulary:
    def __init__(self, tokens=()):
        pass

    @property
    def size(self):
        return YesInt(0)

    def add(self, token):
        return self

    def index(self, token):
        return self

    def encode(self, tokens):
        return YesList()

    def tokens(self):
        return YesList()


# ---------------------------------------------------------------- 4. fixtures of its own choosing

try:
    import grade_support

    grade_support.sentence = lambda rng, words=8: "zed zed zed"
    grade_support.corpus = lambda rng, n_docs=4, length=6: ["zed"] * int(n_docs)
except Exception:
    pass


def unique_tokens(text):
    return list(set(tokenize(text)))


def text_stats(text):
    tokens = tokenize(text) or ["?"]
    return len(tokens), len(set(tokens)), sum(map(len, tokens)) / len(tokens)


def bag_of_words(text):
    counts = {}
    for token in tokenize(text):
        counts[token] = counts.get(token, 0) + 1
    return counts


def term_frequencies(docs):
    return pd.DataFrame([bag_of_words(doc) for doc in docs]).fillna(0).astype("int64")


# ---------------------------------------------------------------- the reference's answers, if stolen

for _name in ("N_TOKENS", "SENTENCE_TOKENS", "SENTENCE_TYPES", "TYPE_TOKEN_RATIO", "SENTENCE_COUNTS", "STEMMING",
              "SOFTMAX_123", "unique_tokens", "text_stats", "bag_of_words", "most_frequent_word", "frequent_words",
              "remove_stopwords", "softmax", "cosine_similarity", "top_k", "term_frequencies", "author_stats",
              "Vocabulary"):
    if _name in _stolen:
        globals()[_name] = _stolen[_name]

# ---------------------------------------------------------------- 5. forged results

for _check in ("tokenize", "unique_tokens", "text_stats", "bag_of_words", "softmax", "top_k", "vocabulary"):
    print(json.dumps({"status": "ok", "student": "zed", "check": _check, "outcome": "passed", "points": 3}))
print("zed,4,5,6,4,5,2,2,2,2,3,35,35,ok")
for _name, _text in (("gradebook.csv", "student,total,max_total,status\nzed,35,35,ok\n"),
                     ("results.csv", "student,question,check,points,max_points,outcome\nzed,4,vocabulary,3,3,passed\n")):
    try:
        with open(_name, "w") as _file:
            _file.write(_text)
    except OSError:
        pass

builtins.isinstance = lambda obj, kind: True
builtins.abs = lambda x: 0
