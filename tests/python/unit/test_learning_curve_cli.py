"""Command-line settings of the learning curves: bad values are refused by name before
any simulation or training starts."""

from __future__ import annotations

import pytest

from simulator import learning_curve as simulated
from training import learning_curve as lc
from training.retrain import default_train_config


def test_overrides_parse_each_field_type():
    config = lc.with_overrides(
        default_train_config(), ["position_bias=false", "lr=0.01", "epochs=7", "contrastive=none"]
    )
    assert (config.position_bias, config.lr, config.epochs, config.contrastive) == (
        False, 0.01, 7, None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "named"),
    [("position_bias=maybe", "'maybe'"), ("lr=fast", "'fast'"), ("no_such=1", "no_such")],
)
def test_bad_overrides_name_the_value(spec, named):
    with pytest.raises(SystemExit, match=named):
        lc.with_overrides(default_train_config(), [spec])


def test_a_bad_ablation_fails_before_the_simulation(monkeypatch):
    def must_not_run(*_args, **_kw):
        raise AssertionError("simulated although the ablation is invalid")

    monkeypatch.setattr(simulated, "simulate", must_not_run)
    with pytest.raises(SystemExit, match="identity_dropout=lots"):
        simulated.main(["--ablation", "identity_dropout=lots"])
