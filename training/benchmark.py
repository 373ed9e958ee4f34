"""Benchmarks: training seconds per epoch and ONNX vs Candle inference throughput.

    python -m training.benchmark [--pairs 100000] [--talents 100000] [--threads 2]

Synthetic data (training.synthetic); prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
from ses_udf import learned_tower as lt

from training.export import export_model
from training.split import split_by_project
from training.synthetic import make_synthetic
from training.train import TrainConfig, train


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pairs", type=int, default=100_000, help="training pairs (approx.)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--talents", type=int, default=100_000, help="talents to embed")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--contrastive", default=None)
    args = ap.parse_args(argv)

    per_project = 50
    n_projects = max(10, round(args.pairs / 0.8 / per_project))
    pairs, talents, projects = make_synthetic(
        max(1000, n_projects * 2), n_projects, per_project, seed=7
    )
    split = split_by_project(pairs)
    cfg = TrainConfig(
        epochs=args.epochs,
        patience=args.epochs,
        num_threads=args.threads,
        contrastive=args.contrastive,
    )
    result = train(split.train, split.valid, talents, projects, cfg)
    report: dict = {
        "train_pairs": len(split.train),
        "valid_pairs": len(split.valid),
        "threads": args.threads,
        "contrastive": args.contrastive,
        "train_seconds_per_epoch": [round(h["train_seconds"], 2) for h in result.history],
        "epoch_seconds_incl_eval": round(result.seconds_per_epoch, 2),
        "valid": result.best_metrics,
    }

    rng = np.random.Generator(np.random.PCG64(1))
    keys = list(talents)
    bags = [talents[keys[i]] for i in rng.integers(0, len(keys), args.talents)]
    with tempfile.TemporaryDirectory() as d:
        export_model(result.model, d, "bench")
        t0 = time.perf_counter()
        ids, offsets, weights = lt.encode(bags)
        report["encode_seconds"] = round(time.perf_counter() - t0, 2)
        for backend in ("onnx", "candle"):
            kwargs = {"intra_op_threads": args.threads} if backend == "onnx" else {}
            t0 = time.perf_counter()
            tower = lt.load_towers(f"{d}/two_tower_bench.json", backend, **kwargs)["talent"]
            report[f"{backend}_load_seconds"] = round(time.perf_counter() - t0, 2)
            t0 = time.perf_counter()
            out = tower.embed_encoded(ids, offsets, weights)
            secs = time.perf_counter() - t0
            report[f"{backend}_embed_seconds"] = round(secs, 2)
            report[f"{backend}_talents_per_second"] = round(len(bags) / secs)
            report[f"{backend}_checksum"] = float(np.abs(out).sum())
    print(json.dumps(report, indent=2, default=str))
    return report


if __name__ == "__main__":
    main()
