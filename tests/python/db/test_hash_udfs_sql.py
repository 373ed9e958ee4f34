"""The hash-tower dbt functions in schema ses, called through SQL, against the golden bits.

Needs `dbt build --select "resource_type:function"` on the database named by the PG*
env vars, and the server's copy of ses_udf synced (scripts/localdb.sh sync).
An unreachable database fails these tests; nothing is skipped.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import psycopg
import pytest

from ses_ops.db import connect

pytestmark = pytest.mark.db

GOLDEN = json.loads(
    (Path(__file__).parents[1] / "golden" / "hash_v2_golden.json").read_text(encoding="utf-8")
)
ENTITIES = GOLDEN["entities"]
BY_KEY = {e["key"]: e for e in ENTITIES}
DIMENSIONS = GOLDEN["dimensions"]
FUNCTIONS = ("hash_embed", "hash_embed_batch", "two_tower_similarity", "embedding_to_array")


def golden_bytes(entity: dict, d: int) -> bytes:
    return b"".join(struct.pack("<I", int(h, 16)) for h in entity["embeddings"][str(d)])


def f32_from_bits(hex_bits: str) -> float:
    return struct.unpack("<f", struct.pack("<I", int(hex_bits, 16)))[0]


def golden_floats(entity: dict, d: int) -> list[float]:
    return [f32_from_bits(h) for h in entity["embeddings"][str(d)]]


def tokens_of(entity: dict) -> tuple[list[str], list[float]]:
    return [t["token"] for t in entity["tokens"]], [t["weight"] for t in entity["tokens"]]


@pytest.fixture(scope="module")
def conn():
    # One backend for the module (overrides conftest's per-test one): plpython3u
    # then imports numpy and ses_udf once.
    with connect() as c:
        yield c


def scalar(conn: psycopg.Connection, sql: str, params: tuple = ()):
    return conn.execute(sql, params).fetchone()[0]


def test_functions_exist_immutable_and_batch_returns_rows(conn):
    rows = conn.execute(
        """
        select p.proname, p.provolatile, p.proretset, l.lanname
        from pg_proc p join pg_language l on l.oid = p.prolang
        where p.pronamespace = 'ses'::regnamespace and p.proname = any(%s)
        order by p.proname
        """,
        (list(FUNCTIONS),),
    ).fetchall()
    assert {r[0]: r[1:] for r in rows} == {
        "embedding_to_array": ("i", False, "plpython3u"),
        "hash_embed": ("i", False, "plpython3u"),
        "hash_embed_batch": ("i", True, "plpython3u"),
        "two_tower_similarity": ("i", False, "plpython3u"),
    }
    result = scalar(conn, "select pg_get_function_result('ses.hash_embed_batch'::regproc)::text")
    assert result == "TABLE(entity_id bigint, embedding bytea)"


@pytest.mark.parametrize("d", DIMENSIONS)
def test_hash_embed_matches_golden_bits(conn, d):
    for e in ENTITIES:
        tokens, weights = tokens_of(e)
        got = scalar(
            conn, "select ses.hash_embed(%s::text[], %s::float8[], %s)", (tokens, weights, d)
        )
        assert bytes(got) == golden_bytes(e, d), e["key"]


@pytest.mark.parametrize("d", DIMENSIONS)
def test_hash_embed_batch_matches_golden_bits(conn, d):
    ids = [e["id"] for e in ENTITIES]
    # Round-robin over entities: interleaved, each entity's tokens still in order.
    queues = [[(e["id"], t["token"], t["weight"]) for t in e["tokens"]] for e in ENTITIES]
    flat = [q[i] for i in range(max(map(len, queues))) for q in queues if i < len(q)]
    rows = conn.execute(
        """
        select entity_id, embedding
        from ses.hash_embed_batch(%s::bigint[], %s::bigint[], %s::text[], %s::float8[], %s)
        """,
        (ids, [r[0] for r in flat], [r[1] for r in flat], [r[2] for r in flat], d),
    ).fetchall()
    assert [r[0] for r in rows] == ids
    for e, (_, blob) in zip(ENTITIES, rows, strict=True):
        assert bytes(blob) == golden_bytes(e, d), e["key"]


def test_hash_embed_batch_fed_by_array_agg(conn):
    """The in-database pattern: one call over a token table, aggregated in entity order."""
    with conn.transaction():
        conn.execute(
            "create temp table golden_tokens (entity_id bigint, ord int, token text, weight float8)"
            " on commit drop"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "insert into golden_tokens values (%s, %s, %s, %s)",
                [
                    (e["id"], i, t["token"], t["weight"])
                    for e in ENTITIES
                    for i, t in enumerate(e["tokens"])
                ],
            )
        rows = conn.execute(
            """
            select b.entity_id, b.embedding
            from ses.hash_embed_batch(
                (select array_agg(id order by id) from unnest(%s::bigint[]) as id),
                (select array_agg(entity_id order by entity_id, ord) from golden_tokens),
                (select array_agg(token order by entity_id, ord) from golden_tokens),
                (select array_agg(weight order by entity_id, ord) from golden_tokens),
                256
            ) as b
            """,
            ([e["id"] for e in ENTITIES],),
        ).fetchall()
    got = {eid: bytes(blob) for eid, blob in rows}
    assert got == {e["id"]: golden_bytes(e, 256) for e in ENTITIES}


@pytest.mark.parametrize("d", DIMENSIONS)
def test_two_tower_similarity_matches_golden_bits(conn, d):
    for pair in GOLDEN["pairs"]:
        a, b = golden_bytes(BY_KEY[pair["a"]], d), golden_bytes(BY_KEY[pair["b"]], d)
        got = scalar(conn, "select ses.two_tower_similarity(%s::bytea, %s::bytea)", (a, b))
        expected = f32_from_bits(pair["similarity"][str(d)]["bits"])
        assert got == expected, pair


def test_similarity_of_sql_embeddings(conn):
    """hash_embed output feeds two_tower_similarity: the seed's required > preferred."""
    case = GOLDEN["seed_unit_tests"]["required_skill_match_beats_preferred_skill_match"]
    sql = """
        select ses.two_tower_similarity(
            ses.hash_embed(%s::text[], %s::float8[], 256),
            ses.hash_embed(%s::text[], %s::float8[], 256))
    """
    project = tokens_of(BY_KEY[case["project"]])
    required = scalar(conn, sql, (*project, *tokens_of(BY_KEY[case["required_match"]])))
    preferred = scalar(conn, sql, (*project, *tokens_of(BY_KEY[case["preferred_match"]])))
    assert required > preferred
    assert required == f32_from_bits(case["required_score"]["bits"])
    assert preferred == f32_from_bits(case["preferred_score"]["bits"])


def test_embedding_to_array_gives_the_exact_values(conn):
    for key in ("p_full", "tok_fractional", "tok_huge", "p_empty"):
        e = BY_KEY[key]
        got = scalar(conn, "select ses.embedding_to_array(%s::bytea)", (golden_bytes(e, 7),))
        expected = golden_floats(e, 7)
        assert got == expected, key
        assert [math.copysign(1.0, x) for x in got] == [math.copysign(1.0, x) for x in expected]


def test_nulls(conn):
    assert bytes(scalar(conn, "select ses.hash_embed(null, null, 3)")) == bytes(12)
    assert scalar(conn, "select count(*) from ses.hash_embed_batch(null, null, null, null, 3)") == 0
    rows = conn.execute(
        "select entity_id, embedding from ses.hash_embed_batch(array[4, 2]::bigint[],"
        " null, null, null, 2)"
    ).fetchall()
    assert [(r[0], bytes(r[1])) for r in rows] == [(4, bytes(8)), (2, bytes(8))]
    assert scalar(conn, "select ses.two_tower_similarity(null, '\\x0000803f'::bytea)") is None
    assert scalar(conn, "select ses.embedding_to_array(null)") is None


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("select ses.hash_embed(array['skill:rust'], array[1.0], 0)", "got 0"),
        ("select ses.hash_embed(array['skill:rust'], array['NaN'::float8], 8)", "nan"),
        ("select ses.hash_embed(array['skill:rust', null], array[1.0, 1.0], 8)", "None"),
        ("select ses.hash_embed(array['a', 'b'], array[1.0], 8)", "2 tokens, 1 weights"),
        (
            "select * from ses.hash_embed_batch(array[1, 2]::bigint[], array[1, 77]::bigint[],"
            " array['a', 'b'], array[1.0, 1.0], 8)",
            "entity id 77",
        ),
        (
            "select * from ses.hash_embed_batch(array[3, 3]::bigint[], array[]::bigint[],"
            " array[]::text[], array[]::float8[], 8)",
            "entity id 3 appears twice",
        ),
        (
            "select ses.two_tower_similarity('\\x0000803f00'::bytea, '\\x0000803f'::bytea)",
            "length 5",
        ),
        (
            "select ses.two_tower_similarity('\\x0000803f00000000'::bytea, '\\x0000803f'::bytea)",
            "2 vs 1",
        ),
        ("select ses.embedding_to_array('\\x000000'::bytea)", "length 3"),
    ],
)
def test_errors_name_the_bad_value(conn, sql, named):
    with pytest.raises(psycopg.Error) as err:
        conn.execute(sql)
    message = str(err.value)
    assert "ValueError" in message and named in message, message
