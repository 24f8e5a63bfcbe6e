"""Free-text answers scored by meaning: suggested points, what was found, how sure, and why.

A small static sentence-embedding model (WordLlama l2_supercat, 256 dimensions, its weights
inside the installed wheel) runs on the CPU, offline: it is loaded once per process (thread-
safe) and never downloads anything. `embed(texts)` gives L2-normalised sentence vectors: the
mean of the texts' token vectors, as the model's own `embed` computes them.

`suggest(answer, criteria, max_points, ...)` suggests points for one answer; `suggest_many`
does the same for many answers of one check (the rubric's side is prepared once and cached;
the answers are scored together as matrices, each answer's result depending on it alone, so
many at once equal one by one; its `criteria` may also be one list per answer, to pass each
answer's own `pattern_hit`). How an answer is scored:

1. **Meeting a criterion by meaning.** A criterion is read as texts: its description, its
   examples, and (for a check without criteria) the model answers; with several criteria,
   each sentence of a model answer joins the criterion it is closest to. Every content word
   (function words aside) is a vector: the model's mean of its tokens. A text is matched by
   soft recall (each of its words' best cosine with a word of the answer: does the answer say
   all of it?) and soft precision (how much of one of the answer's clauses is about it); words
   of the question count less, so that saying the question back is not content. The best
   text of a criterion, through a logistic curve, gives the fraction met: one curve for
   examples and model answers (calibrated on human scores), a steeper and earlier one for
   descriptions (terse, not answers: calibrated so that paraphrases of Exercise 7's criteria
   meet them and answers to other questions do not). A rubric regex that matched
   (`pattern_hit`) adds to the log-odds: it raises the fraction, it never decides it alone.
   A criterion met less than NOT_MET earns nothing (ten nearly unmet criteria are not half a
   point).
2. **No reward for form without content.** An answer that is a list of terms (no verb and
   either few function words with terms side by side, or many short comma-separated items;
   formulas have structure and are no list), or that is mostly a criterion's description
   word for word (what a student sees in the feedback), gets half its points rounded down,
   and always less than the same content written out would get.
   An answer that says a criterion's negated word (un-/non- words, or right after "no",
   "not", "without") the other way ("it is not trained on unlabelled data" against
   "unlabelled raw text") meets that criterion only a fifth as much; one that says it both
   ways halves it. Each is flagged for the reviewer.
3. **Among the class's answers** (`cohort`: every answer of the class to the check,
   unlabelled, when the caller has them; at least COHORT_MIN different ones). Graders score
   an answer against what the class wrote as much as against the model answer. The zero-shot
   share of the points is placed among the class's: divided by the share of its best answers
   (the COHORT_QUANTILE quantile), plus the answer's similarity in meaning to the other
   answers, each weighted by its own share (saying what the good answers say), mapped
   linearly back to points (three constants, fitted on half the questions of a public
   dataset). A keyword list or copy of the rubric keeps its penalty, and an answer that meets
   no criterion at all keeps no points. Without a cohort each answer is scored alone, as above.
4. **Learning from the reviewers.** With reviewed answers of the same check, the zero-shot
   points are corrected by the nearest reviewed answers in meaning (similarity-weighted
   residuals of up to 7 neighbours, the weights falling fast with the distance, with a sharp
   extra weight for near-duplicates, which so get the reviewed points), after a
   re-calibration for the check (a ridge fit of the reviewed points on the zero-shot ones,
   drawn to a shrunk mean correction). Placed among the class's answers, the zero-shot
   points are on the class's scale already and the fit is drawn much harder to no
   correction: reviewers pick the answers whose suggestion is off, and a free fit on those
   would move every other answer's suggestion too (on half the UNT questions, the review
   effort of bench/text_agreement.py rose from 32 % to 35 % with the fit drawn as weakly as
   for answers scored alone), while graders whose scale is far from the one the constants
   were chosen on still need it (on a third of SciEntsBank's questions, right/wrong labels,
   the effort fell from 54 % to 43 % with it, and k = 10 reviewed answers gave r 0.66
   instead of 0.62). An answer identical to a reviewed one (case, Unicode form and spacing
   aside) gets its points with confidence 1.

Points are rounded to half points within [0, max_points]. Confidence (0..1) estimates the
chance that a reviewer agrees within a tenth of the points: from the suggested points and
how clearly each criterion is met or not, and with reviewed answers from how close the
nearest ones are and how much they agree; lower for a flagged answer.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .errors import GradeError

DIM = 256
WEIGHTS = "l2_supercat"  # the wordllama model, as its files in the package are named
BATCH = 512  # answers scored together as one matrix
MAX_WORDS = 50_000  # word vectors kept per process (about 50 MB)
MODEL = "WordLlama l2_supercat, 256 dimensions (static token embeddings, mean-pooled; runs offline on the CPU)"

INSTALL = "pip install 'wordllama>=0.4,<0.5'"


class ModelUnavailable(GradeError):
    """The embedding model cannot be loaded (the package is missing or broken)."""


# ---------------------------------------------------------------- the model


class _Model:
    """The model's tokenizer and token vectors, and a table of word vectors (each word embedded
    alone, once per process)."""

    def __init__(self, tokenizer, vectors: np.ndarray) -> None:
        self.tokenizer = tokenizer
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.rows: dict[str, int] = {}  # word -> row of the tables below
        self.unit = np.zeros((1024, DIM), dtype=np.float32)  # the word's unit vector
        self.negated = np.zeros(1024, dtype=bool)  # the word is negated by un- or non-
        self.lemma = np.zeros(1024, dtype=np.int64)  # row of the word without un-/non- (its own row if none)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [list(e.ids) for e in encodings]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(texts), 512):
            for row, ids in enumerate(self.token_ids(texts[start:start + 512]), start=start):
                if ids:
                    out[row] = self.vectors[ids].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)

    def lookup(self, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows of `keys` in the tables (new words are embedded first), and the tables."""
        with self.lock:
            new = {k for k in keys if k not in self.rows}
            if new and len(self.rows) + 2 * len(new) > MAX_WORDS:  # a long-running process: start a new table
                self._reset()
                new = set(keys)
            if new:
                self._learn(sorted(new))
            rows = np.fromiter((self.rows[k] for k in keys), dtype=np.int64, count=len(keys))
            return rows, self.unit, self.negated, self.lemma

    def _learn(self, new: list[str]) -> None:
        lemmas: list[str] = []
        for word, ids in zip(new, self.token_ids(new)):
            row = self._append(word, ids)
            if len(ids) > 1 and self.tokenizer.id_to_token(ids[0]) in ("\u2581un", "\u2581non") \
                    and word.lower() not in _NOT_NEGATED:
                self.negated[row] = True
                lemmas.append(word)
        missing = sorted({_lemma(w) for w in lemmas} - set(self.rows))
        for word, ids in zip(missing, self.token_ids(missing)):
            self._append(word, ids)
        for word in lemmas:
            self.lemma[self.rows[word]] = self.rows[_lemma(word)]

    def _append(self, word: str, ids: list[int]) -> int:
        row = len(self.rows)
        if row == len(self.unit):  # grow the tables (readers keep the arrays they were given)
            self.unit = np.concatenate([self.unit, np.zeros_like(self.unit)])
            self.negated = np.concatenate([self.negated, np.zeros_like(self.negated)])
            self.lemma = np.concatenate([self.lemma, np.zeros_like(self.lemma)])
        if ids:
            vector = self.vectors[ids].mean(axis=0)
            norm = float(np.linalg.norm(vector))
            self.unit[row] = vector / norm if norm > 0 else vector
        self.lemma[row] = row
        self.rows[word] = row
        return row


_NOT_NEGATED = {"nonetheless", "nonsense", "unanimous", "unanimously"}

_model: _Model | None = None
_model_lock = threading.Lock()


def _load() -> _Model:
    global _model
    if _model is not None:
        return _model
    with _model_lock:
        if _model is None:
            _model = _load_model()
    return _model


def _load_model() -> _Model:
    """The weights and tokenizer the wordllama package ships, read as its own `WordLlama.load`
    reads them (safetensors, tokenizers), without importing the package: its import alone
    (an HTTP client for downloads, and the root logger configured) took 0.34 s, more than
    reading the model does, in every process that suggests."""
    try:
        spec = importlib.util.find_spec("wordllama")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"scoring free text by meaning needs the wordllama package: {INSTALL}")
    root = Path(next(iter(spec.submodule_search_locations)))
    try:
        from safetensors import safe_open
        from tokenizers import Tokenizer

        with safe_open(str(root / "weights" / f"{WEIGHTS}_{DIM}.safetensors"), framework="np", device="cpu") as data:
            vectors = np.ascontiguousarray(data.get_tensor("embedding.weight"), dtype=np.float32)
        tokenizer = Tokenizer.from_file(str(root / "tokenizers" / f"{WEIGHTS}_tokenizer_config.json"))
    except Exception as exc:  # noqa: BLE001
        raise ModelUnavailable(f"the wordllama model weights could not be loaded offline ({exc}): "
                               f"reinstall the package with its weights: {INSTALL}") from None
    tokenizer.no_padding()
    tokenizer.no_truncation()
    if vectors.ndim != 2 or vectors.shape[1] != DIM:
        raise ModelUnavailable(f"the wordllama weights have shape {vectors.shape}, not (n, {DIM}): {INSTALL}")
    return _Model(tokenizer, vectors)


def embed(texts: Sequence[str]) -> np.ndarray:
    """(n, DIM) float32 sentence vectors, rows L2-normalised (a zero row for an empty text).
    The model is loaded on first use (once per process, thread-safe) and never downloads."""
    if isinstance(texts, str):
        raise TypeError("embed takes a sequence of texts, not one string")
    texts = [_clean(t) for t in texts]
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return _load().embed(texts)


# ---------------------------------------------------------------- the public types


@dataclass(frozen=True)
class CriterionSpec:
    """One criterion of a text check, as the grader passes it in."""

    points: float
    description: str
    examples: tuple[str, ...] = ()  # short answers that meet it (the model answer, for a check without criteria)
    pattern_hit: bool | None = None  # one of the rubric's regexes matched (None: it has none, or it timed out)


@dataclass(frozen=True)
class Labelled:
    """An answer a teaching assistant reviewed, with the points they gave."""

    answer: str
    points: float


@dataclass(frozen=True)
class Suggestion:
    points: float  # multiples of 0.5 within [0, max_points]
    max_points: float
    criteria: tuple[tuple[str, float], ...]  # (description, fraction met 0..1) per criterion, in order
    confidence: float  # 0..1
    flags: tuple[str, ...]  # for the reviewer
    reasons: str  # what was found, what not, what it was fitted from


PLACEHOLDER = "says what the model answer says"  # the description of a check without criteria (rubric.py)

FLAG_LIST = "reads like a keyword list"
FLAG_COPY = "repeats the rubric's wording"
FLAG_CONTRADICTS = "contradicts itself"
FLAG_DENIES = "denies what a criterion says"

# ---------------------------------------------------------------- tuned constants
#
# Tuned by measurement: the calibration of examples and model answers, the learning from reviewed
# answers and the confidence on human scores of a public short-answer dataset (bench/text_agreement.py);
# the calibration of descriptions on hand-written answers to Exercise 7 (in-topic paraphrases against
# answers to other questions), then checked with tests/test_semantic.py.

RECALL_WEIGHT = 0.75  # text similarity = this * soft recall + the rest * best soft precision of a clause
QUESTION_WEIGHT = 0.3  # a word of the question counts this much (saying the question back is not content)
MIDPOINT = 0.25  # the similarity to an example (or a model answer) at which a criterion is half met
SLOPE = 8.0  # how fast the fraction rises around the midpoint (log-odds per unit of similarity)
DESCRIPTION_MIDPOINT = 0.22  # the same for a criterion's description, which is terse, not an answer
DESCRIPTION_SLOPE = 20.0
NOT_MET = 0.15  # a criterion met less than this is not met at all
PATTERN_BOOST = 2.0  # log-odds a matching rubric regex adds
FLAG_FACTOR = 0.5  # a keyword list or a copy of the rubric gets this share of its points, rounded down
DENIAL_PENALTY = 0.8  # a criterion whose words the answer says with the opposite polarity loses this share
NEGATION_REACH = 2  # content words after "not", "no", "without" ... that it negates (within the clause)
ALIGN = 0.8  # two words this similar (without un-/non-) are the same word, for polarity
MIN_LIST_WORDS = 6  # a shorter answer is never called a keyword list
COPY_SHARE = 0.6  # an answer whose word trigrams are this much the descriptions', covering this much of one
LIST_FUNCTION_SHARE = 0.2  # with no verb, at most this share of function words ...
LIST_RUN = 4  # ... and this many terms side by side, an answer is a list of terms
NEIGHBOURS = 7  # reviewed answers consulted per answer
KERNEL = 0.15  # similarity scale of the neighbours' weights (exp((s - 1) / KERNEL))
SPIKE, SHARP = 30.0, 0.03  # ... plus a sharp peak, so that a near-duplicate of a reviewed answer gets its points
PRIOR_WEIGHT = 0.1  # the zero-shot suggestion weighs as much as this many identical neighbours
BIAS_SHRINK = 3.0  # the per-check correction counts this many pseudo-answers of no correction
RIDGE = 1.0  # ... and how strongly the re-calibration is drawn to (the correction, 1)
COHORT_BIAS_SHRINK, COHORT_RIDGE = 10.0, 10.0  # the same for answers placed among the class's
# confidence = sigmoid(w . features), fitted (logistic regression, rounded) to whether the suggestion was within
# a tenth of the points of the human score: zero-shot from (points / max, decisiveness, 1); with reviewed
# answers from (points / max, decisiveness, nearest similarity, spread of the neighbours' points / max,
# distance of the suggestion from the neighbours' mean / max, 1). Suggestions of many points come first:
# a static model misses paraphrases more often than it finds what is not there.
ZERO_SHOT_CONFIDENCE = (2.0, 1.5, -2.0)
REVIEWED_CONFIDENCE = (1.1, 1.15, 1.6, -3.6, -2.6, -0.7)
# placing an answer among the class's answers (the cohort): share = COHORT_RELATIVE * its zero-shot share / the class's
# COHORT_QUANTILE quantile + COHORT_CENTRAL * its similarity to the class's answers weighted by their shares + COHORT_BASE.
# The three weights (and KERNEL) were chosen on half the questions of the public dataset (bench/text_agreement.py
# --half odd: Pearson r, and answers more than 0.5 of 5 points off) and checked on the other half. The base carries
# those graders' leniency (most answers there get 4 or more of 5): an answer with no content among a class that
# answered well still gets up to about half the points, which a reviewer corrects (and the re-fit learns from).
COHORT_MIN = 10  # different answers the class needs for this
COHORT_CHUNK = 100  # answers embedded at once (their word vectors are not kept)
COHORT_QUANTILE = 0.95
COHORT_FLOOR = 0.1  # the class's best answers count as having at least this share (nobody met the model answer)
COHORT_RELATIVE, COHORT_CENTRAL, COHORT_BASE = 0.5, 0.6, 0.22

# ---------------------------------------------------------------- reading a text

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ITEM = re.compile(r"[^\W_]+(?:[-_^'’][^\W_]+)*|\n|[^\w\s]", re.UNICODE)
_STOP = _words("""
a an the this that these those there here it its itself they them their theirs we us our you your i me my he she
his her him one ones of to in on at for by with from into onto about over under between through during before after
above below up down out off again further then once and or but nor so yet if else than too very just also only even
is are was were be been being am do does did doing done have has had having can could will would shall should may
might must ought what which who whom whose when where why how all any both each few more most other some such own
same as while until because since although though whereas whether either neither not no never none nothing nobody
without cannot can't don't doesn't isn't aren't wasn't weren't won't wouldn't shouldn't couldn't hasn't haven't hadn't
didn't mustn't needn't let lets i.e e.g etc via per like well much many lot lots way ways thing things get gets got
make makes made use used uses using mean means meant think thinks believe guess maybe perhaps probably basically
actually really kind sort
""")
_NEGATORS = _words("""not no never none nothing nobody neither nor without cannot can't don't doesn't isn't aren't
wasn't weren't won't wouldn't shouldn't couldn't hasn't haven't hadn't didn't mustn't needn't""")
_CLAUSE_WORDS = _words("""and but because since so although though whereas while which that where when however
therefore thus hence if unless then whereby due owing thanks""")
_RELATIONS = frozenset("=\u2248")  # an equation (not "m << d": a term of a list as well)
_PLAIN = re.compile(r"[^\W\d_]{2,}(?:[-'][^\W\d_]+)*")  # a word, not a formula token (x, W_O, SA_1, 4d)
_SOFT_BREAK = re.compile(r"(?<![\n.!?:;])[ \t]*\n(?![ \t]*(?:\n|[-*\u2022+]|\d+[.)]))")
_SENTENCE_END = frozenset(".!?;:\n")
_CONDITIONS = _words("if unless when whenever otherwise else until except")
_AUXILIARIES = _words("""is are was were be been being am do does did have has had can could will would shall
should may might must""")
_BASE_VERBS = _words("""
require contain allow store return call create compute map add use learn need predict take give keep
remove reduce increase avoid prevent mean help make let become work run read write see show tell say find get put set
go come know think look want seem try leave depend include involve provide produce generate apply combine replace
change convert transform multiply divide split insert select assign declare define initialise initialize execute
traverse point refer access pass hold represent describe determine ensure enable cause lead result fit cover handle
process perform behave act treat consider choose pick decide specify repeat terminate search sort swap merge delete
follow contribute depend differ exist happen improve lose matter move occur offer reach remain start stop turn
understand inject encode decode attend freeze train fine-tune adapt transfer capture imply equal begin end""")
_SUBJECTS = _words("i we you they he she it this that which who")


def _third_person(verb: str) -> str:
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


# words that make a sentence: auxiliaries, modals and verbs in the third person ("requires"); a verb's
# base form counts after a subject ("programs begin", "we freeze"), not alone ("freeze weights ...")
_VERBISH = _AUXILIARIES | frozenset(_third_person(v) for v in _BASE_VERBS) | _words(
    "means took gave made kept went came saw said found got became ran wrote thought brought")


def _clean(text: object) -> str:
    text = "" if text is None else str(text)
    text = unicodedata.normalize("NFKC", text).replace("\r", "\n")
    return text.encode("utf-8", "replace").decode("utf-8")


@functools.lru_cache(maxsize=65536)
def _key(word: str) -> str:
    """The form of a word that is embedded: lower case, except acronyms and names like LoRA."""
    return word.lower() if word[1:].islower() or len(word) == 1 or word.isupper() and len(word) > 4 else word


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    word = word.lower().replace("’", "'")
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ed", "es", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass
class _Text:
    """A text read for matching: its content words (keys, vectors, weights, polarity), its clauses
    (ranges of content-word positions) and its form (function words, verbs, list segments)."""

    text: str
    words: list[str]  # every word, in order
    content: list[int]  # indices (into words) of the content words
    keys: list[str]  # the content words' embedding keys
    clauses: list[tuple[int, int]]  # ranges of content-word positions
    scoped: list[bool]  # per content word: a negation ("not", "without", ...) comes before it in its clause
    first: list[bool]  # per content word: the first content word after a negation
    conditional: list[bool]  # per content word: its sentence has "if", "unless", "when", ...
    function_share: float  # function words per plain word (formula tokens such as W_O or x aside)
    verbs: int
    segments: list[int]  # words (numbers aside) per comma/line-separated segment
    run: int  # the longest run of content words with no function word or punctuation between them
    stems: list[str]  # stems of all words (for overlap with the rubric's wording)
    vectors: np.ndarray | None = None  # (n_content, DIM) unit vectors
    weights: np.ndarray | None = None  # per content word: 1, or QUESTION_WEIGHT for a word of the question
    lemmas: np.ndarray | None = None  # (n_content, DIM) vectors of the words without un-/non-
    polarity: np.ndarray | None = None  # +1 / -1 per content word (negated by a negation before it, or un-/non-)
    polar: np.ndarray | None = None  # per content word: negated by un-/non-, or right after a negation
    prefixed: np.ndarray | None = None  # per content word: negated by un-/non-


_VERB, _CONDITION, _CLAUSE, _NEGATION, _FUNCTION, _BASE, _SUBJECT, _QUANTITY = 1, 2, 4, 8, 16, 32, 64, 128
_WORD, _NUMBER = 256, 512  # a plain word (not a formula token such as W_O, x, 4d); a number
_NONE_OF = _words("zero")  # a content word that negates the next ones, as "no" does ("zero extra latency")


@functools.lru_cache(maxsize=65536)
def _kind(lower: str) -> int:
    """What a (lower-case) word is to `_read`, as bit flags."""
    negation = lower in _NEGATORS or lower.endswith("n't")
    return ((_VERB if lower in _VERBISH or lower.endswith("n't") else 0) | (_CONDITION if lower in _CONDITIONS else 0)
            | (_CLAUSE if lower in _CLAUSE_WORDS else 0) | (_NEGATION if negation else 0)
            | (_FUNCTION if negation or lower in _STOP else 0) | (_BASE if lower in _BASE_VERBS else 0)
            | (_SUBJECT if lower in _SUBJECTS or lower.endswith("s") else 0) | (_QUANTITY if lower in _NONE_OF else 0)
            | (_WORD if _PLAIN.fullmatch(lower) else 0) | (_NUMBER if lower.isdigit() else 0))


READ_KEPT = 4000  # texts read and kept: a check's class and its reviewed answers, not a course's


def _read(text: str) -> _Text:
    """A text's words, content words, clauses, negations and form (see _Text): read once per
    process and text (a class's answers are suggested for again after each review), copied
    for each use (the copy gets its vectors)."""
    return replace(_read_once(text))


@functools.lru_cache(maxsize=READ_KEPT)
def _read_once(text: str) -> _Text:
    text = _SOFT_BREAK.sub(" ", _clean(text).replace("\u2019", "'"))  # a wrapped line goes on
    words: list[str] = []
    content: list[int] = []
    keys: list[str] = []
    clauses: list[tuple[int, int]] = []
    scoped: list[bool] = []
    first: list[bool] = []
    conditional: list[bool] = []
    segments: list[int] = []
    segment = clause_start = sentence_start = verbs = function = plain = run = longest = negated = 0
    fresh = condition = False
    previous = 0  # the kind of the word before
    for item in _ITEM.findall(text):
        if not (item[0].isalnum() or item[0] == "_"):  # punctuation or a line break
            run = 0
            if item in _RELATIONS:  # "MHA(X) = ...": a formula has structure, as a verb gives a sentence
                verbs += 1
            if item in _SENTENCE_END or item == ",":
                if len(content) > clause_start:
                    clauses.append((clause_start, len(content)))
                clause_start, negated, fresh = len(content), 0, False
                if item != ",":
                    if condition:
                        conditional[sentence_start:] = [True] * (len(content) - sentence_start)
                    sentence_start, condition = len(content), False
                if segment:
                    segments.append(segment)
                segment = 0
            continue
        lower = item.lower()
        kind = _kind(lower)
        words.append(item)
        if not kind & _NUMBER:  # a number is no term of a list
            segment += 1
        if kind & _WORD:
            plain += 1
        if kind & _VERB or (kind & _BASE and previous & _SUBJECT):  # "requires", "programs begin"
            verbs += 1
        previous = kind
        if kind & _CONDITION:
            condition = True
        if kind & _CLAUSE:
            if len(content) > clause_start:
                clauses.append((clause_start, len(content)))
            clause_start, negated, fresh = len(content), 0, False
        if kind & _FUNCTION:
            function += 1
            run = 0
            if kind & _NEGATION:
                negated, fresh = NEGATION_REACH, True
            continue
        run += 1
        longest = max(longest, run)
        content.append(len(words) - 1)
        keys.append(_key(item))
        scoped.append(negated > 0)
        first.append(fresh)
        conditional.append(False)
        fresh = False
        negated = max(0, negated - 1)  # a negation reaches the next few content words of its clause
        if kind & _QUANTITY:
            negated, fresh = NEGATION_REACH, True
    if len(content) > clause_start:
        clauses.append((clause_start, len(content)))
    if condition:
        conditional[sentence_start:] = [True] * (len(content) - sentence_start)
    if segment:
        segments.append(segment)
    share = function / plain if plain else 1.0
    return _Text(text, words, content, keys, clauses, scoped, first, conditional, share, verbs, segments, longest,
                 [_stem(w) for w in words])


def _vectorise(model: _Model, texts: Sequence[_Text], demote: frozenset[str] = frozenset()) -> None:
    """Give each text its word vectors, weights (words of the question count less) and the
    polarity of each word (a word with un-/non- is negated too)."""
    keys = [k for t in texts for k in t.keys]
    rows, unit, negated, lemma = model.lookup(keys)
    vectors = unit[rows]
    lemmas = unit[lemma[rows]]
    prefixed = negated[rows]
    start = 0
    for t in texts:
        end = start + len(t.keys)
        t.vectors, t.lemmas = vectors[start:end], lemmas[start:end]
        t.weights = np.array([QUESTION_WEIGHT if demote and _stem(k) in demote else 1.0 for k in t.keys],
                             dtype=np.float32)
        scoped = np.array(t.scoped, dtype=bool)
        t.polarity = np.where(prefixed[start:end] ^ scoped, -1, 1).astype(np.int8)
        t.prefixed = prefixed[start:end]
        t.polar = (t.prefixed | np.array(t.first, dtype=bool)) & ~np.array(t.conditional, dtype=bool)
        start = end


@functools.lru_cache(maxsize=65536)
def _lemma(key: str) -> str:
    """The word without a negating prefix (unlabelled -> labelled); the word itself otherwise."""
    lower = key.lower()
    for prefix in ("non-", "non", "un-", "un"):
        if lower.startswith(prefix) and len(lower) - len(prefix) >= 4:
            return key[len(prefix):]
    return key


# ---------------------------------------------------------------- the rubric's side


@dataclass
class _Reference:
    """One check's criteria as texts to match, prepared once (pattern hits aside)."""

    max_points: float
    points: np.ndarray  # per criterion
    descriptions: tuple[str, ...]
    texts: list[_Text]
    owner: np.ndarray  # criterion of each text
    midpoint: np.ndarray  # per text: the similarity at which it is half met
    slope: np.ndarray  # per text
    rows: np.ndarray  # (total words, DIM): every text's word vectors, stacked
    starts: np.ndarray  # first row of each text, and the end
    weights: np.ndarray  # weight of each row
    weight_sums: np.ndarray  # per text
    lemma_rows: np.ndarray  # (total words, DIM): the words without un-/non-
    row_owner: np.ndarray  # criterion of each row
    row_polarity: np.ndarray  # +1 / -1 per row
    row_polar: np.ndarray  # per row: a word whose polarity is checked
    row_prefixed: np.ndarray  # per row: a word negated by un-/non- (unlabelled, nonlinearity)
    demote: frozenset[str]
    rubric_stems: frozenset[str]  # the question's and the descriptions' words
    description_trigrams: tuple[frozenset, ...]  # per criterion: its description's word trigrams
    cohorts: dict = field(default_factory=dict)  # the class's answers (a tuple) -> their _Cohort (or None)


_references: OrderedDict = OrderedDict()
_references_lock = threading.Lock()


def _reference(criteria: Sequence[CriterionSpec], max_points: float, model_answers: Sequence[str],
               rubric_text: str) -> _Reference:
    key = (tuple((float(c.points), c.description, tuple(c.examples)) for c in criteria), float(max_points),
           tuple(model_answers), rubric_text)
    with _references_lock:
        found = _references.get(key)
        if found is not None:
            _references.move_to_end(key)
            return found
    built = _build_reference(criteria, max_points, model_answers, rubric_text)
    with _references_lock:
        _references[key] = built
        while len(_references) > 256:
            _references.popitem(last=False)
    return built


def _build_reference(criteria: Sequence[CriterionSpec], max_points: float, model_answers: Sequence[str],
                     rubric_text: str) -> _Reference:
    model = _load()
    texts: list[_Text] = []
    owner: list[int] = []
    described: list[bool] = []  # per text: a description (else an example or a model answer)

    def add(text: str, number: int, description: bool) -> None:
        read = _read(text)
        if not description and len(read.keys) > 8:  # a long example or model answer: only un-/non- words are checked
            read.first = [False] * len(read.keys)
        texts.append(read)
        owner.append(number)
        described.append(description)

    answers = [_clean(a) for a in model_answers if _clean(a).strip()]
    single = len(criteria) == 1
    for number, criterion in enumerate(criteria):
        description = _clean(criterion.description)
        if description.strip().casefold() != PLACEHOLDER:  # the placeholder says nothing of the content
            add(description, number, True)
        examples = [_clean(e) for e in criterion.examples if _clean(e).strip()]
        for example in examples:
            add(example, number, False)
        if single:
            for answer in answers:
                if answer not in examples:
                    add(answer, number, False)
    # the question: the rubric's text without the criteria's own texts
    question = _clean(rubric_text)
    for own in sorted({_clean(c.description) for c in criteria} | {_clean(e) for c in criteria for e in c.examples}
                      | set(answers), key=len, reverse=True):
        if own.strip():
            question = question.replace(own, " ")
    asked = _read(question)
    demote = frozenset(_stem(asked.words[i]) for i in asked.content)
    _vectorise(model, texts, demote)
    if answers and not single:  # each sentence of a model answer goes to the criterion it is closest to
        heads = np.stack([_mean(t) for t in texts])
        sentences = [_read(x) for a in answers for x in re.split(r"(?<=[.!?;])\s+|\n+", a) if x.strip()]
        _vectorise(model, sentences, demote)
        for sentence in sentences:
            if sentence.keys:
                sentence.polar = sentence.polar & sentence.prefixed
                texts.append(sentence)
                owner.append(owner[int(np.argmax(heads @ _mean(sentence)))])
                described.append(False)
    kept = [i for i, t in enumerate(texts) if t.keys]
    texts, owner, described = [texts[i] for i in kept], [owner[i] for i in kept], [described[i] for i in kept]
    starts = np.cumsum([0] + [len(t.keys) for t in texts])
    empty = np.zeros((0, DIM), dtype=np.float32)
    rows = np.concatenate([t.vectors for t in texts] + [empty]).astype(np.float32)
    weights = np.concatenate([t.weights for t in texts] + [np.zeros(0, np.float32)]).astype(np.float32)
    sums = np.array([max(float(t.weights.sum()), 1e-6) for t in texts])
    lemma_rows = np.concatenate([t.lemmas for t in texts] + [empty]).astype(np.float32)
    row_owner = np.array([o for t, o in zip(texts, owner) for _ in t.keys], dtype=np.int64)
    row_polarity = np.concatenate([t.polarity for t in texts] + [np.zeros(0, np.int8)])
    row_polar = np.concatenate([t.polar for t in texts] + [np.zeros(0, bool)])
    row_prefixed = np.concatenate([t.prefixed for t in texts] + [np.zeros(0, bool)])
    # a word the criterion itself says both ways ("if no constructor is given, ... one is given") is not checked
    for c in set(owner):
        for r in np.nonzero((row_owner == c) & row_polar)[0]:
            same = (lemma_rows[row_owner == c] @ lemma_rows[r]) >= ALIGN
            if len(set(row_polarity[row_owner == c][same].tolist())) > 1:
                row_polar[r] = False
    # the wording a student could have seen: the question and the descriptions (not the examples)
    seen = _read(question + " . " + " . ".join(c.description for c in criteria)).stems
    trigrams = []
    for c in criteria:
        stems = _read(c.description).stems
        trigrams.append(frozenset(zip(stems, stems[1:], stems[2:])))
    return _Reference(float(max_points), np.array([float(c.points) for c in criteria]),
                      tuple(c.description for c in criteria), texts, np.array(owner, dtype=np.int64),
                      np.where(described, DESCRIPTION_MIDPOINT, MIDPOINT),
                      np.where(described, DESCRIPTION_SLOPE, SLOPE),
                      rows, starts, weights, sums, lemma_rows, row_owner, row_polarity, row_polar, row_prefixed,
                      demote, frozenset(seen), tuple(trigrams))


def _mean(t: _Text) -> np.ndarray:
    """The weighted mean direction of a text's content words (zero for none)."""
    return _means([t])[0]


def _means(texts: Sequence[_Text]) -> np.ndarray:
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, t in enumerate(texts):
        if t.keys:
            v = t.weights @ t.vectors
            norm = float(np.linalg.norm(v))
            out[i] = v / norm if norm > 0 else v
    return out


# ---------------------------------------------------------------- scoring answers


@dataclass
class _Scored:
    fractions: list[float]  # per criterion, after penalties
    raw: float  # points from the fractions, before rounding and flags
    flags: list[str]
    decisive: float  # 0..1: how clearly each criterion is met or not
    penalised: bool  # halved: a keyword list or a copy of the rubric
    plain: float = 0.0  # `raw` without the rubric's regexes (as reviewed answers are scored, whose hits are unknown)
    relative: tuple[float, float] | None = None  # (zero, zero_plain) placed among the class's answers (_Cohort)

    @property
    def zero(self) -> float:
        """The zero-shot points, before rounding."""
        if self.relative is not None:
            return self.relative[0]
        return self.raw * (FLAG_FACTOR if self.penalised else 1.0)

    @property
    def zero_plain(self) -> float:
        if self.relative is not None:
            return self.relative[1]
        return self.plain * (FLAG_FACTOR if self.penalised else 1.0)


def _score(ref: _Reference, texts: Sequence[_Text], hits: Sequence[Sequence[bool | None]]) -> list[_Scored]:
    """The zero-shot result of each answer: all answers' words against all the reference's words
    at once (each answer's numbers depend on that answer alone)."""
    n = len(ref.points)
    out: list[_Scored | None] = [None] * len(texts)
    full = [i for i, t in enumerate(texts) if t.keys]
    for start in range(0, len(full) if len(ref.rows) else 0, BATCH):
        chosen = full[start:start + BATCH]
        batch = [texts[i] for i in chosen]
        logits = _logits(ref, batch)  # (criteria, answers)
        boost = PATTERN_BOOST * np.array([[1.0 if h else 0.0 for h in hits[i]] for i in chosen]).T
        denied, both = _polarity(ref, batch)
        penalty = np.where(both, 0.5, 1.0) * np.where(denied, 1 - DENIAL_PENALTY, 1.0)
        fractions = penalty / (1.0 + np.exp(-np.clip(logits + boost, -40, 40)))
        plain_fractions = penalty / (1.0 + np.exp(-np.clip(logits, -40, 40)))
        # a criterion that is clearly not met earns nothing (many near-zero fractions add up to nothing)
        fractions = np.where(fractions < NOT_MET, 0.0, fractions)
        plain = (np.where(plain_fractions < NOT_MET, 0.0, plain_fractions) * ref.points[:, None]).sum(axis=0)
        for column, (i, t) in enumerate(zip(chosen, batch)):
            f = fractions[:, column]
            flags = []
            if both[:, column].any():
                flags.append(FLAG_CONTRADICTS)
            if denied[:, column].any():
                flags.append(FLAG_DENIES)
            if _keyword_list(t):
                flags.append(FLAG_LIST)
            if _copies_rubric(ref, t):
                flags.append(FLAG_COPY)
            penalised = FLAG_LIST in flags or FLAG_COPY in flags
            out[i] = _Scored([float(x) for x in f], float((f * ref.points).sum()), flags,
                             float(np.abs(2 * f - 1).mean()), penalised, float(plain[column]))
    for i in range(len(texts)):
        if out[i] is None:
            out[i] = _Scored([0.0] * n, 0.0, [], 1.0, False)
    return out  # type: ignore[return-value]


def _stacked(texts: Sequence[_Text]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The answers' word vectors and weights one after the other, where each answer's words
    start, and where each clause starts (clauses cover every answer's words, in order)."""
    vectors = np.concatenate([t.vectors for t in texts])
    weights = np.concatenate([t.weights for t in texts]).astype(np.float32)
    starts = np.cumsum([0] + [len(t.keys) for t in texts])[:-1]
    clauses = np.concatenate([[start + a for a, _ in t.clauses] for start, t in zip(starts, texts)]).astype(np.int64)
    return vectors, weights, starts, clauses


def _logits(ref: _Reference, texts: Sequence[_Text]) -> np.ndarray:
    """(criteria, answers): the log-odds that each answer meets each criterion, from its best text."""
    vectors, weights, starts, clause_starts = _stacked(texts)
    sim = ref.rows @ vectors.T  # (reference words, answer words)
    np.clip(sim, 0.0, 1.0, out=sim)
    # soft recall: each reference word's best cosine with a word of the answer
    best = np.maximum.reduceat(sim, starts, axis=1)  # (reference words, answers)
    recall = np.add.reduceat(best * ref.weights[:, None], ref.starts[:-1], axis=0) / ref.weight_sums[:, None]
    # soft precision of each clause: how much of the clause is about the text (a clause of one or
    # two words says little: it counts by its size)
    about = np.maximum.reduceat(sim, ref.starts[:-1], axis=0) * weights[None, :]  # (texts, answer words)
    said = np.add.reduceat(about, clause_starts, axis=1)
    mass = np.add.reduceat(weights, clause_starts)
    sizes = np.diff(np.append(clause_starts, len(weights)))
    precision = said / np.maximum(mass, 1e-6)[None, :] * np.minimum(1.0, sizes / 3.0)[None, :]
    first_clause = np.searchsorted(clause_starts, starts)
    clause = np.maximum.reduceat(precision, first_clause, axis=1)  # (texts, answers)
    similarity = RECALL_WEIGHT * recall + (1 - RECALL_WEIGHT) * clause
    per_text = ref.slope[:, None] * (similarity - ref.midpoint[:, None])
    logits = np.full((len(ref.points), len(texts)), -40.0)
    for c in range(len(ref.points)):
        mine = ref.owner == c
        if mine.any():
            logits[c] = per_text[mine].max(axis=0)
    return logits


def _polarity(ref: _Reference, texts: Sequence[_Text]) -> tuple[np.ndarray, np.ndarray]:
    """(criteria, answers): whether the answer says one of the criterion's negated words (un-/non-
    words, and a word right after "no", "not", "without" in a short text) with the opposite
    polarity and nowhere with the same ("it is not trained on unlabelled data" against
    "unlabelled raw text"); and whether it says an un-/non- word of the criterion both ways, in
    different clauses, once with "not" before it ("it uses unlabelled text ... it is not trained
    on unlabelled data")."""
    shape = (len(ref.points), len(texts))
    denied, both = np.zeros(shape, bool), np.zeros(shape, bool)
    rows = np.nonzero(ref.row_polar)[0]
    if not len(rows):
        return denied, both
    lemmas = np.concatenate([t.lemmas for t in texts])
    usable = ~np.concatenate([np.array(t.conditional, dtype=bool) for t in texts])
    aligned = (ref.lemma_rows[rows] @ lemmas.T >= ALIGN) & usable[None, :]
    columns = np.nonzero(aligned.any(axis=0))[0]
    if not len(columns):
        return denied, both
    polarity = np.concatenate([t.polarity for t in texts])
    scoped = np.concatenate([np.array(t.scoped, dtype=bool) for t in texts])
    owner_of = np.repeat(np.arange(len(texts)), [len(t.keys) for t in texts])
    for answer in np.unique(owner_of[columns]):
        t = texts[answer]
        mine = owner_of == answer
        block = aligned[:, mine]
        same = ref.row_polarity[rows][:, None] == polarity[mine][None, :]
        agree_rows = (block & same).any(axis=1)
        oppose_rows = (block & ~same).any(axis=1)
        # both ways: a word the criterion negates by un-/non- said so, and elsewhere with "not" before it
        negated_against = (block & ~same & scoped[mine][None, :]).any(axis=1)
        clause_of = np.zeros(len(t.keys), dtype=np.int64)
        for number, (a, b) in enumerate(t.clauses):
            clause_of[a:b] = number
        for r, row in enumerate(rows):
            if ref.row_prefixed[row] and agree_rows[r] and negated_against[r] \
                    and len(set(clause_of[block[r]].tolist())) > 1:
                both[ref.row_owner[row], answer] = True
        agree = np.zeros(len(ref.points), bool)
        oppose = np.zeros(len(ref.points), bool)
        np.logical_or.at(agree, ref.row_owner[rows], agree_rows)
        np.logical_or.at(oppose, ref.row_owner[rows], oppose_rows)
        denied[:, answer] = oppose & ~agree
    return denied, both


def _keyword_list(ans: _Text) -> bool:
    """A list of terms rather than sentences: no verb, and either few function words with a long
    run of terms side by side ("first generic unlabeled raw text"), or many short comma-separated
    items ("bias, licensing, privacy, ..."). Formula tokens (W_O, SA_1, x) do not count."""
    if ans.verbs or sum(ans.segments) < MIN_LIST_WORDS:
        return False
    if ans.function_share <= LIST_FUNCTION_SHARE and ans.run >= LIST_RUN:
        return True
    items = [n for n in ans.segments if n]
    return len(items) >= 4 and sum(items) / len(items) <= 2.5


def _copies_rubric(ref: _Reference, ans: _Text) -> bool:
    """The answer is, for the most part, the criteria's descriptions word for word (what a student
    sees in the feedback): most of its word trigrams are theirs, and it covers most of one."""
    trigrams = set(zip(ans.stems, ans.stems[1:], ans.stems[2:]))
    if len(trigrams) < 3:
        return False
    theirs = frozenset().union(*ref.description_trigrams) if ref.description_trigrams else frozenset()
    copied = len(trigrams & theirs) / len(trigrams)
    covered = max((len(d & trigrams) / len(d) for d in ref.description_trigrams if len(d) >= 3), default=0.0)
    return copied >= COPY_SHARE and covered >= COPY_SHARE


# ---------------------------------------------------------------- the class's answers


@dataclass
class _Cohort:
    """The class's answers to one check, unlabelled: where an answer stands among them."""

    keys: dict[str, int]  # normalised answer -> its id (identical answers share one)
    ids: np.ndarray  # per answer of the class: the id of its text
    vectors: np.ndarray  # (answers, DIM) content vectors
    weights: np.ndarray  # per answer: its zero-shot share of the points (how much it stands for a good answer)
    top: float  # the COHORT_QUANTILE quantile of those shares (at least COHORT_FLOOR)


def _prepare_cohort(ref: _Reference, answers: Sequence[str],
                    known: dict[str, tuple[_Text, float]] | None = None) -> _Cohort | None:
    """The class's answers scored zero-shot once (kept with the check's reference, per class).
    `known`: cleaned text -> (its _Text with vectors, its zero-shot points without regexes), for
    answers already scored (they are not scored again)."""
    key = tuple(answers)
    with _references_lock:
        if key in ref.cohorts:
            return ref.cohorts[key]
    known = known or {}
    texts = [_clean(a) for a in answers]
    normalised = [_normalised(t) for t in texts]
    keys = [known[t][0].keys if t in known else _read_once(t).keys for t in texts]
    kept = [i for i, k in enumerate(keys) if k]
    cohort = None
    if len({normalised[i] for i in kept}) >= COHORT_MIN:
        plain, means = {}, np.zeros((len(texts), DIM), dtype=np.float32)
        ready = [i for i in kept if texts[i] in known]
        means[ready] = _means([known[texts[i]][0] for i in ready])
        new = [i for i in kept if texts[i] not in known]
        for start in range(0, len(new), COHORT_CHUNK):  # the word vectors of a chunk at a time
            chunk = new[start:start + COHORT_CHUNK]
            read = [_read(texts[i]) for i in chunk]
            _vectorise(_load(), read, ref.demote)
            plain.update((i, x.zero_plain) for i, x in zip(chunk, _score(ref, read, [[None] * len(ref.points)] * len(chunk))))
            means[chunk] = _means(read)
        share = np.array([plain[i] if i in plain else known[texts[i]][1] for i in kept])
        share = np.clip(share / max(ref.max_points, 1e-9), 0.0, 1.0)
        ids: dict[str, int] = {}
        for i in kept:
            ids.setdefault(normalised[i], len(ids))
        cohort = _Cohort(ids, np.array([ids[normalised[i]] for i in kept], dtype=np.int64), means[kept], share,
                         max(float(np.quantile(share, COHORT_QUANTILE)), COHORT_FLOOR))
    with _references_lock:
        if len(ref.cohorts) >= 4:  # a class or two per check and process: keep the latest few
            ref.cohorts.pop(next(iter(ref.cohorts)), None)
        ref.cohorts[key] = cohort
    return cohort


def _place(ref: _Reference, cohort: _Cohort, texts: Sequence[str], read: Sequence[_Text],
           scored: Sequence[_Scored]) -> None:
    """Each answer's zero-shot points placed among the class's answers: its share of the points
    relative to the best answers' (the COHORT_QUANTILE quantile), and its similarity in meaning
    to the other answers, each weighted by its own share (what the good answers say), mapped
    linearly back to points. Sets `relative` on each scored answer with content words."""
    chosen = [i for i, t in enumerate(read) if t.keys]
    if not chosen:
        return
    sims = _means([read[i] for i in chosen]) @ cohort.vectors.T  # (answers, class)
    own = np.array([cohort.keys.get(_normalised(texts[i]), -1) for i in chosen])
    weights = np.where(own[:, None] == cohort.ids[None, :], 0.0, cohort.weights[None, :])  # not itself
    central = (sims * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    top = max(ref.max_points, 1e-9)
    for row, i in enumerate(chosen):
        x = scored[i]
        factor = FLAG_FACTOR if x.penalised else 1.0
        placed = []
        for value in (x.raw, x.plain):  # no criterion met at all stays no points
            share = COHORT_RELATIVE * (value / top) / cohort.top + COHORT_CENTRAL * float(central[row]) + COHORT_BASE
            placed.append(top * min(1.0, max(0.0, share)) * factor if value > 0 else 0.0)
        x.relative = (placed[0], placed[1])


# ---------------------------------------------------------------- learning from reviewed answers


@dataclass
class _Reviewed:
    keys: dict[str, int]  # normalised answer -> index of its latest review
    points: np.ndarray
    residuals: np.ndarray  # points - the re-calibrated zero-shot points
    vectors: np.ndarray  # (n, DIM) content vectors
    offset: float  # re-calibration of the zero-shot points: offset + scale * points
    scale: float


def _prepare_reviewed(ref: _Reference, reviewed: Sequence[Labelled], cohort: _Cohort | None = None) -> _Reviewed | None:
    if not reviewed:
        return None
    texts = [_clean(r.answer) for r in reviewed]
    read = [_read(t) for t in texts]
    _vectorise(_load(), read, ref.demote)
    scored = _score(ref, read, [[None] * len(ref.points)] * len(read))
    if cohort is not None:
        _place(ref, cohort, texts, read, scored)
    zero = np.array([x.zero_plain for x in scored])
    points = np.array([float(r.points) for r in reviewed])
    keys = {_normalised(r.answer): i for i, r in enumerate(reviewed)}
    # re-calibrate the zero-shot points on the reviewed answers: a ridge fit of points = offset + scale * zero,
    # drawn towards (the shrunk mean correction, 1); placed among the class, they are on the class's scale
    # already, and the fit is drawn much harder to no correction (reviewers pick the answers that are off)
    shrink, strength = (COHORT_BIAS_SHRINK, COHORT_RIDGE) if cohort is not None else (BIAS_SHRINK, RIDGE)
    bias = float((points - zero).sum() / (len(points) + shrink))
    design = np.stack([np.ones_like(zero), zero], axis=1)
    ridge = strength * np.eye(2)
    offset, scale = np.linalg.solve(design.T @ design + ridge, design.T @ points + ridge @ np.array([bias, 1.0]))
    return _Reviewed(keys, points, points - (offset + scale * zero), _means(read), float(offset), float(scale))


def _fit(ref: _Reference, learned: _Reviewed, means: np.ndarray,
         scored: Sequence[_Scored]) -> list[tuple[float, float, str]]:
    """Per answer: the points re-fitted from the reviewed answers, the confidence in them, and what
    they were fitted from (all answers at once; each row depends on its answer alone)."""
    if not len(means):
        return []
    sims = means @ learned.vectors.T  # (answers, reviewed)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :NEIGHBOURS]
    near = np.take_along_axis(sims, order, axis=1)
    spikes = SPIKE * np.exp((near - 1.0) / SHARP)  # near-duplicates decide
    weights = np.exp((near - 1.0) / KERNEL) + spikes
    total = weights.sum(axis=1)
    zero = np.array([x.zero for x in scored])
    plain = np.array([x.zero_plain for x in scored])
    # the reviewed answers' zero-shot points are known without the regexes' hits: fit on those, and add
    # what the hits add for this answer unless a near-duplicate decides
    fitted = (learned.offset + learned.scale * plain
              + (weights * learned.residuals[order]).sum(axis=1) / (total + PRIOR_WEIGHT)
              + (zero - plain) * (1.0 - spikes.sum(axis=1) / (total + PRIOR_WEIGHT)))
    # confidence: the chance that a reviewer agrees within a tenth of the points, from how close the
    # neighbours are, how much they agree with each other and with the suggestion
    neighbours = learned.points[order]
    mean = (weights * neighbours).sum(axis=1) / total
    spread = np.sqrt((weights * (neighbours - mean[:, None]) ** 2).sum(axis=1) / total)
    top = max(ref.max_points, 1e-9)
    out = []
    count = len(learned.points)
    for i, x in enumerate(scored):
        rounded = _round_points(float(fitted[i]), ref.max_points)
        features = (rounded / top, x.decisive, float(near[i, 0]), spread[i] / top, abs(rounded - mean[i]) / top, 1.0)
        confidence = _sigmoid(sum(w * f for w, f in zip(REVIEWED_CONFIDENCE, features)))
        note = f"re-fitted from {count} reviewed answer{'s' if count != 1 else ''}"
        close = int((near[i] >= 0.9).sum())
        if close:
            note += f", {close} of them close in meaning (similarity {float(near[i, 0]):.2f})"
        out.append((float(fitted[i]), confidence, note))
    return out


# ---------------------------------------------------------------- suggestions


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, x))))


def _round_points(value: float, max_points: float, down: bool = False) -> float:
    top = math.floor(max_points * 2 + 1e-9) / 2
    halves = math.floor(value * 2 + 1e-9) if down else math.floor(value * 2 + 0.5)
    return float(min(max(halves / 2, 0.0), top))


def suggest(answer: str, criteria: Sequence[CriterionSpec], max_points: float, *,
            model_answers: Sequence[str] = (), reviewed: Sequence[Labelled] = (),
            rubric_text: str = "", cohort: Sequence[str] = ()) -> Suggestion:
    """Suggested points for one free-text answer (see the module's docstring)."""
    return suggest_many([answer], criteria, max_points, model_answers=model_answers, reviewed=reviewed,
                        rubric_text=rubric_text, cohort=cohort)[0]


def suggest_many(answers: Sequence[str], criteria, max_points: float, *,
                 model_answers: Sequence[str] = (), reviewed: Sequence[Labelled] = (),
                 rubric_text: str = "", cohort: Sequence[str] = ()) -> list[Suggestion]:
    """`suggest` for many answers of one check, the answers' words embedded in one batch.

    `criteria` is one sequence of CriterionSpec for every answer, or one per answer (the same
    criteria, each with that answer's `pattern_hit`). `cohort`: the class's answers to this
    check (unlabelled; the answers themselves may be among them): with at least COHORT_MIN
    different ones, each zero-shot suggestion is placed among them (see the module's docstring)."""
    if isinstance(answers, str):
        raise TypeError("suggest_many takes a sequence of answers, not one string")
    answers = list(answers)
    criteria = list(criteria)
    if criteria and not isinstance(criteria[0], CriterionSpec):  # one list of criteria per answer
        if len(criteria) != len(answers):
            raise ValueError(f"{len(criteria)} lists of criteria for {len(answers)} answers")
        per_answer = [tuple(c) for c in criteria]
        shared = per_answer[0] if per_answer else ()
    else:
        shared = tuple(criteria)
        per_answer = [shared] * len(answers)
    max_points = float(max_points)
    if not shared:
        if not model_answers:
            raise ValueError("give criteria, or model answers to score against")
        shared = (CriterionSpec(points=max_points, description=PLACEHOLDER, examples=tuple(model_answers)),)
        per_answer = [shared] * len(answers)
    for own in per_answer:
        if [(c.points, c.description, tuple(c.examples)) for c in own] != \
                [(c.points, c.description, tuple(c.examples)) for c in shared]:
            raise ValueError("every answer's criteria must be the same criteria (only pattern_hit may differ)")
    ref = _reference(shared, max_points, tuple(model_answers), rubric_text)
    texts = [_clean(a) for a in answers]
    read = [_read(t) for t in texts]
    _vectorise(_load(), read, ref.demote)
    scored = _score(ref, read, [[c.pattern_hit for c in own] for own in per_answer])
    placed = None
    if cohort:
        placed = _prepare_cohort(ref, list(cohort), {t: (a, x.zero_plain) for t, a, x in zip(texts, read, scored)})
    if placed is not None:
        _place(ref, placed, texts, read, scored)
    learned = _prepare_reviewed(ref, reviewed, placed)
    fits: list[tuple[float, float, str] | None] = [None] * len(texts)
    if learned is not None:
        content = [i for i, t in enumerate(read) if t.keys]  # an answer without content words keeps its zero-shot
        means = _means([read[i] for i in content])
        for i, fit in zip(content, _fit(ref, learned, means, [scored[i] for i in content])):
            fits[i] = fit
    return [_suggest_one(ref, learned, text, ans, result, fit)
            for text, ans, result, fit in zip(texts, read, scored, fits)]


def _suggest_one(ref: _Reference, learned: _Reviewed | None, text: str, ans: _Text, scored: _Scored,
                 fit: tuple[float, float, str] | None) -> Suggestion:
    zero = scored.zero
    top = max(ref.max_points, 1e-9)
    confidence = _sigmoid(ZERO_SHOT_CONFIDENCE[0] * _round_points(zero, ref.max_points) / top
                          + ZERO_SHOT_CONFIDENCE[1] * scored.decisive + ZERO_SHOT_CONFIDENCE[2])
    if not ans.keys:  # nothing but white space (surely no points) or no content word (a reviewer should look)
        confidence = 0.9 if not text.strip() else 0.5
    value, note = zero, ""
    if learned is not None:
        exact = learned.keys.get(_normalised(text))
        if exact is not None:
            return _suggestion(ref, scored, _round_points(float(learned.points[exact]), ref.max_points), 1.0,
                               "a reviewer gave these points to the same answer")
        if fit is not None:
            value, confidence, note = fit
    points = _round_points(value, ref.max_points, down=scored.penalised)
    if scored.penalised and not note:  # strictly less than the same content written out would get
        points = max(0.0, min(points, _round_points(scored.raw, ref.max_points) - 0.5))
    if scored.flags:
        confidence *= 0.7
    return _suggestion(ref, scored, points, confidence, note)


def _suggestion(ref: _Reference, scored: _Scored, points: float, confidence: float, fitted: str) -> Suggestion:
    met = "; ".join(d for d, f in zip(ref.descriptions, scored.fractions) if f >= 0.5)
    missing = "; ".join(d for d, f in zip(ref.descriptions, scored.fractions) if f < 0.5)
    found = f"Found: {met}" if met else ""
    if missing:
        found += ("; not found: " if met else "Not found: ") + missing
    reasons = [found + "."]
    penalties = [f for f in scored.flags if f in (FLAG_LIST, FLAG_COPY)]
    if penalties:
        reasons.append("Less than its content would get: it " + " and ".join(penalties) + ".")
    reasons.append((fitted[0].upper() + fitted[1:] + ".") if fitted else "Zero-shot: no reviewed answers yet.")
    return Suggestion(points=points, max_points=ref.max_points,
                      criteria=tuple((d, round(f, 3)) for d, f in zip(ref.descriptions, scored.fractions)),
                      confidence=round(min(1.0, max(0.0, confidence)), 3), flags=tuple(scored.flags),
                      reasons=" ".join(reasons))
