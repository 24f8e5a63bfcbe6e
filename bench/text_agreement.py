"""Benchmark: how well the suggested points for free text agree with human graders.

    python bench/text_agreement.py DATA             # a short-answer dataset with human scores
    python bench/text_agreement.py                  # the small fixture shipped beside this script
    python bench/text_agreement.py DATA --seeds 5 --timing-only

It scores every answer of a public short-answer grading dataset with `grader.semantic` and
prints, per setting, Pearson r and quadratic-weighted kappa (both on half points) between the
suggested and the human points:

- **zero-shot**: from the model answer alone (each question is a check without criteria,
  its model answer the one example; the question is the rubric's text);
- **k = 5, 10, 20 reviewed**: k answers per question, drawn at random, are given with their
  human points as reviewed answers, and the suggestions for the other answers are scored
  (the reviewed ones are left out of the evaluation); the mean over --seeds draws.

Then the **review effort**: a simulated teaching assistant reviews one question at a time.
The answers still open are grouped by meaning (identical answers, and answers whose sentence
vectors have a cosine of at least --group-similarity with the group's first answer); the TA
takes the group with the lowest mean confidence; if its answers' human scores are all within
--tolerance of one score, scoring the group is one action, otherwise each of its answers is
one action; the reviewed answers then re-fit the suggestions for the rest. It stops when every
open answer's suggestion is within --tolerance of its human score (accepting those is one more
action). The effort is the number of actions against one action per answer.

Last, the **time** of suggesting points for 1,000 students x 14 free-text answers: the 14
text checks of rubrics/ex07.yaml (their criteria), each with 1,000 different answers made
from the dataset's answers (about 60 words each), without and with 20 reviewed answers per
check, from cold caches (every word embedded anew; the model's load is timed apart).

DATA is either one table (.csv, .tsv, .jsonl or .parquet) with a column for the question id,
the model answer, the student's answer and the human score (the question text is optional;
common column names are recognised, e.g. id/question_id, desired_answer/instructor_answer/
reference_answer/model_answer, student_answer/answer, score_avg/score/grade), or a folder
with `questions.csv` (id, question, answer: the model answer) and `answers.csv` (id, answer,
score), the layout of a common CSV conversion of the Mohler data.

The dataset measured for the README is the University of North Texas short-answer grading
data (Mohler, Bunescu and Mihalcea, "Learning to Grade Short Answer Questions using Semantic
Similarity Measures and Dependency Graph Alignments", ACL 2011): 87 questions of an
introductory data-structures course, 2,442 answers, each scored 0..5 by two graders (the
average counts). Its README states no licence (third-party copies label it CC BY 4.0, which
its authors did not), so it is not shipped here: get it from its authors' page and pass its
path. The fixture in bench/data/text_agreement/ is written for this project (questions,
answers and scores of our own); its numbers are a smoke test, not a measurement.

Measured on those data (`--seeds 5`, a 2-core machine shared with other work):

    setting             Pearson r   QWK
    zero-shot             0.573    0.520
    k = 5 reviewed        0.670    0.666
    k = 10 reviewed       0.720    0.716   (0.699..0.740 over the draws)
    k = 20 reviewed       0.764    0.759
    review effort: 60 % of one action per answer (lowest confidence first); 33 % in oracle order
    1,000 x 14 answers: 3 to 5 s zero-shot, 4 to 5 s with 20 reviewed answers per check

A few constants of grader/semantic.py (the calibration of examples and model answers, the
neighbours' kernel, the confidence) were chosen on these data; choosing the calibration on
half of the assignments and applying it to the other half moves the zero-shot r by 0.01.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader import semantic
from grader.semantic import CriterionSpec, Labelled

FIXTURE = Path(__file__).resolve().parent / "data" / "text_agreement" / "fixture.csv"

ID_COLUMNS = ("question_id", "qid", "id", "question_no", "item")
QUESTION_COLUMNS = ("question", "question_text", "prompt")
MODEL_COLUMNS = ("model_answer", "desired_answer", "instructor_answer", "reference_answer", "reference",
                 "correct_answer", "ref_answer")
ANSWER_COLUMNS = ("student_answer", "answer", "response", "provided_answer", "text")
SCORE_COLUMNS = ("score_avg", "score", "grade", "human_score", "points", "label")


@dataclass
class Question:
    id: str
    text: str
    model_answer: str
    answers: list[str]
    scores: list[float]


# ---------------------------------------------------------------- reading a dataset


def _table(path: Path):
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".jsonl", ".json"):
        return pd.read_json(path, lines=suffix == ".jsonl")
    return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str, keep_default_na=False)


def _column(table, names: tuple[str, ...], what: str, required: bool = True, avoid: tuple[str, ...] = ()):
    lower = {c.lower().strip(): c for c in table.columns}
    for name in names:
        if name in lower and lower[name] not in avoid:
            return lower[name]
    if required:
        raise SystemExit(f"no column for {what} in {list(table.columns)} (looked for {', '.join(names)})")
    return None


def read_dataset(path: Path) -> tuple[list[Question], float]:
    """The questions with their model answer, answers and human scores, and the top score."""
    if path.is_dir():
        questions = _table(path / "questions.csv")
        answers = _table(path / "answers.csv")
        qid = _column(questions, ID_COLUMNS, "the question id")
        model = _column(questions, MODEL_COLUMNS + ("answer",), "the model answer")
        text = _column(questions, QUESTION_COLUMNS, "the question", required=False)
        known = {str(r[qid]): (str(r[text]) if text else "", str(r[model])) for _, r in questions.iterrows()}
        aid = _column(answers, ID_COLUMNS, "the question id of an answer")
        atext = _column(answers, ANSWER_COLUMNS, "the student's answer")
        ascore = _column(answers, SCORE_COLUMNS, "the human score")
        rows = [(str(r[aid]), *known[str(r[aid])], str(r[atext]), r[ascore]) for _, r in answers.iterrows()
                if str(r[aid]) in known]
    else:
        table = _table(path)
        qid = _column(table, ID_COLUMNS, "the question id")
        model = _column(table, MODEL_COLUMNS, "the model answer")
        answer = _column(table, ANSWER_COLUMNS, "the student's answer", avoid=(model,))
        score = _column(table, SCORE_COLUMNS, "the human score")
        text = _column(table, QUESTION_COLUMNS, "the question", required=False)
        rows = [(str(r[qid]), str(r[text]) if text else "", str(r[model]), str(r[answer]), r[score])
                for _, r in table.iterrows()]
    by_id: dict[str, Question] = {}
    for q, text, model_answer, answer, score in rows:
        try:
            value = float(score)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(value):
            continue
        question = by_id.setdefault(q, Question(q, text, model_answer, [], []))
        question.answers.append("" if answer in ("nan", "None") else answer)
        question.scores.append(value)
    questions = [q for q in by_id.values() if q.answers]
    top = max(max(q.scores) for q in questions)
    return questions, float(math.ceil(top))


# ---------------------------------------------------------------- metrics


def pearson(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def halves(values, top: float) -> np.ndarray:
    return np.clip(np.floor(np.asarray(values, float) * 2 + 0.5), 0, top * 2).astype(int)


def qwk(x, y, top: float) -> float:
    """Quadratic-weighted kappa of two raters on half points 0, 0.5, ..., top."""
    a, b = halves(x, top), halves(y, top)
    k = int(top * 2) + 1
    observed = np.zeros((k, k))
    np.add.at(observed, (a, b), 1)
    expected = np.outer(observed.sum(1), observed.sum(0)) / max(observed.sum(), 1)
    i, j = np.indices((k, k))
    weights = (i - j) ** 2 / (k - 1) ** 2
    denominator = (weights * expected).sum()
    return float(1 - (weights * observed).sum() / denominator) if denominator else float("nan")


# ---------------------------------------------------------------- settings


def _check(question: Question, top: float):
    criteria = [CriterionSpec(points=top, description="says what the model answer says",
                              examples=(question.model_answer,))]
    rubric_text = "\n".join(x for x in (question.text, question.model_answer) if x)
    return criteria, rubric_text


def suggestions(question: Question, top: float, indices, reviewed_indices=()):
    criteria, rubric_text = _check(question, top)
    reviewed = [Labelled(question.answers[i], question.scores[i]) for i in reviewed_indices]
    return semantic.suggest_many([question.answers[i] for i in indices], criteria, top,
                                 model_answers=(question.model_answer,), reviewed=reviewed,
                                 rubric_text=rubric_text)


def zero_shot(questions: list[Question], top: float):
    suggested, human = [], []
    for q in questions:
        suggested += [s.points for s in suggestions(q, top, range(len(q.answers)))]
        human += q.scores
    return suggested, human


def with_reviewed(questions: list[Question], top: float, k: int, seed: int):
    rng = random.Random(seed)
    suggested, human = [], []
    for q in questions:
        order = list(range(len(q.answers)))
        rng.shuffle(order)
        if len(order) <= k:
            continue
        reviewed, rest = order[:k], order[k:]
        suggested += [s.points for s in suggestions(q, top, rest, reviewed)]
        human += [q.scores[i] for i in rest]
    return suggested, human


# ---------------------------------------------------------------- review effort


def _groups(texts: list[str], vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Answers grouped by meaning: identical ones (case and spacing aside), then each answer
    joins the first group whose first answer is at least `threshold` similar."""
    groups: list[list[int]] = []
    heads: list[int] = []
    seen: dict[str, int] = {}
    for i, text in enumerate(texts):
        key = " ".join(text.casefold().split())
        if key in seen:
            groups[seen[key]].append(i)
            continue
        for g, head in enumerate(heads):
            if float(vectors[i] @ vectors[head]) >= threshold:
                groups[g].append(i)
                seen[key] = g
                break
        else:
            seen[key] = len(groups)
            groups.append([i])
            heads.append(i)
    return groups


def review_effort(question: Question, top: float, tolerance: float, threshold: float,
                  oracle: bool = False) -> tuple[int, int]:
    """Actions of a simulated TA until every suggestion is within `tolerance` of the human score.
    With `oracle`, the TA knows which suggestion is furthest off and takes its group (a lower bound
    for any order of review: what the re-fitting can do, whatever the confidence says)."""
    open_ = list(range(len(question.answers)))
    reviewed: list[int] = []
    actions = 0
    vectors = semantic.embed(question.answers)
    while open_:
        current = suggestions(question, top, open_, reviewed)
        if all(abs(s.points - question.scores[i]) <= tolerance for s, i in zip(current, open_)):
            return actions + 1, len(question.answers)  # accept the rest: one action
        confidence = {i: s.confidence for s, i in zip(current, open_)}
        texts = [question.answers[i] for i in open_]
        groups = [[open_[j] for j in g] for g in _groups(texts, vectors[open_], threshold)]
        if oracle:
            worst = max(zip(current, open_), key=lambda si: abs(si[0].points - question.scores[si[1]]))[1]
            group = next(g for g in groups if worst in g)
        else:
            group = min(groups, key=lambda g: (statistics.fmean(confidence[i] for i in g), -len(g), g[0]))
        scores = [question.scores[i] for i in group]
        if max(scores) - min(scores) <= 2 * tolerance:
            actions += 1
        elif oracle:  # the oracle reviews the answer furthest off alone
            group = [worst]
            actions += 1
        else:
            actions += len(group)
        reviewed += group
        open_ = [i for i in open_ if i not in set(group)]
    return actions, len(question.answers)


# ---------------------------------------------------------------- timing


def timing(questions: list[Question], students: int = 1000, seed: int = 3) -> dict[str, float]:
    """Seconds to suggest points for `students` x the 14 text checks of Exercise 7."""
    import regex

    from grader.rubric import TEXT_FLAGS, load_rubric

    rubric = load_rubric(ROOT / "rubrics" / "ex07.yaml")
    checks = [(q, c) for q in rubric.questions for c in q.checks if c.kind == "text"]
    rng = random.Random(seed)
    pool = [re.split(r"(?<=[.;,])\s+", a) for q in questions for a in q.answers if a.strip()]
    out: dict[str, float] = {}
    for label, n_reviewed in (("zero-shot", 0), ("with 20 reviewed", 20)):
        work = []
        for q, check in checks:
            answers = [" ".join(rng.choice(pool)[:3] + rng.choice(pool)[:2]) + f" ({n})" for n in range(students)]
            criteria = [[CriterionSpec(c.points, c.description, tuple(c.examples),
                                       any(regex.search(p, a, TEXT_FLAGS) for p in c.any) if c.any else None)
                         for c in check.criteria] for a in answers]
            rubric_text = "\n".join([q.prompt] + [c.description for c in check.criteria])
            reviewed = [Labelled(a, rng.choice([0.0, 0.5, 1.0, check.points])) for a in answers[:n_reviewed]]
            work.append((answers, criteria, check.points, rubric_text, reviewed))
        # cold caches, as in a fresh process (the model itself stays loaded: its load is timed apart)
        semantic._load()._reset()
        semantic._read_once.cache_clear()
        semantic._references.clear()
        started = time.perf_counter()
        for answers, criteria, points, rubric_text, reviewed in work:
            semantic.suggest_many(answers, criteria, points, reviewed=reviewed, rubric_text=rubric_text)
        out[label] = time.perf_counter() - started
    return out


# ---------------------------------------------------------------- the report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=FIXTURE, help="the dataset (default: the fixture)")
    parser.add_argument("--seeds", type=int, default=3, help="random draws of the reviewed answers per k")
    parser.add_argument("--ks", default="5,10,20", help="reviewed answers per question")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="how close to the human score counts as right (default: 0.5 per 5 points)")
    parser.add_argument("--group-similarity", type=float, default=0.9, help="cosine that groups two answers")
    parser.add_argument("--students", type=int, default=1000, help="students in the timing")
    parser.add_argument("--timing-only", action="store_true")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    semantic.embed(["load the model"])
    loaded = time.perf_counter() - started
    questions, top = read_dataset(args.data)
    tolerance = args.tolerance if args.tolerance is not None else 0.5 * top / 5
    n = sum(len(q.answers) for q in questions)
    print(f"Dataset: {args.data.name}: {len(questions)} questions, {n} answers, scores 0..{top:g}")
    print(f"Model: {semantic.MODEL} (loaded in {loaded:.2f} s)")
    if args.data == FIXTURE:
        print("(the fixture written for this project: a smoke test, not a measurement)")
    results: dict = {"dataset": str(args.data.name), "questions": len(questions), "answers": n, "model load": loaded}
    if not args.timing_only:
        print()
        print(f"{'setting':<22}{'answers':>9}{'Pearson r':>12}{'QWK':>8}")
        suggested, human = zero_shot(questions, top)
        r, kappa = pearson(suggested, human), qwk(suggested, human, top)
        results["zero-shot"] = {"answers": len(human), "pearson": r, "qwk": kappa}
        print(f"{'zero-shot':<22}{len(human):>9}{r:>12.3f}{kappa:>8.3f}")
        for k in [int(x) for x in args.ks.split(",") if x.strip()]:
            rs, ks, counts = [], [], []
            for seed in range(args.seeds):
                suggested, human = with_reviewed(questions, top, k, seed)
                if len(human) > 2:
                    rs.append(pearson(suggested, human))
                    ks.append(qwk(suggested, human, top))
                    counts.append(len(human))
            if not rs:
                continue
            label = f"k = {k} reviewed"
            results[label] = {"answers": int(statistics.fmean(counts)), "pearson": statistics.fmean(rs),
                              "qwk": statistics.fmean(ks), "seeds": len(rs)}
            spread = f" (r {min(rs):.3f}..{max(rs):.3f} over {len(rs)} draws)" if len(rs) > 1 else ""
            print(f"{label:<22}{int(statistics.fmean(counts)):>9}{statistics.fmean(rs):>12.3f}"
                  f"{statistics.fmean(ks):>8.3f}{spread}")
        print()
        print(f"Review effort until every answer is within {tolerance:g} of the human score "
              f"(one action per answer: {n}):")
        for label, oracle in (("lowest confidence first", False), ("oracle order (a lower bound)", True)):
            actions = sum(review_effort(q, top, tolerance, args.group_similarity, oracle)[0] for q in questions)
            results[f"review effort, {label}"] = {"actions": actions, "answers": n, "share": actions / n}
            print(f"  {label:<30}{actions:>6} actions ({actions / n:.0%})")
    if not args.no_timing:
        seconds = timing(questions, args.students)
        results["timing"] = seconds
        print()
        print(f"Time for {args.students:,} students x 14 free-text answers (Exercise 7's text checks), "
              f"{semantic.MODEL.split(',')[0]} on this machine:")
        for label, value in seconds.items():
            print(f"  {label:<18}{value:>7.2f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
