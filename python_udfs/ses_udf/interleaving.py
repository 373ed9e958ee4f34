"""Team-draft interleaving (Radlinski, Kurup & Joachims 2008): the one home of the
merge that ses.run_match shows in the ``interleaving`` variant (R-35), and that the
offline tools replay.

Two rankings of the same passed candidates (control: the business score, w = 0;
treatment: blended with the active two-tower) are merged like two captains picking
teams: in each round the team with fewer picks so far picks next (a coin decides when
both have picked equally often), and a team picks its highest-ranked talent not
already shown. Every shown talent is credited to the team that picked it, so the
feedback on the merged list compares the two rankers on the same project, the same
sales person and the same moment — far fewer match runs are needed than for
comparing different projects (the project-level A/B split).

The coins come from SHA-256 of the match_run_id and the round number, so a run's
merge is reproducible from its id alone (R-36), on any machine, without state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

CONTROL = "control"
TREATMENT = "treatment"


@dataclass(frozen=True)
class Pick:
    talent_id: int
    rank: int  # 1-based position in the merged list
    team: str  # CONTROL or TREATMENT


def control_picks_first(match_run_id: str, round_no: int) -> bool:
    """The seeded coin of round ``round_no`` (both teams have picked ``round_no`` times)."""
    digest = hashlib.sha256(f"ses_match.team_draft:{match_run_id}:{round_no}".encode()).digest()
    return digest[0] & 1 == 0


def team_draft(
    control: Sequence[int], treatment: Sequence[int], match_run_id: str, k: int
) -> list[Pick]:
    """Merge two rankings (best first, each without repeats) into at most ``k`` picks.

    Every talent shown comes from one of the inputs (so HardKO pairs, absent from
    both, never appear), each at most once. When both inputs are the top ``k`` of the
    same candidate set, every prefix of the merged list holds as many control as
    treatment picks, give or take one.
    """
    if not match_run_id:
        raise ValueError(f"team_draft needs a match_run_id to seed the coins, got {match_run_id!r}")
    if k is None or k < 0:
        raise ValueError(f"team_draft: k must be >= 0, got {k!r}")
    for name, ranking in ((CONTROL, control), (TREATMENT, treatment)):
        if any(t is None for t in ranking):
            raise ValueError(f"team_draft: the {name} ranking holds a NULL talent id")
        if len(set(ranking)) != len(ranking):
            raise ValueError(f"team_draft: the {name} ranking repeats a talent id: {list(ranking)}")
    lists = {CONTROL: list(control), TREATMENT: list(treatment)}
    cursor = {CONTROL: 0, TREATMENT: 0}
    count = {CONTROL: 0, TREATMENT: 0}
    shown: set[int] = set()
    picks: list[Pick] = []

    def next_of(team: str) -> int | None:
        ranking, i = lists[team], cursor[team]
        while i < len(ranking) and ranking[i] in shown:
            i += 1
        cursor[team] = i
        return ranking[i] if i < len(ranking) else None

    while len(picks) < k:
        if count[CONTROL] < count[TREATMENT]:
            order = (CONTROL, TREATMENT)
        elif count[TREATMENT] < count[CONTROL]:
            order = (TREATMENT, CONTROL)
        elif control_picks_first(match_run_id, count[CONTROL]):
            order = (CONTROL, TREATMENT)
        else:
            order = (TREATMENT, CONTROL)
        # a team with nothing left passes its turn to the other
        for team in order:
            talent = next_of(team)
            if talent is not None:
                break
        else:
            break
        shown.add(talent)
        count[team] += 1
        picks.append(Pick(talent_id=int(talent), rank=len(picks) + 1, team=team))
    return picks
