"""Popularity baselines: what a practitioner ranks by before any model (SPEC R-41, R-42).

The smoothed historical positive-label rate of a talent, of a project, and their
combination, learnt from labelled pairs only (the training side of a split: a label
after the split never feeds a baseline).

* rate of an entity = (positives + m * g) / (labelled + m): labelled = the entity's
  labelled (talent, project) pairs, positives = those with label >= 0.5, g = the
  global positive share of the same pairs, m = ``PRIOR_STRENGTH`` pseudo-pairs (a Beta
  prior centred on g): an entity never labelled gets g, one labelled a hundred times
  gets almost its own rate.
* combined = sigmoid(logit(talent rate) + logit(project rate) - logit(g)): each side's
  odds ratio against the average, multiplied (both sides' evidence, neither counted
  twice when one is at the prior).

The served ranking uses the same smoothed talent rate as R-30's historical factor
(``ses.talent_historical_scores``, macros/historical_score.sql renders the same
formula with the same prior strength, dbt var ``historical_prior_strength``; a
database test keeps the two equal).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from training.data import entity_id, is_shown_only, pair_fields
from training.metrics import POSITIVE_THRESHOLD

PRIOR_STRENGTH = 10.0
KINDS = ("talent", "project", "combined")
# Keeps logits finite when a rate is exactly 0 or 1 (m = 0, or g at a bound).
_EPS = 1e-6


@dataclass(frozen=True)
class Popularity:
    """Per-entity (positives, labelled pairs) counts and the global positive share."""

    global_rate: float
    prior_strength: float
    talents: Mapping[Any, tuple[int, int]]
    projects: Mapping[Any, tuple[int, int]]
    pairs: int

    def rates(self, side: str, ids: Iterable[Any]) -> np.ndarray:
        counts = self.talents if side == "talent" else self.projects
        m, g = self.prior_strength, self.global_rate
        out = []
        for i in ids:
            pos, n = counts.get(i, (0, 0))
            out.append((pos + m * g) / (n + m) if n + m > 0 else g)
        return np.asarray(out, dtype=np.float64)

    def scores(
        self, talent_ids: Sequence[Any], project_ids: Sequence[Any], kind: str = "combined"
    ) -> np.ndarray:
        """Baseline score of each (talent, project) pair; higher = more likely positive."""
        if kind == "talent":
            return self.rates("talent", talent_ids)
        if kind == "project":
            return self.rates("project", project_ids)
        if kind != "combined":
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        rt = _logit(self.rates("talent", talent_ids))
        rp = _logit(self.rates("project", project_ids))
        return 1.0 / (1.0 + np.exp(-(rt + rp - _logit(np.float64(self.global_rate)))))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1.0 - _EPS)
    return np.log(p / (1.0 - p))


def fit_popularity(
    pairs: Sequence[Any],
    prior_strength: float = PRIOR_STRENGTH,
    threshold: float = POSITIVE_THRESHOLD,
) -> Popularity:
    """Counts from labelled pairs (``training.data.Pair`` or tuples); one count per
    distinct (talent, project), its best label deciding positive or not. Point-in-time
    keys count for their entity."""
    if not (math.isfinite(prior_strength) and prior_strength >= 0):
        raise ValueError(f"prior_strength must be >= 0, got {prior_strength}")
    best: dict[tuple[Any, Any], float] = {}
    for p in pairs:
        if is_shown_only(p):
            continue
        t, q, label, _ = pair_fields(p)
        key = (entity_id(t), entity_id(q))
        best[key] = max(best.get(key, -math.inf), label)
    talents: dict[Any, list[int]] = {}
    projects: dict[Any, list[int]] = {}
    positives = 0
    for (t, q), label in best.items():
        hit = int(label >= threshold)
        positives += hit
        for counts, key in ((talents, t), (projects, q)):
            c = counts.setdefault(key, [0, 0])
            c[0] += hit
            c[1] += 1
    n = len(best)
    return Popularity(
        global_rate=positives / n if n else 0.0,
        prior_strength=float(prior_strength),
        talents={k: (v[0], v[1]) for k, v in talents.items()},
        projects={k: (v[0], v[1]) for k, v in projects.items()},
        pairs=n,
    )
