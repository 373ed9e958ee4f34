"""Self-tuning (training.tuning): a deterministic choice on a time-ordered validation
slice inside the training window, under a work budget."""

from __future__ import annotations

import dataclasses

import pytest

from training.data import Pair
from training.synthetic import make_synthetic
from training.train import TrainConfig
from training.tuning import DEFAULT_GRID, TuningConfig, tune


@pytest.fixture(scope="module")
def window():
    pairs, talents, projects = make_synthetic(300, 80, 15, seed=4)
    return [Pair(*p[:4], timestamp=p.timestamp) for p in pairs], talents, projects


BASE = TrainConfig(epochs=4, num_threads=1, mirror_init=True, lr=1e-3, sparse_lr=1e-3)
GRID = (
    ("content", {"identity_tokens": False}),
    ("hybrid", {"identity_tokens": True, "identity_dropout": 0.3}),
)


def test_chooses_the_best_validation_auc_plus_mrr_deterministically(window):
    pairs, talents, projects = window
    cfg = TuningConfig(grid=GRID, patience=2)
    a = tune(pairs, talents, projects, BASE, cfg, log=lambda s: None)
    b = tune(pairs, talents, projects, BASE, cfg, log=lambda s: None)
    assert [t.row()["valid_auc"] for t in a.trials] == [t.row()["valid_auc"] for t in b.trials]
    best = max(a.trials, key=lambda t: t.score)
    assert a.chosen == best.name == b.chosen
    assert a.config.epochs == best.best_epoch >= 0
    assert a.config.identity_tokens == dict(GRID)[a.chosen]["identity_tokens"]
    # the validation slice is the latest part of the window, never before the fit part
    fit_latest = max(p.timestamp for p in pairs if p.timestamp < a.info["validation_cutoff"])
    assert fit_latest < a.info["validation_cutoff"]
    assert a.info["validation_pairs"] > 0 and a.info["fit_pairs"] > a.info["validation_pairs"]
    assert "*" in a.table()


def test_work_budget_skips_the_rest(window):
    pairs, talents, projects = window
    fit = int(len(pairs) * 0.85)
    cfg = TuningConfig(grid=GRID, patience=2, budget_pair_epochs=fit * 3)
    result = tune(pairs, talents, projects, BASE, cfg, log=lambda s: None)
    statuses = [t.status for t in result.trials]
    assert statuses[0] == "trained" and result.trials[0].epochs_run <= 3
    assert statuses[1] == "skipped" and "budget" in result.trials[1].reason
    assert result.chosen == "content"


def test_bad_grids_are_named():
    with pytest.raises(ValueError, match="unknown settings"):
        TuningConfig(grid=(("x", {"learning_rate": 1.0}),)).validate()
    with pytest.raises(ValueError, match="unique"):
        TuningConfig(grid=(("x", {}), ("x", {}))).validate()
    with pytest.raises(ValueError, match="validation_fraction"):
        TuningConfig(validation_fraction=0.7).validate()
    TuningConfig().validate()
    names = [n for n, _ in DEFAULT_GRID]
    assert len(names) == len(set(names)) >= 4
    for _, overrides in DEFAULT_GRID:
        dataclasses.replace(BASE, **overrides).validate()
