"""Issue #3 benchmarks: in-database hash embeddings, batch scoring, match-run latency.

    python -m benchmarks.two_tower_bench [--talents 100000] [--score-talents 20000] [--projects 2000]

Runs in its own database (PGDATABASE + '_bench_tt'); talents and projects come
from the simulator's generator (COPY). Each figure is printed beside its
baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime

import numpy as np
from ses_udf.embedders import create_embedder
from ses_udf.hash_tower import vector_to_bytes
from ses_udf.scoring import similarity_score_matrix, top_k_per_row

from benchmarks.common import TOKEN_ARRAYS, TOKEN_PACKED, best_of, copy_rows
from ses_ops.db import connect, current_database
from ses_ops.dbt_runner import run_dbt
from ses_ops.ensure_database import ensure_database
from simulator import (
    PROJECT_COLUMNS,
    TALENT_COLUMNS,
    WorldConfig,
    generate_projects,
    generate_talents,
)
from simulator.world import JST

DIMENSION = 256


def load_world(db: str, talents: int, projects: int, first_talent: int = 1) -> None:
    rng = np.random.default_rng(7 + first_talent)
    window = (datetime(2026, 1, 1, tzinfo=JST), datetime(2026, 6, 1, tzinfo=JST))
    config = WorldConfig(seed=7)
    with connect(dbname=db) as conn:
        copy_rows(
            conn,
            "ses.talents",
            generate_talents(
                rng, talents, first_id=first_talent, updated_between=window, config=config
            ),
            TALENT_COLUMNS,
        )
        if projects:
            copy_rows(
                conn,
                "ses.projects",
                generate_projects(rng, projects, first_id=1, updated_between=window, config=config),
                PROJECT_COLUMNS,
            )
        conn.execute("analyze ses.talents; analyze ses.projects")


def bench_embeddings(db: str) -> None:
    with connect(dbname=db) as conn:
        conn.execute(TOKEN_ARRAYS)
        conn.execute(TOKEN_PACKED)
        ids, owners, tokens, weights = conn.execute("select * from bench_token_arrays").fetchone()
        packed_sql = (
            "select count(*) from bench_token_packed as a, lateral ses.embed_tower_packed_rows("
            f"'hash', {DIMENSION}, 'talent', a.ids, a.counts, a.tokens, a.weights)"
        )
        arrays_sql = (
            "select count(*) from bench_token_arrays as a, "
            f"lateral ses.embed_batch('hash', {DIMENSION}, a.ids, a.owners, a.tokens, a.weights)"
        )
        conn.execute(packed_sql)  # warm: imports numpy and the UDF module in this backend
        in_db = best_of(3, lambda: conn.execute(packed_sql).fetchone())
        in_db_arrays = best_of(3, lambda: conn.execute(arrays_sql).fetchone())

    def in_process() -> None:
        embedder = create_embedder("hash", DIMENSION)
        out_ids, matrix = embedder.embed_batch(ids, owners, tokens, weights)
        [(int(i), vector_to_bytes(v)) for i, v in zip(out_ids, matrix, strict=True)]

    in_process()
    local = best_of(3, in_process)
    n = len(ids)
    print(
        f"hash embeddings, {n:,} talents ({len(tokens):,} tokens): in-DB packed "
        f"(embed_tower_packed_rows) {n / in_db:,.0f}/s ({in_db:.2f}s), in-process {n / local:,.0f}/s "
        f"({local:.2f}s) -> RATIO in-DB / in-process {local / in_db:.2f}"
    )
    print(
        f"  in-DB arrays (embed_batch, before) {n / in_db_arrays:,.0f}/s ({in_db_arrays:.2f}s) -> "
        f"RATIO in-DB arrays / in-process {local / in_db_arrays:.2f}; packed / arrays speed-up "
        f"{in_db_arrays / in_db:.2f}x"
    )
    t0 = time.perf_counter()
    run_dbt(["build", "--select", "talent_embeddings", "--exclude", "test_type:data"], database=db)
    print(
        f"  dbt build -s talent_embeddings (tokenize + embed + write cache, {n:,} stale talents): "
        f"{time.perf_counter() - t0:.1f}s"
    )


def bench_scoring(db: str, top_k: int) -> None:
    run_dbt(
        [
            "build",
            "--select",
            "talent_embeddings",
            "project_embeddings",
            "--exclude",
            "test_type:data",
        ],
        database=db,
    )
    with connect(dbname=db) as conn:
        n_projects, n_talents = conn.execute(
            "select (select count(*) from ses.project_embeddings), (select count(*) from ses.talent_embeddings)"
        ).fetchone()
        pairs = n_projects * n_talents
        topk_sql = (
            f"select count(*) from ses.two_tower_score_matrix('hash', {DIMENSION}, null, {top_k})"
        )
        t0 = time.perf_counter()
        conn.execute(topk_sql).fetchone()
        cold = time.perf_counter() - t0
        in_db_topk = best_of(2, lambda: conn.execute(topk_sql).fetchone())
        all_sql = (
            f"select count(*) from ses.two_tower_score_matrix('hash', {DIMENSION}, null, null)"
        )
        in_db_all = best_of(1, lambda: conn.execute(all_sql).fetchone())

        def load(table: str, id_col: str) -> tuple[np.ndarray, np.ndarray]:
            rows = conn.execute(
                f"select {id_col}, embedding from {table} order by {id_col}"
            ).fetchall()
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            return ids, np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(
                len(rows), DIMENSION
            )

        _, projects = load("ses.project_embeddings", "project_id")
        talent_ids, talents = load("ses.talent_embeddings", "talent_id")

    def numpy_matmul() -> None:
        projects @ talents.T

    def numpy_topk() -> None:
        chunk = max(1, 4_000_000 // len(talent_ids))
        for start in range(0, len(projects), chunk):
            top_k_per_row(
                similarity_score_matrix(projects[start : start + chunk], talents), talent_ids, top_k
            )

    matmul = best_of(3, numpy_matmul)
    local_topk = best_of(2, numpy_topk)
    print(f"scoring {n_projects:,} projects x {n_talents:,} talents = {pairs:,} pairs")
    print(
        f"  in-DB, top {top_k} per project: {pairs / in_db_topk / 1e6:,.1f}M pairs/s ({in_db_topk:.2f}s; "
        f"cold backend incl. cache load {cold:.2f}s)"
    )
    print(
        f"  in-DB, every pair returned as a row: {pairs / in_db_all / 1e6:,.2f}M pairs/s ({in_db_all:.2f}s)"
    )
    print(
        f"  numpy, same scoring + top {top_k} in-process: {pairs / local_topk / 1e6:,.1f}M pairs/s ({local_topk:.2f}s)"
    )
    print(f"  numpy, bare matrix product: {pairs / matmul / 1e6:,.1f}M pairs/s ({matmul:.2f}s)")
    print(
        f"  RATIO in-DB top-{top_k} / numpy matrix product: {matmul / in_db_topk:.2f}; "
        f"/ numpy same scoring: {local_topk / in_db_topk:.2f}"
    )


def bench_match_runs(db: str, runs: int) -> None:
    with connect(dbname=db) as conn:
        n_talents = conn.execute("select count(*) from ses.talent_embeddings").fetchone()[0]
        next_id = conn.execute("select coalesce(max(id), 0) + 1 from ses.projects").fetchone()[0]
        rng = np.random.default_rng(11)
        window = (datetime(2026, 7, 1, tzinfo=JST), datetime(2026, 7, 2, tzinfo=JST))
        projects = generate_projects(rng, runs + 1, first_id=next_id, updated_between=window)
        latencies, shown = [], []
        for i, project in enumerate(projects):
            copy_rows(conn, "ses.projects", [project], PROJECT_COLUMNS)  # created a moment ago
            t0 = time.perf_counter()
            run_id = conn.execute("select ses.run_match(%s, 20)", (project["id"],)).fetchone()[0]
            elapsed = time.perf_counter() - t0
            if i == 0:
                cold = elapsed  # loads the talent matrix into this backend
                continue
            latencies.append(elapsed * 1000)
            shown.append(
                conn.execute(
                    "select count(*) from ses.interaction_logs where match_run_id = %s", (run_id,)
                ).fetchone()[0]
            )
    q = statistics.quantiles(latencies, n=20)
    print(
        f"match run, new project vs {n_talents:,} cached talents, top 20 ({len(latencies)} runs, mean "
        f"{statistics.mean(shown):.1f} shown): p50 {statistics.median(latencies):.0f} ms, p95 {q[18]:.0f} ms "
        f"(target p95 < 200 ms); first call in a fresh backend {cold * 1000:.0f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--talents", type=int, default=100_000)
    parser.add_argument("--score-talents", type=int, default=20_000)
    parser.add_argument("--projects", type=int, default=2_000)
    parser.add_argument("--top-k", type=int, default=100)
    parser.add_argument("--match-runs", type=int, default=60)
    args = parser.parse_args(argv)

    db = current_database() + "_bench_tt"
    ensure_database(db, recreate=True)
    run_dbt(["build", "--exclude", "test_type:data"], database=db)
    t0 = time.perf_counter()
    load_world(db, args.score_talents, args.projects)
    print(
        f"loaded {args.score_talents:,} talents + {args.projects:,} projects in {time.perf_counter() - t0:.1f}s"
    )
    bench_scoring(db, args.top_k)
    load_world(db, args.talents - args.score_talents, 0, first_talent=args.score_talents + 1)
    with connect(dbname=db) as conn:
        conn.execute("truncate ses.talent_embeddings")
    bench_embeddings(db)
    bench_match_runs(db, args.match_runs)


if __name__ == "__main__":
    main()
