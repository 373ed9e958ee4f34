"""The retrain job at volume: self-tuning + refit on ~100k labels, against one training
run with fixed settings (the retrain before self-tuning) measured in the same run.

    python -m benchmarks.retrain_bench [--labels 100000] [--database NAME] [--reuse]

1. Loads a simulated market with enough history for ``--labels`` R-11 labels into its
   own database (``<PGDATABASE>_bench_retrain``, recreated unless ``--reuse``) with
   ``python -m simulator.load`` (top 20 displayed per run, every project re-matched
   every three days);
2. times ``training.retrain.retrain`` with its defaults (load, split, tuning grid,
   candidate on the training window, export + verification, held-out evaluation of
   the candidate and every baseline, gate, refit on every mature label, export,
   registry) on ``--threads`` threads;
3. times one training run of the base settings with early stopping on the same
   training window (what the job did per retrain before it tuned itself), and prints
   the ratio.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ses_ops.db import connect, current_database
from training import retrain as rt
from training.dataset import split_data
from training.split import split_by_time
from training.train import train

# Displayed pairs label in the loaded market (top 20 lists), with margin.
PAIRS_PER_LABEL = 6.0


def load(database: str, labels: int) -> None:
    interactions = int(labels * PAIRS_PER_LABEL)
    cmd = [
        sys.executable,
        "-m",
        "simulator.load",
        "--database",
        database,
        "--talents",
        "5000",
        "--projects",
        str(max(2000, interactions // 60)),
        "--interactions",
        str(interactions),
        "--top-k",
        "20",
    ]
    print(" ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", type=int, default=100_000)
    ap.add_argument("--database", help="default: <PGDATABASE>_bench_retrain")
    ap.add_argument("--reuse", action="store_true", help="keep the database if it has the labels")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    database = args.database or f"{current_database()}_bench_retrain"
    if not args.reuse:
        load(database, args.labels)
    with connect(dbname=database) as conn:
        now = conn.execute("select max(created_at) + interval '30 days' from ses.interaction_logs")
        as_of = now.fetchone()[0]
        conn.execute("delete from ses.model_registry")
        config = rt.RetrainConfig(
            train=rt.default_train_config(0, args.threads),
            model_dir=Path(tempfile.mkdtemp(prefix="retrain_bench_")),
            label_maturity_days=0.0,
        )
        t0 = time.perf_counter()
        report = rt.retrain(conn, config, as_of=as_of)
        tuned = time.perf_counter() - t0
        data = rt.load_labelled_data(conn, as_of)
    print(f"retrain: {report.status} ({report.reason})")
    print(
        f"  {report.snapshot['label_count']:,} labels, training window "
        f"{report.split['train_pairs']:,} pairs, held out {report.split['holdout_labelled_pairs']:,} "
        f"labelled of {report.split['holdout_candidates']:,} candidates"
    )
    print(
        "  phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in report.seconds.items() if k != "total")
    )
    split = split_data(data)
    inner = split_by_time(split.train, 0.1)
    base = dataclasses.replace(rt.default_train_config(0, args.threads), patience=10)
    t1 = time.perf_counter()
    single = train(inner.train, inner.valid, data.talents, data.projects, base)
    fixed = time.perf_counter() - t1
    print(
        f"retrain with self-tuning + refit: {tuned:.1f}s wall on {args.threads} threads "
        f"(target <= 300s: {'met' if tuned <= 300 else 'NOT met'})"
    )
    print(
        f"one fixed-settings training with early stopping on the same window: {fixed:.1f}s "
        f"({len(single.history)} epochs) -> RATIO self-tuned retrain / fixed training "
        f"{tuned / fixed:.1f}"
    )


if __name__ == "__main__":
    main()
