"""Robustness check on ratings-like data: can the learned model beat ranking by
historical positive rates where entity effects dominate?

    python -m benchmarks.ratings_check [--talents 900] [--projects 1600] [--exposures 100000]

training.synthetic.make_ratings_like mimics a recommender's public ratings mapped onto
talents and projects (strong per-talent and per-project effects, a low-rank taste,
content tokens that say little). Time split 80/20; on the same held-out pairs it prints
the popularity baselines (talent, project, combined; learnt from the training side
only), the learned model with the retrain's self-tuning and refit, and the same with
content tokens only (no identity tokens), so the value of hybrid towers shows.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from training.baselines import KINDS, fit_popularity
from training.metrics import auc
from training.retrain import default_train_config
from training.split import split_by_time
from training.synthetic import make_ratings_like
from training.train import score_pairs, train
from training.tuning import DEFAULT_GRID, TuningConfig, tune


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--talents", type=int, default=900)
    ap.add_argument("--projects", type=int, default=1600)
    ap.add_argument("--exposures", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    pairs, talents, projects = make_ratings_like(
        args.talents, args.projects, args.exposures, seed=args.seed
    )
    split = split_by_time(pairs, 0.2)
    held = split.valid
    labels = np.array([p.label for p in held])
    t_ids = [p.talent_key for p in held]
    p_ids = [p.project_key for p in held]
    print(
        f"ratings-like data: {len(pairs):,} rated pairs, {len(split.train):,} before the "
        f"split, {len(held):,} held out ({labels.mean():.0%} positive)"
    )
    out: dict[str, float] = {}
    popularity = fit_popularity(split.train)
    for kind in KINDS:
        out[f"popularity_{kind}"] = auc(labels, popularity.scores(t_ids, p_ids, kind))
    base = default_train_config(0, args.threads)
    grids = {
        "learned (self-tuned)": DEFAULT_GRID,
        "learned, content only": tuple(g for g in DEFAULT_GRID if not g[1].get("identity_tokens")),
    }
    for name, grid in grids.items():
        t0 = time.perf_counter()
        tuned = tune(
            split.train, talents, projects, base, TuningConfig(grid=grid), log=lambda s: None
        )
        model = train(split.train, [], talents, projects, tuned.config).model
        out[name] = auc(labels, score_pairs(model, held, talents, projects))
        print(
            f"  {name}: settings {tuned.chosen!r}, {tuned.config.epochs} epochs "
            f"({time.perf_counter() - t0:.0f}s)"
        )
    width = max(len(k) for k in out)
    for name, value in out.items():
        print(f"{name:<{width}}  held-out AUC {value:.4f}")
    best = max(v for k, v in out.items() if k.startswith("popularity"))
    print(
        f"learned - best popularity baseline: {out['learned (self-tuned)'] - best:+.4f} "
        f"(content only: {out['learned, content only'] - best:+.4f})"
    )
    return out


if __name__ == "__main__":
    main()
