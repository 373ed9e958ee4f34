"""R-30's historical factor (ses.talent_historical_scores, macros/historical_score.sql)
is the popularity baseline the retrain compares against (training.baselines): the same
smoothed talent rate from the same labels, with the same prior strength, bounded into
[1 - historical_weight, 1]."""

from __future__ import annotations

import math

import pytest

from ses_ops.dbt_runner import run_dbt
from tests.python.db.labelled_world import load_labelled_world
from training.baselines import PRIOR_STRENGTH, fit_popularity

pytestmark = pytest.mark.db

HISTORICAL_WEIGHT = 0.2  # dbt var historical_weight's default


def test_mart_equals_the_popularity_baseline(conn):
    load_labelled_world(conn)
    run_dbt(["run", "--select", "+talent_historical_scores"])
    labels = conn.execute("select talent_id, project_id, label from ses.training_labels").fetchall()
    assert len(labels) > 200
    baseline = fit_popularity(labels, prior_strength=PRIOR_STRENGTH)
    rows = conn.execute(
        "select talent_id, labelled_pairs, positive_pairs, global_rate, smoothed_rate, "
        "historical_score, prior_score from ses.talent_historical_scores order by 1"
    ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(baseline.talents)
    assert math.isclose(rows[0][3], baseline.global_rate, rel_tol=1e-12)
    rates = baseline.rates("talent", [r[0] for r in rows])
    spread = set()
    for (talent, labelled, positives, _, smoothed, score, prior), rate in zip(
        rows, rates, strict=True
    ):
        assert (positives, labelled) == baseline.talents[talent]
        assert math.isclose(smoothed, rate, rel_tol=1e-12), talent
        assert math.isclose(score, 1 - HISTORICAL_WEIGHT + HISTORICAL_WEIGHT * rate, rel_tol=1e-12)
        assert 1 - HISTORICAL_WEIGHT <= score <= 1
        assert math.isclose(prior, 1 - HISTORICAL_WEIGHT + HISTORICAL_WEIGHT * baseline.global_rate)
        spread.add(round(score, 6))
    assert len(spread) > 3  # the world's talents differ, so the factor does
