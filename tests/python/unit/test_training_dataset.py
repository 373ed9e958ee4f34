"""training.dataset (leak-free split, point-in-time keys, R-45 weak negatives, held-out
metrics with warm / cold pairs)."""

from __future__ import annotations

import numpy as np
import pytest

from training.dataset import (
    Exposure,
    HoldoutSet,
    LabelledData,
    holdout_metrics,
    split_data,
    training_pairs,
    warm_mask,
)


def make_data(n_projects: int = 40, per_project: int = 10, seed: int = 0) -> LabelledData:
    rng = np.random.default_rng(seed)
    exposures = []
    iid = 0
    for p in range(n_projects):
        for k in range(per_project):
            iid += 1
            t = int(rng.integers(0, 60))
            labelled = rng.random() < 0.6
            label = float(rng.choice([0.0, 0.1, 0.8, 1.0])) if labelled else None
            exposures.append(
                Exposure(iid, t, p, float(p * 1000 + k), label, "feedback" if labelled else None)
            )
    bags = {i: ([f"skill:s{i % 7}"], [1.0]) for i in range(60)}
    return LabelledData(
        exposures, bags, {p: ([f"skill:s{p % 7}"], [2.0]) for p in range(n_projects)}
    )


def test_time_split_never_leaks():
    data = make_data()
    split = split_data(data, "time")
    cutoff = split.info["cutoff"]
    train_keys = {(p.talent_key, p.project_key) for p in split.train}
    assert all(p.timestamp < cutoff for p in split.train)
    assert all(p.timestamp >= cutoff for p in split.holdout_pairs)
    held = set(
        zip(split.holdout.talent_ids.tolist(), split.holdout.project_ids.tolist(), strict=True)
    )
    assert not held & train_keys
    # every exposure shown at/after the cutoff whose pair was not trained on is a candidate
    expected = {
        (e.talent_id, e.project_id)
        for e in data.exposures
        if e.created_at >= cutoff and (e.talent_id, e.project_id) not in train_keys
    }
    assert held == expected
    assert split.holdout.labelled.sum() == len(split.holdout_pairs) > 0
    assert (~split.holdout.labelled).sum() > 0
    assert (split.holdout.labels[~split.holdout.labelled] == 0).all()


def test_project_split_keeps_projects_on_one_side():
    split = split_data(make_data(), "project")
    train_projects = {p.project_key for p in split.train}
    assert not train_projects & set(split.holdout.project_ids.tolist())
    with pytest.raises(ValueError, match="'random'"):
        split_data(make_data(), "random")


def test_point_in_time_keys_follow_the_exposure():
    """A pair trains on the profile versions it was shown with; held-out candidates are
    scored on theirs; the ranking still groups by project id."""
    exposures = [
        Exposure(1, 7, 1, 10.0, 0.1, "behavior", rank=3, talent_version=1.0, project_version=5.0),
        Exposure(2, 7, 1, 20.0, 1.0, "feedback", rank=1, talent_version=2.0, project_version=5.0),
        Exposure(3, 8, 1, 30.0, None, talent_version=4.0, project_version=6.0),
    ]
    data = LabelledData(exposures, {}, {})
    labelled, _ = training_pairs(data)
    assert [(p.talent_key, p.project_key, p.label, p.rank) for p in labelled] == [
        ((7, 2.0), (1, 5.0), 1.0, 1)
    ]
    split = split_data(make_versioned(), "time")
    assert all(isinstance(k, tuple) for k in split.holdout.talent_keys)
    assert [k[0] for k in split.holdout.talent_keys] == split.holdout.talent_ids.tolist()


def make_versioned() -> LabelledData:
    base = make_data()
    exposures = [
        Exposure(
            e.interaction_id,
            e.talent_id,
            e.project_id,
            e.created_at,
            e.label,
            e.signal_source,
            talent_version=float(e.created_at // 10_000),
            project_version=0.0,
        )
        for e in base.exposures
    ]
    return LabelledData(exposures, {}, {})


def test_warm_mask_needs_both_sides_in_training():
    holdout = HoldoutSet(
        talent_ids=np.array([1, 1, 2, 3]),
        project_ids=np.array([10, 11, 10, 12]),
        labels=np.zeros(4),
        labelled=np.ones(4, dtype=bool),
    )
    from training.data import Pair

    train = [Pair((1, 0.0), (10, 0.0), 1.0), Pair(2, 11, 0.0)]
    assert warm_mask(holdout, train).tolist() == [True, True, True, False]
    scores = np.array([0.9, 0.1, 0.5, 0.3])
    holdout.labels[:] = [1.0, 0.0, 0.0, 1.0]
    m = holdout_metrics(holdout, scores, warm=warm_mask(holdout, train))
    assert m["warm"]["labelled_pairs"] == 3 and m["cold"]["labelled_pairs"] == 1
    assert m["warm"]["auc"] == pytest.approx(1.0)
    assert np.isnan(m["cold"]["auc"])  # one class only


def test_pairs_take_the_best_label_and_latest_time():
    data = LabelledData(
        [
            Exposure(1, 7, 1, 10.0, 0.1, "behavior"),
            Exposure(2, 7, 1, 20.0, 1.0, "feedback"),
            Exposure(3, 7, 1, 30.0, None),
            Exposure(4, 8, 1, 15.0, None),
        ],
        {},
        {},
    )
    labelled, weak = training_pairs(data)
    assert [(p.talent_key, p.project_key, p.label, p.timestamp) for p in labelled] == [
        (7, 1, 1.0, 20.0)
    ]
    assert weak == {}


def test_weak_negatives_switch_r45():
    exposures = []
    for i in range(60):
        # behaviour label 0.3 but the outcome was no_response: a weak negative
        no_resp = i % 5 == 0
        exposures.append(
            Exposure(
                i,
                i,
                i % 12,
                float(i),
                0.3 if no_resp else float(i % 2),
                "behavior" if no_resp else "feedback",
                no_resp,
            )
        )
    # no_response overruled by a conversion stage stays a conversion label
    exposures.append(Exposure(100, 100, 1, 5.0, 0.4, "conversion", True))
    data = LabelledData(exposures, {}, {})
    off = split_data(data, weak_negatives=False)
    on = split_data(data, weak_negatives=True)
    weak_keys = {
        (e.talent_id, e.project_id)
        for e in exposures
        if e.no_response and e.signal_source == "behavior"
    }
    on_train = {(p.talent_key, p.project_key): p for p in on.train}
    off_train = {(p.talent_key, p.project_key): p for p in off.train}
    assert on_train.keys() == off_train.keys()
    changed = [k for k in on_train if k in weak_keys]
    assert changed and on.info["weak_negative_pairs"] == len(changed)
    for k in changed:
        assert (on_train[k].label, on_train[k].sample_weight) == (0.0, 0.3)
        assert (off_train[k].label, off_train[k].sample_weight) == (0.3, 1.0)
    assert on_train[(100, 1)].label == 0.4 and on_train[(100, 1)].sample_weight == 1.0
    # evaluation keeps the R-11 labels whatever the switch
    assert np.array_equal(on.holdout.labels, off.holdout.labels)


def test_holdout_metrics_by_hand():
    holdout = HoldoutSet(
        talent_ids=np.array([10, 11, 12, 13, 20, 21]),
        project_ids=np.array([1, 1, 1, 1, 2, 2]),
        labels=np.array([1.0, 0.0, 0.1, 0.8, 0.0, 1.0]),
        labelled=np.array([True, False, True, True, True, True]),
    )
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.5])
    m = holdout_metrics(holdout, scores, k=2)
    # the same example as the dbt unit test of model_evaluation
    assert m["auc"] == pytest.approx(3.5 / 6)
    assert m["recall_at_2"] == pytest.approx(0.75)
    assert m["mrr"] == pytest.approx(0.75)
    assert m["labelled_pairs"] == 5 and m["candidates"] == 6
    with pytest.raises(ValueError, match="5 scores for 6"):
        holdout_metrics(holdout, scores[:5])


def test_first_labels_is_a_prefix_in_time():
    data = make_data()
    sub = data.first_labels(50)
    assert sub.label_count == 50
    last = max(e.created_at for e in sub.exposures if e.label is not None)
    assert all(e.created_at <= last for e in sub.exposures)
    with pytest.raises(ValueError, match="asked for 100000 labels"):
        data.first_labels(100_000)
