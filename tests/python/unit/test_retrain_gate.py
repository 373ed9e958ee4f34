"""The R-42 gate (training.retrain.gate) on its own: thresholds, held-out size,
the active model."""

from __future__ import annotations

import math

import pytest

from training.retrain import RetrainConfig, gate


def metrics(auc: float, n: int = 500) -> dict:
    return {"auc": auc, "labelled_pairs": n}


def test_gate_needs_auc_above_the_threshold() -> None:
    cfg = RetrainConfig()
    assert gate(metrics(0.71), None, cfg)[0]
    ok, why = gate(metrics(0.70), None, cfg)
    assert not ok and "not above the gate 0.7" in why
    ok, why = gate(metrics(math.nan), None, cfg)
    assert not ok and "undefined" in why


def test_gate_refuses_an_auc_resting_on_few_labels() -> None:
    ok, why = gate(metrics(0.9, n=120), None, RetrainConfig())
    assert not ok and "only 120 labelled held-out pairs" in why
    assert gate(metrics(0.9, n=120), None, RetrainConfig(min_holdout_labels=100))[0]


def test_gate_keeps_a_better_active_model() -> None:
    cfg = RetrainConfig()
    ok, why = gate(metrics(0.74), metrics(0.76), cfg)
    assert not ok and "worse than the active model's 0.7600" in why
    assert gate(metrics(0.74), metrics(0.76), RetrainConfig(max_auc_drop=0.05))[0]
    ok, why = gate(metrics(0.76), metrics(0.74), cfg)
    assert ok and ">= active 0.7400" in why


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("min_holdout_labels", 0, "min_holdout_labels must be >= 1"),
        ("label_maturity_days", 90.0, "label_maturity_days must lie in"),
        ("min_auc", 1.0, "min_auc must lie in"),
    ],
)
def test_bad_settings_are_named(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetrainConfig(**{field: value}).validate()
