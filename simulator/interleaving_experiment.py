"""How many match runs until the online comparison is significant: team-draft
interleaving against the project-level A/B split, on the simulated market.

    python -m simulator.interleaving_experiment [--database ses_match] [--projects 150]
        [--reps 20] [--ab-max-runs 20000] [--seed 20250401]

Needs a database the simulator has driven with a two-tower model served (after
``make demo``: the learned model the gate deployed). For a sample of its projects
the product ranks the passed candidates three ways, with its own functions
(``int_candidate_pairs`` for the rules and business score, ``ses.two_tower_score_matrix``
for the served two-tower, ``ses.blend_total`` at the weight in force):

- control: the business score (w = 0);
- treatment: blended with the served two-tower;
- reversed: blended with 1 - two-tower (a deliberately worse ranker).

Then, many times over, the simulated sales staff (``simulator.staff.sample_reaction``
on the hidden chemistry) react to what each design would show, and each shown pair
gets its graded label (R-11 layers: best conversion stage, else the feedback by the
outcome rule's priority, else the best behaviour; values and priorities from the
product's seeds; revoked feedback dropped; an approximation of the SQL rule, which the
simulator cannot call per sampled reaction):

- interleaving: each run shows the team-draft merge (``ses_udf.interleaving``) and is
  a win / loss / tie by the credit of each team's picks; after every 10 runs the
  Wilson interval of wins / (wins + losses) is checked;
- A/B: projects are split in two arms, each run shows its arm's list, the metric is
  the same credit (the sum of the graded labels of the shown list); after every 50
  runs the difference of the arms' means gets a project-clustered 95 % interval.

Printed: the median match runs until significance of each design (treatment vs
control and reversed vs control), and their ratio.
"""

from __future__ import annotations

import argparse
import csv
import math
import time

import numpy as np
from ses_udf.interleaving import CONTROL, team_draft

from ses_ops.db import connect
from ses_ops.dbt_runner import PROJECT_DIR
from simulator.chemistry import Chemistry
from simulator.staff import sample_reaction

SEEDS = PROJECT_DIR / "seeds"
Z = 1.96


def label_values() -> dict[str, dict[str, float]]:
    """The graded label of each stage / feedback / behaviour, from the product's seeds
    (and "feedback_priority": the outcome rule's priority, lower wins)."""
    out: dict[str, dict[str, float]] = {"feedback_priority": {}}
    for kind, name, key in (
        ("conversion", "conversion_stages.csv", "stage"),
        ("feedback", "feedback_types.csv", "feedback_type"),
        ("behavior", "behavior_event_types.csv", "event_type"),
    ):
        with open(SEEDS / name, encoding="utf-8") as fp:
            for r in csv.DictReader(fp):
                if r["label"]:
                    out.setdefault(kind, {})[r[key]] = float(r["label"])
                if kind == "feedback":
                    out["feedback_priority"][r[key]] = float(r["priority"])
    return out


LABELS = label_values()


def graded_label(rank: int, chemistry: float, business: float, rng: np.random.Generator) -> float:
    """One sampled reaction's label: conversion best, else feedback, else behaviour, else 0."""
    reaction = sample_reaction(rank, chemistry, business, rng)
    revoked = {e.feedback_no for e in reaction.events if e.kind == "revoke"}
    stages = [
        LABELS["conversion"][e.type] for e in reaction.events if e.kind == "conversion" and e.linked
    ]
    if stages:
        return max(stages)
    feedback = [
        e.type
        for e in reaction.events
        if e.kind == "feedback" and e.feedback_no not in revoked and e.type in LABELS["feedback"]
    ]
    if feedback:
        # the outcome rule: the best priority wins, the latest among equals
        best = min(LABELS["feedback_priority"][f] for f in feedback)
        return LABELS["feedback"][
            [f for f in feedback if LABELS["feedback_priority"][f] == best][-1]
        ]
    behaviour = [LABELS["behavior"][e.type] for e in reaction.events if e.kind == "behavior"]
    return max(behaviour, default=0.0)


RANKINGS_SQL = """
with passed as (
    select project_id, talent_id, business_score
    from ses_intermediate.int_candidate_pairs
    where project_id = any(%(projects)s) and cardinality(ko_reasons) = 0
),
scored as (
    select p.project_id, p.talent_id, p.business_score,
           ses.base_score(p.business_score) as control,
           ses.blend_total(ses.base_score(p.business_score), s.two_tower_score, %(w)s, true) as treatment,
           ses.blend_total(ses.base_score(p.business_score), 1 - s.two_tower_score, %(w)s, true) as reversed
    from passed as p
    left join ses.two_tower_score_matrix(%(embedder)s, %(dimension)s, %(projects)s, null) as s
        on p.project_id = s.project_id and p.talent_id = s.talent_id
)
select project_id, talent_id, business_score,
       row_number() over (partition by project_id order by control desc, talent_id),
       row_number() over (partition by project_id order by treatment desc, talent_id),
       row_number() over (partition by project_id order by reversed desc, talent_id)
from scored
"""


def load_rankings(conn, n_projects: int, k: int, seed: int) -> tuple[list[dict], dict]:
    cfg, weight = conn.execute("select ses.two_tower_config(), ses.two_tower_weight()").fetchone()
    projects = [
        r[0]
        for r in conn.execute(
            "select id from ses.projects order by hashint8(id + %s) limit %s", (seed, n_projects)
        )
    ]
    rows = conn.execute(
        RANKINGS_SQL,
        {"projects": projects, "w": weight or cfg["mature_weight"], "embedder": cfg["embedder"],
         "dimension": int(cfg["dimension"])},
    ).fetchall()  # fmt: skip
    talents = {r[1] for r in rows}
    trows = conn.execute("select * from ses.talents where id = any(%s)", (list(talents),))
    tcols = [d.name for d in trows.description]
    talent_rows = {r[0]: dict(zip(tcols, r, strict=True)) for r in trows.fetchall()}
    prows = conn.execute("select * from ses.projects where id = any(%s)", (projects,))
    pcols = [d.name for d in prows.description]
    project_rows = {r[0]: dict(zip(pcols, r, strict=True)) for r in prows.fetchall()}
    chem = Chemistry(seed)
    lists: dict[int, dict] = {}
    for project_id, talent_id, business, rc, rt, rr in rows:
        entry = lists.setdefault(
            project_id, {"project_id": project_id, "business": {}, "chemistry": {}, "ranks": []}
        )
        entry["business"][talent_id] = business
        entry["ranks"].append((talent_id, rc, rt, rr))
    out = []
    for project_id, entry in lists.items():
        ranks = entry["ranks"]
        entry["control"] = [t for t, rc, _, _ in sorted(ranks, key=lambda x: x[1])][:k]
        entry["treatment"] = [t for t, _, rt, _ in sorted(ranks, key=lambda x: x[2])][:k]
        entry["reversed"] = [t for t, _, _, rr in sorted(ranks, key=lambda x: x[3])][:k]
        shown = set(entry["control"]) | set(entry["treatment"]) | set(entry["reversed"])
        ids = sorted(shown)
        scores = chem.score_pairs(
            [talent_rows[t] for t in ids], [project_rows[project_id]] * len(ids)
        )
        entry["chemistry"] = dict(zip(ids, (float(x) for x in scores), strict=True))
        out.append(entry)
    return out, {"embedder": cfg["embedder"], "weight": weight}


def wilson(successes: float, n: float, side: int) -> float:
    p = successes / n
    centre = p + Z * Z / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (centre + side * half) / (1 + Z * Z / n)


def credit(entry: dict, shown: list[int], rng: np.random.Generator) -> list[float]:
    return [
        graded_label(rank, entry["chemistry"][t], entry["business"][t], rng)
        for rank, t in enumerate(shown, start=1)
    ]


def interleaving_runs(
    projects, other: str, rng, rep: int, k: int, max_runs: int
) -> tuple[int | None, str]:
    """Match runs until the preference interval excludes 0.5 (None: not within max_runs)."""
    wins = losses = 0
    for i in range(1, max_runs + 1):
        entry = projects[rng.integers(len(projects))]
        picks = team_draft(entry["control"], entry[other], f"exp-{rep}-{i}", k)
        labels = credit(entry, [p.talent_id for p in picks], rng)
        control = sum(lab for lab, p in zip(labels, picks, strict=True) if p.team == CONTROL)
        treatment = sum(labels) - control
        wins += treatment > control
        losses += treatment < control
        if i % 10 == 0 and wins + losses > 0:
            if wilson(wins, wins + losses, -1) > 0.5:
                return i, "better"
            if wilson(wins, wins + losses, +1) < 0.5:
                return i, "worse"
    return None, "undecided"


def clustered_mean(per_project: dict[int, list[float]]) -> tuple[float, float]:
    """Mean credit per run and its project-clustered (delta method) variance."""
    sums = np.array([sum(v) for v in per_project.values()])
    counts = np.array([len(v) for v in per_project.values()], dtype=float)
    mean = sums.sum() / counts.sum()
    n = len(sums)
    var = (
        n / (n - 1) * float(((sums - mean * counts) ** 2).sum()) / counts.sum() ** 2
        if n > 1
        else math.inf
    )
    return mean, var


def ab_runs(
    projects, other: str, rng, max_runs: int, check_every: int = 50
) -> tuple[int | None, str]:
    """Match runs (both arms together) until the clustered difference excludes 0."""
    arm = {e["project_id"]: ("control" if rng.random() < 0.5 else other) for e in projects}
    metric: dict[str, dict[int, list[float]]] = {"control": {}, other: {}}
    for i in range(1, max_runs + 1):
        entry = projects[rng.integers(len(projects))]
        a = arm[entry["project_id"]]
        metric[a].setdefault(entry["project_id"], []).append(sum(credit(entry, entry[a], rng)))
        if i % check_every == 0 and min(len(metric["control"]), len(metric[other])) > 1:
            (mc, vc), (mt, vt) = clustered_mean(metric["control"]), clustered_mean(metric[other])
            half = Z * math.sqrt(vc + vt)
            if mt - mc - half > 0:
                return i, "better"
            if mt - mc + half < 0:
                return i, "worse"
    return None, "undecided"


def summarise(results: list[tuple[int | None, str]], cap: int) -> dict:
    runs = [r if r is not None else cap for r, _ in results]
    verdicts = {v: sum(1 for _, x in results if x == v) for v in ("better", "worse", "undecided")}
    return {
        "median_runs": float(np.median(runs)),
        "censored": sum(r is None for r, _ in results),
        **verdicts,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--database", default=None, help="database (default PGDATABASE)")
    p.add_argument("--projects", type=int, default=150)
    p.add_argument("--top-k", type=int, default=20)
    p.add_argument("--reps", type=int, default=20, help="replications per design")
    p.add_argument("--ab-reps", type=int, default=5, help="replications of the (slow) A/B design")
    p.add_argument("--ab-max-runs", type=int, default=20000)
    p.add_argument("--il-max-runs", type=int, default=5000)
    p.add_argument("--seed", type=int, default=20250401, help="the simulated world's seed")
    args = p.parse_args(argv)
    started = time.perf_counter()
    with connect(dbname=args.database) as conn:
        projects, served = load_rankings(conn, args.projects, args.top_k, args.seed)
    projects = [e for e in projects if len(e["control"]) == args.top_k]
    differ = sum(e["control"] != e["treatment"] for e in projects)
    print(
        f"{len(projects)} projects with {args.top_k} passed candidates; served {served['embedder']} "
        f"at weight {served['weight']}; treatment top {args.top_k} differs from control in {differ}"
    )
    for other in ("treatment", "reversed"):
        rng = np.random.default_rng([args.seed, 13, 1 if other == "treatment" else 2])
        il = summarise(
            [
                interleaving_runs(projects, other, rng, r, args.top_k, args.il_max_runs)
                for r in range(args.reps)
            ],
            args.il_max_runs,
        )
        ab = summarise(
            [ab_runs(projects, other, rng, args.ab_max_runs) for _ in range(args.ab_reps)],
            args.ab_max_runs,
        )
        ratio = ab["median_runs"] / il["median_runs"] if il["median_runs"] else math.nan
        print(f"{other} vs control:")
        print(f"  interleaving ({args.reps} reps): {il}")
        print(f"  project-level A/B ({args.ab_reps} reps, cap {args.ab_max_runs}): {ab}")
        print(
            f"  A/B needs {ratio:.1f}x the match runs of interleaving (median; a censored A/B counts as the cap)"
        )
    print(f"({time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    main()
