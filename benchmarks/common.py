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

# The same tokens packed for ses.embed_tower_packed (formats in ses_udf.packed):
# ids int8send, per-talent token counts int4send, NUL-joined UTF-8 tokens, float8send
# weights, each aggregate in (talent, token position) order.
TOKEN_PACKED = r"""
    create temp table bench_token_packed as
    select
        (
            select string_agg(int8send(talent_id), ''::bytea order by talent_id)
            from ses_staging.stg_ses__talents
        ) as ids,
        (
            select string_agg(int4send(c.n), ''::bytea order by c.talent_id)
            from (
                select s.talent_id, count(t.entity_id)::int as n
                from ses_staging.stg_ses__talents as s
                left join ses_intermediate.int_talent_tokens as t on t.entity_id = s.talent_id
                group by s.talent_id
            ) as c
        ) as counts,
        string_agg(convert_to(token, 'UTF8'), '\x00'::bytea order by entity_id, token_position)
            as tokens,
        string_agg(float8send(weight), ''::bytea order by entity_id, token_position) as weights
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
