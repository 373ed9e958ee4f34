"""Evaluation metrics (seed E.3, SPEC R-41): AUC, Recall@10, MRR. Pure numpy.

Labels are graded in [0, 1]; a label >= ``threshold`` (0.5) counts as a positive.

* ``auc``: ROC AUC by the rank-sum (Mann-Whitney) formula with tied scores given the
  average of their ranks, i.e. a tied (positive, negative) pair counts 1/2.
* ``ranking_metrics``: per project, over ALL of that project's candidates in the split
  (not sampled negatives). Candidates are ranked by descending score; ties are broken
  pessimistically (negatives before positives), so a constant scorer earns nothing.
  Recall@k = (positives in the top k) / (positives of the project), averaged over projects
  with at least one positive. MRR = mean over those projects of 1 / rank of the first
  positive. Projects without a positive are skipped (and counted).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

POSITIVE_THRESHOLD = 0.5


def _as_arrays(labels: Sequence[float], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=np.float64).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels but {s.size} scores")
    if s.size and not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    return y, s


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values`` (ascending), ties sharing the mean of their ranks."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)  # rank of the last member of each tie group
    return (upper - (counts - 1) / 2.0)[inverse]


def auc(
    labels: Sequence[float], scores: Sequence[float], threshold: float = POSITIVE_THRESHOLD
) -> float:
    """ROC AUC; NaN when the labels hold only one class."""
    y, s = _as_arrays(labels, scores)
    pos = y >= threshold
    n_pos = int(pos.sum())
    n_neg = int(pos.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = average_ranks(s)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def ranking_metrics(
    project_keys: Sequence[Any],
    labels: Sequence[float],
    scores: Sequence[float],
    k: int = 10,
    threshold: float = POSITIVE_THRESHOLD,
) -> dict[str, float]:
    """Recall@k and MRR per project, averaged over projects with >= 1 positive.

    Returns ``{"recall_at_k", "mrr", "k", "projects_evaluated", "projects_without_positive"}``
    (recall/mrr are NaN when no project has a positive).
    """
    y, s = _as_arrays(labels, scores)
    keys = np.asarray(project_keys).ravel()
    if keys.dtype == object:
        keys = keys.astype(str)
    if keys.size != y.size:
        raise ValueError(f"{keys.size} project keys but {y.size} labels")
    if y.size == 0:
        return _ranking_result(float("nan"), float("nan"), k, 0, 0)
    _, group = np.unique(keys, return_inverse=True)
    group = group.ravel()
    pos = y >= threshold
    # Sort by project, then descending score, then negatives first (pessimistic ties).
    order = np.lexsort((pos.astype(np.int8), -s, group))
    g = group[order]
    p = pos[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, g.size])
    rank = np.arange(g.size) - np.repeat(starts, sizes) + 1  # 1-based rank within project
    n_groups = starts.size
    gid = np.repeat(np.arange(n_groups), sizes)
    pos_per_group = np.bincount(gid, weights=p, minlength=n_groups)
    hits = np.bincount(gid, weights=p & (rank <= k), minlength=n_groups)
    first = np.full(n_groups, np.inf)
    np.minimum.at(first, gid[p], rank[p].astype(np.float64))
    has_pos = pos_per_group > 0
    n_eval = int(has_pos.sum())
    if n_eval == 0:
        return _ranking_result(float("nan"), float("nan"), k, 0, n_groups)
    recall = float(np.mean(hits[has_pos] / pos_per_group[has_pos]))
    mrr = float(np.mean(1.0 / first[has_pos]))
    return _ranking_result(recall, mrr, k, n_eval, n_groups - n_eval)


def _ranking_result(
    recall: float, mrr: float, k: int, n_eval: int, n_skip: int
) -> dict[str, float]:
    return {
        "recall_at_k": recall,
        "mrr": mrr,
        "k": k,
        "projects_evaluated": n_eval,
        "projects_without_positive": n_skip,
    }


def weighted_bce(
    labels: np.ndarray, logits: np.ndarray, weights: np.ndarray | None = None
) -> float:
    """Mean (sample-weighted) binary cross-entropy of logits against graded labels."""
    y = np.asarray(labels, dtype=np.float64)
    z = np.asarray(logits, dtype=np.float64)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
    loss = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    total = w.sum()
    return float((loss * w).sum() / total) if total > 0 else float("nan")


def evaluate(
    project_keys: Sequence[Any],
    labels: Sequence[float],
    scores: Sequence[float],
    k: int = 10,
    threshold: float = POSITIVE_THRESHOLD,
) -> dict[str, float]:
    """AUC + Recall@k + MRR in one dict (keys auc, recall_at_10 style, mrr, ...)."""
    r = ranking_metrics(project_keys, labels, scores, k=k, threshold=threshold)
    return {
        "auc": auc(labels, scores, threshold=threshold),
        f"recall_at_{k}": r["recall_at_k"],
        "mrr": r["mrr"],
        "projects_evaluated": r["projects_evaluated"],
        "projects_without_positive": r["projects_without_positive"],
        "n": len(labels),
    }
