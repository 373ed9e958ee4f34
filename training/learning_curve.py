"""Learning curve: held-out AUC / Recall@10 / MRR of the learned two-tower vs the hash
baseline as labels accumulate (~500, 1k, 2k, 5k, 10k), on one fixed held-out split.

    python -m training.learning_curve [--sizes 500,1000,2000,5000,10000] [--seed 20250401]
                                      [--world default|hard] [--database NAME] [--out reports]

Data: by default simulated offline (training.simulated: the simulator's world, hidden
chemistry and sales staff, the product's business rules for the displayed lists, R-11
labels; no database, ~10 s). ``--world hard`` plays the simulator's first calibration
(simulator.HARD_CHEMISTRY / HARD_STAFF: noisier chemistry and staff) instead. With ``--database`` the exposures and labels of that
database are read instead (training.retrain.load_labelled_data).

Split: the exposures are ordered by display time. The held-out set is everything shown
after the largest training size's last label (``--holdout-labels`` labels' worth,
default 2 500), evaluated per project over the exposed candidates (training.dataset);
for each size N the model trains on the first N labels only (early stopping on their
last 10 %), with the retrain job's settings and a fixed seed. Simulated data adds an
``oracle`` row: the hidden chemistry itself as the score, the ceiling of what any model
could reach on these labels.

Writes ``<out>/learning_curve.csv`` and ``<out>/learning_curve.png`` (reports/ is
git-ignored) and prints the table.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from simulator.chemistry import HARD_CHEMISTRY
from simulator.staff import DEFAULT_STAFF, HARD_STAFF
from training.dataset import (
    HoldoutSet,
    LabelledData,
    evaluate_embedder,
    hash_embed,
    holdout_metrics,
    served_embed,
    training_pairs,
)
from training.export import build_artifacts
from training.retrain import JST, REPO, default_train_config
from training.split import split_by_time
from training.train import TrainConfig, train

DEFAULT_SIZES = (500, 1000, 2000, 5000, 10000)
# Simulator calibrations: (chemistry params, staff params); docs/simulator.md.
WORLDS = {"default": (None, DEFAULT_STAFF), "hard": (HARD_CHEMISTRY, HARD_STAFF)}
DEFAULT_HOLDOUT_LABELS = 2500
METRICS = ("auc", "recall_at_10", "mrr")


def holdout_after(data: LabelledData, cutoff: float, exclude: set[tuple[int, int]]) -> HoldoutSet:
    """Candidates shown after ``cutoff``, one per (talent, project), minus ``exclude``."""
    best: dict[tuple[int, int], float | None] = {}
    for e in data.exposures:
        key = (e.talent_id, e.project_id)
        if e.created_at <= cutoff or key in exclude:
            continue
        old = best.get(key)
        best[key] = e.label if old is None else (old if e.label is None else max(old, e.label))
    keys = sorted(best)
    return HoldoutSet(
        talent_ids=np.array([k[0] for k in keys], dtype=np.int64),
        project_ids=np.array([k[1] for k in keys], dtype=np.int64),
        labels=np.array([best[k] or 0.0 for k in keys], dtype=np.float64),
        labelled=np.array([best[k] is not None for k in keys], dtype=bool),
    )


def learning_curve(
    data: LabelledData,
    sizes: list[int],
    config: TrainConfig,
    *,
    early_stop_fraction: float = 0.1,
    oracle: dict[int, float] | None = None,
    log=print,
) -> list[dict]:
    """Rows (labels, model, auc, recall_at_10, mrr, ...) for each size."""
    sizes = sorted(sizes)
    largest = data.first_labels(sizes[-1])
    cutoff = max(e.created_at for e in largest.exposures if e.label is not None)
    train_keys = {(e.talent_id, e.project_id) for e in largest.exposures}
    holdout = holdout_after(data, cutoff, train_keys)
    if not holdout.labelled.any():
        raise ValueError("no labelled exposure after the largest training size: more data needed")
    log(
        f"held-out: {int(holdout.labelled.sum())} labelled of {len(holdout)} candidates in "
        f"{np.unique(holdout.project_ids).size} projects, shown after "
        f"{datetime.fromtimestamp(cutoff, JST):%Y-%m-%d %H:%M}"
    )
    rows: list[dict] = []
    base = {"holdout_labelled": int(holdout.labelled.sum()), "holdout_candidates": len(holdout)}
    hash_metrics = evaluate_embedder(hash_embed(), holdout, data.talents, data.projects)
    if oracle is not None:
        by_pair: dict[tuple[int, int], float] = {}
        for e in data.exposures:
            by_pair[(e.talent_id, e.project_id)] = oracle[e.interaction_id]
        scores = np.array(
            [by_pair[(t, p)] for t, p in zip(holdout.talent_ids, holdout.project_ids, strict=True)]
        )
        oracle_metrics = holdout_metrics(holdout, scores)
    for n in sizes:
        sub = data.first_labels(n)
        labelled, _ = training_pairs(sub)
        inner = split_by_time(labelled, early_stop_fraction)
        t0 = time.perf_counter()
        result = train(inner.train, inner.valid, sub.talents, sub.projects, config)
        seconds = time.perf_counter() - t0
        artifacts = build_artifacts(result.model, f"curve{n}", verify=False)
        from ses_udf import learned_tower as lt

        served = lt.load_model("onnx", artifacts.onnx, artifacts.metadata)
        learned = evaluate_embedder(served_embed(served), holdout, data.talents, data.projects)
        common = {**base, "labels": n, "train_pairs": len(inner.train)}
        rows.append({**common, "model": "learned", **learned, "train_seconds": round(seconds, 1)})
        rows.append({**common, "model": "hash", **hash_metrics})
        if oracle is not None:
            rows.append({**common, "model": "oracle (hidden chemistry)", **oracle_metrics})
        log(
            f"{n:>6} labels: learned auc {learned['auc']:.4f} r@10 {learned['recall_at_10']:.4f} "
            f"mrr {learned['mrr']:.4f} | hash auc {hash_metrics['auc']:.4f} "
            f"r@10 {hash_metrics['recall_at_10']:.4f} mrr {hash_metrics['mrr']:.4f} "
            f"({seconds:.1f}s, best epoch {result.best_epoch})"
        )
    return rows


def simulated_data(
    sizes: list[int],
    seed: int,
    world: str = "default",
    holdout_labels: int = DEFAULT_HOLDOUT_LABELS,
) -> tuple[LabelledData, dict[int, float]]:
    """Simulated exposures for a curve up to max(sizes) plus the held-out labels, and
    the hidden chemistry of each exposure (the oracle row)."""
    from training.simulated import simulate

    oracle: dict[int, float] = {}
    chemistry, staff = WORLDS[world]
    data = simulate(
        max(sizes) + holdout_labels,
        seed=seed,
        chemistry=chemistry,
        staff=staff,
        chemistry_out=oracle,
    )
    return data, oracle


def format_curve(rows: list[dict]) -> str:
    head = f"{'labels':>7}  {'model':<26}" + "".join(f"{m:>14}" for m in METRICS)
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['labels']:>7}  {r['model']:<26}" + "".join(f"{r[m]:>14.4f}" for m in METRICS)
        )
    return "\n".join(lines)


def save(rows: list[dict], out: Path, title: str) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = out / "learning_curve.csv", out / "learning_curve.png"
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for ax, metric in zip(axes, METRICS, strict=True):
        for model, style in (
            ("learned", "o-"),
            ("hash", "s--"),
            ("oracle (hidden chemistry)", ":"),
        ):
            pts = [(r["labels"], r[metric]) for r in rows if r["model"] == model]
            if pts:
                xs, ys = zip(*pts, strict=True)
                ax.plot(xs, ys, style, label=model)
        ax.set_xscale("log")
        ax.set_xlabel("labels")
        ax.set_title(metric)
        ax.grid(True, alpha=0.3)
    axes[0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
    return csv_path, png_path


def with_overrides(config: TrainConfig, items: list[str]) -> TrainConfig:
    """TrainConfig with ``field=value`` overrides, each value parsed as its field's type."""
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    changes = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or name not in fields:
            raise SystemExit(f"--set {item!r}: expected FIELD=VALUE with a TrainConfig field")
        current = getattr(config, name)
        if isinstance(current, bool):
            value: object = text.lower() in ("1", "true", "yes")
        elif current is None or isinstance(current, str):
            value = None if text.lower() == "none" else text
        else:
            value = type(current)(text)
        changes[name] = value
    config = dataclasses.replace(config, **changes)
    config.validate()
    return config


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(
        prog="python -m training.learning_curve", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    ap.add_argument("--seed", type=int, default=20250401, help="simulated world seed")
    ap.add_argument("--train-seed", type=int, default=0)
    ap.add_argument("--holdout-labels", type=int, default=DEFAULT_HOLDOUT_LABELS)
    ap.add_argument(
        "--world",
        choices=sorted(WORLDS),
        default="default",
        help="simulator calibration (hard: the noisier v1 world)",
    )
    ap.add_argument("--database", help="read exposures and labels from this database")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=REPO / "reports")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a TrainConfig field of the retrain defaults (repeatable)",
    )
    args = ap.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    config = with_overrides(default_train_config(args.train_seed, args.threads), args.set)
    oracle: dict[int, float] | None = None
    t0 = time.perf_counter()
    if args.database:
        from ses_ops.db import connect
        from training.retrain import load_labelled_data

        with connect(dbname=args.database) as conn:
            data = load_labelled_data(conn, conn.execute("select now()").fetchone()[0])
        available = data.label_count - args.holdout_labels
        dropped = [n for n in sizes if n > available]
        sizes = [n for n in sizes if n <= available]
        if not sizes:
            raise SystemExit(
                f"{args.database} has {data.label_count} labels: not enough for "
                f"{args.holdout_labels} held-out labels plus the smallest size"
            )
        if dropped:
            print(f"skipping sizes {dropped}: the database has {data.label_count} labels")
        source = f"database {args.database}"
    else:
        data, oracle = simulated_data(sizes, args.seed, args.world, args.holdout_labels)
        source = f"simulated {args.world} world seed {args.seed}"
    print(
        f"{source}: {data.label_count} labels, {len(data.exposures)} exposures ({time.perf_counter() - t0:.1f}s)"
    )
    rows = learning_curve(data, sizes, config, oracle=oracle)
    print(format_curve(rows))
    csv_path, png_path = save(rows, args.out, f"two-tower learning curve ({source})")
    print(f"wrote {csv_path} and {png_path}")
    return rows


if __name__ == "__main__":
    main()
