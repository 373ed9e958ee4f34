"""Helpers shared by the benchmarks."""

from __future__ import annotations

import io
import time

from simulator import copy_statement, write_copy

# Every talent's tokens as the flattened arrays the batch embedders take.
TOKEN_ARRAYS = """
    create temp table bench_token_arrays as
    select
        (select array_agg(talent_id order by talent_id) from ses_staging.stg_ses__talents) as ids,
        array_agg(entity_id order by entity_id, token_position) as owners,
        array_agg(token order by entity_id, token_position) as tokens,
        array_agg(weight order by entity_id, token_position) as weights
    from ses_intermediate.int_talent_tokens
"""


def best_of(n: int, fn) -> float:
    """Fastest of n runs, in seconds."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def copy_rows(conn, table: str, rows: list[dict], columns: list[str]) -> None:
    """COPY rows (R-01 dicts) into table."""
    buf = io.StringIO()
    write_copy(rows, columns, buf)
    with conn.cursor() as cur, cur.copy(copy_statement(table, columns)) as copy:
        copy.write(buf.getvalue())
