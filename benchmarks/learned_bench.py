"""Benchmarks of the learned two-tower in the database: in-DB vs in-process, Candle vs ONNX.

    python -m benchmarks.learned_bench [--talents 100000] [--model-labels 5000]

Runs in its own database (PGDATABASE + '_bench_learn'). A model is trained on labels of
the simulated market (simulator.offline: the market driving the real system in a
scratch database) and activated in ses.model_registry; talents come from the
simulator's generator (COPY). Each figure is printed beside its baseline measured in
the same run:

1. in-DB ONNX batch inference: ses.embed_tower_packed_rows('onnx', ..., 'talent', ...)
   (packed bytea arguments, ses_udf.packed) over all talents in one call, vs the same
   embedder code (onnxruntime, same bytes, one intra-op thread each) in this process
   on the same tokens as arrays already in memory -> talents/s and RATIO; the array
   path ses.embed_tower_batch is printed beside it;
2. Candle vs ONNX on the same encoded batch (in-process, and in-DB) -> RATIO and the
   max abs difference of the outputs.

The retrain job's own cost (self-tuning, refit) is benchmarks.retrain_bench.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from datetime import datetime

import numpy as np
from psycopg.types.json import Jsonb
from ses_udf import learned_tower as lt
from ses_udf import model_store
from ses_udf.embedders import create_embedder
from ses_udf.hash_tower import embedding_rows, group_tokens

from benchmarks.common import TOKEN_ARRAYS, TOKEN_PACKED, best_of, copy_rows
from ses_ops.db import connect, current_database
from ses_ops.dbt_runner import run_dbt
from ses_ops.ensure_database import ensure_database
from simulator import TALENT_COLUMNS, WorldConfig, generate_talents
from simulator.offline import OfflineConfig, simulate
from simulator.world import JST
from training.dataset import split_data
from training.export import build_artifacts
from training.retrain import default_train_config
from training.split import split_by_time
from training.train import train

SEED = 20250401


def deploy_model(db: str, labels: int) -> str:
    """Train on simulated labels (same market seed as the talents) and activate it."""
    data, _, _ = simulate(OfflineConfig(n_labels=labels, seed=SEED))
    window = split_by_time(split_data(data).train, 0.1)
    config = dataclasses.replace(default_train_config(0, 2), identity_tokens=True)
    result = train(window.train, window.valid, data.talents, data.projects, config)
    artifacts = build_artifacts(result.model, "20250401")
    with connect(dbname=db) as conn, conn.transaction():
        conn.execute("delete from ses.model_registry")
        conn.execute(
            "insert into ses.model_registry (version, status, trained_at, labeled_count, "
            "metadata, onnx_model, candle_weights, reason) "
            "values (%s, 'candidate', now(), %s, %s, %s, %s, 'benchmark')",
            (
                artifacts.version,
                data.label_count,
                Jsonb(artifacts.metadata),
                artifacts.onnx,
                artifacts.safetensors,
            ),
        )
        conn.execute("select ses.activate_model(%s)", (artifacts.version,))
    sizes = f"onnx {len(artifacts.onnx) / 1e6:.1f} MB, safetensors {len(artifacts.safetensors) / 1e6:.1f} MB"
    print(f"model {artifacts.version}: {data.label_count} simulated labels, {sizes}")
    return artifacts.version


def load_talents(db: str, n: int) -> None:
    rng = np.random.default_rng(7)
    window = (datetime(2025, 1, 1, tzinfo=JST), datetime(2025, 4, 1, tzinfo=JST))
    rows = generate_talents(rng, n, updated_between=window, config=WorldConfig(seed=SEED))
    with connect(dbname=db) as conn:
        conn.execute("truncate ses.talents cascade")
        copy_rows(conn, "ses.talents", rows, TALENT_COLUMNS)
        conn.execute("analyze ses.talents")


def bench_inference(db: str) -> None:
    with connect(dbname=db) as conn:
        conn.execute(TOKEN_ARRAYS)
        conn.execute(TOKEN_PACKED)
        conn.execute("create temp table bench_out (entity_id bigint, embedding bytea)")

        def fetch() -> tuple:
            return conn.execute("select * from bench_token_arrays").fetchone()

        ids, owners, tokens, weights = fetch()
        n = len(ids)

        def embed_sql(backend: str, packed: bool = True) -> str:
            if packed:
                return (
                    "select b.* from bench_token_packed as a, lateral ses.embed_tower_packed_rows("
                    f"'{backend}', 256, 'talent', a.ids, a.counts, a.tokens, a.weights) as b"
                )
            return (
                "select b.* from bench_token_arrays as a, lateral ses.embed_tower_batch("
                f"'{backend}', 256, 'talent', a.ids, a.owners, a.tokens, a.weights) as b"
            )

        def in_db(backend: str, packed: bool = True) -> str:
            return f"select count(*) from ({embed_sql(backend, packed)}) as e"

        conn.execute(in_db("onnx"))  # warm: imports and loads the model in this backend
        db_onnx = best_of(3, lambda: conn.execute(in_db("onnx")).fetchone())
        db_onnx_arrays = best_of(3, lambda: conn.execute(in_db("onnx", packed=False)).fetchone())
        conn.execute(in_db("candle"))
        db_candle = best_of(2, lambda: conn.execute(in_db("candle")).fetchone())

        def sql_embeddings(packed: bool) -> list[bytes]:
            rows = conn.execute(f"{embed_sql('onnx', packed)} order by b.entity_id").fetchall()
            return [bytes(r[1]) for r in rows]

        sql_packed = sql_embeddings(packed=True)
        same_bits = sql_packed == sql_embeddings(packed=False)
        sql_matrix = np.frombuffer(b"".join(sql_packed), dtype="<f4").reshape(n, -1)

        model_store.clear()
        handle = model_store.PsycopgDb(conn)
        onnx = create_embedder("onnx", 256, handle)
        candle = create_embedder("candle", 256, handle)

        # Compute only: the UDF's work on arrays already in this process. Fresh lists
        # for every run (as the database gets): reused str objects keep their hashes.
        times = []
        for _ in range(3):
            ids, owners, tokens, weights = fetch()
            t0 = time.perf_counter()
            out_ids, matrix = onnx.embed_batch(ids, owners, tokens, weights, side="talent")
            embedding_rows(out_ids, matrix)
            times.append(time.perf_counter() - t0)
        local = min(times)

        # End to end: the embeddings written to a table, in the database (one statement)
        # or by a client (fetch the arrays, embed, COPY the rows back).
        def db_write(packed: bool = True) -> None:
            conn.execute("truncate bench_out")
            conn.execute(f"insert into bench_out {embed_sql('onnx', packed)}")

        def client_write() -> None:
            conn.execute("truncate bench_out")
            i, o, t, w = fetch()
            out_ids, matrix = onnx.embed_batch(i, o, t, w, side="talent")
            with conn.cursor() as cur, cur.copy("copy bench_out from stdin") as cp:
                for row in embedding_rows(out_ids, matrix):
                    cp.write_row(row)

        db_e2e = best_of(2, db_write)
        db_e2e_arrays = best_of(2, lambda: db_write(packed=False))
        client_e2e = best_of(2, client_write)
    print(f"in-DB ONNX batch inference, {n:,} talents ({len(tokens):,} tokens), one call:")
    print(
        f"  in-DB packed (embed_tower_packed_rows) {n / db_onnx:,.0f} talents/s ({db_onnx:.2f}s); "
        f"in-process onnxruntime, same embedder and bytes, arrays already in memory "
        f"{n / local:,.0f} talents/s ({local:.2f}s) -> RATIO in-DB / in-process "
        f"{local / db_onnx:.2f} (target >= 0.7)"
    )
    print(
        f"  in-DB arrays (embed_tower_batch, before) {n / db_onnx_arrays:,.0f} talents/s "
        f"({db_onnx_arrays:.2f}s) -> RATIO in-DB arrays / in-process {local / db_onnx_arrays:.2f}; "
        f"packed / arrays speed-up {db_onnx_arrays / db_onnx:.2f}x; packed == arrays bit for bit: "
        f"{'yes' if same_bits else 'NO'}"
    )
    print(
        f"  end to end into a table: in-DB packed {n / db_e2e:,.0f} talents/s ({db_e2e:.2f}s), "
        f"in-DB arrays {n / db_e2e_arrays:,.0f} talents/s ({db_e2e_arrays:.2f}s); client "
        f"(fetch arrays + embed + COPY back) {n / client_e2e:,.0f} talents/s ({client_e2e:.2f}s) "
        f"-> RATIO in-DB / client {client_e2e / db_e2e:.2f}"
    )

    # Candle vs ONNX on one encoded batch (encoding excluded: it is shared code).
    _, rows, token_list, w32 = group_tokens(ids, owners, tokens, weights)
    order = np.argsort(rows, kind="stable")
    encoded_ids = lt.token_ids(token_list)[order]
    counts = np.bincount(rows, minlength=n)
    offsets = np.zeros(n, dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    w = w32[order]
    outs = {}
    secs = {}
    for name, emb in (("onnx", onnx), ("candle", candle)):
        emb.model.embed_encoded("talent", encoded_ids, offsets, w)  # warm
        secs[name] = best_of(
            2,
            lambda emb=emb: outs.__setitem__(
                emb.name, emb.model.embed_encoded("talent", encoded_ids, offsets, w)
            ),
        )
    diff = float(np.abs(outs["candle"] - outs["onnx"]).max())
    print(f"Candle vs ONNX, the same {n:,} encoded talents, in-process:")
    print(
        f"  onnx {n / secs['onnx']:,.0f} talents/s ({secs['onnx']:.2f}s), candle "
        f"{n / secs['candle']:,.0f} talents/s ({secs['candle']:.2f}s) -> RATIO candle / onnx "
        f"{secs['onnx'] / secs['candle']:.2f}; max |candle - onnx| = {diff:.2e}"
    )
    print(
        f"  in-DB: onnx {n / db_onnx:,.0f}/s, candle {n / db_candle:,.0f}/s -> RATIO "
        f"{db_onnx / db_candle:.2f}; max |in-DB onnx - in-process onnx| = "
        f"{float(np.abs(sql_matrix - outs['onnx']).max()):.2e}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--talents", type=int, default=100_000)
    parser.add_argument("--model-labels", type=int, default=5_000)
    args = parser.parse_args(argv)

    db = current_database() + "_bench_learn"
    ensure_database(db, recreate=True)
    run_dbt(["build", "--exclude", "test_type:data"], database=db)
    deploy_model(db, args.model_labels)
    t0 = time.perf_counter()
    load_talents(db, args.talents)
    print(f"loaded {args.talents:,} talents in {time.perf_counter() - t0:.1f}s")
    bench_inference(db)


if __name__ == "__main__":
    main()
