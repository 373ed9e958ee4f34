"""ses_udf.candidates.choose: the shortlist holds the true top by total and by
base score, and its bounds let ses.rank_candidates prove it (no database)."""

from __future__ import annotations

import numpy as np
import pytest
from ses_udf.candidates import choose
from ses_udf.scoring import blend_total


def top_ids(ids: np.ndarray, keys: np.ndarray, k: int) -> list[int]:
    """The seed's order: key desc, then talent id asc."""
    order = np.lexsort((ids, -keys))
    return ids[order[:k]].tolist()


def kth(ids: np.ndarray, keys: np.ndarray, k: int) -> tuple[float, int]:
    """(key, talent id) of the k-th talent in the ranking order."""
    order = np.lexsort((ids, -keys))
    i = order[min(k, len(ids)) - 1]
    return float(keys[i]), int(ids[i])


def ahead(a: tuple[float, int], b: tuple[float, int]) -> bool:
    """Whether a comes before b in the ranking order, or is b itself."""
    return a[0] > b[0] or (a[0] == b[0] and a[1] <= b[1])


def world(
    rng: np.random.Generator, n: int, ties: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids = rng.permutation(np.arange(1, 5 * n))[:n].astype(np.int64)
    if ties:  # few distinct values: large tie groups at every cut
        business = rng.integers(0, 6, n) / 5.0
        tt = (rng.integers(0, 4, n) / 3.0).astype(np.float32)
    else:
        business = rng.random(n)
        tt = rng.random(n).astype(np.float32)
    return ids, business, tt


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("blended", [False, True])
def test_shortlist_holds_the_top_and_proves_it(ties: bool, blended: bool) -> None:
    rng = np.random.default_rng(11 + ties + 2 * blended)
    for _ in range(40):
        n = int(rng.integers(1, 400))
        depth = int(rng.integers(1, 30))
        weight = float(rng.choice([0.05, 0.2, 0.3, 1.0])) if blended else 0.0
        ids, business, tt = world(rng, n, ties)
        asked: list[int] = []

        def two_tower(positions: np.ndarray, tt=tt, asked=asked) -> np.ndarray:
            asked.append(len(positions))
            return tt[positions]

        pick = choose(ids, business, depth, weight, blended, two_tower)
        totals = blend_total(business, tt, weight) if blended else business
        chosen = set(ids[pick.chosen].tolist())
        assert set(top_ids(ids, totals, depth)) <= chosen
        assert set(top_ids(ids, business, depth)) <= chosen
        assert np.allclose(pick.two_tower, tt[pick.chosen])
        # ties are broken by talent id as the ranking does, so however large
        # the tie groups the shortlist holds at most the top `depth` of each order
        assert len(pick.chosen) <= 2 * depth
        left_out = np.setdiff1d(np.arange(n), pick.chosen)
        if len(left_out):
            assert pick.cutoff_total >= totals[left_out].max()
            assert pick.cutoff_base >= business[left_out].max()
            for keys, cutoff, talent in [
                (totals, pick.cutoff_total, pick.cutoff_total_talent),
                (business, pick.cutoff_base, pick.cutoff_base_talent),
            ]:
                # every left-out talent comes after the bound in the ranking order
                assert all(ahead((cutoff, talent), (keys[i], ids[i])) for i in left_out)
                # the check ses.rank_candidates makes passes at once when the SQL
                # adds no factor
                assert ahead(kth(ids[pick.chosen], keys[pick.chosen], depth), (cutoff, talent))
        else:
            assert pick.cutoff_total is None and pick.cutoff_base is None
        if blended and not ties and weight <= 0.3 and n > 10 * depth:
            assert sum(asked) < n  # the two-tower is not asked for everyone


@pytest.mark.parametrize("ties", [False, True])
def test_factors_below_one_are_caught_by_the_bound(ties: bool) -> None:
    """What ses.rank_candidates does when the SQL lowers base scores with a
    factor in [0, 1] (R-30): check the depth-th exact total against the
    bound, go four times deeper until it holds; the result is the true top."""
    rng = np.random.default_rng(5)
    for _ in range(30):
        n, depth, weight = int(rng.integers(50, 500)), int(rng.integers(1, 20)), 0.2
        ids, business, tt = world(rng, n, ties)
        factor = np.where(rng.random(n) < 0.5, rng.random(n), 1.0)
        exact = blend_total(business * factor, tt, weight)
        asked_depth = depth
        while True:
            pick = choose(ids, business, asked_depth, weight, True, lambda p, tt=tt: tt[p])
            if len(pick.chosen) >= n:
                break
            if len(pick.chosen) >= depth:
                kth_total, kth_talent = kth(ids[pick.chosen], exact[pick.chosen], depth)
                if (kth_total, -kth_talent) > (pick.cutoff_total, -pick.cutoff_total_talent):
                    break
            asked_depth *= 4
        chosen_ids = ids[pick.chosen]
        assert top_ids(chosen_ids, exact[pick.chosen], depth) == top_ids(ids, exact, depth)


def test_empty_and_depth_beyond_the_candidates() -> None:
    pick = choose(np.zeros(0, np.int64), np.zeros(0), 5, 0.2, True, lambda p: np.zeros(len(p)))
    assert len(pick.chosen) == 0 and pick.cutoff_total is None
    ids = np.array([3, 1, 2], dtype=np.int64)
    pick = choose(ids, np.array([0.5, 0.5, 0.1]), 10, 0.0, False, lambda p: np.zeros(len(p)))
    assert pick.chosen.tolist() == [0, 1, 2] and pick.cutoff_base is None
