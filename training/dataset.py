"""Labelled exposures, the leak-free split and the held-out evaluation (SPEC R-40, R-41).

The unit is an *exposure*: one displayed (talent, project) candidate
(ses.interaction_logs row), with its graded label from ses.training_labels when it has
one, and whether its outcome was no_response (R-45 weak negative).

Training pairs
    Labelled exposures aggregated per (talent, project): label = the best (max) graded
    label over the pair's labelled exposures, timestamp = the latest of them. With
    ``weak_negatives`` (R-45), a no_response outcome not overruled by a conversion stage
    becomes (label 0.0, sample weight 0.3) instead of its behaviour label (or nothing).

Split (no leakage)
    ``time`` (default): the 80/20 cutoff is the 0.8 quantile of the labelled pairs'
    timestamps; every held-out pair is at or after it, every training pair before it.
    ``project``: a project's pairs all land on one side (stable hash). Early stopping
    uses the last ``early_stop_fraction`` of the *training* pairs (same method), so the
    held-out split is never looked at while training: the metrics it gives (and the
    gate) are unbiased.

Held-out evaluation (per project over its exposed candidates, not sampled negatives)
    The candidates of the held-out side are every exposure in its scope (time: shown at
    or after the cutoff; project: of a held-out project), one per (talent, project),
    except pairs the model trained on. AUC is computed over the labelled candidates
    (positive = label >= 0.5); Recall@10 and MRR rank all of a project's candidates,
    an exposure without a label counting as not positive, averaged over projects with
    at least one positive (training.metrics).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from training.data import WEAK_NEGATIVE_WEIGHT, Pair
from training.metrics import POSITIVE_THRESHOLD, auc, ranking_metrics
from training.split import project_bucket, split_by_project, split_by_time

Bag = tuple[list[str], list[float]]
EARLY_STOP_SALT = "ses-early-stop-v1"


@dataclass(frozen=True)
class Exposure:
    interaction_id: int
    talent_id: int
    project_id: int
    created_at: float  # epoch seconds
    label: float | None = None  # graded R-11 label, None = no label
    signal_source: str | None = None
    no_response: bool = False  # outcome no_response (R-45 weak negative when unlabelled)


@dataclass
class LabelledData:
    """Exposures plus the token bags of every talent and project they involve."""

    exposures: list[Exposure]
    talents: dict[int, Bag]
    projects: dict[int, Bag]
    snapshot: dict[str, Any] = field(default_factory=dict)

    @property
    def label_count(self) -> int:
        return sum(e.label is not None for e in self.exposures)

    def first_labels(self, n: int) -> LabelledData:
        """The data as it stood when its ``n``-th label (by display time) existed: the
        first n labelled exposures and every unlabelled exposure shown before the last
        of them."""
        labelled = sorted(
            (e for e in self.exposures if e.label is not None),
            key=lambda e: (e.created_at, e.interaction_id),
        )
        if n > len(labelled):
            raise ValueError(f"asked for {n} labels, the data has {len(labelled)}")
        keep = labelled[:n]
        until = keep[-1].created_at if keep else -math.inf
        kept_ids = {e.interaction_id for e in keep}
        exposures = [
            e
            for e in self.exposures
            if e.interaction_id in kept_ids or (e.label is None and e.created_at <= until)
        ]
        return LabelledData(exposures, self.talents, self.projects, {**self.snapshot, "labels": n})


@dataclass
class HoldoutSet:
    """Held-out candidates, one row per (talent, project)."""

    talent_ids: np.ndarray  # int64
    project_ids: np.ndarray  # int64
    labels: np.ndarray  # float, 0.0 for exposures without a label
    labelled: np.ndarray  # bool

    def __len__(self) -> int:
        return int(self.labels.size)


@dataclass
class DataSplit:
    train: list[Pair]
    early_stop: list[Pair]
    holdout: HoldoutSet
    info: dict[str, Any]


def training_pairs(data: LabelledData) -> tuple[list[Pair], dict[tuple[int, int], float]]:
    """(labelled pairs sorted by key, weak-negative candidates {(talent, project): time}).

    R-45 weak negative: a pair whose outcome was no_response on some exposure and whose
    labels never come from a conversion stage or explicit feedback (R-11 falls back to a
    behaviour label, or there is none). With the switch on, training uses it as label
    0.0 with sample weight 0.3 instead of its behaviour label; evaluation always uses the
    R-11 labels.
    """
    best: dict[tuple[int, int], list[float]] = {}
    weak: dict[tuple[int, int], float] = {}
    strong: set[tuple[int, int]] = set()
    for e in data.exposures:
        key = (e.talent_id, e.project_id)
        if e.no_response:
            weak[key] = max(weak.get(key, -math.inf), e.created_at)
        if e.signal_source in ("conversion", "feedback"):
            strong.add(key)
        if e.label is not None:
            entry = best.setdefault(key, [e.label, e.created_at])
            entry[0] = max(entry[0], e.label)
            entry[1] = max(entry[1], e.created_at)
    labelled = [Pair(t, p, lab, 1.0, ts) for (t, p), (lab, ts) in sorted(best.items())]
    return labelled, {k: ts for k, ts in weak.items() if k not in strong}


def _with_weak_negatives(
    train: list[Pair], weak: dict[tuple[int, int], float], eligible
) -> tuple[list[Pair], int]:
    """Training pairs with R-45 applied: weak pairs become (0.0, weight 0.3); weak pairs
    without any label are added when ``eligible(project_id, time)``."""
    out: list[Pair] = []
    done: set[tuple[int, int]] = set()
    for p in train:
        key = (p.talent_key, p.project_key)
        if key in weak:
            out.append(Pair(p.talent_key, p.project_key, 0.0, WEAK_NEGATIVE_WEIGHT, p.timestamp))
            done.add(key)
        else:
            out.append(p)
    labelled_keys = {(p.talent_key, p.project_key) for p in train}
    for (t, pid), ts in sorted(weak.items()):
        if (t, pid) not in labelled_keys and eligible(pid, ts):
            out.append(Pair(t, pid, 0.0, WEAK_NEGATIVE_WEIGHT, ts))
            done.add((t, pid))
    return out, len(done)


def split_data(
    data: LabelledData,
    method: str = "time",
    valid_fraction: float = 0.2,
    early_stop_fraction: float = 0.1,
    *,
    weak_negatives: bool = False,
) -> DataSplit:
    """Train / early-stopping / held-out split of ``data`` (see the module docstring)."""
    labelled, weak = training_pairs(data)
    if len(labelled) < 10:
        raise ValueError(f"only {len(labelled)} labelled pairs: too few to split and train")
    if method == "time":
        split = split_by_time(labelled, valid_fraction)
        cutoff = split.info["cutoff"]

        def held_out(project_id: int, ts: float) -> bool:
            return ts >= cutoff

    elif method == "project":
        split = split_by_project(labelled, valid_fraction)

        def held_out(project_id: int, ts: float) -> bool:
            return project_bucket(project_id) < valid_fraction

    else:
        raise ValueError(f"split method must be 'time' or 'project', got {method!r}")

    if method == "time":
        inner = split_by_time(split.train, early_stop_fraction)
        es_cut = inner.info["cutoff"]

        def trainable(project_id: int, ts: float) -> bool:
            return ts < es_cut

    else:
        inner = split_by_project(split.train, early_stop_fraction, salt=EARLY_STOP_SALT)
        es_projects = {p.project_key for p in inner.valid}

        def trainable(project_id: int, ts: float) -> bool:
            return not held_out(project_id, ts) and project_id not in es_projects

    train, n_weak = (
        _with_weak_negatives(inner.train, weak, trainable) if weak_negatives else (inner.train, 0)
    )
    seen = {(p.talent_key, p.project_key) for p in (*train, *inner.valid)}

    labels = {(p.talent_key, p.project_key): p.label for p in split.valid}
    candidates: dict[tuple[int, int], float | None] = {}
    for e in data.exposures:
        key = (e.talent_id, e.project_id)
        if key in seen or not held_out(e.project_id, e.created_at):
            continue
        candidates[key] = labels.get(key)
    # Held-out labelled pairs are exposures in scope by construction; keep them even if a
    # caller passed exposures without them.
    for key, label in labels.items():
        candidates[key] = label
    keys = sorted(candidates)
    holdout = HoldoutSet(
        talent_ids=np.array([k[0] for k in keys], dtype=np.int64),
        project_ids=np.array([k[1] for k in keys], dtype=np.int64),
        labels=np.array([candidates[k] or 0.0 for k in keys], dtype=np.float64),
        labelled=np.array([candidates[k] is not None for k in keys], dtype=bool),
    )
    info = {
        "method": method,
        "valid_fraction": valid_fraction,
        "early_stop_fraction": early_stop_fraction,
        **({"cutoff": split.info["cutoff"]} if method == "time" else {}),
        "labelled_pairs": len(labelled),
        "train_pairs": len(train),
        "train_positives": sum(p.label >= POSITIVE_THRESHOLD for p in train),
        "weak_negative_pairs": n_weak,
        "early_stop_pairs": len(inner.valid),
        "holdout_labelled_pairs": int(holdout.labelled.sum()),
        "holdout_candidates": len(holdout),
        "holdout_projects": int(np.unique(holdout.project_ids).size),
    }
    return DataSplit(train, inner.valid, holdout, info)


# ----------------------------------------------------------------------- evaluation

# A scorer maps aligned (talent_ids, project_ids) to similarity scores.
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def holdout_metrics(holdout: HoldoutSet, scores: np.ndarray, k: int = 10) -> dict[str, float]:
    """AUC over the labelled candidates, Recall@k and MRR per project over all of them."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != holdout.labels.shape:
        raise ValueError(f"{scores.size} scores for {len(holdout)} held-out candidates")
    rank = ranking_metrics(holdout.project_ids, holdout.labels, scores, k=k)
    return {
        "auc": auc(holdout.labels[holdout.labelled], scores[holdout.labelled]),
        f"recall_at_{k}": rank["recall_at_k"],
        "mrr": rank["mrr"],
        "labelled_pairs": int(holdout.labelled.sum()),
        "candidates": len(holdout),
        "projects_evaluated": rank["projects_evaluated"],
    }


def pair_cosines(
    embed: Callable[[str, list[Bag]], np.ndarray],
    talents: Mapping[int, Bag],
    projects: Mapping[int, Bag],
    talent_ids: np.ndarray,
    project_ids: np.ndarray,
) -> np.ndarray:
    """Cosine of each (talent, project) pair; each entity is embedded once.
    ``embed(tower, bags)`` returns unit rows (or all-zero rows)."""
    ut, inv_t = np.unique(talent_ids, return_inverse=True)
    up, inv_p = np.unique(project_ids, return_inverse=True)
    te = embed("talent", [talents[int(t)] for t in ut])
    pe = embed("project", [projects[int(p)] for p in up])
    return np.einsum("ij,ij->i", te[inv_t.ravel()], pe[inv_p.ravel()]).astype(np.float64)


def hash_embed(dimension: int = 256) -> Callable[[str, list[Bag]], np.ndarray]:
    """The hash baseline (R-21 HashTwoTower, the same code as the 'hash' embedder)."""
    from ses_udf import hash_tower

    def embed(tower: str, bags: list[Bag]) -> np.ndarray:
        ids = list(range(len(bags)))
        owners = [i for i, (tokens, _) in enumerate(bags) for _ in tokens]
        tokens = [t for tokens, _ in bags for t in tokens]
        weights = [w for _, weights in bags for w in weights]
        return hash_tower.embed_batch(ids, owners, tokens, weights, dimension)[1]

    return embed


def served_embed(model: Any) -> Callable[[str, list[Bag]], np.ndarray]:
    """Embedding through a loaded serving model (ses_udf.learned_tower OnnxModel/CandleModel)."""

    def embed(tower: str, bags: list[Bag]) -> np.ndarray:
        return model.embed_batch(tower, bags)

    return embed


def evaluate_embedder(
    embed: Callable[[str, list[Bag]], np.ndarray],
    holdout: HoldoutSet,
    talents: Mapping[int, Bag],
    projects: Mapping[int, Bag],
) -> dict[str, float]:
    scores = pair_cosines(embed, talents, projects, holdout.talent_ids, holdout.project_ids)
    return holdout_metrics(holdout, scores)


def format_table(rows: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """Metrics side by side: one line per model."""
    cols = ("auc", "recall_at_10", "mrr", "labelled_pairs", "candidates", "projects_evaluated")
    head = f"{'model':<24}" + "".join(f"{c:>20}" for c in cols)
    lines = [head, "-" * len(head)]
    for name, m in rows:
        cells = []
        for c in cols:
            v = m.get(c)
            cells.append(f"{v:>20.4f}" if isinstance(v, float) else f"{'' if v is None else v:>20}")
        lines.append(f"{name:<24}" + "".join(cells))
    return "\n".join(lines)
