"""Answer groups: one question's free-text answers ordered so that a reviewer decides once
for many students.

`group_answers(texts, points)` puts the answers into groups, in review order:

1. **identical**: answers that are the same text after normalising case, Unicode forms and
   white space (`"Raw  TEXT"` is `"raw text"`), two or more each; largest first;
2. **similar**: the other answers, clustered by meaning; largest first;
3. **single**: an answer close in meaning to no other (it may still name the group it is
   nearest to, `near`);
4. **empty**: no answer at all (missing, or nothing but white space), last.

Meaning is cosine similarity of sentence embeddings (`embed(texts) -> (n, d)` float array
with L2-normalised rows; by default `grader.semantic.embed`, imported when first needed).
Clustering is a deterministic star clustering on the similarity graph: two answers are
neighbours when their similarity is at least `threshold`; the answer with the most
unassigned neighbours (ties: the first in order) becomes a centre and takes its unassigned
neighbours; then every answer moves to the most similar centre. Every member of a group is
therefore within `threshold` of its centre. Each group has its size, a representative (the
member most similar on average to the others), the median of its suggested points and
their spread (lowest, highest), and its members in review order: the typical ones first
(most central first), then the **outliers**, shown apart, each with why: far in meaning
from the rest of the group (its mean similarity to the others is well below the group's
median: by more than four median absolute deviations and `OUTLIER_MARGIN`), or a suggestion
further than `POINTS_GAP` of the maximum from the group's median.

Same input, same groups in the same order: the unique texts are taken in sorted order,
similarities are rounded before they are compared, and every tie is broken by position.
It is O(n^2) in the number of distinct answers, in numpy: 1,000 answers take a few
hundredths of a second after embedding (each distinct text is embedded once).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

SIMILAR = 0.7  # cosine similarity at which two answers count as saying the same (see bench/text_agreement.py)
OUTLIER_MARGIN = 0.05  # a member this much less similar to the others than the group's typical member is an outlier
POINTS_GAP = 0.25  # a suggestion further than this share of the maximum from the group's median is an outlier

KINDS = ("identical", "similar", "single", "empty")

EmbedFunction = Callable[[Sequence[str]], np.ndarray]


class EmbeddingUnavailable(Exception):
    """The embedding function failed or gave something that is not one row per text."""


@dataclass(frozen=True)
class Member:
    index: int  # position of the answer in the input
    similarity: float  # cosine similarity to the group's centroid (1 for identical answers)
    outlier: str = ""  # why it is shown apart from the group ("" for a typical member)


@dataclass(frozen=True)
class Group:
    id: int  # 1, 2, ... in review order
    kind: str  # one of KINDS
    members: tuple[Member, ...]  # typical members first (most central first), then the outliers
    representative: int  # input position of the answer that stands for the group
    suggested: float | None  # median suggested points of the typical members (None: no points given)
    spread: tuple[float, float] | None  # lowest and highest suggested points of all members
    near: int | None = None  # the id of the most similar other group, if it is within the threshold

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def typical(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if not m.outlier)

    @property
    def outliers(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.outlier)

    @property
    def indices(self) -> list[int]:
        return [m.index for m in self.members]


def normalise(text: str | None) -> str:
    """The text as compared for identity: Unicode NFKC, case-folded, white space collapsed."""
    if not text:
        return ""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def group_answers(texts: Sequence[str | None], points: Sequence[float] | None = None, *,
                  max_points: float | None = None, embed: EmbedFunction | None = None,
                  threshold: float = SIMILAR, identical_only: bool = False) -> list[Group]:
    """The answers' groups in review order (see the module docstring). `points` are the
    suggested points of each answer, `max_points` what the check is worth (it sets how far
    a suggestion may stray before it is an outlier). With `identical_only` no embedding is
    made: only identical answers are grouped. Raises EmbeddingUnavailable when `embed` fails."""
    n = len(texts)
    if points is not None and len(points) != n:
        raise ValueError(f"{len(points)} points for {n} answers")
    values = None if points is None else np.asarray([float(p) for p in points], dtype=float)
    keys = [normalise(t) for t in texts]
    by_key: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        by_key.setdefault(key, []).append(i)
    empty = by_key.pop("", [])
    unique = sorted(by_key)  # every distinct non-empty answer, in a fixed order
    repeated = [k for k in unique if len(by_key[k]) > 1]
    alone = [k for k in unique if len(by_key[k]) == 1]

    vectors = None
    if not identical_only and unique:
        # one text per distinct answer (the first of its spellings in sorted order, whatever the input order)
        vectors = _embed(embed, [min(texts[i] for i in by_key[k]) for k in unique])  # type: ignore[type-var]
    row = {k: r for r, k in enumerate(unique)}

    drafts: list[tuple[str, list[int]]] = []  # (kind, input positions); ids come after ordering
    for key in repeated:
        drafts.append(("identical", list(by_key[key])))
    if vectors is not None and alone:
        rows = [row[k] for k in alone]
        for cluster in _star_clusters(vectors[rows], threshold):
            members = [by_key[alone[c]][0] for c in cluster]
            drafts.append(("similar" if len(members) > 1 else "single", members))
    else:
        drafts.extend(("single", [by_key[k][0]]) for k in alone)

    def vector(i: int) -> np.ndarray | None:
        return None if vectors is None else vectors[row[keys[i]]]

    built = [_build(kind, members, vector, values, max_points, keys) for kind, members in drafts]
    built.sort(key=lambda g: (KINDS.index(g[0]), -len(g[1]), keys[g[2]], g[2]))
    if empty:
        built.append(("empty", [Member(i, 1.0) for i in empty], empty[0], None))
    groups = []
    for number, (kind, members, representative, _) in enumerate(built, start=1):
        suggested, spread = _points(members, values)
        groups.append(Group(number, kind, tuple(members), representative, suggested, spread))
    if vectors is not None:
        groups = _with_nearest(groups, [b[3] for b in built], threshold)
    return groups


def _embed(embed: EmbedFunction | None, texts: list[str]) -> np.ndarray:
    try:
        if embed is None:
            from .semantic import embed  # type: ignore[no-redef]  # loads a model: only when needed
        vectors = np.asarray(embed(texts), dtype=np.float64)  # type: ignore[misc]
    except Exception as exc:  # whatever the model did, the caller decides what then
        raise EmbeddingUnavailable(f"{type(exc).__name__}: {exc}") from exc
    if vectors.ndim != 2 or vectors.shape[0] != len(texts) or not np.isfinite(vectors).all():
        raise EmbeddingUnavailable(f"the embedding gave an array of shape {vectors.shape} for {len(texts)} texts")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def _similarities(vectors: np.ndarray) -> np.ndarray:
    return np.round(vectors @ vectors.T, 6)


def _star_clusters(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Rows of `vectors` in clusters (each a list of rows, its centre first)."""
    n = len(vectors)
    similar = _similarities(vectors)
    neighbours = similar >= threshold
    np.fill_diagonal(neighbours, True)
    degree = neighbours.sum(axis=1).astype(np.int64)
    free = np.ones(n, dtype=bool)
    centres: list[int] = []
    while free.any():
        candidates = np.where(free, degree, -1)
        centre = int(np.argmax(candidates))  # the first of the best connected
        if candidates[centre] <= 1:
            break  # what is left has no free neighbour: each answer stands alone
        taken = np.flatnonzero(neighbours[centre] & free)
        free[taken] = False
        degree -= neighbours[:, taken].sum(axis=1)
        centres.append(centre)
    clusters: dict[int, list[int]] = {c: [] for c in centres}
    if centres:
        to_centres = similar[:, centres]
        to_centres[free] = -np.inf  # the answers left alone stay alone
        for position, c in enumerate(centres):
            to_centres[c] = -np.inf
            to_centres[c, position] = np.inf  # a centre stays its own
        best = np.argmax(to_centres, axis=1)
        for i in range(n):
            if not free[i]:
                clusters[centres[int(best[i])]].append(i)
    result = [[c] + [i for i in clusters[c] if i != c] for c in centres]
    result.extend([i] for i in np.flatnonzero(free).tolist())
    return result


def _build(kind: str, positions: list[int], vector, values: np.ndarray | None, max_points: float | None,
           keys: list[str]):
    """(kind, members in review order, representative, centroid) of one group."""
    if kind != "similar":
        v = vector(positions[0])
        return kind, [Member(i, 1.0) for i in sorted(positions)], min(positions), v
    matrix = np.stack([vector(i) for i in positions])
    centroid = matrix.sum(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    to_centroid = np.round(matrix @ centroid, 6)
    pairwise = _similarities(matrix)
    typicality = (pairwise.sum(axis=1) - 1) / (len(positions) - 1)
    representative = positions[min(range(len(positions)), key=lambda j: (-round(typicality[j], 6), keys[positions[j]]))]
    reasons = [""] * len(positions)
    if len(positions) >= 3:  # far: much less similar on average to the others than the group's typical member
        median = float(np.median(typicality))
        spread = float(np.median(np.abs(typicality - median)))
        bound = median - max(4 * spread, OUTLIER_MARGIN)
        for j, s in enumerate(typicality):
            if s < bound and positions[j] != representative:
                reasons[j] = "far in meaning from the rest of the group"
    if values is not None and max_points:
        middle = float(np.median(values[positions]))
        for j, i in enumerate(positions):
            if not reasons[j] and abs(values[i] - middle) > POINTS_GAP * max_points and i != representative:
                reasons[j] = f"suggested {values[i]:g}, the group's median is {middle:g}"
    members = [Member(i, float(to_centroid[j]), reasons[j]) for j, i in enumerate(positions)]
    members.sort(key=lambda m: (bool(m.outlier), m.index != representative, -m.similarity, m.index))
    return kind, members, representative, centroid


def _points(members: list[Member], values: np.ndarray | None) -> tuple[float | None, tuple[float, float] | None]:
    if values is None or not members:
        return None, None
    typical = [values[m.index] for m in members if not m.outlier] or [values[m.index] for m in members]
    every = values[[m.index for m in members]]
    return float(np.median(typical)), (float(every.min()), float(every.max()))


def _with_nearest(groups: list[Group], centroids: list[np.ndarray | None], threshold: float) -> list[Group]:
    """Each group with the id of the most similar other group (by centroid), if close enough."""
    present = [i for i, c in enumerate(centroids) if c is not None]
    if len(present) < 2:
        return groups
    matrix = np.stack([centroids[i] for i in present])
    similar = _similarities(matrix)
    np.fill_diagonal(similar, -np.inf)
    best = np.argmax(similar, axis=1)
    nearest = {present[a]: present[int(b)] for a, b in enumerate(best) if similar[a, b] >= threshold}
    return [Group(g.id, g.kind, g.members, g.representative, g.suggested, g.spread,
                  groups[nearest[i]].id if i in nearest else None) for i, g in enumerate(groups)]
