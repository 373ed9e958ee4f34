"""training.replay: the paired offline replay on a synthetic log with a known truth."""

from __future__ import annotations

import numpy as np
import pytest

from training.dataset import Exposure, LabelledData
from training.replay import ndcg, paired_replay, reciprocal_rank, replay_allows_deploy


def synthetic_log(seed: int = 3) -> tuple[LabelledData, dict[int, float]]:
    """40 projects x 3 runs x 10 talents shown in random order; a talent's label
    follows its hidden quality q (1.0 with probability q, else 0, some unlabelled)."""
    rng = np.random.default_rng(seed)
    quality = {t: float(rng.random()) for t in range(1, 301)}
    exposures, iid = [], 0
    for project in range(1, 41):
        for run in range(3):
            shown = rng.choice(list(quality), size=10, replace=False)
            for rank, talent in enumerate(shown, start=1):
                iid += 1
                label = None if rng.random() < 0.3 else float(rng.random() < quality[int(talent)])
                exposures.append(
                    Exposure(iid, int(talent), project, 1000.0 * project + run, label, rank=rank)
                )
    bags = {t: ([f"t{t}"], [1.0]) for t in quality}
    return LabelledData(exposures, bags, {p: ([], []) for p in range(1, 41)}), quality


def embed_by(score: dict[int, float]):
    """Talent vectors whose cosine with every project is score[t]."""

    def embed(tower, keys, bags):
        if tower == "project":
            return np.tile([1.0, 0.0], (len(keys), 1))
        s = np.array([score[k] for k in keys])
        return np.stack([s, np.sqrt(1 - s**2)], axis=1)

    return embed


def test_replay_finds_the_oracle_better_and_its_reverse_worse() -> None:
    data, quality = synthetic_log()
    good = paired_replay(data, embed_by(quality), k=5)
    bad = paired_replay(data, embed_by({t: -q for t, q in quality.items()}), k=5)
    assert good["verdict"] == "better" and replay_allows_deploy(good)
    assert bad["verdict"] == "worse" and not replay_allows_deploy(bad)
    assert good["ndcg"]["candidate"] > good["ndcg"]["logged"] > bad["ndcg"]["candidate"]
    assert good["ndcg"]["projects"] == 40
    assert good["wins"] > good["losses"]


def test_same_order_as_logged_is_no_difference() -> None:
    data, _ = synthetic_log()
    # a constant score keeps the logged order (ties fall back to the shown rank)
    same = paired_replay(data, embed_by(dict.fromkeys(range(1, 301), 0.5)))
    assert same["verdict"] == "no_difference"
    assert same["ndcg"]["diff"] == pytest.approx(0.0) and same["wins"] == same["losses"] == 0


def test_metrics_by_hand() -> None:
    assert ndcg([0.0, 1.0], 2) == pytest.approx((1 / np.log2(3)) / 1.0)
    assert ndcg([0.0, 0.0], 2) is None
    assert reciprocal_rank([0.3, 0.0, 0.8]) == pytest.approx(1 / 3)
    assert reciprocal_rank([0.3]) is None


def test_against_a_baseline_ranker() -> None:
    data, quality = synthetic_log()
    oracle, reverse = embed_by(quality), embed_by({t: -q for t, q in quality.items()})
    assert paired_replay(data, oracle, k=5, baseline=reverse)["verdict"] == "better"
    assert paired_replay(data, reverse, k=5, baseline=oracle)["verdict"] == "worse"
    assert paired_replay(data, oracle, k=5, baseline=oracle)["verdict"] == "no_difference"
