"""ses.embed_tower_packed / embed_tower_packed_rows through SQL: the same bytes as
ses.embed_tower_batch for hash, onnx and candle, packed in SQL the way the embedding
caches do it, and bad input raises naming the value and writes nothing.

Needs `dbt build` on the database named by the PG* env vars and the server's copy of
ses_udf synced (scripts/localdb.sh sync). Nothing is skipped.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb
from ses_udf import packed

from ses_ops.db import connect
from training.export import build_artifacts
from training.split import split_by_project
from training.synthetic import make_synthetic
from training.train import TrainConfig, train

pytestmark = pytest.mark.db

GOLDEN = json.loads(
    (Path(__file__).parents[1] / "golden" / "hash_v2_golden.json").read_text(encoding="utf-8")
)
ENTITIES = GOLDEN["entities"]

# The embedding caches' packing (macros/embedding_cache.sql) over a token table.
PACK_SQL = r"""
    select
        (select string_agg(int8send(e.id), ''::bytea order by e.id) from packed_entities as e)
            as entity_ids,
        (
            select string_agg(int4send(coalesce(c.n, 0)), ''::bytea order by e.id)
            from packed_entities as e
            left join (
                select entity_id, count(*)::int as n from packed_tokens group by entity_id
            ) as c on c.entity_id = e.id
        ) as token_counts,
        string_agg(convert_to(t.token, 'UTF8'), '\x00'::bytea order by t.entity_id, t.ord)
            as tokens,
        string_agg(float8send(t.weight), ''::bytea order by t.entity_id, t.ord) as weights
    from packed_tokens as t
"""
ARRAYS_SQL = """
    select
        (select array_agg(e.id order by e.id) from packed_entities as e) as ids,
        array_agg(t.entity_id order by t.entity_id, t.ord) as owners,
        array_agg(t.token order by t.entity_id, t.ord) as tokens,
        array_agg(t.weight order by t.entity_id, t.ord) as weights
    from packed_tokens as t
"""


@pytest.fixture(scope="module")
def conn():
    # One backend for the module: plpython3u imports numpy and ses_udf once.
    with connect() as c:
        c.execute("create temp table packed_entities (id bigint primary key)")
        c.execute(
            "create temp table packed_tokens (entity_id bigint, ord int, token text, weight float8)"
        )
        with c.cursor() as cur:
            # The golden entities plus one without tokens (its tokens arrive as NULL).
            cur.executemany(
                "insert into packed_entities values (%s)",
                [(e["id"],) for e in ENTITIES] + [(987654321,)],
            )
            cur.executemany(
                "insert into packed_tokens values (%s, %s, %s, %s)",
                [
                    (e["id"], i, t["token"], t["weight"])
                    for e in ENTITIES
                    for i, t in enumerate(e["tokens"])
                ],
            )
        yield c


def array_rows(conn, embedder: str, d: int, side: str) -> list[tuple[int, bytes]]:
    rows = conn.execute(
        f"select b.entity_id, b.embedding from ({ARRAYS_SQL}) as a, "
        "lateral ses.embed_tower_batch(%s, %s, %s, a.ids, a.owners, a.tokens, a.weights) as b "
        "order by b.entity_id",
        (embedder, d, side),
    ).fetchall()
    return [(i, bytes(b)) for i, b in rows]


def packed_rows(conn, embedder: str, d: int, side: str) -> list[tuple[int, bytes]]:
    rows = conn.execute(
        f"select b.entity_id, b.embedding from ({PACK_SQL}) as p, "
        "lateral ses.embed_tower_packed_rows(%s, %s, %s, p.entity_ids, p.token_counts, "
        "p.tokens, p.weights) as b order by b.entity_id",
        (embedder, d, side),
    ).fetchall()
    return [(i, bytes(b)) for i, b in rows]


def test_functions_exist_and_return_chunks_or_rows(conn):
    rows = conn.execute(
        """
        select p.proname, p.provolatile, p.proretset, l.lanname,
               pg_get_function_result(p.oid)::text
        from pg_proc p join pg_language l on l.oid = p.prolang
        where p.pronamespace = 'ses'::regnamespace
          and p.proname in ('embed_tower_packed', 'embed_tower_packed_rows')
        order by p.proname
        """
    ).fetchall()
    assert rows == [
        (
            "embed_tower_packed",
            "s",
            True,
            "plpython3u",
            "TABLE(entity_ids bigint[], embeddings bytea)",
        ),
        (
            "embed_tower_packed_rows",
            "s",
            True,
            "sql",
            "TABLE(entity_id bigint, embedding bytea)",
        ),
    ]


@pytest.mark.parametrize("d", [8, 256])
def test_hash_packed_in_sql_equals_embed_tower_batch_bit_for_bit(conn, d):
    want = array_rows(conn, "hash", d, "talent")
    assert len(want) == len(ENTITIES) + 1
    assert packed_rows(conn, "hash", d, "talent") == want
    assert want[-1] == (987654321, b"\x00" * 4 * d)  # no tokens: the hash tower's zero vector


def test_python_packed_arguments_and_chunks(conn):
    ids = [e["id"] for e in ENTITIES]
    owners = [e["id"] for e in ENTITIES for _ in e["tokens"]]
    tokens = [t["token"] for e in ENTITIES for t in e["tokens"]]
    weights = [t["weight"] for e in ENTITIES for t in e["tokens"]]
    chunks = conn.execute(
        "select entity_ids, embeddings from ses.embed_tower_packed('hash', 256, 'project', "
        "%s, %s, %s, %s)",
        packed.pack_batch(ids, owners, tokens, weights),
    ).fetchall()
    want = conn.execute(
        "select entity_id, embedding from ses.embed_tower_batch('hash', 256, 'project', "
        "%s::bigint[], %s::bigint[], %s::text[], %s::float8[])",
        (ids, owners, tokens, weights),
    ).fetchall()
    assert packed.unchunk(chunks, 256) == [(i, bytes(b)) for i, b in want]
    empty = "select count(*) from ses.embed_tower_packed_rows('hash', 256, 'talent', null, null, null, null)"
    assert conn.execute(empty).fetchone()[0] == 0


@pytest.fixture(scope="module")
def active_model(conn):
    pairs, talents, projects = make_synthetic(120, 30, 10, seed=8)
    split = split_by_project(pairs)
    result = train(
        split.train, split.valid, talents, projects, TrainConfig(epochs=1, num_threads=1, seed=5)
    )
    artifacts = build_artifacts(result.model, "20260401")
    with connect() as admin:
        previous = admin.execute("select count(*) from ses.model_registry").fetchone()[0]
        assert previous == 0, "expected an empty ses.model_registry"
        admin.execute(
            "insert into ses.model_registry (version, status, trained_at, labeled_count, "
            "metadata, onnx_model, candle_weights, reason) "
            "values (%s, 'candidate', now(), 0, %s, %s, %s, 'test_packed_sql')",
            (artifacts.version, Jsonb(artifacts.metadata), artifacts.onnx, artifacts.safetensors),
        )
        admin.execute("select ses.activate_model(%s)", (artifacts.version,))
    yield artifacts.version
    with connect() as admin:
        admin.execute("delete from ses.model_registry")


@pytest.mark.parametrize("backend", ["onnx", "candle"])
@pytest.mark.parametrize("side", ["talent", "project"])
def test_learned_packed_equals_embed_tower_batch_bit_for_bit(conn, active_model, backend, side):
    assert conn.execute("select ses.embedder_version(%s, 256)", (backend,)).fetchone()[0] == (
        active_model
    )
    want = array_rows(conn, backend, 256, side)
    assert len(want) == len(ENTITIES) + 1
    assert packed_rows(conn, backend, 256, side) == want


def f8(*v: float) -> bytes:
    return struct.pack(f">{len(v)}d", *v)


GOOD = (struct.pack(">2q", 1, 2), struct.pack(">2i", 1, 1), b"a\x00b", f8(1.0, 2.0))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((GOOD[0][:7], *GOOD[1:]), "entity_ids is 7 bytes, not a multiple of 8"),
        (
            (*GOOD[:2], b"a\x00b\x00c", GOOD[3]),
            "tokens holds 3 NUL-separated tokens but token_counts and weights say 2",
        ),
        (
            (*GOOD[:3], f8(1.0, float("nan"))),
            "weight nan of token 'b' (entity id 2) is not a finite float32",
        ),
        (
            (GOOD[0], struct.pack(">2i", 2, 1), *GOOD[2:]),
            "token_counts add up to 3 tokens but weights holds 2",
        ),
        ((struct.pack(">2q", 5, 5), *GOOD[1:]), "entity id 5 appears twice in entity_ids"),
    ],
)
def test_bad_input_raises_naming_the_value_and_writes_nothing(conn, args, message):
    conn.execute("create temp table if not exists packed_out (entity_id bigint, embedding bytea)")
    with pytest.raises(psycopg.Error) as err, conn.transaction():
        conn.execute(
            "insert into packed_out select * from ses.embed_tower_packed_rows("
            "'hash', 8, 'talent', %s, %s, %s, %s)",
            args,
        )
    assert message in str(err.value)
    assert conn.execute("select count(*) from packed_out").fetchone()[0] == 0
