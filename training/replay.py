"""Paired offline replay: a pre-deployment check of a candidate model on the logged
match runs.

    python -m training.replay [--version V | --hash] [--against hash|active|logged|V] [--k 10]

For every logged match run (same project, same displayed talents, their point-in-time
profiles), the candidate model re-ranks the displayed list by its two-tower score and
both orders — the one actually shown and the candidate's — are scored against the
logged outcomes (the R-11 graded labels; unlabelled = 0) with the per-run metrics
nDCG@k (graded) and MRR (first label >= 0.5). The comparison is paired: each run
is its own control, so differences between projects cancel. The mean difference gets
a 95 % interval clustered by project (delta method; a project's runs are correlated),
and the verdict is ``better`` / ``worse`` (the interval excludes 0) or ``no_difference``.

Caveat (position bias): the logged labels were earned at the positions shown, and the
sales staff look at the top of a list far more, so any re-ranking starts behind the
order that was shown. Compare a candidate with another re-ranking of the same lists —
the active model or the hash tower (``--against``, default hash) — rather than with the
shown order (``--against logged``), which favours the logged ranker.

Caveat (unlogged candidates): only the talents that were displayed can be re-ranked. A
candidate that would have shown talents the logged ranker never displayed gets no
credit for them (and no blame): the replay measures how well it orders what was
shown, which favours candidates close to the logged ranker. Online interleaving
(docs/interleaving.md) has no such blind spot; the replay is the cheap check before it.
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from training.dataset import Embed, LabelledData, hash_embed, pair_cosines, served_embed

POSITIVE = 0.5
Z = 1.96


def ndcg(labels_in_order: Sequence[float], k: int) -> float | None:
    """Graded nDCG@k of one ordering (None when the run has no positive gain)."""
    gains = np.asarray(labels_in_order, dtype=float)
    ideal = np.sort(gains)[::-1][:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    best = float((ideal * discounts[: ideal.size]).sum())
    if best <= 0:
        return None
    return float((gains[:k] * discounts[: min(k, gains.size)]).sum()) / best


def reciprocal_rank(labels_in_order: Sequence[float]) -> float | None:
    for i, label in enumerate(labels_in_order, start=1):
        if label >= POSITIVE:
            return 1.0 / i
    return None


def clustered_mean_interval(per_cluster: dict[Any, list[float]]) -> tuple[float, float, float]:
    """Mean of the values, with its 95 % interval clustered by key (delta method)."""
    sums = np.array([sum(v) for v in per_cluster.values()], dtype=float)
    counts = np.array([len(v) for v in per_cluster.values()], dtype=float)
    mean = float(sums.sum() / counts.sum())
    n = sums.size
    if n < 2:
        return mean, -math.inf, math.inf
    var = n / (n - 1) * float(((sums - mean * counts) ** 2).sum()) / counts.sum() ** 2
    half = Z * math.sqrt(var)
    return mean, mean - half, mean + half


def paired_replay(
    data: LabelledData, embed: Embed, k: int = 10, baseline: Embed | None = None
) -> dict[str, Any]:
    """Re-rank every logged run (by project and display time) with ``embed`` and compare
    with the order shown (``baseline`` None) or with ``baseline``'s re-ranking."""
    runs: dict[tuple[int, float], list] = defaultdict(list)
    for e in data.exposures:
        if e.rank is not None:
            runs[(e.project_id, e.created_at)].append(e)
    shown = [e for run in runs.values() for e in run]
    if not shown:
        raise ValueError("paired replay: no logged match runs with shown ranks to replay")
    talent_keys = [e.talent_key for e in shown]
    project_keys = [e.project_key for e in shown]

    def scores_of(model) -> dict[int, float]:
        scores = pair_cosines(model, data.talents, data.projects, talent_keys, project_keys)
        return {id(e): s for e, s in zip(shown, scores, strict=True)}

    score_of = scores_of(embed)
    if baseline is not None:
        base_of = scores_of(baseline)
    diffs: dict[str, dict[int, list[float]]] = {"ndcg": defaultdict(list), "mrr": defaultdict(list)}
    totals = {"ndcg": [0.0, 0.0], "mrr": [0.0, 0.0]}
    wins = losses = ties = 0
    for (project_id, _), run in runs.items():
        if baseline is None:
            logged = [e.label or 0.0 for e in sorted(run, key=lambda e: e.rank)]
        else:
            logged = [e.label or 0.0 for e in sorted(run, key=lambda e: (-base_of[id(e)], e.rank))]
        # the candidate's order; ties keep the logged order (no gain from a tie)
        candidate = [e.label or 0.0 for e in sorted(run, key=lambda e: (-score_of[id(e)], e.rank))]
        for metric, fn in (("ndcg", lambda x: ndcg(x, k)), ("mrr", reciprocal_rank)):
            a, b = fn(logged), fn(candidate)
            if a is None:
                continue  # nothing to rank well in this run
            diffs[metric][project_id].append(b - a)
            totals[metric][0] += a
            totals[metric][1] += b
            if metric == "ndcg":
                wins += b > a
                losses += b < a
                ties += b == a
    out: dict[str, Any] = {"k": k, "runs": len(runs), "wins": wins, "losses": losses, "ties": ties}
    for metric, per_project in diffs.items():
        n = sum(len(v) for v in per_project.values())
        if n == 0:
            out[metric] = None
            continue
        mean, lower, upper = clustered_mean_interval(per_project)
        out[metric] = {
            "runs_evaluated": n,
            "projects": len(per_project),
            "logged": totals[metric][0] / n,
            "candidate": totals[metric][1] / n,
            "diff": mean,
            "diff_lower": lower,
            "diff_upper": upper,
        }
    ref = out["ndcg"]
    out["verdict"] = (
        "no_runs"
        if ref is None
        else "better"
        if ref["diff_lower"] > 0
        else "worse"
        if ref["diff_upper"] < 0
        else "no_difference"
    )
    return out


def replay_allows_deploy(result: dict[str, Any]) -> bool:
    """The gate's use: refuse a candidate the replay finds significantly worse."""
    return result["verdict"] != "worse"


def main(argv: list[str] | None = None) -> None:
    from ses_udf import learned_tower as lt

    from ses_ops.db import connect
    from training.retrain import load_labelled_data

    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    who = p.add_mutually_exclusive_group()
    who.add_argument("--version", help="a registered model version (default: the active one)")
    who.add_argument("--hash", action="store_true", help="replay the seed's hash tower instead")
    p.add_argument(
        "--against",
        default="hash",
        help="hash (default), active, logged (the shown order) or a version",
    )
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--days", type=int, default=0, help="only runs of the last N days (0 = all)")
    args = p.parse_args(argv)
    with connect() as conn:
        now = datetime.now(UTC) + timedelta(days=36500)
        data = load_labelled_data(conn, now)
        if args.days:
            last = max(e.created_at for e in data.exposures)
            data.exposures = [e for e in data.exposures if e.created_at >= last - args.days * 86400]
        if args.hash:
            embed, name = hash_embed(), "hash"
        else:
            sql = "select version, metadata, onnx_model from ses.model_registry where " + (
                "version = %s" if args.version else "status = 'active'"
            )
            row = conn.execute(sql, (args.version,) if args.version else ()).fetchone()
            if row is None:
                raise SystemExit(f"no model {args.version or '(active)'} in ses.model_registry")
            embed, name = served_embed(lt.OnnxModel(bytes(row[2]), row[1])), row[0]
        baseline = None
        if args.against == "hash":
            baseline = hash_embed()
        elif args.against != "logged":
            sql = "select metadata, onnx_model from ses.model_registry where " + (
                "status = 'active'" if args.against == "active" else "version = %s"
            )
            row = conn.execute(sql, () if args.against == "active" else (args.against,)).fetchone()
            if row is None:
                raise SystemExit(f"no model {args.against} in ses.model_registry")
            baseline = served_embed(lt.OnnxModel(bytes(row[1]), row[0]))
    result = paired_replay(data, embed, args.k, baseline)
    print(
        f"paired replay of {name} against {args.against} on {result['runs']} logged match runs (k = {args.k})"
    )
    for metric in ("ndcg", "mrr"):
        m = result[metric]
        if m:
            print(
                f"  {metric}: {args.against} {m['logged']:.4f}  candidate {m['candidate']:.4f}  diff {m['diff']:+.4f} "
                f"[{m['diff_lower']:+.4f}, {m['diff_upper']:+.4f}] over {m['runs_evaluated']} runs, "
                f"{m['projects']} projects"
            )
    print(
        f"  runs better / worse / equal (nDCG): {result['wins']} / {result['losses']} / {result['ties']}"
    )
    print(
        f"  verdict: {result['verdict']}; gate: {'allow' if replay_allows_deploy(result) else 'refuse'}"
    )


if __name__ == "__main__":
    main()
