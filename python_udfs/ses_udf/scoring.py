"""Two-tower scores of one project against many talents, in float32 BLAS.

Embeddings are unit-norm (or all zero), so cosine = dot product and the seed's
similarity (R-22) is (dot + 1) / 2, with 0.0 for an all-zero side. These sums
run in a different order than the seed's per-pair f32 loop, so scores can
differ from `hash_tower.similarity` in the last bits (|Δ| < 1e-6); the match
path uses similarity_scores everywhere, whose per-talent result does not depend
on which other talents are scored with it, so every logged score is
reproducible. The batch matrix (similarity_score_matrix) may differ from it in
the last bits.
"""

from __future__ import annotations

import numpy as np


def similarity_scores(
    project: np.ndarray, talents: np.ndarray, talent_nonzero: np.ndarray | None = None
) -> np.ndarray:
    """(dot + 1) / 2 per talent row; 0.0 where either side is all zero.
    `talent_nonzero` (rows with any non-zero value) may be passed in when the
    caller keeps it, sparing a pass over the whole matrix."""
    project = np.asarray(project, dtype=np.float32)
    talents = np.asarray(talents, dtype=np.float32)
    if talents.ndim != 2 or project.ndim != 1 or talents.shape[1] != project.shape[0]:
        raise ValueError(f"dimension mismatch: project {project.shape} vs talents {talents.shape}")
    if not project.any():
        return np.zeros(talents.shape[0], dtype=np.float32)
    # einsum adds each row's products in the same order whatever the other rows
    # (BLAS blocks by matrix shape), so a talent scores the same bits whether it
    # is scored alone, in a shortlist or against the whole cache.
    scores = (np.einsum("ij,j->i", talents, project) + np.float32(1.0)) * np.float32(0.5)
    if talent_nonzero is None:
        talent_nonzero = talents.any(axis=1)
    scores[~talent_nonzero] = 0.0
    return np.clip(scores, 0.0, 1.0)


def similarity_score_matrix(projects: np.ndarray, talents: np.ndarray) -> np.ndarray:
    """similarity_scores for many projects: (n_projects, n_talents)."""
    projects = np.asarray(projects, dtype=np.float32)
    talents = np.asarray(talents, dtype=np.float32)
    scores = (projects @ talents.T + np.float32(1.0)) * np.float32(0.5)
    scores[~projects.any(axis=1), :] = 0.0
    scores[:, ~talents.any(axis=1)] = 0.0
    return np.clip(scores, 0.0, 1.0)


def top_k_per_row(
    scores: np.ndarray, ids: np.ndarray, k: int
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Per row: (row, ids, scores) of the k best, best first; ties to the smaller id."""
    k = min(k, scores.shape[1])
    out = []
    for row in range(scores.shape[0]):
        s = scores[row]
        if k < s.size:
            # Everything at least as good as the k-th best, ties included, so the
            # id tie-break below sees every tied candidate.
            threshold = s[np.argpartition(-s, k - 1)[k - 1]]
            candidates = np.flatnonzero(s >= threshold)
        else:
            candidates = np.arange(s.size)
        chosen = candidates[np.lexsort((ids[candidates], -s[candidates]))][:k]
        out.append((row, ids[chosen], s[chosen]))
    return out


def blend_total(base: np.ndarray, two_tower: np.ndarray, weight: float) -> np.ndarray:
    """R-31 for a serving variant with weight != 0, vectorised: the same float64
    operations as ses.blend_total ((base + w * tt) / (1 + w), clamped to [0, 1]),
    so the shortlist bounds what the SQL will compute exactly."""
    base = np.asarray(base, dtype=np.float64)
    two_tower = np.asarray(two_tower, dtype=np.float64)
    return np.minimum(1.0, np.maximum(0.0, (base + weight * two_tower) / (1 + weight)))
