"""training.train: determinism, masking, early stopping, and learning a synthetic task."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from ses_udf.hashing import token_hash

from training.metrics import auc
from training.split import split_by_project
from training.synthetic import make_synthetic
from training.train import TrainConfig, _contrastive_loss, score_pairs, train


def hash_cosine(a, b, dim=256):
    """Bag-of-tokens baseline: signed feature hashing (R-21) + cosine."""

    def vec(bag):
        v = np.zeros(dim)
        for tok, w in zip(*bag, strict=True):
            sign = 1.0 if token_hash(tok + "_sign") % dim % 2 == 0 else -1.0
            v[token_hash(tok) % dim] += sign * w
        n = np.linalg.norm(v)
        return v / n if n else v

    va, vb = vec(a), vec(b)
    return float(va @ vb)


@pytest.fixture(scope="module")
def synthetic():
    pairs, talents, projects = make_synthetic(800, 240, 30, seed=11)
    return split_by_project(pairs), talents, projects


def test_same_seed_gives_identical_weights(synthetic):
    split, talents, projects = synthetic
    small_train, small_valid = split.train[:600], split.valid[:200]
    cfg = TrainConfig(epochs=2, patience=5, seed=3, batch_size=128, contrastive="margin")
    a = train(small_train, small_valid, talents, projects, cfg)
    b = train(small_train, small_valid, talents, projects, cfg)
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k

    def timeless(history):
        return [{k: v for k, v in h.items() if k != "train_seconds"} for h in history]

    assert timeless(a.history) == timeless(b.history)
    assert [h["epoch"] for h in a.history] == [0, 1, 2]  # epoch 0: the initial model
    other = dataclasses.replace(cfg, seed=4, epochs=1)
    c = train(small_train, small_valid, talents, projects, other)
    assert not torch.equal(sa["talent.mlp.0.weight"], c.model.state_dict()["talent.mlp.0.weight"])


def test_learns_interaction_task_and_beats_hash_baseline(synthetic):
    split, talents, projects = synthetic
    result = train(
        split.train,
        split.valid,
        talents,
        projects,
        TrainConfig(epochs=40, patience=5, num_threads=1, contrastive="softmax"),
    )
    labels = np.array([p.label for p in split.valid])
    baseline = [hash_cosine(talents[p.talent_key], projects[p.project_key]) for p in split.valid]
    base_auc = auc(labels, baseline)
    print("learned", result.best_metrics, "hash baseline auc", base_auc)
    assert result.best_metrics["auc"] > 0.75
    assert result.best_metrics["auc"] > base_auc + 0.05, (result.best_metrics, base_auc)
    assert result.best_metrics["recall_at_10"] > 0.5
    assert result.best_metrics["mrr"] > 0.3
    # the restored model is the best epoch's model
    cos = score_pairs(result.model, split.valid, talents, projects)
    assert auc(labels, cos) == pytest.approx(result.best_metrics["auc"], abs=1e-9)
    best = max(h["valid_auc"] for h in result.history)
    assert result.best_metrics["auc"] == pytest.approx(best)
    assert result.epochs_run <= result.best_epoch + 5
    # rows of ids never seen in training stay exactly zero
    emb = result.model.talent.bag.weight.detach()
    assert int((emb.abs().sum(1) > 0).sum()) < 200


def test_contrastive_mask_ignores_known_positives():
    torch.manual_seed(0)
    sim = torch.rand(3, 4) * 2 - 1
    rows, cols = torch.tensor([0]), torch.tensor([1])
    known = torch.zeros(3, 4, dtype=torch.bool)
    known[0, 1] = True
    known[0, 3] = True  # talent 0 also liked project 3 (a duplicate in the batch)
    known[2, 1] = True  # project 1 also liked talent 2
    w = torch.ones(1)
    for mode in ("margin", "softmax"):
        cfg = TrainConfig(contrastive=mode)
        base = _contrastive_loss(sim, known, rows, cols, w, cfg)
        changed = sim.clone()
        changed[0, 3] = 5.0  # a masked known positive: must not matter
        changed[2, 1] = 5.0
        assert torch.allclose(_contrastive_loss(changed, known, rows, cols, w, cfg), base)
        changed[0, 2] = 5.0  # a true negative: must raise the loss
        assert _contrastive_loss(changed, known, rows, cols, w, cfg) > base


def test_sample_weight_zero_pairs_are_ignored(synthetic):
    split, talents, projects = synthetic
    tr = split.train[:300]
    va = split.valid[:100]
    # flipped copies of known pairs with weight 0 (same talents/projects, so same init)
    noise = [(p.talent_key, p.project_key, 1.0 - p.label, 0.0) for p in tr[:100]]
    cfg = TrainConfig(epochs=1, batch_size=1000, num_threads=1)
    a = train(tr, va, talents, projects, cfg)
    b = train(tr + noise, va, talents, projects, cfg)
    # one batch: its loss (before the step) ignores the weight-0 pairs
    assert b.history[1]["train_loss"] == pytest.approx(a.history[1]["train_loss"], abs=1e-6)
    c = train(tr + [(k, p, y, 1.0) for k, p, y, _ in noise], va, talents, projects, cfg)
    assert c.history[1]["train_loss"] != pytest.approx(a.history[1]["train_loss"], abs=1e-3)


def test_bad_inputs_raise(synthetic):
    split, talents, projects = synthetic
    with pytest.raises(ValueError, match="labels"):
        train([("t0", "p0", 1.5, 1.0)], split.valid[:5], talents, projects, TrainConfig(epochs=1))
    with pytest.raises(KeyError, match="unknown"):
        train(
            [("nobody", "p0", 1.0, 1.0)], split.valid[:5], talents, projects, TrainConfig(epochs=1)
        )
    with pytest.raises(ValueError, match="contrastive"):
        train(split.train[:5], split.valid[:5], talents, projects, TrainConfig(contrastive="x"))


def test_shown_only_pairs_rank_but_never_fit(synthetic):
    """A shown-only pair (displayed, never labelled) is a member of its project's list:
    it counts in the ranking metrics (never as a positive) and not in AUC or the loss."""
    from training.data import Pair
    from training.train import _PairArrays, bag_tables, evaluate_model

    split, talents, projects = synthetic
    tr = [Pair(*p[:4]) for p in split.train[:300]]
    va = [Pair(*p[:4]) for p in split.valid[:120]]
    model = train(tr, va, talents, projects, TrainConfig(epochs=1, num_threads=1)).model
    shown = [Pair(p.talent_key, p.project_key, 1.0, shown_only=True) for p in va[:40]]
    tt, pt = bag_tables(talents, projects, False)
    cfg = TrainConfig()
    plain = evaluate_model(model, _PairArrays(va, tt, pt, "v"), tt, pt, cfg)
    mixed = evaluate_model(model, _PairArrays(va + shown, tt, pt, "v"), tt, pt, cfg)
    assert mixed["auc"] == plain["auc"] and mixed["loss"] == plain["loss"]
    assert mixed["n"] == plain["n"] == len(va)
    assert mixed["mrr"] <= plain["mrr"]  # extra non-positive list members can only push down
    # only shown-only pairs: nothing to fit
    with pytest.raises(ValueError, match="no labelled training pairs"):
        train(shown, va, talents, projects, TrainConfig(epochs=1, num_threads=1))


def test_listwise_loss_by_hand():
    from training.train import _listwise_loss

    class Arrays:
        t_rows = np.array([0, 1, 2, 3])
        p_rows = np.array([0, 0, 0, 0])
        labels = np.array([1.0, 0.1, 0.8, 0.0], dtype=np.float32)
        shown_only = np.array([False, False, False, True])
        positions = np.array([0, 1, 2, -1])  # rank buckets; -1 unknown

    class Tower(torch.nn.Module):
        def __init__(self, vectors):
            super().__init__()
            self.vectors = torch.tensor(vectors, dtype=torch.float32)

        def rows(self, ids):
            return ids

        def forward_rows(self, rows, offsets, weights):
            return self.vectors[rows]

    class Model:
        talent = Tower([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [0.8, 0.6]])
        project = Tower([[1.0, 0.0]])
        position_bias = None

    class Table:
        ids = np.arange(4)
        weights = np.ones(4, dtype=np.float32)
        identity = np.zeros(4, dtype=bool)

        def positions(self, rows):
            return np.asarray(rows), np.arange(len(rows))

    cfg = TrainConfig(temperature=0.5)
    got = float(
        _listwise_loss(
            Model(), Arrays(), [np.arange(4)], Table(), Table(), cfg, np.random.default_rng(0)
        )
    )
    s = np.array([1.0, 0.6, 0.0, 0.8]) / 0.5  # cosines / temperature
    negatives = s[[1, 3]]  # the 0.1 label and the shown-only member

    def ce(i):
        return np.log(np.exp(s[i]) + np.exp(negatives).sum()) - s[i]

    assert got == pytest.approx((ce(0) + ce(2)) / 2, rel=1e-5)

    # with a position term (training only) the bucket offsets join the scores
    Model.position_bias = torch.tensor([0.5, -0.25, 0.1])
    s = s + np.array([0.5, -0.25, 0.1, 0.0])
    negatives = s[[1, 3]]
    with_position = float(
        _listwise_loss(
            Model(), Arrays(), [np.arange(4)], Table(), Table(), cfg, np.random.default_rng(0)
        )
    )
    assert with_position == pytest.approx((ce(0) + ce(2)) / 2, rel=1e-5)
