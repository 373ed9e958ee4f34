"""Team-draft interleaving (ses_udf.interleaving), outside the database."""

from __future__ import annotations

import random

import pytest
from ses_udf.interleaving import CONTROL, TREATMENT, control_picks_first, team_draft


def random_rankings(rng: random.Random) -> tuple[list[int], list[int], int]:
    """Two top-k rankings of one candidate pool (as ses.run_match computes them)."""
    pool = rng.sample(range(1, 10_000), rng.randint(0, 40))
    k = rng.randint(1, 25)
    control = sorted(pool, key=lambda _: rng.random())[:k]
    treatment = sorted(pool, key=lambda _: rng.random())[:k]
    return control, treatment, k


def test_team_draft_properties_on_random_rankings() -> None:
    rng = random.Random(13)
    for case in range(2000):
        control, treatment, k = random_rankings(rng)
        run_id = f"run-{case}"
        picks = team_draft(control, treatment, run_id, k)
        shown = [p.talent_id for p in picks]
        # no duplicates; only talents of the inputs (HardKO pairs are in neither)
        assert len(shown) == len(set(shown))
        assert set(shown) <= set(control) | set(treatment)
        # as many as either ranking offers, capped at k
        assert len(picks) == min(k, len(set(control) | set(treatment)))
        assert [p.rank for p in picks] == list(range(1, len(picks) + 1))
        # every prefix is balanced within one
        n_control = n_treatment = 0
        for p in picks:
            n_control += p.team == CONTROL
            n_treatment += p.team == TREATMENT
            assert abs(n_control - n_treatment) <= 1, (control, treatment, picks)
        # a team picks its best talent not shown yet
        seen: set[int] = set()
        for p in picks:
            ranking = control if p.team == CONTROL else treatment
            assert p.talent_id == next(t for t in ranking if t not in seen)
            seen.add(p.talent_id)
        # deterministic for a run id
        assert team_draft(control, treatment, run_id, k) == picks


def test_coins_depend_on_the_run_id_and_are_fair() -> None:
    firsts = [control_picks_first(f"01J{i:06d}", 0) for i in range(4000)]
    assert 0.46 < sum(firsts) / len(firsts) < 0.54
    control, treatment = [1, 2, 3, 4], [4, 3, 2, 1]
    merges = {tuple(p.team for p in team_draft(control, treatment, f"r{i}", 4)) for i in range(64)}
    assert len(merges) > 1


def test_identical_rankings_show_the_same_list() -> None:
    ranking = [5, 3, 9, 1]
    picks = team_draft(ranking, ranking, "same", 4)
    assert [p.talent_id for p in picks] == ranking


def test_hand_worked_merge() -> None:
    # Radlinski et al.'s example shape: the coin of round 0 decides who starts.
    control, treatment = [1, 2, 3, 4], [2, 5, 1, 6]
    run_id = next(r for r in (f"x{i}" for i in range(100)) if control_picks_first(r, 0))
    picks = team_draft(control, treatment, run_id, 4)
    assert [(p.talent_id, p.team) for p in picks[:2]] == [(1, CONTROL), (2, TREATMENT)]
    # round 1: whoever starts, control then takes 3 and treatment 5
    assert {(p.talent_id, p.team) for p in picks[2:]} == {(3, CONTROL), (5, TREATMENT)}


@pytest.mark.parametrize(
    ("control", "treatment", "run_id", "k", "message"),
    [
        ([1, 1], [1], "r", 2, "control ranking repeats a talent id"),
        ([1], [2, None], "r", 2, "treatment ranking holds a NULL"),
        ([1], [2], "", 2, "needs a match_run_id"),
        ([1], [2], "r", -1, "k must be >= 0, got -1"),
    ],
)
def test_bad_input_is_named(control, treatment, run_id, k, message) -> None:
    with pytest.raises(ValueError, match=message):
        team_draft(control, treatment, run_id, k)
