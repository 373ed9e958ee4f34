"""HashTwoTower "hash"/"v2" against the Rust golden file (tools/golden_rust/)."""

from __future__ import annotations

import json
import math
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from ses_udf import hash_tower as ht
from ses_udf.hashing import token_hash

GOLDEN = json.loads(
    (Path(__file__).parents[1] / "golden" / "hash_v2_golden.json").read_text(encoding="utf-8")
)
ENTITIES = GOLDEN["entities"]
BY_KEY = {e["key"]: e for e in ENTITIES}
DIMENSIONS = GOLDEN["dimensions"]


def tokens_of(entity: dict) -> tuple[list[str], list[float]]:
    return [t["token"] for t in entity["tokens"]], [t["weight"] for t in entity["tokens"]]


def golden_vector(entity: dict, d: int) -> np.ndarray:
    return np.array([int(h, 16) for h in entity["embeddings"][str(d)]], dtype=np.uint32).view(
        np.float32
    )


def bits(v: np.ndarray) -> list[int]:
    return np.asarray(v, dtype=np.float32).view(np.uint32).tolist()


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


# --- an independent, literal port of seed B.4 / B.2: Python floats rounded to f32 after
# every operation (exact for + - * / sqrt, since f64 carries more than 2 * 24 + 2 bits).


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def reference_embedding(tokens: list[str], weights: list[float], d: int) -> list[float]:
    v = [0.0] * d
    for token, weight in zip(tokens, weights, strict=True):
        idx = token_hash(token) % d
        sign = 1.0 if (token_hash(token + "_sign") % d) % 2 == 0 else -1.0
        v[idx] = f32(v[idx] + f32(sign * f32(weight)))
    norm2 = 0.0
    for x in v:
        norm2 = f32(norm2 + f32(x * x))
    norm = f32(math.sqrt(norm2))
    if norm > 0.0:
        v = [f32(x / norm) for x in v]
    return v


def reference_similarity(a: list[float], b: list[float]) -> float:
    dot = na2 = nb2 = 0.0
    for x, y in zip(a, b, strict=True):
        dot = f32(dot + f32(x * y))
        na2 = f32(na2 + f32(x * x))
        nb2 = f32(nb2 + f32(y * y))
    na, nb = f32(math.sqrt(na2)), f32(math.sqrt(nb2))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return f32(f32(f32(dot / f32(na * nb)) + 1.0) / 2.0)


# ------------------------------------------------------------------ golden bits


def test_constants():
    assert (GOLDEN["embedder"], GOLDEN["version"]) == (ht.EMBEDDER_NAME, ht.EMBEDDER_VERSION)
    assert ht.DEFAULT_DIMENSION == 256 and 256 in DIMENSIONS


@pytest.mark.parametrize("d", DIMENSIONS)
@pytest.mark.parametrize("entity", ENTITIES, ids=[e["key"] for e in ENTITIES])
def test_embed_tokens_matches_rust_bits(entity, d):
    tokens, weights = tokens_of(entity)
    got = ht.embed_tokens(tokens, weights, d)
    assert got.dtype == np.float32 and got.shape == (d,)
    assert bits(got) == bits(golden_vector(entity, d))


@pytest.mark.parametrize("d", DIMENSIONS)
def test_embed_batch_matches_rust_bits(d):
    ids = [e["id"] for e in ENTITIES]
    owners, tokens, weights = [], [], []
    for e in ENTITIES:
        t, w = tokens_of(e)
        owners += [e["id"]] * len(t)
        tokens += t
        weights += w
    got_ids, matrix = ht.embed_batch(ids, owners, tokens, weights, d)
    assert got_ids.tolist() == ids
    assert matrix.dtype == np.float32 and matrix.shape == (len(ids), d)
    for e, row in zip(ENTITIES, matrix, strict=True):
        assert bits(row) == bits(golden_vector(e, d)), e["key"]


def interleave(rows: list[tuple], rng: np.random.Generator) -> list[tuple]:
    """A random global order of (entity_id, ...) rows keeping each entity's own order."""
    queues: dict[int, list[tuple]] = {}
    for row in rows:
        queues.setdefault(row[0], []).append(row)
    pending = {eid: iter(q) for eid, q in queues.items()}
    return [next(pending[rows[p][0]]) for p in rng.permutation(len(rows))]


def test_embed_batch_interleaved_tokens_and_reordered_ids():
    """Only each entity's own token order matters, not how entities interleave."""
    rows = [(e["id"], t["token"], t["weight"]) for e in ENTITIES for t in e["tokens"]]
    mixed = interleave(rows, np.random.default_rng(7))
    assert mixed != rows
    ids = [e["id"] for e in ENTITIES][::-1]
    got_ids, matrix = ht.embed_batch(
        ids, [r[0] for r in mixed], [r[1] for r in mixed], [r[2] for r in mixed]
    )
    assert got_ids.tolist() == ids
    for eid, row in zip(ids, matrix, strict=True):
        entity = next(e for e in ENTITIES if e["id"] == eid)
        assert bits(row) == bits(golden_vector(entity, 256)), entity["key"]


@pytest.mark.parametrize("d", DIMENSIONS)
def test_pair_similarities_match_rust_bits(d):
    for pair in GOLDEN["pairs"]:
        a = ht.embed_tokens(*tokens_of(BY_KEY[pair["a"]]), d)
        b = ht.embed_tokens(*tokens_of(BY_KEY[pair["b"]]), d)
        expected = int(pair["similarity"][str(d)]["bits"], 16)
        assert f32_bits(ht.similarity(a, b)) == expected, pair
        assert bits(ht.similarity_matrix(a[None, :], b[None, :])) == [[expected]], pair


def test_similarity_matrix_equals_the_literal_port_for_all_golden_pairs():
    matrix = np.stack([golden_vector(e, 7) for e in ENTITIES])
    got = ht.similarity_matrix(matrix[:20], matrix)
    assert got.dtype == np.float32 and got.shape == (20, len(ENTITIES))
    for i in range(20):
        for k in range(len(ENTITIES)):
            expected = reference_similarity(matrix[i].tolist(), matrix[k].tolist())
            assert f32_bits(float(got[i, k])) == f32_bits(expected), (i, k)


# ------------------------------------------------------------ seed unit tests


def seed_embedding(key: str) -> np.ndarray:
    return ht.embed_tokens(*tokens_of(BY_KEY[key]), 256)


def test_seed_hash_tower_produces_normalized_vectors():
    emb = seed_embedding("seed_norm_project")
    assert tokens_of(BY_KEY["seed_norm_project"])[0] == ["skill:rust", "skill:python", "loc:東京都"]
    norm = math.sqrt(sum(float(x) * float(x) for x in emb))
    assert abs(norm - 1.0) < 1e-5


def test_seed_similar_inputs_have_higher_similarity():
    case = GOLDEN["seed_unit_tests"]["similar_inputs_have_higher_similarity"]
    project = seed_embedding(case["project"])
    similar = ht.similarity(project, seed_embedding(case["similar_talent"]))
    different = ht.similarity(project, seed_embedding(case["different_talent"]))
    assert similar > different
    assert f32_bits(similar) == int(case["similar_score"]["bits"], 16)
    assert f32_bits(different) == int(case["different_score"]["bits"], 16)


def test_seed_required_skill_match_beats_preferred_skill_match():
    case = GOLDEN["seed_unit_tests"]["required_skill_match_beats_preferred_skill_match"]
    project = seed_embedding(case["project"])
    required = ht.similarity(project, seed_embedding(case["required_match"]))
    preferred = ht.similarity(project, seed_embedding(case["preferred_match"]))
    assert required > preferred
    assert f32_bits(required) == int(case["required_score"]["bits"], 16)
    assert f32_bits(preferred) == int(case["preferred_score"]["bits"], 16)


def test_golden_buckets_follow_spec_r20():
    """The golden file is the SQL tokenizer's contract: its buckets must be SPEC's."""

    def exp_bucket(y: int) -> str:
        return "0-2" if 0 <= y <= 2 else "3-5" if 3 <= y <= 5 else "6-10" if 6 <= y <= 10 else "11+"

    def tanka_bucket(t: int) -> str:
        for limit, name in ((300000, "under30"), (500000, "30-50"), (700000, "50-70")):
            if t < limit:
                return name
        return "70-100" if t < 1000000 else "100+"

    checked = 0
    for e in ENTITIES:
        fields = e["fields"] or {}
        tokens = tokens_of(e)[0]
        if fields.get("min_experience_years") is not None:
            assert f"exp:{exp_bucket(fields['min_experience_years'])}" in tokens, e["key"]
            checked += 1
        price = fields.get("monthly_tanka_max", fields.get("desired_price_min"))
        if price is not None:
            assert f"tanka:{tanka_bucket(price)}" in tokens, e["key"]
            checked += 1
    assert checked >= 40


# ---------------------------------------------------------- batch == single


@pytest.mark.parametrize(
    ("weight_kind", "d"), [("seed", 256), ("seed", 7), ("seed", 1), ("any", 256), ("any", 1)]
)
def test_batch_equals_single_equals_literal_port(weight_kind, d):
    rng = np.random.default_rng([d, len(weight_kind)])
    vocab = [f"skill:s{i}" for i in range(40)] + ["loc:東京都", "loc:station:渋谷駅", "skill:σ"]
    ids = rng.choice(10_000, size=60, replace=False).tolist()
    per_entity: dict[int, tuple[list[str], list[float]]] = {}
    for eid in ids:
        count = int(rng.integers(0, 20))  # entities without tokens included
        tokens = [vocab[i] for i in rng.integers(0, len(vocab), count)]
        if weight_kind == "seed":
            weights = rng.choice([0.5, 1.0, 1.5, 2.0], count).tolist()
        else:  # not multiples of 0.5: f32 additions round, so their order shows
            weights = (rng.normal(size=count) * 10.0 ** rng.integers(-3, 4, count)).tolist()
        per_entity[eid] = (tokens, weights)
    rows = [(eid, t, w) for eid in ids for t, w in zip(*per_entity[eid], strict=True)]
    mixed = interleave(rows, rng)
    got_ids, matrix = ht.embed_batch(
        ids, [r[0] for r in mixed], [r[1] for r in mixed], [r[2] for r in mixed], d
    )
    assert got_ids.tolist() == ids
    for eid, row in zip(ids, matrix, strict=True):
        tokens, weights = per_entity[eid]
        single = ht.embed_tokens(tokens, weights, d)
        assert bits(row) == bits(single)
        assert bits(single) == [f32_bits(x) for x in reference_embedding(tokens, weights, d)]


def test_batch_with_no_tokens_gives_zero_rows():
    ids, matrix = ht.embed_batch([5, 3], [], [], [], 4)
    assert ids.tolist() == [5, 3] and matrix.shape == (2, 4) and not matrix.any()
    ids, matrix = ht.embed_batch([], [], [], [], 4)
    assert ids.shape == (0,) and matrix.shape == (0, 4)


def test_token_slot_matches_the_rule():
    h, hs = token_hash("skill:rust"), token_hash("skill:rust_sign")
    for d in (256, 7, 2, 1):
        assert ht.token_slot("skill:rust", d) == (h % d, 1 if (hs % d) % 2 == 0 else -1)


# ---------------------------------------------------------------- similarity


def test_zero_vector_similarity_is_zero():
    zero = np.zeros(256, dtype=np.float32)
    v = seed_embedding("seed_norm_project")
    assert ht.similarity(zero, v) == 0.0
    assert ht.similarity(v, zero) == 0.0
    assert ht.similarity(zero, zero) == 0.0
    matrix = ht.similarity_matrix(np.stack([zero, v]), np.stack([v, zero]))
    assert matrix[0].tolist() == [0.0, 0.0] and matrix[1, 1] == 0.0 and matrix[1, 0] > 0.99


def test_similarity_of_opposite_vectors_is_zero_and_same_is_one():
    v = seed_embedding("seed_norm_project")
    assert ht.similarity(v, -v) == 0.0
    assert ht.similarity(v, v) == pytest.approx(1.0, abs=1e-6)


# ------------------------------------------------------------------- bytes


def test_bytes_round_trip_and_layout():
    for e in ENTITIES:
        v = golden_vector(e, 256)
        b = ht.vector_to_bytes(v)
        assert isinstance(b, bytes) and len(b) == 256 * 4
        # float32 little-endian, value by value
        assert b == b"".join(struct.pack("<I", int(h, 16)) for h in e["embeddings"]["256"])
        back = ht.bytes_to_vector(b, 256)
        assert back.dtype == np.float32 and bits(back) == bits(v)
        assert bits(ht.bytes_to_vector(b)) == bits(v)


def test_sql_entry_points():
    tokens, weights = tokens_of(BY_KEY["p_full"])
    expected = golden_vector(BY_KEY["p_full"], 7)
    blob = ht.sql_hash_embed(tokens, weights, 7)
    assert bits(ht.bytes_to_vector(blob, 7)) == bits(expected)
    assert ht.sql_hash_embed(None, None, 3) == bytes(12)  # NULL arrays: no tokens
    rows = ht.sql_hash_embed_batch([9, 4], [4] * len(tokens), tokens, weights, 7)
    assert [r[0] for r in rows] == [9, 4] and rows[0][1] == bytes(28) and rows[1][1] == blob
    assert ht.sql_hash_embed_batch(None, None, None, None, 7) == []
    assert ht.sql_two_tower_similarity(blob, None) is None
    assert ht.sql_two_tower_similarity(blob, blob) == pytest.approx(1.0, abs=1e-6)
    assert ht.sql_embedding_to_array(None) is None
    assert ht.sql_embedding_to_array(blob) == [float(x) for x in expected]


# --------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, None, "256"])
def test_bad_dimension_is_named(bad):
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        ht.embed_tokens(["skill:rust"], [1.0], bad)
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        ht.embed_batch([1], [1], ["skill:rust"], [1.0], bad)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), 1e39, None, "1.5"])
def test_bad_weight_is_named(bad):
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        ht.embed_tokens(["skill:rust", "skill:go"], [1.0, bad], 8)
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        ht.embed_batch([1], [1, 1], ["skill:rust", "skill:go"], [1.0, bad], 8)


@pytest.mark.parametrize("bad", [None, 5, b"skill:rust"])
def test_bad_token_is_named(bad):
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        ht.embed_tokens(["skill:rust", bad], [1.0, 1.0], 8)
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        ht.embed_batch([1], [1, 1], ["skill:rust", bad], [1.0, 1.0], 8)


def test_length_mismatch_is_named():
    with pytest.raises(ValueError, match="2 tokens, 1 weights"):
        ht.embed_tokens(["a", "b"], [1.0], 8)
    with pytest.raises(ValueError, match="1 ids, 2 tokens"):
        ht.embed_batch([1], [1], ["a", "b"], [1.0, 1.0], 8)
    with pytest.raises(ValueError, match="tokens must be a sequence"):
        ht.embed_tokens("skill:rust", [1.0] * 10, 8)


def test_batch_unknown_or_duplicate_entity_is_named():
    with pytest.raises(ValueError, match=r"entity id 77\b"):
        ht.embed_batch([1, 2], [1, 77], ["a", "b"], [1.0, 1.0], 8)
    with pytest.raises(ValueError, match=r"entity id 2 appears twice"):
        ht.embed_batch([2, 1, 2], [1], ["a"], [1.0], 8)
    with pytest.raises(ValueError, match=re.escape("None")):
        ht.embed_batch([1, None], [1], ["a"], [1.0], 8)
    with pytest.raises(ValueError, match=str(2**64)):
        ht.embed_batch([1, 2**64], [1], ["a"], [1.0], 8)


@pytest.mark.parametrize("length", [5, 1023, 1])
def test_bad_byte_length_is_named(length):
    with pytest.raises(ValueError, match=rf"\b{length}\b"):
        ht.bytes_to_vector(bytes(length))


def test_byte_length_must_match_dimension():
    with pytest.raises(ValueError, match=r"\b1024\b.*\b7\b"):
        ht.bytes_to_vector(bytes(1024), 7)


def test_dimension_mismatch_is_named():
    with pytest.raises(ValueError, match="256 vs 7"):
        ht.similarity(np.ones(256, np.float32), np.ones(7, np.float32))
    with pytest.raises(ValueError, match="256 vs 7"):
        ht.similarity_matrix(np.ones((2, 256), np.float32), np.ones((3, 7), np.float32))
    with pytest.raises(ValueError, match="256 vs 7"):
        ht.sql_two_tower_similarity(bytes(1024), bytes(28))


def test_vector_to_bytes_rejects_non_vectors():
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        ht.vector_to_bytes(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="int64"):
        ht.vector_to_bytes(np.zeros(3, np.int64))
