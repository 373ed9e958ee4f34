"""ses_udf.packed outside the database: packing round trips, the same embedding bits
as the array path, and an error naming the value for every bad input."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from ses_udf import hash_tower, learned_tower, model_store, packed
from ses_udf.embedders import create_embedder

from training.export import build_artifacts
from training.split import split_by_project
from training.synthetic import make_synthetic
from training.train import TrainConfig, train

# Interleaved owners, unsorted ids, an entity without tokens, an empty-string token,
# non-ASCII tokens and a repeated token.
IDS = [30, 10, 20, 40]
OWNERS = [10, 30, 10, 20, 30, 10, 20]
TOKENS = ["skill:java", "loc:東京都", "skill:java", "", "exp:3-5", "lang:ja:ネイティブ", "x"]
WEIGHTS = [2.0, 1.5, 1.0, 0.5, 1.0, 1.0, 0.1]


def i8(*v: int) -> bytes:
    return struct.pack(f">{len(v)}q", *v)


def i4(*v: int) -> bytes:
    return struct.pack(f">{len(v)}i", *v)


def f8(*v: float) -> bytes:
    return struct.pack(f">{len(v)}d", *v)


def test_pack_batch_round_trip_groups_tokens_by_entity_in_id_order():
    ids_b, counts_b, tokens_b, weights_b = packed.pack_batch(IDS, OWNERS, TOKENS, WEIGHTS)
    assert ids_b == i8(*IDS)
    assert counts_b == i4(2, 3, 2, 0)
    assert tokens_b == "\x00".join(
        ["loc:東京都", "exp:3-5", "skill:java", "skill:java", "lang:ja:ネイティブ", "", "x"]
    ).encode("utf-8")
    batch = packed.unpack_batch(ids_b, counts_b, tokens_b, weights_b)
    assert batch.ids.dtype == np.int64 and batch.ids.tolist() == IDS
    assert batch.counts.tolist() == [2, 3, 2, 0]
    assert batch.tokens == [
        "loc:東京都",
        "exp:3-5",
        "skill:java",
        "skill:java",
        "lang:ja:ネイティブ",
        "",
        "x",
    ]
    assert batch.weights.dtype == np.float32
    assert batch.weights.tolist() == [1.5, 1.0, 2.0, 1.0, 1.0, 0.5, np.float32(0.1)]


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [([], []), ([""], [""]), (["", ""], ["", ""]), (["a", ""], ["a", ""]), (["é"], ["é"])],
)
def test_split_tokens_is_exact_for_empty_tokens(tokens, expected):
    assert packed.split_tokens(packed.pack_tokens(tokens), len(tokens)) == expected


def test_null_arguments_are_empty():
    batch = packed.unpack_batch(None, None, None, None)
    assert batch.ids.size == 0 and batch.counts.size == 0 and batch.tokens == []
    # an entity with no tokens at all: tokens and weights NULL (string_agg of no rows)
    batch = packed.unpack_batch(i8(7), i4(0), None, None)
    assert batch.ids.tolist() == [7] and batch.tokens == []


def test_pack_helpers_write_what_the_send_functions_write():
    assert packed.pack_ids([1, -2, 2**63 - 1]) == i8(1, -2, 2**63 - 1)
    assert packed.pack_counts([0, 3]) == i4(0, 3)
    assert packed.pack_weights([1.0, -0.5]) == f8(1.0, -0.5)
    assert packed.pack_tokens(["a", "b"]) == b"a\x00b"


@pytest.mark.parametrize("d", [1, 7, 256])
def test_hash_embeddings_equal_the_array_path_bit_for_bit(d):
    embedder = create_embedder("hash", d)
    want_ids, want = embedder.embed_batch(IDS, OWNERS, TOKENS, WEIGHTS)
    batch = packed.unpack_batch(*packed.pack_batch(IDS, OWNERS, TOKENS, WEIGHTS))
    got_ids, got = embedder.embed_grouped(batch.ids, batch.counts, batch.tokens, batch.weights)
    assert got_ids.tolist() == want_ids.tolist() == IDS
    assert got.tobytes() == want.tobytes()
    assert not got[3].any()  # id 40 has no tokens: the hash tower's zero vector


def test_random_batches_equal_the_array_path():
    rng = np.random.default_rng(5)
    vocab = [f"skill:s{i}" for i in range(40)] + ["loc:大阪府", "remote:full"]
    ids = rng.permutation(np.arange(1, 301)).tolist()
    owners = rng.choice(ids, 3000).tolist()
    tokens = [vocab[k] for k in rng.integers(0, len(vocab), 3000)]
    weights = rng.uniform(0.1, 3.0, 3000).tolist()
    want = hash_tower.embed_batch(ids, owners, tokens, weights, 256)[1]
    args = packed.pack_batch(ids, owners, tokens, weights)
    rows = packed.unchunk(packed.sql_embed_tower_packed("hash", 256, None, *args, db=None), 256)
    assert rows == hash_tower.embedding_rows(np.array(ids), want)


def test_embedding_chunks_are_the_rows_back_to_back():
    ids = np.arange(10, 15, dtype=np.int64)
    m = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    chunks = packed.embedding_chunks(ids, m, chunk_rows=2)
    assert [c[0] for c in chunks] == [[10, 11], [12, 13], [14]]
    assert b"".join(c[1] for c in chunks) == m.astype("<f4").tobytes()
    assert packed.unchunk(chunks, 3) == hash_tower.embedding_rows(ids, m)
    assert packed.embedding_chunks(ids[:0], m[:0]) == []
    with pytest.raises(ValueError, match=r"shape \(5, 3\) for 4 ids"):
        packed.embedding_chunks(ids[:4], m)
    with pytest.raises(ValueError, match="chunk_rows must be >= 1, got 0"):
        packed.embedding_chunks(ids, m, chunk_rows=0)
    with pytest.raises(ValueError, match="chunk of 2 ids holds 8 bytes"):
        packed.unchunk([([1, 2], b"\x00" * 8)], 3)


GOOD = (i8(1, 2), i4(1, 1), b"a\x00b", f8(1.0, 2.0))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((i8(1, 2)[:-1], *GOOD[1:]), r"entity_ids is 15 bytes, not a multiple of 8"),
        ((GOOD[0], i4(1, 1) + b"\x00", *GOOD[2:]), r"token_counts is 9 bytes, not a multiple of 4"),
        ((*GOOD[:3], f8(1.0, 2.0)[:-3]), r"weights is 13 bytes, not a multiple of 8"),
        ((GOOD[0], i4(2), *GOOD[2:]), r"token_counts holds 1 counts for 2 entity_ids"),
        ((GOOD[0], i4(3, -1), *GOOD[2:]), r"token count -1 of entity id 2 is negative"),
        ((i8(1, 1), *GOOD[1:]), r"entity id 1 appears twice in entity_ids"),
        ((GOOD[0], i4(1, 2), *GOOD[2:]), r"token_counts add up to 3 tokens but weights holds 2"),
        ((*GOOD[:3], f8(1.0)), r"token_counts add up to 2 tokens but weights holds 1"),
        (
            (*GOOD[:2], b"a\x00b\x00c", GOOD[3]),
            r"tokens holds 3 NUL-separated tokens but token_counts and weights say 2",
        ),
        ((*GOOD[:2], b"ab", GOOD[3]), r"tokens holds 1 NUL-separated tokens .* say 2"),
        ((GOOD[0], i4(0, 0), b"a", b""), r"tokens holds b'a' \(1 bytes\) but .* no tokens"),
        (
            (*GOOD[:2], b"a\x00sk\xffill", GOOD[3]),
            r"tokens is not UTF-8: token b'sk\\xffill' has a bad byte at offset 4",
        ),
        (
            (*GOOD[:3], f8(1.0, float("inf"))),
            r"weight inf of token 'b' \(entity id 2\) is not a finite float32",
        ),
        (
            (*GOOD[:3], f8(float("nan"), 1.0)),
            r"weight nan of token 'a' \(entity id 1\) is not a finite float32",
        ),
        (
            (*GOOD[:3], f8(1.0, 1e39)),
            r"weight 1e\+39 of token 'b' \(entity id 2\) is not a finite float32",
        ),
        (("1,2", *GOOD[1:]), r"entity_ids must be bytea \(bytes\), got str '1,2'"),
        ((*GOOD[:2], ["a", "b"], GOOD[3]), r"tokens must be bytea \(bytes\), got list"),
    ],
)
def test_bad_input_names_the_value(args, message):
    with pytest.raises(ValueError, match=message):
        packed.unpack_batch(*args)


def test_packing_names_the_bad_token():
    with pytest.raises(ValueError, match=r"token 'skill:a\\x00b' contains the separator NUL"):
        packed.pack_tokens(["ok", "skill:a\x00b"])
    with pytest.raises(ValueError, match="token must be a string, got 3"):
        packed.pack_tokens(["ok", 3])
    with pytest.raises(ValueError, match=r"token 'bad\\ud800' cannot be encoded as UTF-8"):
        packed.pack_tokens(["bad\ud800"])
    with pytest.raises(ValueError, match=r"token count -1 is outside"):
        packed.pack_counts([-1])
    with pytest.raises(ValueError, match="belongs to entity id 9, which is not in entity_ids"):
        packed.pack_batch([1], [9], ["a"], [1.0])
    with pytest.raises(ValueError, match="tokens and weights differ in length"):
        packed.pack_batch([1], [1], ["a"], [1.0, 2.0])


# ------------------------------------------------------------ learned embedders


class FakePlpy:
    """plpy.prepare / plpy.execute serving one active model from memory."""

    def __init__(self, artifacts) -> None:
        self.a = artifacts

    def prepare(self, sql, types):
        return sql

    def execute(self, plan, args):
        if plan == model_store.ACTIVE_SQL:
            return [
                {
                    "version": self.a.version,
                    "onnx_sha256": learned_tower.sha256_hex(self.a.onnx),
                    "candle_sha256": learned_tower.sha256_hex(self.a.safetensors),
                }
            ]
        model = self.a.onnx if "onnx_model" in plan else self.a.safetensors
        return [{"metadata": json.dumps(self.a.metadata), "model": model}]


@pytest.fixture(scope="module")
def learned_db():
    pairs, talents, projects = make_synthetic(120, 30, 10, seed=6)
    split = split_by_project(pairs)
    result = train(
        split.train, split.valid, talents, projects, TrainConfig(epochs=1, num_threads=1, seed=3)
    )
    model_store.clear()
    yield FakePlpy(build_artifacts(result.model, "20260301")), talents
    model_store.clear()


@pytest.mark.parametrize("backend", ["onnx", "candle"])
@pytest.mark.parametrize("side", ["talent", "project"])
def test_learned_embeddings_equal_the_array_path_bit_for_bit(learned_db, backend, side):
    db, talents = learned_db
    bags = [*list(talents.values())[:30], ([], [])]
    ids = list(range(500, 500 + len(bags)))[::-1]
    owners = [i for i, (t, _) in zip(ids, bags, strict=True) for _ in t]
    tokens = [tok for t, _ in bags for tok in t]
    weights = [w for _, ws in bags for w in ws]
    embedder = create_embedder(backend, 256, db)
    want = embedder.embed_batch(ids, owners, tokens, weights, side=side)[1]
    args = packed.pack_batch(ids, owners, tokens, weights)
    rows = packed.unchunk(packed.sql_embed_tower_packed(backend, 256, side, *args, db=db), 256)
    assert rows == hash_tower.embedding_rows(np.array(ids), want)
    assert np.linalg.norm(want[-1]) > 0.5  # the empty bag: the model's vector, not zeros
    with pytest.raises(ValueError, match="separate talent and project towers"):
        packed.sql_embed_tower_packed(backend, 256, None, *args, db=db)
