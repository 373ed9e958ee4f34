"""`make bench`: every benchmark in turn (each prints its ratios)."""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHMARKS = [
    "benchmarks.labels_bench",
    "benchmarks.two_tower_bench",
    "benchmarks.learned_bench",
    "benchmarks.write_path_bench",
    "benchmarks.scale_bench",  # 1M / 10M logs, 100k / 1M talents: hours on 2 cores
]


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m benchmarks.run_all", description=__doc__).parse_args(
        argv
    )
    for name in BENCHMARKS:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(name).main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
