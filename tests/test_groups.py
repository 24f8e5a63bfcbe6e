"""Answer groups (grader/groups.py): identical answers first, then clusters by meaning, with
outliers apart; deterministic and fast. A fake embedding makes the geometry exact; the real
one (grader/semantic.py) is tried too where it is there."""

from __future__ import annotations

import hashlib
import random
import time

import numpy as np
import pytest

from grader.groups import EmbeddingUnavailable, group_answers, normalise
from grader.review import group_rows

DIM = 32


def _unit(seed: str) -> np.ndarray:
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "little"))
    v = rng.normal(size=DIM)
    return v / np.linalg.norm(v)


def fake_embed(texts):
    """'topic: anything' lies close to the topic's direction (cosine about 0.97 to it);
    'topic~: anything' is near the topic but clearly further (about 0.85); an answer without
    a colon is its own direction. Case and spacing count, as in a real model."""
    rows = []
    for text in texts:
        topic, colon, _ = text.partition(":")
        if not colon:
            rows.append(_unit(text))
            continue
        loose = topic.endswith("~")
        base = _unit(topic.rstrip("~").strip().lower())
        noise = _unit("noise " + text)
        noise -= noise @ base * base
        noise /= np.linalg.norm(noise)
        weight = 0.62 if loose else 0.25
        v = base + weight * noise
        rows.append(v / np.linalg.norm(v))
    return np.asarray(rows, dtype=np.float32)


def kinds(groups):
    return [g.kind for g in groups]


def texts_of(groups, texts):
    return [[texts[i] for i in g.indices] for g in groups]


def test_normalising_ignores_case_unicode_forms_and_spacing():
    assert normalise("  Raw\tTEXT \n on  ﬁles ") == "raw text on files"
    assert normalise(None) == normalise("   ") == ""


def test_identical_answers_come_first_then_clusters_then_singles_then_no_answer():
    texts = ["pre: first generic stage", "Raw text, no labels", "other: b", "raw  TEXT, no labels",
             None, "pre: generic training first", "something unrelated", "  ", "raw text, no labels",
             "other: a", "pre: a first stage", "Same twice", "same TWICE"]
    groups = group_answers(texts, [1] * len(texts), max_points=2, embed=fake_embed)
    assert kinds(groups) == ["identical", "identical", "similar", "similar", "single", "empty"]
    assert [g.id for g in groups] == [1, 2, 3, 4, 5, 6]
    assert groups[0].indices == [1, 3, 8] and groups[0].size == 3  # the larger identical group first
    assert groups[1].indices == [11, 12]
    assert sorted(groups[2].indices) == [0, 5, 10] and sorted(groups[3].indices) == [2, 9]
    assert groups[4].indices == [6]
    assert groups[5].indices == [4, 7]  # missing and blank answers: last
    assert all(m.similarity == 1.0 for m in groups[0].members)
    every = sorted(i for g in groups for i in g.indices)
    assert every == list(range(len(texts)))  # each answer in exactly one group


def test_clusters_by_meaning_with_size_representative_points_and_spread():
    texts = [f"{topic}: answer {k}" for topic in ("adapters", "lora", "prompting") for k in range(5)]
    texts += ["lonely one", "lonely two"]
    points = [2, 2, 1.5, 2, 2] + [1, 1, 1, 0.5, 1] + [0, 0, 0, 0, 0] + [1, 0]
    groups = group_answers(texts, points, max_points=2, embed=fake_embed)
    assert kinds(groups) == ["similar"] * 3 + ["single"] * 2
    for group in groups[:3]:
        topics = {texts[i].split(":")[0] for i in group.indices}
        assert len(topics) == 1 and group.size == 5
        assert group.representative in group.indices and group.members[0].index == group.representative
        assert [m.similarity for m in group.members[1:]] == sorted((m.similarity for m in group.members[1:]), reverse=True)
    by_topic = {texts[g.representative].split(":")[0]: g for g in groups[:3]}
    assert by_topic["adapters"].suggested == 2 and by_topic["adapters"].spread == (1.5, 2)
    assert by_topic["lora"].suggested == 1 and by_topic["lora"].spread == (0.5, 1)
    assert by_topic["prompting"].suggested == 0 and by_topic["prompting"].spread == (0, 0)
    assert not any(g.outliers for g in groups)


def test_a_group_shows_its_outliers_apart():
    texts = [f"attention: variant {k}" for k in range(6)] + ["attention~: loosely related"]
    points = [2, 2, 2, 2, 0, 2, 2]
    groups = group_answers(texts, points, max_points=2, embed=fake_embed)
    assert len(groups) == 1 and groups[0].size == 7
    group = groups[0]
    apart = {texts[m.index]: m.outlier for m in group.outliers}
    assert set(apart) == {"attention~: loosely related", "attention: variant 4"}
    assert "far in meaning" in apart["attention~: loosely related"]
    assert apart["attention: variant 4"] == "suggested 0, the group's median is 2"
    assert [m.outlier != "" for m in group.members] == [False] * 5 + [True] * 2  # outliers last
    assert group.suggested == 2 and group.spread == (0, 2)
    assert group.representative not in {m.index for m in group.outliers}


def test_the_same_input_gives_the_same_groups_in_the_same_order():
    rng = random.Random(7)
    texts = [f"{rng.choice(['a', 'b', 'c', 'd'])}: {rng.random():.6f}" for _ in range(120)]
    texts += [rng.choice(["Same", "same ", "SAME"]) for _ in range(10)] + [f"solo {k}" for k in range(10)]
    points = [rng.choice([0, 0.5, 1, 1.5, 2]) for _ in texts]
    first = group_answers(texts, points, max_points=2, embed=fake_embed)
    assert group_answers(texts, points, max_points=2, embed=fake_embed) == first
    order = list(range(len(texts)))
    rng.shuffle(order)
    shuffled = group_answers([texts[i] for i in order], [points[i] for i in order], max_points=2, embed=fake_embed)
    assert [sorted(order[i] for i in g.indices) for g in shuffled] == [sorted(g.indices) for g in first]
    assert [(g.kind, g.suggested, g.spread) for g in shuffled] == [(g.kind, g.suggested, g.spread) for g in first]


def test_each_distinct_answer_is_embedded_once():
    seen = []

    def counting(texts):
        seen.append(list(texts))
        return fake_embed(texts)

    group_answers(["x: 1", "X:  1", "x: 2", None, "x: 1"], embed=counting)
    assert len(seen) == 1 and len(seen[0]) == 2


def test_a_thousand_answers_group_well_under_a_second():
    rng = random.Random(3)
    texts = [f"topic{rng.randrange(40)}: {rng.random():.8f}" for _ in range(900)]
    texts += [f"odd answer {k}" for k in range(60)] + ["same answer"] * 40
    vectors = fake_embed(texts)
    index = {t: i for i, t in enumerate(texts)}
    precomputed = lambda batch: vectors[[index[t] for t in batch]]  # the embedding is not timed
    points = [rng.choice([0, 1, 2]) for _ in texts]
    best = min(_timed(lambda: group_answers(texts, points, max_points=2, embed=precomputed)) for _ in range(3))
    groups = group_answers(texts, points, max_points=2, embed=precomputed)
    assert best < 0.5, f"grouping 1,000 answers took {best:.2f} s"
    assert sum(g.size for g in groups) == 1000 and groups[0].kind == "identical" and groups[0].size == 40
    assert sum(1 for g in groups if g.kind == "similar") == 40


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def test_a_failing_embedding_is_said_and_review_groups_identical_answers_only():
    def broken(texts):
        raise OSError("no model here")

    with pytest.raises(EmbeddingUnavailable, match="OSError: no model here"):
        group_answers(["a: 1", "b: 2"], embed=broken)
    with pytest.raises(EmbeddingUnavailable, match="shape"):
        group_answers(["a: 1", "b: 2"], embed=lambda texts: np.zeros((1, 4)))
    rows = [{"student": s, "check_id": "answer", "answer": a, "auto_points": 1.0, "max_points": 2.0}
            for s, a in (("ann", "Same"), ("bo", "x: 1"), ("cy", "same"), ("di", None))]
    said = []
    groups = group_rows(rows, embed=broken, warn=said.append)
    assert kinds(groups) == ["identical", "single", "empty"] and groups[0].indices == [0, 2]
    assert len(said) == 1 and "identical text only" in said[0] and "no model here" in said[0]


def test_groups_of_each_check_are_numbered_on():
    rows = [{"student": s, "check_id": c, "answer": a, "auto_points": 1.0, "max_points": 2.0}
            for s, c, a in (("ann", "why", "x: 1"), ("bo", "why", "x: 2"), ("ann", "how", "same"), ("bo", "how", "same"))]
    groups = group_rows(rows, embed=fake_embed)
    assert [(g.id, g.kind, sorted(g.indices)) for g in groups] == [(1, "similar", [0, 1]), (2, "identical", [2, 3])]


def test_with_the_real_embedding():
    semantic = pytest.importorskip("grader.semantic", reason="grader/semantic.py is not there")
    texts = ["Pre-training learns general language knowledge from a huge unlabelled corpus first.",
             "pre-training learns  general language knowledge from a huge unlabelled corpus first.",
             "The model first learns general language knowledge from a huge unlabelled text corpus.",
             "The model first learns general language knowledge from a very large unlabelled text corpus.",
             "LoRA adds trainable low-rank matrices next to the frozen weight matrices.",
             "I like turtles.", None]
    try:
        vectors = semantic.embed(texts[:2])
    except Exception as exc:  # noqa: BLE001 - a model that cannot load here is not this test's subject
        pytest.skip(f"the embedding model does not load here: {type(exc).__name__}: {exc}")
    assert vectors.shape == (2, 256) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    points = [2, 2, 2, 2, 0, 0, 0]
    groups = group_answers(texts, points, max_points=2)
    assert groups == group_answers(texts, points, max_points=2)
    assert [(g.kind, g.indices) for g in groups] == [
        ("identical", [0, 1]), ("similar", sorted([2, 3], key=lambda i: groups[1].indices.index(i))),
        ("single", groups[2].indices), ("single", groups[3].indices), ("empty", [6])]
    assert {i for g in groups[2:4] for i in g.indices} == {4, 5}
    assert groups[0].near == 2  # the identical answers are close in meaning to the paraphrases
