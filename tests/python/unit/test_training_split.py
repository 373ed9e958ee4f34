"""training.split: no leakage between train and validation."""

from __future__ import annotations

import datetime as dt

import pytest

from training.data import Pair
from training.split import project_bucket, split_by_project, split_by_time, split_pairs
from training.synthetic import make_synthetic


@pytest.fixture(scope="module")
def pairs():
    return make_synthetic(200, 120, 10, seed=5)[0]


def test_time_split_validation_strictly_later(pairs):
    s = split_by_time(pairs, 0.2)
    assert max(p.timestamp for p in s.train) < min(p.timestamp for p in s.valid)
    assert len(s.train) + len(s.valid) + s.info["valid_dropped_overlap"] == len(pairs)
    assert 0.15 < len(s.valid) / len(pairs) < 0.25


def test_time_split_ties_stay_together_and_span_basis():
    base = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    ps = [
        Pair(f"t{i}", f"p{i}", 1.0, 1.0, base + dt.timedelta(days=d))
        for i, d in enumerate([0, 1, 2, 3, 3, 3, 3, 10])
    ]
    s = split_by_time(ps, 0.2)
    assert {p.timestamp for p in s.train}.isdisjoint({p.timestamp for p in s.valid})
    assert len(s.valid) == 5  # the four pairs at day 3 all go to validation with day 10
    s = split_by_time(ps, 0.2, basis="span")  # cutoff at day 8
    assert [p.talent_key for p in s.valid] == ["t7"]


def test_time_split_drops_pairs_seen_in_training():
    ps = [
        ("t1", "p1", 1.0, 1.0, 1.0),
        ("t2", "p1", 0.0, 1.0, 2.0),
        ("t3", "p3", 0.0, 1.0, 3.0),
        ("t1", "p1", 0.0, 1.0, 9.0),
        ("t4", "p1", 1.0, 1.0, 9.5),
    ]
    s = split_by_time(ps, 0.4)
    assert [p[0] for p in s.valid] == ["t4"]
    assert s.info["valid_dropped_overlap"] == 1
    s = split_by_time(ps, 0.4, drop_overlapping=False)
    assert len(s.valid) == 2


def test_time_split_errors():
    with pytest.raises(ValueError, match="timestamp"):
        split_by_time([("t", "p", 1.0)], 0.2)
    with pytest.raises(ValueError, match="empty"):
        split_by_time([("t", "p", 1.0, 1.0, 5.0)] * 3, 0.2)
    with pytest.raises(ValueError):
        split_by_time([("t", "p", 1.0, 1.0, 5.0)], 1.5)


def test_project_split_disjoint_and_stable(pairs):
    s = split_by_project(pairs, 0.2)
    train_projects = {p.project_key for p in s.train}
    valid_projects = {p.project_key for p in s.valid}
    assert train_projects.isdisjoint(valid_projects)
    assert len(s.train) + len(s.valid) == len(pairs)
    assert 0.1 < len(valid_projects) / 120 < 0.3
    again = split_by_project(list(reversed(pairs)), 0.2)
    assert {p.project_key for p in again.valid} == valid_projects
    assert all(project_bucket(k) < 0.2 for k in valid_projects)
    assert split_pairs(pairs, "project").info == s.info
    with pytest.raises(ValueError):
        split_pairs(pairs, "random")
