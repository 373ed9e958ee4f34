"""Issue #2 benchmark: label marts vs the seed's per-interaction recovery query,
and feedback insert throughput with the outcome trigger vs without it.

    python -m benchmarks.labels_bench [--interactions 1000000] [--feedback 2000000]

Runs in its own database (PGDATABASE + '_bench_labels'), generated in-database
with generate_series so loading takes seconds, then prints ratios.
"""

from __future__ import annotations

import argparse
import threading
import time

from ses_ops.db import connect, current_database
from ses_ops.dbt_runner import run_dbt
from ses_ops.ensure_database import ensure_database

FEEDBACK_TYPES = ["accepted", "rejected", "interview_scheduled", "review_ok", "review_ng",
                  "thumbs_up", "thumbs_down", "no_response"]  # fmt: skip

# The seed's 「正を求めるSQL」, verbatim, as a prepared per-interaction query.
SEED_RECOVERY_QUERY = """
SELECT feedback_type
FROM ses.feedback_events
WHERE interaction_id = $1
  AND is_revoked = false
ORDER BY
  CASE feedback_type
    WHEN 'accepted' THEN 1
    WHEN 'rejected' THEN 2
    WHEN 'interview_scheduled' THEN 3
    WHEN 'review_ok' THEN 4
    WHEN 'review_ng' THEN 4
    WHEN 'thumbs_up' THEN 5
    WHEN 'thumbs_down' THEN 5
    WHEN 'no_response' THEN 6
    ELSE 100
  END ASC,
  created_at DESC
LIMIT 1
"""

LABEL_MARTS = ["interaction_outcomes", "training_pairs", "training_labels", "training_stats"]


def generate(db: str, interactions: int, feedback: int) -> None:
    types = "array[" + ",".join(f"'{t}'" for t in FEEDBACK_TYPES) + "]"
    with connect(dbname=db) as conn:
        conn.execute(
            "truncate ses.feedback_events, ses.interaction_events, ses.conversion_events, "
            "ses.interaction_logs, ses.match_results, ses.match_runs restart identity cascade"
        )
        # Bulk generation bypasses triggers/FKs (replica role); the stored
        # outcomes are then set once, set-based, as the drift repair would.
        conn.execute("set session_replication_role = replica")
        conn.execute(
            f"""
            insert into ses.interaction_logs (talent_id, project_id, match_run_id, two_tower_score,
                two_tower_embedder, two_tower_version, business_score, variant, created_at)
            select (g % 20000) + 1, (g / 200) + 1, 'bench-' || (g / 200), random(), 'hash', 'v2',
                   random(), 'control', timestamptz '2026-01-01 09:00+09' + (g / 200) * interval '1 minute'
            from generate_series(0, {interactions - 1}) as g
            """
        )
        conn.execute(
            f"""
            insert into ses.feedback_events (interaction_id, feedback_type, actor, created_at, is_revoked,
                revoked_at, revoked_by)
            select i, t, 'bench', at, r, case when r then at end, case when r then 'bench' end
            from (
                select (random() * {interactions - 1})::bigint + 1 as i,
                       ({types})[1 + floor(random() * 8)::int] as t,
                       timestamptz '2026-01-01 09:00+09' + random() * interval '60 days' as at,
                       random() < 0.05 as r
                from generate_series(1, {feedback})
            ) as x
            """
        )
        conn.execute(
            "insert into ses.interaction_events (interaction_id, event_type, actor, idempotency_key, created_at) "
            f"select (random() * {interactions - 1})::bigint + 1, "
            "(array['shortlisted','clicked_contact','copied_template','viewed_candidate_detail'])[1 + floor(random() * 4)::int], "
            f"'bench-' || g, 'k' || g, now() from generate_series(1, {interactions // 2}) as g"
        )
        conn.execute(
            "insert into ses.conversion_events (interaction_id, talent_id, project_id, stage, actor, created_at) "
            f"select (random() * {interactions - 1})::bigint + 1, 1, 1, "
            "(array['contacted','entry','interview_scheduled','offer','contract_signed','lost'])[1 + floor(random() * 6)::int], "
            f"'bench', now() from generate_series(1, {interactions // 10}) as g"
        )
        conn.execute("set session_replication_role = origin")
        conn.execute("analyze")
    run_dbt(["run-operation", "repair_outcome_drift"], database=db)


def time_label_marts(db: str) -> dict[str, float]:
    timings = {}
    started = time.perf_counter()
    # the history was bulk-loaded behind the triggers (no change log): rebuild
    # the incremental label tables in full
    run_dbt(
        [
            "build",
            "--full-refresh",
            "--select",
            "+" + " +".join(LABEL_MARTS),
            "--exclude",
            "test_type:data",
        ],
        database=db,
    )
    timings["dbt build --full-refresh (label tables, views, unit tests)"] = (
        time.perf_counter() - started
    )
    with connect(dbname=db) as conn:
        for mart in LABEL_MARTS:
            t0 = time.perf_counter()
            conn.execute(f"create temp table bench_{mart} as select * from ses.{mart}")
            timings[mart] = time.perf_counter() - t0
    return timings


def time_seed_recovery(db: str) -> tuple[float, int]:
    """Run the seed's query once per interaction, inside the server (no round trips)."""
    with connect(dbname=db) as conn:
        n = conn.execute("select count(*) from ses.interaction_logs").fetchone()[0]
        body = SEED_RECOVERY_QUERY.replace("$1", "i.id")
        t0 = time.perf_counter()
        conn.execute(
            f"""
            do $$
            declare i record; v text;
            begin
                for i in select id from ses.interaction_logs loop
                    {body.strip()} into v;
                end loop;
            end $$;
            """.replace("SELECT feedback_type\n", "SELECT feedback_type ", 1)
        )
        return time.perf_counter() - t0, n


def insert_throughput(
    db: str, table: str, connections: int, rows_per_connection: int, batch: int
) -> float:
    """Rows per second of single-row INSERTs into `table`, committing every `batch` rows."""
    with connect(dbname=db) as conn:
        max_id = conn.execute("select max(id) from ses.interaction_logs").fetchone()[0]

    def work(worker: int) -> None:
        with connect(dbname=db, autocommit=batch == 1) as conn:
            for n in range(rows_per_connection):
                conn.execute(
                    f"insert into {table} (interaction_id, feedback_type, actor) values (%s, %s, 'bench')",
                    (1 + (worker * 7919 + n * 104729) % max_id, FEEDBACK_TYPES[n % 7]),
                    prepare=True,
                )
                if batch > 1 and (n + 1) % batch == 0:
                    conn.commit()
            if batch > 1:
                conn.commit()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return connections * rows_per_connection / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--feedback", type=int, default=2_000_000)
    parser.add_argument("--insert-rows", type=int, default=5000, help="rows per connection")
    args = parser.parse_args(argv)

    db = current_database() + "_bench_labels"
    ensure_database(db)
    run_dbt(["build", "--exclude", "test_type:data"], database=db)
    t0 = time.perf_counter()
    generate(db, args.interactions, args.feedback)
    print(
        f"generated {args.interactions:,} interactions, {args.feedback:,} feedback events "
        f"in {time.perf_counter() - t0:.1f}s (database {db})"
    )

    marts = time_label_marts(db)
    total = sum(v for k, v in marts.items() if k in LABEL_MARTS)
    for name, seconds in marts.items():
        print(f"  {name:<32} {seconds:8.2f}s")
    print(f"label marts, full results materialised: {total:.2f}s")
    baseline, n = time_seed_recovery(db)
    print(f"seed recovery query x {n:,} interactions (PL/pgSQL loop): {baseline:.2f}s")
    print(
        f"RATIO reading interaction_outcomes (one outcome per interaction) vs recovery loop: "
        f"{baseline / marts['interaction_outcomes']:.1f}x faster"
    )
    print(
        f"RATIO reading all four label marts vs recovery loop (outcomes only): {baseline / total:.2f}x"
    )
    print("(from scratch and incremental builds: python -m benchmarks.scale_bench)")

    with connect(dbname=db) as conn:
        conn.execute("drop table if exists public.feedback_events_plain")
        conn.execute(
            "create table public.feedback_events_plain (like ses.feedback_events including all)"
        )
        conn.execute(
            "alter table public.feedback_events_plain add foreign key (interaction_id) "
            "references ses.interaction_logs (id)"
        )
    for batch, label in ((1, "autocommit per row"), (500, "commit every 500 rows")):
        for connections in (1, 4):
            with_trigger = insert_throughput(
                db, "ses.feedback_events", connections, args.insert_rows, batch
            )
            plain = insert_throughput(
                db, "public.feedback_events_plain", connections, args.insert_rows, batch
            )
            print(
                f"feedback inserts, {connections} conn, {label}: trigger {with_trigger:,.0f} rows/s, "
                f"plain {plain:,.0f} rows/s -> RATIO trigger overhead {plain / with_trigger:.2f}x"
            )


if __name__ == "__main__":
    main()
