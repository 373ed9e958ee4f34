"""Labelled exposures, the leak-free split and the held-out evaluation (SPEC R-40, R-41).

The unit is an *exposure*: one displayed (talent, project) candidate
(ses.interaction_logs row), with its graded label from ses.training_labels when it has
one, and whether its outcome was no_response (R-45 weak negative).

Training pairs
    Labelled exposures aggregated per (talent, project): label = the best (max) graded
    label over the pair's labelled exposures, timestamp = the latest of them; the bags
    (point-in-time keys, when the data has profile versions) and the shown rank are
    those of the exposure that earned the best label (the latest of equals). With
    ``weak_negatives`` (R-45), a no_response outcome not overruled by a conversion stage
    becomes (label 0.0, sample weight 0.3) instead of its behaviour label (or nothing).

Split (no leakage)
    ``time`` (default): the 80/20 cutoff is the 0.8 quantile of the labelled pairs'
    timestamps; every held-out pair is at or after it, every training pair before it.
    ``project``: a project's pairs all land on one side (stable hash). Everything before
    the cutoff is the *training window*: the settings are chosen and the candidate model
    trained there (training.tuning: its own time-ordered validation slice), so the
    held-out split is never looked at before the gate: the metrics it gives (and the
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

from training.data import WEAK_NEGATIVE_WEIGHT, Pair, entity_id, is_shown_only, pair_timestamp
from training.metrics import POSITIVE_THRESHOLD, auc, ranking_metrics
from training.split import project_bucket, split_by_project, split_by_time

Bag = tuple[list[str], list[float]]


@dataclass(frozen=True)
class Exposure:
    interaction_id: int
    talent_id: int
    project_id: int
    created_at: float  # epoch seconds
    label: float | None = None  # graded R-11 label, None = no label
    signal_source: str | None = None
    no_response: bool = False  # outcome no_response (R-45 weak negative when unlabelled)
    rank: int | None = None  # position shown (1 = top), None when unknown
    # Point-in-time profile versions (the bags the pair had when shown); None = the
    # current profile (data without versions).
    talent_version: Any = None
    project_version: Any = None

    @property
    def talent_key(self) -> Any:
        return (
            self.talent_id if self.talent_version is None else (self.talent_id, self.talent_version)
        )

    @property
    def project_key(self) -> Any:
        return (
            self.project_id
            if self.project_version is None
            else (self.project_id, self.project_version)
        )


@dataclass
class LabelledData:
    """Exposures plus the token bags of every talent and project they involve, keyed by
    the exposures' ``talent_key`` / ``project_key``."""

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
    """Held-out candidates, one row per (talent, project).

    ``talent_keys`` / ``project_keys`` name the bags to score (the ids, or point-in-time
    (id, version) keys); the ids group the ranking metrics per project."""

    talent_ids: np.ndarray  # int64
    project_ids: np.ndarray  # int64
    labels: np.ndarray  # float, 0.0 for exposures without a label
    labelled: np.ndarray  # bool
    talent_keys: list[Any] = field(default_factory=list)
    project_keys: list[Any] = field(default_factory=list)
    shown_at: np.ndarray | None = None  # float epoch seconds of the latest showing

    def __post_init__(self) -> None:
        if not self.talent_keys:
            self.talent_keys = self.talent_ids.tolist()
        if not self.project_keys:
            self.project_keys = self.project_ids.tolist()

    def __len__(self) -> int:
        return int(self.labels.size)

    def subset(self, mask: np.ndarray) -> HoldoutSet:
        idx = np.flatnonzero(mask)
        return HoldoutSet(
            self.talent_ids[idx],
            self.project_ids[idx],
            self.labels[idx],
            self.labelled[idx],
            [self.talent_keys[i] for i in idx],
            [self.project_keys[i] for i in idx],
            None if self.shown_at is None else self.shown_at[idx],
        )


@dataclass
class DataSplit:
    train: list[Pair]  # the training window (weak negatives, shown-only pairs included)
    holdout: HoldoutSet
    info: dict[str, Any]
    holdout_pairs: list[Pair] = field(default_factory=list)  # the held-out labelled pairs
    refit: list[Pair] = field(default_factory=list)  # every pair, both sides: the refit


def training_pairs(data: LabelledData) -> tuple[list[Pair], dict[tuple[int, int], float]]:
    """(labelled pairs sorted by key, weak-negative candidates {(talent, project): time}).

    R-45 weak negative: a pair whose outcome was no_response on some exposure and whose
    labels never come from a conversion stage or explicit feedback (R-11 falls back to a
    behaviour label, or there is none). With the switch on, training uses it as label
    0.0 with sample weight 0.3 instead of its behaviour label; evaluation always uses the
    R-11 labels.
    """
    best: dict[tuple[int, int], Exposure] = {}
    latest: dict[tuple[int, int], float] = {}
    weak: dict[tuple[int, int], float] = {}
    strong: set[tuple[int, int]] = set()
    for e in data.exposures:
        key = (e.talent_id, e.project_id)
        if e.no_response:
            weak[key] = max(weak.get(key, -math.inf), e.created_at)
        if e.signal_source in ("conversion", "feedback"):
            strong.add(key)
        if e.label is not None:
            old = best.get(key)
            if old is None or (e.label, e.created_at) >= (old.label, old.created_at):
                best[key] = e
            latest[key] = max(latest.get(key, -math.inf), e.created_at)
    labelled = [
        Pair(e.talent_key, e.project_key, e.label, 1.0, latest[k], e.rank)
        for k, e in sorted(best.items())
    ]
    return labelled, {k: ts for k, ts in weak.items() if k not in strong}


def shown_pairs(data: LabelledData, labelled: Sequence[Pair]) -> list[Pair]:
    """Every displayed (talent, project) that never got a label, as a shown-only pair
    (its latest showing's bags, rank and time): members of its project's list."""
    taken = {(entity_id(p.talent_key), entity_id(p.project_key)) for p in labelled}
    latest: dict[tuple[int, int], Exposure] = {}
    for e in data.exposures:
        key = (e.talent_id, e.project_id)
        if key in taken:
            continue
        old = latest.get(key)
        if old is None or (e.created_at, e.interaction_id) > (old.created_at, old.interaction_id):
            latest[key] = e
    return [
        Pair(e.talent_key, e.project_key, 0.0, 1.0, e.created_at, e.rank, shown_only=True)
        for _, e in sorted(latest.items())
    ]


def _with_weak_negatives(
    train: list[Pair], weak: dict[tuple[int, int], float], keys, eligible
) -> tuple[list[Pair], int]:
    """Training pairs with R-45 applied: weak pairs become (0.0, weight 0.3); weak pairs
    without any label are added when ``eligible(project_id, time)``, with the bags of
    ``keys[(talent, project)]``."""
    out: list[Pair] = []
    done: set[tuple[int, int]] = set()
    for p in train:
        key = (entity_id(p.talent_key), entity_id(p.project_key))
        if key in weak:
            out.append(p._replace(label=0.0, sample_weight=WEAK_NEGATIVE_WEIGHT))
            done.add(key)
        else:
            out.append(p)
    labelled_keys = {(entity_id(p.talent_key), entity_id(p.project_key)) for p in train}
    for (t, pid), ts in sorted(weak.items()):
        if (t, pid) not in labelled_keys and eligible(pid, ts):
            tk, pk, rank = keys[(t, pid)]
            out.append(Pair(tk, pk, 0.0, WEAK_NEGATIVE_WEIGHT, ts, rank))
            done.add((t, pid))
    return out, len(done)


def split_data(
    data: LabelledData,
    method: str = "time",
    valid_fraction: float = 0.2,
    *,
    weak_negatives: bool = False,
    shown_only: bool = True,
) -> DataSplit:
    """Training window / held-out split of ``data`` (see the module docstring). With
    ``shown_only`` the window also holds its displayed pairs that never got a label
    (training.data.Pair.shown_only: list members, no label to fit)."""
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

    # The bags and rank each (talent, project) was last shown with.
    shown: dict[tuple[int, int], tuple[Any, Any, int | None]] = {}
    for e in sorted(data.exposures, key=lambda e: (e.created_at, e.interaction_id)):
        shown[(e.talent_id, e.project_id)] = (e.talent_key, e.project_key, e.rank)

    if weak_negatives:
        train, n_weak = _with_weak_negatives(
            split.train, weak, shown, lambda pid, ts: not held_out(pid, ts)
        )
    else:
        train, n_weak = split.train, 0
    seen = {(entity_id(p.talent_key), entity_id(p.project_key)) for p in train}
    every_shown = shown_pairs(data, labelled) if shown_only else []
    window_shown = [p for p in every_shown if not held_out(entity_id(p.project_key), p.timestamp)]
    refit = (
        _with_weak_negatives(labelled, weak, shown, lambda pid, ts: True)[0]
        if weak_negatives
        else list(labelled)
    )

    labels = {(entity_id(p.talent_key), entity_id(p.project_key)): p for p in split.valid}
    candidates: dict[tuple[int, int], tuple[Any, Any, float | None]] = {}
    last_shown: dict[tuple[int, int], float] = {}
    for e in data.exposures:
        key = (e.talent_id, e.project_id)
        if key in seen or not held_out(e.project_id, e.created_at):
            continue
        last_shown[key] = max(last_shown.get(key, -math.inf), e.created_at)
        p = labels.get(key)
        candidates[key] = (
            (e.talent_key, e.project_key, None)
            if p is None
            else (p.talent_key, p.project_key, p.label)
        )
    # Held-out labelled pairs are exposures in scope by construction; keep them even if a
    # caller passed exposures without them.
    for key, p in labels.items():
        candidates[key] = (p.talent_key, p.project_key, p.label)
    keys = sorted(candidates)
    holdout = HoldoutSet(
        talent_ids=np.array([k[0] for k in keys], dtype=np.int64),
        project_ids=np.array([k[1] for k in keys], dtype=np.int64),
        labels=np.array([candidates[k][2] or 0.0 for k in keys], dtype=np.float64),
        labelled=np.array([candidates[k][2] is not None for k in keys], dtype=bool),
        talent_keys=[candidates[k][0] for k in keys],
        project_keys=[candidates[k][1] for k in keys],
        shown_at=np.array(
            [
                last_shown.get(k, pair_timestamp(labels[k]) if k in labels else math.nan)
                for k in keys
            ],
            dtype=np.float64,
        ),
    )
    info = {
        "method": method,
        "valid_fraction": valid_fraction,
        **({"cutoff": split.info["cutoff"]} if method == "time" else {}),
        "labelled_pairs": len(labelled),
        "train_pairs": len(train),
        "train_positives": sum(p.label >= POSITIVE_THRESHOLD for p in train),
        "shown_only_pairs": len(window_shown),
        "weak_negative_pairs": n_weak,
        "holdout_labelled_pairs": int(holdout.labelled.sum()),
        "holdout_candidates": len(holdout),
        "holdout_projects": int(np.unique(holdout.project_ids).size),
    }
    return DataSplit(
        [*train, *window_shown], holdout, info, list(split.valid), [*refit, *every_shown]
    )


# ----------------------------------------------------------------------- evaluation

# A scorer maps aligned (talent_ids, project_ids) to similarity scores.
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def holdout_metrics(
    holdout: HoldoutSet, scores: np.ndarray, k: int = 10, *, warm: np.ndarray | None = None
) -> dict[str, Any]:
    """AUC over the labelled candidates, Recall@k and MRR per project over all of them;
    with a ``warm`` mask also the same for the warm candidates (talent and project both
    in the training window) and the cold ones (either new), under "warm" / "cold"."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != holdout.labels.shape:
        raise ValueError(f"{scores.size} scores for {len(holdout)} held-out candidates")
    out: dict[str, Any] = _metrics(holdout.project_ids, holdout.labels, holdout.labelled, scores, k)
    if warm is not None:
        for name, mask in (("warm", warm), ("cold", ~warm)):
            out[name] = _metrics(
                holdout.project_ids[mask],
                holdout.labels[mask],
                holdout.labelled[mask],
                scores[mask],
                k,
            )
    return out


def _metrics(
    project_ids: np.ndarray, labels: np.ndarray, labelled: np.ndarray, scores: np.ndarray, k: int
) -> dict[str, Any]:
    rank = ranking_metrics(project_ids, labels, scores, k=k)
    return {
        "auc": auc(labels[labelled], scores[labelled]),
        f"recall_at_{k}": rank["recall_at_k"],
        "mrr": rank["mrr"],
        "labelled_pairs": int(labelled.sum()),
        "candidates": int(labels.size),
        "projects_evaluated": rank["projects_evaluated"],
    }


def warm_mask(holdout: HoldoutSet, train: Sequence[Pair]) -> np.ndarray:
    """Held-out candidates whose talent and project both occur in ``train``'s labels."""
    labelled = [p for p in train if not is_shown_only(p)]
    talents = {entity_id(p.talent_key) for p in labelled}
    projects = {entity_id(p.project_key) for p in labelled}
    return np.fromiter(
        (
            int(t) in talents and int(p) in projects
            for t, p in zip(holdout.talent_ids, holdout.project_ids, strict=True)
        ),
        dtype=bool,
        count=len(holdout),
    )


# An embed function maps (tower, entity keys, their bags) to unit rows (or all-zero rows).
Embed = Callable[[str, list[Any], list[Bag]], np.ndarray]


def pair_cosines(
    embed: Embed,
    talents: Mapping[Any, Bag],
    projects: Mapping[Any, Bag],
    talent_keys: Sequence[Any],
    project_keys: Sequence[Any],
) -> np.ndarray:
    """Cosine of each (talent, project) pair; each entity is embedded once."""
    ut, inv_t = _unique_keys(talent_keys)
    up, inv_p = _unique_keys(project_keys)
    te = embed("talent", ut, [talents[k] for k in ut])
    pe = embed("project", up, [projects[k] for k in up])
    return np.einsum("ij,ij->i", te[inv_t], pe[inv_p]).astype(np.float64)


def _unique_keys(keys: Sequence[Any]) -> tuple[list[Any], np.ndarray]:
    index: dict[Any, int] = {}
    inverse = np.fromiter((index.setdefault(k, len(index)) for k in keys), np.int64, len(keys))
    return list(index), inverse


def hash_embed(dimension: int = 256) -> Embed:
    """The hash baseline (R-21 HashTwoTower, the same code as the 'hash' embedder)."""
    from ses_udf import hash_tower

    def embed(tower: str, keys: list[Any], bags: list[Bag]) -> np.ndarray:
        ids = list(range(len(bags)))
        owners = [i for i, (tokens, _) in enumerate(bags) for _ in tokens]
        tokens = [t for tokens, _ in bags for t in tokens]
        weights = [w for _, weights in bags for w in weights]
        return hash_tower.embed_batch(ids, owners, tokens, weights, dimension)[1]

    return embed


def served_embed(model: Any) -> Embed:
    """Embedding through a loaded serving model (ses_udf.learned_tower OnnxModel /
    CandleModel), with each entity's identity token when the model's tower uses them,
    exactly as the database's embedder adds them."""
    from ses_udf.learned_tower import identity_token

    def embed(tower: str, keys: list[Any], bags: list[Bag]) -> np.ndarray:
        if tower in model.identity_sides:
            w = model.identity_weight
            bags = [
                ([*tokens, identity_token(tower, entity_id(k))], [*weights, w])
                for k, (tokens, weights) in zip(keys, bags, strict=True)
            ]
        return model.embed_batch(tower, bags)

    return embed


def evaluate_embedder(
    embed: Embed,
    holdout: HoldoutSet,
    talents: Mapping[Any, Bag],
    projects: Mapping[Any, Bag],
    *,
    warm: np.ndarray | None = None,
) -> dict[str, Any]:
    scores = pair_cosines(embed, talents, projects, holdout.talent_keys, holdout.project_keys)
    return holdout_metrics(holdout, scores, warm=warm)


def evaluate_baselines(
    holdout: HoldoutSet,
    train: Sequence[Pair],
    talents: Mapping[Any, Bag],
    projects: Mapping[Any, Bag],
    *,
    warm: np.ndarray | None = None,
) -> dict[str, dict[str, Any]]:
    """The baselines on a held-out split: the seed's hash tower and the popularity
    baselines (training.baselines) learnt from ``train`` only."""
    from training.baselines import KINDS, fit_popularity

    out = {"hash": evaluate_embedder(hash_embed(), holdout, talents, projects, warm=warm)}
    popularity = fit_popularity(train)
    for kind in KINDS:
        scores = popularity.scores(holdout.talent_ids.tolist(), holdout.project_ids.tolist(), kind)
        out[f"popularity_{kind}"] = holdout_metrics(holdout, scores, warm=warm)
    return out


def format_table(rows: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """Metrics side by side: one line per model (warm / cold AUC when evaluated)."""
    cols = ("auc", "recall_at_10", "mrr", "labelled_pairs", "candidates", "projects_evaluated")
    segments = [s for s in ("warm", "cold") if any(s in m for _, m in rows)]
    head = (
        f"{'model':<24}"
        + "".join(f"{c:>14}" for c in cols)
        + "".join(f"{s + ' auc (n)':>20}" for s in segments)
    )
    lines = [head, "-" * len(head)]
    for name, m in rows:
        cells = []
        for c in cols:
            v = m.get(c)
            cells.append(f"{v:>14.4f}" if isinstance(v, float) else f"{'' if v is None else v:>14}")
        for seg in segments:
            sub = m.get(seg) or {}
            a = sub.get("auc")
            text = f"{a:.4f} ({sub.get('labelled_pairs', 0)})" if isinstance(a, float) else ""
            cells.append(f"{text:>20}")
        lines.append(f"{name:<24}" + "".join(cells))
    return "\n".join(lines)
