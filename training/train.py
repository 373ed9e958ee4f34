"""Training loop of the two-tower model (SPEC R-40, R-45; seed E.2, §10.2).

Loss
    * BCE on a calibrated similarity: ``logit = scale * cos(talent, project) + bias`` with the
      graded label (0..1) as the target and the pair's sample weight (weak negatives of R-45
      come in with weight 0.3): ``sum(w * bce) / sum(w)`` per batch. ``scale`` is learnable
      (init 10, stored as a log, capped at 100) unless ``learn_scale=False``; ``bias`` is
      always learnt. Serving uses the raw cosine (R-22), so the calibration only shapes
      training; scale/bias are recorded in the export metadata.
    * optional in-batch negatives (``contrastive="margin"``, seed E.2:
      ``mean relu(margin - cos(pos) + cos(neg))``, or ``"softmax"``: InfoNCE with a
      temperature), both directions (talent -> projects of the batch, project -> talents).
      Each positive pair (label >= 0.5) is contrasted against the other *distinct* talents /
      projects of the batch; a candidate is masked out when (talent, project) is a known
      positive anywhere in the training pairs, so a project appearing twice in the batch or
      a talent liked by two batch projects never turns a true positive into a negative.

Optimisation: EmbeddingBag(sparse=True) tables with SparseAdam (only the rows of the batch
are touched; rows of ids that never occur in training stay exactly zero), Adam for the MLPs
and the calibration. Early stopping on validation AUC (or loss) with patience, the best
epoch's weights are restored.

Determinism: ``torch.set_num_threads(config.num_threads)``, parameters initialised from a
``torch.Generator`` seeded with ``config.seed``, batches shuffled by ``numpy.random.Generator``
(PCG64) with the same seed, ``torch.use_deterministic_algorithms(True)`` during training.
Same data + same config => bit-identical weights and metrics on the same machine/build.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from training.data import BagTable, entity_id, is_shown_only, pair_fields, pair_rank
from training.metrics import POSITIVE_THRESHOLD, auc, ranking_metrics, weighted_bce
from training.model import Tower, TwoTower

Bags = Mapping[Any, tuple[Sequence[str], Sequence[float]]]


@dataclass
class TrainConfig:
    seed: int = 0
    epochs: int = 100
    patience: int = 10
    min_delta: float = 1e-4
    early_stopping_metric: str = "auc"  # "auc" (higher is better) or "loss"
    batch_size: int = 512
    lr: float = 1e-3  # Adam: MLPs + scale/bias
    sparse_lr: float = 1e-2  # SparseAdam: embedding bags
    embedding_std: float = 0.1
    init_scale: float = 10.0
    learn_scale: bool = True
    bce_weight: float = 1.0
    contrastive: str | None = None  # None, "margin" (seed E.2) or "softmax" (InfoNCE)
    contrastive_weight: float = 0.5
    margin: float = 0.2
    temperature: float = 0.1
    positive_threshold: float = POSITIVE_THRESHOLD
    # Regularisers (labels are noisy and few; the bags of fine-grained tokens such as the
    # station let a tower memorise single talents): decoupled weight decay of the MLPs
    # (AdamW), an L2 penalty on the embedding rows a batch uses, and token dropout (each
    # token's weight zeroed with this probability while training, the rest scaled up).
    weight_decay: float = 0.0
    embedding_l2: float = 0.0
    # Mirror initialisation: both towers start with the same row for the same token and
    # the same MLP (biases zero), so before any step the model's cosine is a random-
    # feature version of the bag-of-tokens cosine (the hash baseline's signal); training
    # then moves the towers apart. Without it the towers start from unrelated noise.
    mirror_init: bool = False
    token_dropout: float = 0.0
    # Hybrid towers: each tower also sees its entity's identity token (talent:<id> /
    # project:<id>, ses_udf.learned_tower), which lets it learn what is specific to one
    # talent or project (how well received, how popular). Dropped with this probability
    # per bag and step (not rescaled), so a tower also learns to embed an entity from
    # its content alone, which is what an entity unseen in training gets.
    identity_tokens: bool = False
    identity_dropout: float = 0.5
    identity_weight: float = 1.0
    # List-wise term: per step, ``listwise_projects`` displayed lists (labelled and
    # shown-only pairs of one project); each positive is scored against the rest of its
    # own list (softmax with ``temperature``). It teaches what the staff pick from what
    # they were shown, without pulling unrelated projects' talents in as negatives.
    listwise_weight: float = 0.0
    listwise_projects: int = 64
    # Position bias: a training-only offset per bucket of the shown rank
    # (POSITION_BUCKETS), in the BCE logit and the list-wise scores, absorbs how the
    # position changed a label or a pick; serving ignores it (the cosine alone).
    position_bias: bool = False
    num_threads: int = 2
    deterministic: bool = True
    eval_batch_size: int = 8192
    ranking_k: int = 10

    def validate(self) -> None:
        if self.epochs < 0 or self.patience < 1 or self.batch_size < 1:
            raise ValueError(
                "epochs must be >= 0 (0: the initial model), patience and batch_size >= 1"
            )
        if self.early_stopping_metric not in ("auc", "loss"):
            raise ValueError("early_stopping_metric must be 'auc' or 'loss'")
        if self.contrastive not in (None, "margin", "softmax"):
            raise ValueError("contrastive must be None, 'margin' or 'softmax'")
        if self.bce_weight <= 0 and not self.contrastive:
            raise ValueError("nothing to train: bce_weight is 0 and contrastive is off")
        if not 0.0 <= self.token_dropout < 1.0:
            raise ValueError(f"token_dropout must lie in [0, 1), got {self.token_dropout}")
        if self.weight_decay < 0 or self.embedding_l2 < 0:
            raise ValueError("weight_decay and embedding_l2 must be >= 0")
        if not 0.0 <= self.identity_dropout < 1.0:
            raise ValueError(f"identity_dropout must lie in [0, 1), got {self.identity_dropout}")
        if not (math.isfinite(self.identity_weight) and self.identity_weight > 0):
            raise ValueError(f"identity_weight must be > 0, got {self.identity_weight}")
        for name in ("lr", "sparse_lr", "embedding_std", "init_scale", "temperature"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value}")
        if not (math.isfinite(self.contrastive_weight) and self.contrastive_weight >= 0):
            raise ValueError(f"contrastive_weight must be >= 0, got {self.contrastive_weight}")
        if not (math.isfinite(self.listwise_weight) and self.listwise_weight >= 0):
            raise ValueError(f"listwise_weight must be >= 0, got {self.listwise_weight}")
        if self.listwise_projects < 1:
            raise ValueError(f"listwise_projects must be >= 1, got {self.listwise_projects}")


@dataclass
class TrainResult:
    model: TwoTower
    config: TrainConfig
    best_epoch: int
    best_metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    stopped_early: bool = False
    seconds_per_epoch: float = 0.0
    train_stats: dict[str, Any] = field(default_factory=dict)

    @property
    def epochs_run(self) -> int:
        """Epochs trained (the history also holds epoch 0, the initial model)."""
        return sum(1 for r in self.history if r["epoch"] >= 1)

    def summary(self) -> dict[str, Any]:
        return {
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "stopped_early": self.stopped_early,
            "seconds_per_epoch": self.seconds_per_epoch,
            "valid": self.best_metrics,
            "logit_scale": float(self.model.scale().detach()),
            "logit_bias": float(self.model.bias.detach()),
            "config": dataclasses.asdict(self.config),
            **self.train_stats,
        }


@contextmanager
def _torch_settings(num_threads: int, deterministic: bool):
    threads = torch.get_num_threads()
    det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(max(1, num_threads))
    if deterministic:
        torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det)


# Shown rank -> position bucket of the training-only position term (upper bounds).
POSITION_BUCKETS = (1, 2, 3, 5, 10, 20, 50)


POSITION_LR = 1e-2


def _position_prior(tr: _PairArrays, config: TrainConfig) -> np.ndarray:
    """Starting position offsets: the log of each rank bucket's positive share among the
    training pairs shown there (smoothed, centred), i.e. how much more often the top of a
    list gets picked, before any tower explains anything."""
    n = len(POSITION_BUCKETS) + 1
    known = tr.positions >= 0
    pos = ((tr.labels >= config.positive_threshold) & ~tr.shown_only)[known]
    shown = np.bincount(tr.positions[known], minlength=n).astype(np.float64)
    hits = np.bincount(tr.positions[known], weights=pos.astype(np.float64), minlength=n)
    rate = (hits + 1.0) / (shown + 2.0)
    logs = np.log(rate)
    return (logs - logs.mean()).astype(np.float32)


def position_bucket(rank: int | None) -> int:
    """0 for rank 1, ..., len(POSITION_BUCKETS) beyond the last bound; -1 unknown."""
    if rank is None or rank < 1:
        return -1
    return int(np.searchsorted(POSITION_BUCKETS, rank))


class _PairArrays:
    def __init__(self, pairs: Sequence[Any], talents: BagTable, projects: BagTable, what: str):
        fields = [pair_fields(p) for p in pairs]
        # ranking metrics group by project (not by profile version)
        self.project_keys = [entity_id(f[1]) for f in fields]
        self.t_rows = talents.rows([f[0] for f in fields], "talent")
        self.p_rows = projects.rows([f[1] for f in fields], "project")
        self.labels = np.array([f[2] for f in fields], dtype=np.float32)
        self.weights = np.array([f[3] for f in fields], dtype=np.float32)
        self.positions = np.array([position_bucket(pair_rank(p)) for p in pairs], dtype=np.int64)
        self.shown_only = np.array([is_shown_only(p) for p in pairs], dtype=bool)
        if not np.isfinite(self.labels).all() or (self.labels < 0).any() or (self.labels > 1).any():
            raise ValueError(f"{what} labels must lie in [0, 1]")
        if not np.isfinite(self.weights).all() or (self.weights < 0).any():
            raise ValueError(f"{what} sample weights must be finite and >= 0")

    def __len__(self) -> int:
        return self.labels.size

    def lists(self, threshold: float) -> list[np.ndarray]:
        """Row indices of each project's displayed list (profile version included) that
        holds a labelled positive and something else to rank it against."""
        order = np.argsort(self.p_rows, kind="stable")
        starts = np.flatnonzero(np.r_[True, self.p_rows[order][1:] != self.p_rows[order][:-1]])
        out = []
        for members in np.split(order, starts[1:]):
            pos = (self.labels[members] >= threshold) & ~self.shown_only[members]
            if pos.any() and members.size > 1 and not pos.all():
                out.append(members)
        return out


def _inputs(
    tower: Tower, table: BagTable, rows: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
    """(table rows of the tower, offsets, weights, identity mask) of the bags ``rows``."""
    src, offsets = table.positions(rows)
    return (
        torch.from_numpy(tower.rows(table.ids[src])),
        torch.from_numpy(offsets),
        torch.from_numpy(table.weights[src]),
        table.identity[src],
    )


@torch.no_grad()
def embed_rows(
    tower: Tower, table: BagTable, rows: np.ndarray, batch_size: int = 8192
) -> torch.Tensor:
    was_training = tower.training
    tower.eval()
    parts = [
        tower.forward_rows(*_inputs(tower, table, rows[i : i + batch_size])[:3])
        for i in range(0, rows.size, batch_size)
    ]
    tower.train(was_training)
    return torch.cat(parts) if parts else torch.zeros((0, tower.mlp[2].out_features))


@torch.no_grad()
def pair_cosines(
    model: TwoTower,
    arrays: _PairArrays,
    talents: BagTable,
    projects: BagTable,
    batch_size: int = 8192,
) -> np.ndarray:
    ut, inv_t = np.unique(arrays.t_rows, return_inverse=True)
    up, inv_p = np.unique(arrays.p_rows, return_inverse=True)
    te = embed_rows(model.talent, talents, ut, batch_size)
    pe = embed_rows(model.project, projects, up, batch_size)
    return TwoTower.cosine(te[torch.from_numpy(inv_t)], pe[torch.from_numpy(inv_p)]).numpy()


def bag_tables(
    talents: Bags, projects: Bags, identity: bool, identity_weight: float = 1.0
) -> tuple[BagTable, BagTable]:
    """The encoded bags of both sides, with identity tokens when ``identity``."""

    def table(bags: Bags, side: str) -> BagTable:
        return BagTable.build(
            bags, identity_side=side if identity else None, identity_weight=identity_weight
        )

    return table(talents, "talent"), table(projects, "project")


def score_pairs(model: TwoTower, pairs: Sequence[Any], talents: Bags, projects: Bags) -> np.ndarray:
    """Cosine similarity of each (talent_key, project_key, ...) pair under ``model``."""
    t_keys = {pair_fields(p)[0] for p in pairs}
    p_keys = {pair_fields(p)[1] for p in pairs}
    sides, weight = model.identity
    tt, pt = bag_tables(
        {k: talents[k] for k in t_keys}, {k: projects[k] for k in p_keys}, bool(sides), weight
    )
    return pair_cosines(model, _PairArrays(pairs, tt, pt, "scored"), tt, pt)


def evaluate_model(
    model: TwoTower, arrays: _PairArrays, talents: BagTable, projects: BagTable, config: TrainConfig
) -> dict[str, float]:
    cos = pair_cosines(model, arrays, talents, projects, config.eval_batch_size)
    with torch.no_grad():
        logits = model.logits(torch.from_numpy(cos)).numpy()
    # ranking over whole displayed lists (shown-only pairs are not positives), AUC and
    # loss over the labelled pairs: the held-out split's definitions
    rank = ranking_metrics(
        arrays.project_keys,
        np.where(arrays.shown_only, 0.0, arrays.labels),
        cos,
        k=config.ranking_k,
        threshold=config.positive_threshold,
    )
    labelled = ~arrays.shown_only
    return {
        "auc": auc(arrays.labels[labelled], cos[labelled], threshold=config.positive_threshold),
        f"recall_at_{config.ranking_k}": rank["recall_at_k"],
        "mrr": rank["mrr"],
        "loss": weighted_bce(arrays.labels[labelled], logits[labelled], arrays.weights[labelled]),
        "projects_evaluated": rank["projects_evaluated"],
        "n": int(labelled.sum()),
    }


def _contrastive_loss(
    sim: torch.Tensor,  # [a, b] cosines of the batch's distinct talents x distinct projects
    known_pos: torch.Tensor,  # [a, b] bool: (talent, project) is a training positive
    rows: torch.Tensor,  # [K] talent index of each positive pair
    cols: torch.Tensor,  # [K] project index of each positive pair
    weights: torch.Tensor,  # [K]
    config: TrainConfig,
) -> torch.Tensor:
    losses = []
    for s, known, r, c in ((sim, known_pos, rows, cols), (sim.t(), known_pos.t(), cols, rows)):
        cand = s[r]  # [K, n] the positive's row: its own column and the other candidates
        negative = ~known[r]  # masks the positive itself and every other known positive
        own = cand.gather(1, c.unsqueeze(1))  # [K, 1]
        if config.contrastive == "margin":
            hinge = F.relu(config.margin - own + cand) * negative
            count = negative.sum(1)
            per_pair = hinge.sum(1) / count.clamp(min=1)
            has_neg = count > 0
        else:  # softmax / InfoNCE over the own column + the unmasked negatives
            logits = cand / config.temperature
            keep = negative.clone()
            keep.scatter_(1, c.unsqueeze(1), True)
            logits = logits.masked_fill(~keep, float("-inf"))
            per_pair = torch.logsumexp(logits, 1) - own.squeeze(1) / config.temperature
            has_neg = negative.any(1)
        w = weights * has_neg
        total = w.sum()
        if total > 0:
            losses.append((per_pair * w).sum() / total)
    if not losses:
        return sim.new_zeros(())
    return torch.stack(losses).mean()


def train(
    train_pairs: Sequence[Any],
    valid_pairs: Sequence[Any],
    talents: Bags,
    projects: Bags,
    config: TrainConfig | None = None,
    *,
    progress: Callable[[dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train a TwoTower on labelled pairs; returns the best-epoch model and its metrics.

    A pair is ``(talent_key, project_key, label in [0, 1], sample_weight)`` (a ``Pair`` or a
    plain tuple; the weight defaults to 1). ``talents`` / ``projects`` map keys to
    ``(tokens, weights)`` bags (the v2 tokenizer's output). ``progress`` receives each
    epoch's record. With no ``valid_pairs`` there is no early stopping: exactly
    ``config.epochs`` epochs run and the last one is kept (a refit whose epoch count
    was chosen before).
    """
    config = config or TrainConfig()
    config.validate()
    with _torch_settings(config.num_threads, config.deterministic):
        return _train(train_pairs, valid_pairs, talents, projects, config, progress)


def _train(train_pairs, valid_pairs, talents, projects, config, progress) -> TrainResult:
    t_start = time.perf_counter()
    train_pairs, valid_pairs = list(train_pairs), list(valid_pairs)
    if not train_pairs:
        raise ValueError("no training pairs")
    needed_t = {pair_fields(p)[0] for p in (*train_pairs, *valid_pairs)}
    needed_p = {pair_fields(p)[1] for p in (*train_pairs, *valid_pairs)}
    missing_t = [k for k in needed_t if k not in talents]
    missing_p = [k for k in needed_p if k not in projects]
    if missing_t or missing_p:
        raise KeyError(
            f"pairs reference unknown talents {missing_t[:5]} / projects {missing_p[:5]}"
        )
    t_table, p_table = bag_tables(
        {k: talents[k] for k in sorted(needed_t, key=repr)},
        {k: projects[k] for k in sorted(needed_p, key=repr)},
        config.identity_tokens,
        config.identity_weight,
    )
    tr = _PairArrays(train_pairs, t_table, p_table, "training")
    va = _PairArrays(valid_pairs, t_table, p_table, "validation") if valid_pairs else None

    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    rng = np.random.Generator(np.random.PCG64(config.seed))
    model = TwoTower(
        t_table.vocabulary(),
        p_table.vocabulary(),
        init_scale=config.init_scale,
        learn_scale=config.learn_scale,
        position_buckets=len(POSITION_BUCKETS) + 1 if config.position_bias else 0,
    )
    model.identity = (
        (("talent", "project"), config.identity_weight) if config.identity_tokens else ((), 1.0)
    )
    t_used = model.talent.rows(t_table.used_ids(tr.t_rows))
    p_used = model.project.rows(p_table.used_ids(tr.p_rows))
    model.init_weights(gen, config.embedding_std, t_used, p_used, mirror=config.mirror_init)
    # Only these embedding rows ever change (SparseAdam touches the rows of training
    # bags); snapshots of the best epoch copy them instead of the whole tables.
    trained_rows = {
        "talent.bag.weight": torch.as_tensor(t_used, dtype=torch.int64),
        "project.bag.weight": torch.as_tensor(p_used, dtype=torch.int64),
    }
    sparse_opt = torch.optim.SparseAdam(model.sparse_parameters(), lr=config.sparse_lr)
    groups: list[dict[str, Any]] = [
        {"params": [p for p in model.dense_parameters() if p is not model.position_bias]}
    ]
    if model.position_bias is not None:
        with torch.no_grad():
            model.position_bias.copy_(torch.from_numpy(_position_prior(tr, config)))
        # a handful of numbers the towers must not absorb: let them keep up
        groups.append({"params": [model.position_bias], "lr": POSITION_LR, "weight_decay": 0.0})
    dense_opt = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)

    labelled_rows = np.flatnonzero(~tr.shown_only)
    if labelled_rows.size == 0:
        raise ValueError("no labelled training pairs (only shown-only ones)")
    positive = (tr.labels >= config.positive_threshold) & ~tr.shown_only
    lists = tr.lists(config.positive_threshold) if config.listwise_weight > 0 else []
    n_proj = np.int64(len(p_table.keys))
    known_codes = np.unique(tr.t_rows[positive] * n_proj + tr.p_rows[positive])

    history: list[dict[str, float]] = []
    best_value = -math.inf
    best_epoch = 0
    best_state: dict[str, torch.Tensor] | None = None
    best_metrics: dict[str, float] = {}
    stale = 0
    epoch_seconds: list[float] = []
    n = labelled_rows.size
    if va is not None:
        # Epoch 0 (the initial model: with mirror_init the bag-of-tokens cosine) is a
        # candidate too: with few labels, training can make things worse.
        best_metrics = evaluate_model(model, va, t_table, p_table, config)
        best_value = _monitor_value(best_metrics, config)
        best_state = _snapshot(model, trained_rows)
        history.append({"epoch": 0, **{f"valid_{k}": v for k, v in best_metrics.items()}})
    setup_seconds = time.perf_counter() - t_start

    for epoch in range(1, config.epochs + 1):
        e_start = time.perf_counter()
        model.train()
        order = labelled_rows[rng.permutation(n)]
        loss_sum = 0.0
        steps = 0
        for start in range(0, n, config.batch_size):
            idx = order[start : start + config.batch_size]
            loss = _step_loss(model, tr, idx, t_table, p_table, known_codes, n_proj, config, rng)
            if lists:
                picked = rng.choice(
                    len(lists), min(len(lists), config.listwise_projects), replace=False
                )
                loss = loss + config.listwise_weight * _listwise_loss(
                    model, tr, [lists[i] for i in picked], t_table, p_table, config, rng
                )
            sparse_opt.zero_grad(set_to_none=True)
            dense_opt.zero_grad(set_to_none=True)
            loss.backward()
            sparse_opt.step()
            dense_opt.step()
            loss_sum += float(loss.detach())
            steps += 1
        train_seconds = time.perf_counter() - e_start
        metrics = evaluate_model(model, va, t_table, p_table, config) if va is not None else {}
        epoch_seconds.append(time.perf_counter() - e_start)
        record = {
            "epoch": epoch,
            "train_loss": loss_sum / max(steps, 1),
            "train_seconds": train_seconds,
            **{f"valid_{k}": v for k, v in metrics.items()},
        }
        history.append(record)
        if progress is not None:
            progress(record)
        if va is None:
            best_epoch, best_metrics = epoch, {}
            continue
        value = _monitor_value(metrics, config)
        if value > best_value + config.min_delta:
            best_value, best_epoch, best_metrics, stale = value, epoch, metrics, 0
            best_state = _snapshot(model, trained_rows)
        else:
            stale += 1
            if stale >= config.patience:
                break

    if best_state is not None:
        _restore(model, best_state, trained_rows)
    model.eval()
    return TrainResult(
        model=model,
        config=copy.deepcopy(config),
        best_epoch=best_epoch,
        best_metrics=best_metrics,
        history=history,
        stopped_early=len(epoch_seconds) < config.epochs,
        seconds_per_epoch=float(np.mean(epoch_seconds)) if epoch_seconds else 0.0,
        train_stats={
            "train_pairs": len(tr),
            "valid_pairs": 0 if va is None else len(va),
            "train_positives": int(positive.sum()),
            "talents": len(t_table.keys),
            "projects": len(p_table.keys),
            "setup_seconds": setup_seconds,
            "total_seconds": time.perf_counter() - t_start,
        },
    )


def _listwise_loss(
    model: TwoTower,
    tr: _PairArrays,
    lists: list[np.ndarray],
    t_table: BagTable,
    p_table: BagTable,
    config: TrainConfig,
    rng: np.random.Generator,
) -> torch.Tensor:
    """Mean over the lists' positives of -log softmax(own score | own + the list's
    non-positive members), scores = cosine / temperature."""
    members = np.concatenate(lists)
    owner = np.repeat(np.arange(len(lists)), [m.size for m in lists])
    ut, inv_t = np.unique(tr.t_rows[members], return_inverse=True)
    up = np.array([tr.p_rows[m[0]] for m in lists], dtype=np.int64)
    te = model.talent.forward_rows(*_drop_tokens(_inputs(model.talent, t_table, ut), config, rng))
    pe = model.project.forward_rows(*_drop_tokens(_inputs(model.project, p_table, up), config, rng))
    cosines = (te[torch.from_numpy(inv_t)] * pe[torch.from_numpy(owner)]).sum(-1)
    scores = cosines / config.temperature
    if model.position_bias is not None:
        # What the position did to the staff's pick is the position term's to explain
        # (a talent at rank 18 that nobody opened was not turned down); serving drops it.
        buckets = torch.from_numpy(tr.positions[members])
        scores = scores + torch.where(buckets >= 0, model.position_bias[buckets.clamp(min=0)], 0.0)
    positive = (tr.labels[members] >= config.positive_threshold) & ~tr.shown_only[members]
    losses = []
    start = 0
    for m in lists:
        s = scores[start : start + m.size]
        pos = torch.from_numpy(positive[start : start + m.size])
        negatives = s[~pos]
        for i in torch.nonzero(pos).flatten().tolist():
            losses.append(torch.logsumexp(torch.cat([s[i : i + 1], negatives]), 0) - s[i])
        start += m.size
    return torch.stack(losses).mean()


def _snapshot(model: TwoTower, rows: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    state = model.state_dict()
    return {k: (v[rows[k]] if k in rows else v).detach().clone() for k, v in state.items()}


@torch.no_grad()
def _restore(model: TwoTower, snap: dict[str, torch.Tensor], rows: dict[str, torch.Tensor]) -> None:
    state = model.state_dict()
    for k, v in snap.items():
        if k in rows:
            state[k][rows[k]] = v
        else:
            state[k].copy_(v)


def _monitor_value(metrics: dict[str, float], config: TrainConfig) -> float:
    if config.early_stopping_metric == "auc" and not math.isnan(metrics["auc"]):
        return metrics["auc"]
    loss = metrics["loss"]
    return -loss if not math.isnan(loss) else -math.inf


def _is_known(codes: np.ndarray, known_codes: np.ndarray) -> np.ndarray:
    """Membership of ``codes`` in the sorted unique ``known_codes`` (binary search: cheaper
    than np.isin, which sorts the batch's a*b codes every step)."""
    if known_codes.size == 0:
        return np.zeros(codes.shape, dtype=bool)
    pos = np.searchsorted(known_codes, codes)
    return known_codes[np.minimum(pos, known_codes.size - 1)] == codes


def _drop_tokens(
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray],
    config: TrainConfig,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Content tokens dropped with ``token_dropout`` (the rest scaled up), identity tokens
    with ``identity_dropout`` (not rescaled: absent is what an unseen entity is)."""
    rows, offsets, weights, identity = batch
    if config.token_dropout <= 0 and not (config.identity_tokens and identity.any()):
        return rows, offsets, weights
    u = rng.random(weights.shape[0])
    scale = np.ones(weights.shape[0], dtype=np.float32)
    if config.token_dropout > 0:
        content = ~identity
        scale[content] = (u[content] >= config.token_dropout) / (1.0 - config.token_dropout)
    if config.identity_dropout > 0:
        scale[identity] = u[identity] >= config.identity_dropout
    return rows, offsets, weights * torch.from_numpy(scale)


def _step_loss(
    model: TwoTower,
    tr: _PairArrays,
    idx: np.ndarray,
    t_table: BagTable,
    p_table: BagTable,
    known_codes: np.ndarray,
    n_proj: np.int64,
    config: TrainConfig,
    rng: np.random.Generator,
) -> torch.Tensor:
    bt, bp = tr.t_rows[idx], tr.p_rows[idx]
    ut, inv_t = np.unique(bt, return_inverse=True)
    up, inv_p = np.unique(bp, return_inverse=True)
    t_in = _drop_tokens(_inputs(model.talent, t_table, ut), config, rng)
    p_in = _drop_tokens(_inputs(model.project, p_table, up), config, rng)
    te = model.talent.forward_rows(*t_in)
    pe = model.project.forward_rows(*p_in)
    inv_t_t = torch.from_numpy(inv_t)
    inv_p_t = torch.from_numpy(inv_p)
    y = torch.from_numpy(tr.labels[idx])
    w = torch.from_numpy(tr.weights[idx])
    total = te.new_zeros(())
    if config.bce_weight > 0:
        cos = TwoTower.cosine(te[inv_t_t], pe[inv_p_t])
        logits = model.logits(cos, torch.from_numpy(tr.positions[idx]))
        bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
        total = total + config.bce_weight * (bce * w).sum() / w.sum().clamp(min=1e-12)
    if config.embedding_l2 > 0:
        for tower, (rows, _, _) in ((model.talent, t_in), (model.project, p_in)):
            used = F.embedding(torch.unique(rows), tower.bag.weight, sparse=True)
            total = total + config.embedding_l2 * used.pow(2).sum(1).mean()
    if config.contrastive:
        pos = tr.labels[idx] >= config.positive_threshold
        if pos.any() and (ut.size > 1 or up.size > 1):
            codes = ut[:, None] * n_proj + up[None, :]
            known = _is_known(codes, known_codes)
            sim = te @ pe.t()
            total = total + config.contrastive_weight * _contrastive_loss(
                sim,
                torch.from_numpy(known),
                torch.from_numpy(inv_t[pos]),
                torch.from_numpy(inv_p[pos]),
                w[torch.from_numpy(pos)],
                config,
            )
    return total
