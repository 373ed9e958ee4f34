"""The learning curve on a simulated market, with the hidden chemistry as an oracle.

    python -m simulator.learning_curve [--world default|hard|popular] [--seed 20250401]
                                       [--sizes 500,1000,2000,5000,10000] [--no-tune]

Simulates the market against the real system in a scratch database (simulator.offline:
``<PGDATABASE>_sim``, recreated) until the largest size plus ``--holdout-labels`` labels
exist, then runs training.learning_curve on what the retrain job would read, adding the
oracle row. ``--pit-check`` also trains the largest size on the entities' latest profile
versions instead of the point-in-time ones, to show what point-in-time features change.
"""

from __future__ import annotations

import argparse

from simulator.offline import WORLDS, OfflineConfig, latest_profiles, simulate
from training import learning_curve as lc


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(
        prog="python -m simulator.learning_curve", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--world", choices=sorted(WORLDS), default="default")
    ap.add_argument("--seed", type=int, default=20250401, help="simulated world seed")
    ap.add_argument("--database", help="scratch database (default <PGDATABASE>_sim)")
    ap.add_argument(
        "--pit-check",
        action="store_true",
        help="also train on the latest profiles (no point in time) at the largest size",
    )
    lc.add_arguments(ap)
    args = ap.parse_args(argv)
    sizes = lc.parse_sizes(args.sizes)
    data, oracle, _ = simulate(
        OfflineConfig(
            n_labels=sizes[-1] + args.holdout_labels,
            seed=args.seed,
            world=args.world,
            database=args.database,
        )
    )
    source = f"simulated {args.world} world seed {args.seed}"
    rows = lc.run(args, data, sizes, source, oracle)
    if args.pit_check:
        rows += pit_check(args, data, sizes[-1])
    return rows


def pit_check(args: argparse.Namespace, data, size: int) -> list[dict]:
    """Learned model at ``size`` labels trained on point-in-time vs latest profiles, both
    evaluated on the same held-out candidates with the profiles they were shown with."""
    config = lc.with_overrides(lc.default_train_config(args.train_seed, args.threads), args.set)
    tuning = None if args.no_tune else lc.TuningConfig()
    holdout = lc.fixed_holdout(data, size)
    out = []
    latest = latest_profiles(data)
    for name, source in (("point in time", data), ("latest profiles", latest)):
        served, info = lc.learned_model(source.first_labels(size), config, tuning, print)
        m = lc.evaluate_embedder(lc.served_embed(served), holdout, data.talents, data.projects)
        print(f"{name:<16} auc {m['auc']:.4f} r@10 {m['recall_at_10']:.4f} mrr {m['mrr']:.4f}")
        out.append({"labels": size, "model": f"learned ({name})", **lc._flat(m), **info})
    return out


if __name__ == "__main__":
    main()
