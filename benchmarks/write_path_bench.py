"""What the write path's checks cost: ses.record_feedback / ses.record_feedback_batch
(parse, lock, validate, write, outcome trigger) against a bare INSERT of the same
rows into ses.feedback_events (the trigger still fires), measured in the same run.

    python -m benchmarks.write_path_bench [--calls 2000] [--batch 1000] [--batches 10]

Runs in its own database (PGDATABASE + '_bench_write_path', recreated and built).
Prints rows/s and the ratio bare / write path for single calls (one round trip
each, autocommit) and for batches.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from ses_ops.db import connect, current_database
from ses_ops.dbt_runner import run_dbt
from ses_ops.ensure_database import ensure_database

KINDS = ["thumbs_up", "thumbs_down", "review_ok", "review_ng", "interview_scheduled"]


def setup(db: str, interactions: int) -> list[int]:
    ensure_database(db, recreate=True)
    run_dbt(["seed"], database=db)  # migrations, access and the seeds the checks read
    with connect(dbname=db) as conn:
        conn.execute("insert into ses.projects (id) values (1)")
        conn.execute(
            "insert into ses.talents (id) select g from generate_series(1, %s) as g",
            (interactions,),
        )
        conn.execute(
            "select ses.log_match_run(1, (select jsonb_agg(jsonb_build_object('talent_id', g, 'rank', g)) "
            "from generate_series(1, %s) as g))",
            (interactions,),
        )
        return [r[0] for r in conn.execute("select id from ses.interaction_logs order by id")]


def rows_for(interactions: list[int], n: int, offset: int) -> list[dict]:
    return [
        {"interaction_id": interactions[(offset + i) % len(interactions)],
         "feedback_type": KINDS[(offset + i) % len(KINDS)], "actor": "bench@example.jp"}
        for i in range(n)
    ]  # fmt: skip


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--interactions", type=int, default=500)
    args = parser.parse_args(argv)
    db = f"{current_database()}_bench_write_path"
    interactions = setup(db, args.interactions)
    single = rows_for(interactions, args.calls, 0)
    batches = [rows_for(interactions, args.batch, b * args.batch) for b in range(args.batches)]
    with connect(dbname=db) as conn:

        def single_function():
            for r in single:
                conn.execute(
                    "select ses.record_feedback(%s, %s, %s)",
                    (r["interaction_id"], r["feedback_type"], r["actor"]),
                )

        def single_bare():
            for r in single:
                conn.execute(
                    "insert into ses.feedback_events (interaction_id, feedback_type, actor) values (%s, %s, %s)",
                    (r["interaction_id"], r["feedback_type"], r["actor"]),
                )

        def batch_function():
            for rows in batches:
                conn.execute("select ses.record_feedback_batch(%s::jsonb)", (json.dumps(rows),))

        def batch_bare():
            for rows in batches:
                conn.execute(
                    "insert into ses.feedback_events (interaction_id, feedback_type, actor) "
                    "select (e ->> 'interaction_id')::bigint, e ->> 'feedback_type', e ->> 'actor' "
                    "from jsonb_array_elements(%s::jsonb) as e",
                    (json.dumps(rows),),
                )

        # alternate the two sides so machine load hits both alike
        totals = {
            "single_function": 0.0,
            "single_bare": 0.0,
            "batch_function": 0.0,
            "batch_bare": 0.0,
        }
        for _ in range(2):
            for name, fn in (("single_function", single_function), ("single_bare", single_bare),
                             ("batch_function", batch_function), ("batch_bare", batch_bare)):  # fmt: skip
                totals[name] += timed(fn)
        n_single, n_batch = 2 * args.calls, 2 * args.batch * args.batches
    print(f"write path vs bare INSERT (same rows, outcome trigger on both; database {db})")
    for kind, n in (("single calls", n_single), ("batches", n_batch)):
        key = "single" if kind == "single calls" else "batch"
        fn_rate, bare_rate = n / totals[f"{key}_function"], n / totals[f"{key}_bare"]
        print(f"  {kind:12s}: write path {fn_rate:8.0f} rows/s, bare INSERT {bare_rate:8.0f} rows/s, "
              f"ratio {bare_rate / fn_rate:.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
