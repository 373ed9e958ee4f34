"""Popularity baselines (training.baselines): the formula, no leakage, and the gate
refusing a model that loses to them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.baselines import PRIOR_STRENGTH, fit_popularity
from training.data import Pair
from training.dataset import Exposure, LabelledData, evaluate_baselines, split_data
from training.retrain import RetrainConfig, gate


def test_smoothed_rates_by_hand():
    pairs = [
        Pair(1, 10, 1.0),
        Pair(1, 11, 0.8),
        Pair(1, 12, 0.1),  # below 0.5: not positive
        Pair(2, 10, 0.0),
        Pair(1, 10, 0.0),  # the same pair again: its best label (1.0) counts once
    ]
    pop = fit_popularity(pairs, prior_strength=2.0)
    g = 2 / 4
    assert pop.global_rate == pytest.approx(g) and pop.pairs == 4
    assert pop.rates("talent", [1, 2, 99]).tolist() == pytest.approx(
        [(2 + 2 * g) / (3 + 2), (0 + 2 * g) / (1 + 2), g]
    )
    assert pop.rates("project", [10]).tolist() == pytest.approx([(1 + 2 * g) / (2 + 2)])
    comb = pop.scores([1], [10], "combined")[0]
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    expected = 1 / (1 + math.exp(-(logit(0.6) + logit(0.5) - logit(g))))
    assert comb == pytest.approx(expected)
    # point-in-time keys count for their entity
    versioned = fit_popularity([Pair((1, 5.0), (10, 1.0), 1.0)], prior_strength=0.0)
    assert versioned.rates("talent", [1]).tolist() == [1.0]
    with pytest.raises(ValueError, match="kind must be one of"):
        pop.scores([1], [10], "both")
    with pytest.raises(ValueError, match="prior_strength"):
        fit_popularity(pairs, prior_strength=-1.0)
    assert PRIOR_STRENGTH == 10.0


def test_baselines_never_see_labels_after_the_split():
    """Talent 1 is great after the cutoff only: the baseline must not know it."""
    exposures = []
    iid = 0
    for t in range(40):
        iid += 1
        exposures.append(Exposure(iid, 1 + t % 4, 100 + t, float(t), 0.0, "feedback"))
    for t in range(40, 60):
        iid += 1
        exposures.append(Exposure(iid, 1, 100 + t, float(t), 1.0, "feedback"))
        iid += 1
        exposures.append(Exposure(iid, 2, 100 + t, float(t), 0.0, "feedback"))
    bags = {i: ([f"skill:s{i}"], [1.0]) for i in range(1, 5)}
    projects = {p: (["skill:s1"], [1.0]) for p in range(100, 160)}
    data = LabelledData(exposures, bags, projects)
    split = split_data(data, "time", 0.5)
    assert split.info["cutoff"] == 40.0  # every training label is a 0
    m = evaluate_baselines(split.holdout, split.train, data.talents, data.projects)
    # before the cutoff talents 1 and 2 are equally bad: the talent baseline cannot
    # separate them on the held-out split (a leaking one would reach AUC 1.0)
    assert m["popularity_talent"]["auc"] == pytest.approx(0.5)
    assert set(m) == {"hash", "popularity_talent", "popularity_project", "popularity_combined"}


def test_gate_refuses_a_model_that_loses_to_popularity():
    learned = {"auc": 0.75, "labelled_pairs": 500}
    baselines = {"hash": {"auc": 0.62}, "popularity_combined": {"auc": 0.78}}
    ok, why = gate(learned, None, RetrainConfig(), baselines)
    assert not ok and "does not beat the popularity_combined baseline's 0.7800" in why
    ok, why = gate({**learned, "auc": 0.80}, None, RetrainConfig(), baselines)
    assert ok and "beats every baseline (best 0.7800)" in why
    # an undefined baseline AUC (one class) is no obstacle
    ok, _ = gate(learned, None, RetrainConfig(), {"popularity_talent": {"auc": np.nan}})
    assert ok
