"""training.dataset (leak-free split, R-45 weak negatives, held-out metrics) and the
offline simulation's tokenizer / labels (training.simulated)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from simulator.staff import SimEvent
from training.dataset import (
    Exposure,
    HoldoutSet,
    LabelledData,
    holdout_metrics,
    split_data,
    training_pairs,
)
from training.simulated import LabelRules, simulate, tokenize_project, tokenize_talent

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "hash_v2_golden.json").read_text())


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
    train_keys = {(p.talent_key, p.project_key) for p in (*split.train, *split.early_stop)}
    assert all(p.timestamp < cutoff for p in (*split.train, *split.early_stop))
    assert max(p.timestamp for p in split.train) <= min(p.timestamp for p in split.early_stop)
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
    assert split.holdout.labelled.sum() > 0 and (~split.holdout.labelled).sum() > 0
    assert (split.holdout.labels[~split.holdout.labelled] == 0).all()


def test_project_split_keeps_projects_on_one_side():
    split = split_data(make_data(), "project")
    train_projects = {p.project_key for p in (*split.train, *split.early_stop)}
    assert not train_projects & set(split.holdout.project_ids.tolist())
    es_projects = {p.project_key for p in split.early_stop}
    assert not es_projects & {p.project_key for p in split.train}
    with pytest.raises(ValueError, match="'random'"):
        split_data(make_data(), "random")


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


@pytest.mark.parametrize(
    "entity",
    [e for e in GOLDEN["entities"] if e["kind"] in ("talent", "project")],
    ids=lambda e: e["key"],
)
def test_python_tokenizer_matches_the_seed(entity):
    fn = tokenize_talent if entity["kind"] == "talent" else tokenize_project
    tokens, weights = fn(entity["fields"])
    assert list(zip(tokens, weights, strict=True)) == [
        (t["token"], t["weight"]) for t in entity["tokens"]
    ]


def test_r11_labels_from_the_seeds():
    rules = LabelRules()

    def ev(kind, type_, t, **kw):
        return SimEvent(float(t), kind, type_, "a", **kw)

    view = ev("behavior", "viewed_candidate_detail", 1)
    assert rules.label([view]) == (0.1, "behavior", False)
    thumbs = [view, ev("feedback", "thumbs_up", 2, feedback_no=0)]
    assert rules.label(thumbs) == (1.0, "feedback", False)
    revoked = [*thumbs, ev("revoke", "thumbs_up", 3, feedback_no=0)]
    assert rules.label(revoked) == (0.1, "behavior", False)
    funnel = [
        view,
        ev("behavior", "clicked_contact", 2),
        ev("conversion", "interview_scheduled", 3),
        ev("conversion", "lost", 4),  # the best stage wins, not the last
        ev("feedback", "rejected", 5, feedback_no=0),
    ]
    assert rules.label(funnel) == (0.8, "conversion", False)
    unlinked = [view, ev("conversion", "contract_signed", 3, linked=False)]
    assert rules.label(unlinked) == (0.1, "behavior", False)
    silent = [
        view,
        ev("behavior", "clicked_contact", 2),
        ev("feedback", "no_response", 3, feedback_no=0),
    ]
    assert rules.label(silent) == (0.3, "behavior", True)
    assert rules.label([]) == (None, None, False)


def test_simulation_is_deterministic_and_labelled():
    chem: dict[int, float] = {}
    a = simulate(300, seed=5, n_talents=600, n_initial_projects=10, chemistry_out=chem)
    b = simulate(300, seed=5, n_talents=600, n_initial_projects=10)
    assert a.exposures == b.exposures and a.label_count >= 300
    assert set(chem) == {e.interaction_id for e in a.exposures}
    labels = [e.label for e in a.exposures if e.label is not None]
    assert 0 < np.mean(np.array(labels) >= 0.5) < 1
    times = [e.created_at for e in a.exposures]
    assert times == sorted(times) or len(set(times)) > 1
    assert all(e.talent_id in a.talents and e.project_id in a.projects for e in a.exposures)
    assert not math.isnan(np.mean(list(chem.values())))
