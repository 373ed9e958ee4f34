"""training.metrics against hand-computed examples and a brute-force AUC."""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest

from training.metrics import auc, average_ranks, evaluate, ranking_metrics, weighted_bce


def brute_auc(labels, scores, threshold=0.5):
    pos = [s for y, s in zip(labels, scores, strict=True) if y >= threshold]
    neg = [s for y, s in zip(labels, scores, strict=True) if y < threshold]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auc_hand_examples():
    assert auc([1, 0], [0.9, 0.1]) == 1.0
    assert auc([1, 0], [0.1, 0.9]) == 0.0
    assert auc([1, 0], [0.5, 0.5]) == 0.5  # a tie counts one half
    # pos {0.8, 0.4}, neg {0.6, 0.4, 0.2}: 0.8 beats 3; 0.4 beats 0.2, ties 0.4 -> 1.5
    assert auc([1, 1, 0, 0, 0], [0.8, 0.4, 0.6, 0.4, 0.2]) == pytest.approx(4.5 / 6)


def test_auc_graded_labels_threshold():
    # 0.7 and 0.5 are positives, 0.3 and 0.0 negatives
    labels = [0.7, 0.3, 0.5, 0.0]
    assert auc(labels, [0.9, 0.8, 0.7, 0.1]) == pytest.approx(
        brute_auc(labels, [0.9, 0.8, 0.7, 0.1])
    )
    assert auc(labels, [0.9, 0.8, 0.7, 0.1]) == pytest.approx(3 / 4)


def test_auc_matches_brute_force_with_ties():
    rng = np.random.default_rng(3)
    for _ in range(20):
        n = int(rng.integers(2, 60))
        labels = rng.choice([0.0, 0.3, 0.7, 1.0], n)
        scores = rng.integers(0, 5, n) / 4.0  # many ties
        if len(set(labels >= 0.5)) < 2:
            continue
        assert auc(labels, scores) == pytest.approx(brute_auc(labels, scores), abs=1e-12)


def test_auc_single_class_is_nan_and_shape_errors():
    assert math.isnan(auc([1, 1], [0.1, 0.2]))
    assert math.isnan(auc([], []))
    with pytest.raises(ValueError):
        auc([1, 0], [0.1])
    with pytest.raises(ValueError):
        auc([1, 0], [0.1, float("nan")])


def test_average_ranks():
    assert average_ranks(np.array([0.3, 0.1, 0.3, 0.2])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_ranking_metrics_hand_example():
    # Project A: 12 candidates, positives ranked 1st and 11th -> recall@10 1/2, RR 1
    # Project B: positives ranked 3rd -> recall 1, RR 1/3
    # Project C: no positive -> skipped
    a_scores = list(np.linspace(1.0, 0.0, 12))
    a_labels = [1.0] + [0.0] * 9 + [0.8] + [0.0]
    b_scores = [0.9, 0.8, 0.7, 0.1]
    b_labels = [0.0, 0.3, 1.0, 0.0]
    c_scores, c_labels = [0.5, 0.4], [0.0, 0.0]
    keys = ["A"] * 12 + ["B"] * 4 + ["C"] * 2
    r = ranking_metrics(keys, a_labels + b_labels + c_labels, a_scores + b_scores + c_scores)
    assert r["recall_at_k"] == pytest.approx((0.5 + 1.0) / 2)
    assert r["mrr"] == pytest.approx((1.0 + 1 / 3) / 2)
    assert r["projects_evaluated"] == 2
    assert r["projects_without_positive"] == 1


def test_ranking_metrics_order_independent_and_pessimistic_ties():
    keys = [1, 2, 1, 2, 1]
    labels = [0, 1, 1, 0, 0]
    scores = [0.5, 0.2, 0.9, 0.8, 0.1]
    r1 = ranking_metrics(keys, labels, scores, k=1)
    perm = [4, 2, 0, 3, 1]
    r2 = ranking_metrics(
        [keys[i] for i in perm], [labels[i] for i in perm], [scores[i] for i in perm], k=1
    )
    assert r1 == r2
    assert r1["recall_at_k"] == pytest.approx(0.5)  # project 1 hit, project 2 (rank 2) miss
    assert r1["mrr"] == pytest.approx((1 + 0.5) / 2)
    # a constant scorer earns nothing from ties: the positive ranks last
    r = ranking_metrics(["p"] * 4, [0, 1, 0, 0], [0.5] * 4, k=2)
    assert r["recall_at_k"] == 0.0
    assert r["mrr"] == pytest.approx(1 / 4)


def test_ranking_metrics_many_positives_and_no_positive():
    r = ranking_metrics(["p"] * 12, [1.0] * 12, list(range(12)), k=10)
    assert r["recall_at_k"] == pytest.approx(10 / 12)
    assert r["mrr"] == 1.0
    r = ranking_metrics(["p", "p"], [0, 0], [1, 2])
    assert math.isnan(r["recall_at_k"]) and math.isnan(r["mrr"])


def test_evaluate_and_bce():
    m = evaluate(["a", "a", "b", "b"], [1, 0, 0, 1], [0.9, 0.1, 0.2, 0.8])
    assert m["auc"] == 1.0 and m["recall_at_10"] == 1.0 and m["mrr"] == 1.0
    assert weighted_bce([1.0], [0.0]) == pytest.approx(math.log(2))
    assert weighted_bce([1.0, 0.0], [0.0, 100.0], [1.0, 0.0]) == pytest.approx(math.log(2))
