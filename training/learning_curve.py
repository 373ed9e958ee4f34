"""Learning curve: held-out AUC / Recall@10 / MRR of the learned two-tower against the
baselines (the seed's hash tower; the popularity of talent, project and both) as labels
accumulate, on one fixed held-out split.

    python -m training.learning_curve [--database NAME] [--sizes 500,1000,2000,5000]
                                      [--holdout-labels 2500] [--no-tune] [--set k=v]

Data: the exposures and labels of a database, as the retrain job reads them
(training.retrain.load_labelled_data: point-in-time bags, shown ranks). Simulated
markets have their own entry point, ``python -m simulator.learning_curve``, which feeds
this module and adds the simulator's hidden chemistry as an oracle row.

Split: the exposures are ordered by display time. The held-out set is everything shown
after the largest training size's last label (``--holdout-labels`` labels' worth),
evaluated per project over the exposed candidates (training.dataset). For each size N
the model is made from the first N labels only, the way the retrain job makes the
model it deploys: the settings chosen on a validation slice of those labels
(training.tuning), then refit on all N; ``--no-tune`` trains the base settings (with
``--set`` overrides) with early stopping on the last 10 % instead. The popularity
baselines learn from the same N labels.

Writes ``<out>/learning_curve.csv`` and ``<out>/learning_curve.png`` and prints the
table.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from training.baselines import KINDS, fit_popularity
from training.dataset import (
    HoldoutSet,
    LabelledData,
    evaluate_embedder,
    hash_embed,
    holdout_metrics,
    served_embed,
    shown_pairs,
    training_pairs,
    warm_mask,
)
from training.export import build_artifacts
from training.retrain import JST, REPO, default_train_config
from training.split import split_by_time
from training.train import TrainConfig, train
from training.tuning import TuningConfig, tune

DEFAULT_SIZES = (500, 1000, 2000, 5000, 10000)
DEFAULT_HOLDOUT_LABELS = 2500
METRICS = ("auc", "recall_at_10", "mrr")
ORACLE = "oracle (hidden chemistry)"
BASELINES = ("hash", *(f"popularity_{k}" for k in KINDS))

Log = Callable[[str], None]


def holdout_after(data: LabelledData, cutoff: float, exclude: set[tuple[int, int]]) -> HoldoutSet:
    """Candidates shown after ``cutoff``, one per (talent, project), minus ``exclude``
    (the bags of their latest showing)."""
    best: dict[tuple[int, int], float | None] = {}
    keys: dict[tuple[int, int], tuple[Any, Any]] = {}
    for e in sorted(data.exposures, key=lambda e: (e.created_at, e.interaction_id)):
        key = (e.talent_id, e.project_id)
        if e.created_at <= cutoff or key in exclude:
            continue
        old = best.get(key)
        best[key] = e.label if old is None else (old if e.label is None else max(old, e.label))
        keys[key] = (e.talent_key, e.project_key)
    order = sorted(best)
    return HoldoutSet(
        talent_ids=np.array([k[0] for k in order], dtype=np.int64),
        project_ids=np.array([k[1] for k in order], dtype=np.int64),
        labels=np.array([best[k] or 0.0 for k in order], dtype=np.float64),
        labelled=np.array([best[k] is not None for k in order], dtype=bool),
        talent_keys=[keys[k][0] for k in order],
        project_keys=[keys[k][1] for k in order],
    )


def fixed_holdout(data: LabelledData, largest: int) -> HoldoutSet:
    """The held-out split of a curve whose largest training size is ``largest``."""
    head = data.first_labels(largest)
    cutoff = max(e.created_at for e in head.exposures if e.label is not None)
    holdout = holdout_after(data, cutoff, {(e.talent_id, e.project_id) for e in head.exposures})
    if not holdout.labelled.any():
        raise ValueError("no labelled exposure after the largest training size: more data needed")
    return holdout


def learned_model(
    data: LabelledData,
    config: TrainConfig,
    tuning: TuningConfig | None,
    log: Log,
) -> tuple[Any, dict[str, Any]]:
    """(served ONNX model, info) made from all of ``data``'s labels the way the retrain
    makes its deployed model (tuning, then a refit on everything), or with the base
    settings and early stopping on the last 10 % when ``tuning`` is None."""
    from ses_udf import learned_tower as lt

    labelled, _ = training_pairs(data)
    pairs = [*labelled, *shown_pairs(data, labelled)]
    t0 = time.perf_counter()
    if tuning is None:
        inner = split_by_time(pairs, 0.1)
        result = train(inner.train, inner.valid, data.talents, data.projects, config)
        info: dict[str, Any] = {"settings": "fixed", "best_epoch": result.best_epoch}
    else:
        tuned = tune(pairs, data.talents, data.projects, config, tuning, log=lambda s: None)
        result = train(pairs, [], data.talents, data.projects, tuned.config)
        info = {"settings": tuned.chosen, "best_epoch": tuned.config.epochs}
    info["train_seconds"] = round(time.perf_counter() - t0, 1)
    info["train_pairs"] = len(labelled)
    artifacts = build_artifacts(result.model, "curve", verify=False)
    return lt.load_model("onnx", artifacts.onnx, artifacts.metadata), info


def learning_curve(
    data: LabelledData,
    sizes: list[int],
    config: TrainConfig,
    *,
    tuning: TuningConfig | None = None,
    oracle: Mapping[int, float] | None = None,
    log: Log = print,
) -> list[dict]:
    """Rows (labels, model, auc, recall_at_10, mrr, warm / cold AUC, ...) per size."""
    sizes = sorted(sizes)
    holdout = fixed_holdout(data, sizes[-1])
    log(
        f"held-out: {int(holdout.labelled.sum())} labelled of {len(holdout)} candidates in "
        f"{np.unique(holdout.project_ids).size} projects, shown after the "
        f"{sizes[-1]}th label ({_shown_after(data, sizes[-1])})"
    )
    base = {"holdout_labelled": int(holdout.labelled.sum()), "holdout_candidates": len(holdout)}
    oracle_metrics = None
    if oracle is not None:
        by_pair = {(e.talent_id, e.project_id): oracle[e.interaction_id] for e in data.exposures}
        scores = np.array(
            [by_pair[(t, p)] for t, p in zip(holdout.talent_ids, holdout.project_ids, strict=True)]
        )
        oracle_metrics = holdout_metrics(holdout, scores)
    hash_scores = None
    rows: list[dict] = []
    for n in sizes:
        sub = data.first_labels(n)
        labelled, _ = training_pairs(sub)
        warm = warm_mask(holdout, labelled)
        served, info = learned_model(sub, config, tuning, log)
        common = {**base, "labels": n, "train_pairs": len(labelled)}
        learned = evaluate_embedder(
            served_embed(served), holdout, data.talents, data.projects, warm=warm
        )
        rows.append({**common, "model": "learned", **_flat(learned), **info})
        if hash_scores is None:
            hash_scores = evaluate_embedder(hash_embed(), holdout, data.talents, data.projects)
        rows.append({**common, "model": "hash", **_flat(hash_scores)})
        popularity = fit_popularity(labelled)
        for kind in KINDS:
            scores = popularity.scores(
                holdout.talent_ids.tolist(), holdout.project_ids.tolist(), kind
            )
            m = holdout_metrics(holdout, scores, warm=warm)
            rows.append({**common, "model": f"popularity_{kind}", **_flat(m)})
        if oracle_metrics is not None:
            rows.append({**common, "model": ORACLE, **oracle_metrics})
        best = max(
            (r for r in rows if r["labels"] == n and r["model"] in BASELINES),
            key=lambda r: r["auc"],
        )
        log(
            f"{n:>6} labels: learned auc {learned['auc']:.4f} r@10 {learned['recall_at_10']:.4f} "
            f"mrr {learned['mrr']:.4f} | best baseline {best['model']} auc {best['auc']:.4f} "
            f"({info['train_seconds']}s, {info['settings']}, {info['best_epoch']} epochs)"
        )
    return rows


def _flat(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Metrics with the warm / cold sub-dicts as warm_auc, cold_auc, ... columns."""
    out = {k: v for k, v in metrics.items() if not isinstance(v, Mapping)}
    for seg in ("warm", "cold"):
        for k, v in (metrics.get(seg) or {}).items():
            if k in ("auc", "labelled_pairs"):
                out[f"{seg}_{k}"] = v
    return out


def _shown_after(data: LabelledData, n: int) -> str:
    labelled = sorted(e.created_at for e in data.exposures if e.label is not None)
    return f"{datetime.fromtimestamp(labelled[n - 1], JST):%Y-%m-%d %H:%M}"


def format_curve(rows: list[dict]) -> str:
    head = f"{'labels':>7}  {'model':<26}" + "".join(f"{m:>14}" for m in METRICS)
    head += f"{'warm auc':>10}{'cold auc':>10}"
    lines = [head, "-" * len(head)]
    for r in rows:
        cells = "".join(f"{r[m]:>14.4f}" for m in METRICS)
        for seg in ("warm_auc", "cold_auc"):
            v = r.get(seg)
            cells += f"{v:>10.4f}" if isinstance(v, float) else f"{'':>10}"
        lines.append(f"{r['labels']:>7}  {r['model']:<26}" + cells)
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

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    styles = {
        "learned": "o-",
        "hash": "s--",
        "popularity_talent": "v:",
        "popularity_project": "^:",
        "popularity_combined": "d-.",
        ORACLE: ":",
    }
    for ax, metric in zip(axes, METRICS, strict=True):
        for model, style in styles.items():
            pts = [(r["labels"], r[metric]) for r in rows if r["model"] == model]
            if pts:
                xs, ys = zip(*pts, strict=True)
                ax.plot(xs, ys, style, label=model)
        ax.set_xscale("log")
        ax.set_xlabel("labels")
        ax.set_title(metric)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
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
            try:
                value = type(current)(text)
            except ValueError as exc:
                raise SystemExit(
                    f"--set {item!r}: {text!r} is not a {type(current).__name__}"
                ) from exc
        changes[name] = value
    config = dataclasses.replace(config, **changes)
    try:
        config.validate()
    except ValueError as exc:
        raise SystemExit(f"--set: {exc}") from exc
    return config


def add_arguments(ap: argparse.ArgumentParser, sizes: tuple[int, ...] = DEFAULT_SIZES) -> None:
    """The options the database and simulated curves share."""
    ap.add_argument("--sizes", default=",".join(map(str, sizes)), help="label counts")
    ap.add_argument("--train-seed", type=int, default=0)
    ap.add_argument("--holdout-labels", type=int, default=DEFAULT_HOLDOUT_LABELS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=REPO / "reports")
    ap.add_argument(
        "--no-tune",
        action="store_true",
        help="train the base settings (with --set) instead of tuning per size",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a TrainConfig field of the base settings (repeatable)",
    )


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted(int(s) for s in text.split(",") if s.strip())
    except ValueError as exc:
        raise SystemExit(f"--sizes {text!r}: expected comma-separated label counts") from exc
    if not sizes or sizes[0] < 10:
        raise SystemExit(f"--sizes {text!r}: every size must be >= 10")
    return sizes


def run(
    args: argparse.Namespace,
    data: LabelledData,
    sizes: list[int],
    source: str,
    oracle: Mapping[int, float] | None = None,
) -> list[dict]:
    """Shared tail of both CLIs: curve, table, files."""
    config = with_overrides(default_train_config(args.train_seed, args.threads), args.set)
    tuning = None if args.no_tune else TuningConfig()
    rows = learning_curve(data, sizes, config, tuning=tuning, oracle=oracle)
    print(format_curve(rows))
    csv_path, png_path = save(rows, args.out, f"two-tower learning curve ({source})")
    print(f"wrote {csv_path} and {png_path}")
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(
        prog="python -m training.learning_curve", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--database", help="read exposures and labels from this database")
    add_arguments(ap)
    args = ap.parse_args(argv)
    sizes = parse_sizes(args.sizes)
    from ses_ops.db import connect, current_database
    from training.retrain import load_labelled_data

    database = args.database or current_database()
    t0 = time.perf_counter()
    with connect(dbname=database) as conn:
        data = load_labelled_data(conn, conn.execute("select now()").fetchone()[0])
    available = data.label_count - args.holdout_labels
    dropped = [n for n in sizes if n > available]
    sizes = [n for n in sizes if n <= available]
    if not sizes:
        raise SystemExit(
            f"{database} has {data.label_count} labels: not enough for "
            f"{args.holdout_labels} held-out labels plus the smallest size"
        )
    if dropped:
        print(f"skipping sizes {dropped}: the database has {data.label_count} labels")
    print(
        f"database {database}: {data.label_count} labels, {len(data.exposures)} exposures "
        f"({time.perf_counter() - t0:.1f}s)"
    )
    return run(args, data, sizes, f"database {database}")


if __name__ == "__main__":
    main()
