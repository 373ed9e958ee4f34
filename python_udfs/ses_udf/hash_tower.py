"""HashTwoTower "hash"/"v2" (SPEC R-21, R-22; seed appendix B.2 and B.4).

Feature hashing of weighted tokens, bit-compatible with the seed's Rust code:
index = token_hash(token) % D, sign = +1 if token_hash(token + "_sign") % D is even
else -1, v[index] += sign * weight, then L2 normalisation. Rust does all of this in
f32, adding left to right; every float operation here is the same IEEE f32 operation
in the same order, so the vectors match bit for bit (tests/python/golden/).

Embeddings live in the database as bytea: float32 little-endian, D * 4 bytes.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from ses_udf.hashing import token_hash

EMBEDDER_NAME = "hash"
EMBEDDER_VERSION = "v2"
DEFAULT_DIMENSION = 256

_F32_LE = np.dtype("<f4")
# Tokens repeat heavily across entities; beyond this many per dimension the cache is
# simply restarted so a long-lived database backend cannot grow without bound.
_MAX_CACHED_TOKENS = 1 << 20
_MAX_CACHED_DIMENSIONS = 8


# --------------------------------------------------------------------- slots


class _SlotCache(dict):
    """token -> 2 * index + (1 if the sign is negative) for one dimension."""

    def __init__(self, dimension: int) -> None:
        super().__init__()
        self.dimension = dimension

    def __missing__(self, token: object) -> int:
        if not isinstance(token, str):
            raise ValueError(f"token must be a string, got {token!r}")
        if len(self) >= _MAX_CACHED_TOKENS:
            self.clear()
        d = self.dimension
        # Python ints are exact, so this is Rust's `(hash as usize) % d` on 64-bit.
        index = token_hash(token) % d
        negative = (token_hash(token + "_sign") % d) % 2
        code = 2 * index + negative
        self[token] = code
        return code


_SLOT_CACHES: dict[int, _SlotCache] = {}


def _slot_cache(dimension: int) -> _SlotCache:
    cache = _SLOT_CACHES.get(dimension)
    if cache is None:
        if len(_SLOT_CACHES) >= _MAX_CACHED_DIMENSIONS:
            _SLOT_CACHES.clear()
        cache = _SLOT_CACHES[dimension] = _SlotCache(dimension)
    return cache


def token_slot(token: str, dimension: int = DEFAULT_DIMENSION) -> tuple[int, int]:
    """(index, sign) of one token: where and with which sign its weight lands."""
    code = _slot_cache(_check_dimension(dimension))[token]
    return code >> 1, -1 if code & 1 else 1


def _slot_codes(tokens: Sequence[str], cache: _SlotCache) -> np.ndarray:
    try:
        return np.fromiter(map(cache.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    except TypeError:
        # An unhashable token (say a list) fails the dict lookup before __missing__.
        bad = next(t for t in tokens if not isinstance(t, str))
        raise ValueError(f"token must be a string, got {bad!r}") from None


# ---------------------------------------------------------------- validation


def _check_dimension(dimension: object) -> int:
    if (
        isinstance(dimension, bool)
        or not isinstance(dimension, numbers.Integral)
        or int(dimension) < 1
    ):
        raise ValueError(f"dimension must be an integer >= 1, got {dimension!r}")
    return int(dimension)


def _check_tokens(tokens: object, name: str = "tokens") -> Sequence:
    if isinstance(tokens, str | bytes) or not isinstance(tokens, Sequence | np.ndarray):
        raise ValueError(f"{name} must be a sequence of strings, got {tokens!r}")
    return tokens


def _weights_f32(weights: object, tokens: Sequence) -> np.ndarray:
    """Weights as f32, as the seed's `WeightedToken.weight: f32` holds them."""
    if isinstance(weights, str | bytes) or not isinstance(weights, Sequence | np.ndarray):
        raise ValueError(f"weights must be a sequence of numbers, got {weights!r}")
    if len(weights) != len(tokens):
        raise ValueError(
            f"tokens and weights differ in length: {len(tokens)} tokens, {len(weights)} weights"
        )
    arr = np.asarray(weights)
    if arr.dtype.kind not in "fiu":
        # Object or string arrays: name the first element that is not a real number.
        for i, w in enumerate(weights):
            if isinstance(w, bool) or not isinstance(w, numbers.Real):
                raise ValueError(f"weight {w!r} of token {tokens[i]!r} is not a number")
        arr = arr.astype(np.float64)
    if arr.ndim != 1:
        raise ValueError(f"weights must be one-dimensional, got shape {arr.shape}")
    with np.errstate(over="ignore"):
        w32 = arr.astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(w32))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"weight {weights[i]!r} of token {tokens[i]!r} is not a finite float32")
    return w32


def _int64_ids(values: object, name: str) -> np.ndarray:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise ValueError(f"{name} must be a sequence of integers, got {values!r}")
    arr = np.asarray(values)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        for v in values:
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise ValueError(f"{name} must hold integers, got {v!r}")
            if not -(2**63) <= int(v) < 2**63:
                raise ValueError(f"{name} holds {v!r}, beyond bigint")
        raise ValueError(f"{name} must be a one-dimensional list of integers")
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"{name} holds {int(arr.max())}, beyond bigint")
    return arr.astype(np.int64)


# ------------------------------------------------------------------ f32 math


def _normalise_in_place(v: np.ndarray) -> np.ndarray:
    """Seed B.4: norm = sqrt(sum of squares, left to right in f32); v /= norm if > 0."""
    nonzero = v[v != 0]  # zero terms cannot change a sum of non-negative squares
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        norm2 = np.float32(0.0)
        for x in nonzero:
            norm2 = np.float32(norm2 + x * x)
        norm = np.sqrt(norm2)
        if norm > 0:  # NaN fails this too, as in Rust
            v /= norm
    return v


def _row_sums_in_column_order(values: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """Per-row f32 sums, added one at a time in the given order (np.add.at is unbuffered)."""
    out = np.zeros(n, dtype=np.float32)
    np.add.at(out, rows, values)
    return out


def _row_norms(m: np.ndarray) -> np.ndarray:
    """f32 L2 norm of each row exactly as Rust's `iter().map(|x| x * x).sum().sqrt()`."""
    rows, cols = np.nonzero(m)  # row-major, so each row's terms stay left to right
    with np.errstate(over="ignore", under="ignore"):
        sq = m[rows, cols] * m[rows, cols]
    return np.sqrt(_row_sums_in_column_order(sq, rows, m.shape[0]))


# ----------------------------------------------------------------- embedding


def embed_tokens(
    tokens: Sequence[str], weights: Sequence[float], dimension: int = DEFAULT_DIMENSION
) -> np.ndarray:
    """One entity's embedding: float32 array of shape (dimension,)."""
    d = _check_dimension(dimension)
    tokens = _check_tokens(tokens)
    w32 = _weights_f32(weights, tokens)
    cache = _slot_cache(d)
    v = np.zeros(d, dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        for token, w in zip(tokens, w32, strict=True):
            code = cache[token]
            # f32 scalar arithmetic: one rounding per addition, in token order.
            v[code >> 1] += -w if code & 1 else w
    return _normalise_in_place(v)


def group_tokens(
    entity_ids: Sequence[int],
    token_entity_ids: Sequence[int],
    tokens: Sequence[str],
    weights: Sequence[float],
) -> tuple[np.ndarray, np.ndarray, Sequence[str], np.ndarray]:
    """Validate flattened token lists: (entity ids int64, row of each token's entity,
    tokens, weights float32). Errors name the bad value (also used by the learned
    embedders, so every embedder accepts and rejects the same input)."""
    ids = _int64_ids(entity_ids, "entity_ids")
    tokens = _check_tokens(tokens)
    owners = _int64_ids(token_entity_ids, "token_entity_ids")
    if len(owners) != len(tokens):
        raise ValueError(
            f"token_entity_ids and tokens differ in length: {len(owners)} ids, {len(tokens)} tokens"
        )
    w32 = _weights_f32(weights, tokens)
    n = len(ids)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    dup = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
    if dup.size:
        raise ValueError(f"entity id {int(sorted_ids[dup[0]])} appears twice in entity_ids")
    pos = np.searchsorted(sorted_ids, owners)
    known = pos < n
    known[known] = sorted_ids[pos[known]] == owners[known]
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        raise ValueError(
            f"token {tokens[i]!r} belongs to entity id {int(owners[i])}, which is not in entity_ids"
        )
    return ids, order[pos], tokens, w32


def embed_batch(
    entity_ids: Sequence[int],
    token_entity_ids: Sequence[int],
    tokens: Sequence[str],
    weights: Sequence[float],
    dimension: int = DEFAULT_DIMENSION,
) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of many entities from flattened token lists.

    Token i belongs to token_entity_ids[i]. Returns (ids, matrix): ids is entity_ids
    as int64 and matrix[k] (float32, shape (len(ids), dimension)) is the embedding of
    ids[k], bit-identical to embed_tokens of that entity's tokens in input order. An
    id with no tokens gets a zero row.
    """
    d = _check_dimension(dimension)
    ids, rows, tokens, w32 = group_tokens(entity_ids, token_entity_ids, tokens, weights)
    return ids, embed_rows(rows, tokens, w32, len(ids), d)


def embed_rows(
    rows: np.ndarray, tokens: Sequence[str], w32: np.ndarray, n: int, dimension: int
) -> np.ndarray:
    """The math of embed_batch on already validated, decoded arrays (group_tokens'
    output or ses_udf.packed's): token i (weight w32[i], float32) belongs to matrix
    row rows[i] (int64 in [0, n)). Returns the float32 (n, dimension) matrix."""
    d = _check_dimension(dimension)
    matrix = np.zeros((n, d), dtype=np.float32)
    if len(tokens) == 0:
        return matrix
    codes = _slot_codes(tokens, _slot_cache(d))
    flat = rows * d + (codes >> 1)
    values = np.where(codes & 1 == 1, -w32, w32)

    # Only touched slots matter (untouched ones stay +0.0, as in Rust). A stable sort
    # orders the flat slots row-major and keeps token order inside each slot; it is
    # cheap when tokens arrive grouped by entity, as array_agg ... order by gives them.
    perm = np.argsort(flat, kind="stable")
    sorted_flat = flat[perm]
    starts = np.empty(sorted_flat.size, dtype=bool)
    starts[0] = True
    np.not_equal(sorted_flat[1:], sorted_flat[:-1], out=starts[1:])
    slots = sorted_flat[starts]
    sums = np.zeros(slots.size, dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        # np.add.at applies repeated indices one at a time, so each slot is summed in
        # token order and each row's squares below in column order, like Rust.
        np.add.at(sums, np.cumsum(starts) - 1, values[perm])
        slot_rows = slots // d
        norms = np.sqrt(_row_sums_in_column_order(sums * sums, slot_rows, n))
        slot_norms = norms[slot_rows]
        divide = slot_norms > 0  # NaN fails this too, as in Rust
        sums[divide] /= slot_norms[divide]
    matrix.reshape(-1)[slots] = sums
    return matrix


# -------------------------------------------------------------------- bytes


def vector_to_bytes(v: object) -> bytes:
    """float32 little-endian bytes of a 1-D embedding (the bytea layout)."""
    arr = np.asarray(v)
    if arr.ndim != 1:
        raise ValueError(f"embedding must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind != "f":
        raise ValueError(f"embedding must hold floats, got dtype {arr.dtype}")
    return arr.astype(_F32_LE, copy=False).tobytes()


def embedding_rows(ids: np.ndarray, matrix: np.ndarray) -> list[tuple[int, bytes]]:
    """(entity id, bytea) rows of a batch: one float32 little-endian buffer sliced per
    row (what vector_to_bytes gives per row, without per-row array checks)."""
    m = np.ascontiguousarray(matrix, dtype=_F32_LE)
    if m.ndim != 2 or m.shape[0] != len(ids):
        raise ValueError(f"embedding matrix of shape {m.shape} for {len(ids)} ids")
    step = m.shape[1] * 4
    blob = m.tobytes()
    return [
        (i, blob[k * step : (k + 1) * step])
        for k, i in enumerate(np.asarray(ids, dtype=np.int64).tolist())
    ]


def bytes_to_vector(b: bytes | bytearray | memoryview, dimension: int | None = None) -> np.ndarray:
    """float32 array from the bytea layout; dimension, when given, must match."""
    length = len(b) if not isinstance(b, memoryview) else b.nbytes
    if length % 4:
        raise ValueError(f"embedding byte length {length} is not a multiple of 4")
    if dimension is not None and length != 4 * _check_dimension(dimension):
        raise ValueError(
            f"embedding byte length {length} does not match dimension {dimension} "
            f"({4 * dimension} bytes)"
        )
    return np.frombuffer(b, dtype=_F32_LE).astype(np.float32)


# --------------------------------------------------------------- similarity


def _as_matrix(x: object, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind != "f":
        raise ValueError(f"{name} must hold floats, got dtype {arr.dtype}")
    return arr.astype(np.float32, copy=False)


def similarity(a: object, b: object) -> float:
    """Seed B.2 cosine_similarity: (cos + 1) / 2 in f32; 0.0 if either norm is 0."""
    va, vb = _as_matrix(a, "a"), _as_matrix(b, "b")
    if va.ndim != 1 or vb.ndim != 1:
        raise ValueError(f"embeddings must be one-dimensional, got shapes {va.shape}, {vb.shape}")
    return float(similarity_matrix(va[None, :], vb[None, :])[0, 0])


def similarity_matrix(a: object, b: object) -> np.ndarray:
    """similarity() of every row of a (m, D) with every row of b (n, D): float32 (m, n)."""
    ma, mb = _as_matrix(a, "a"), _as_matrix(b, "b")
    if ma.ndim != 2 or mb.ndim != 2:
        raise ValueError(f"expected two matrices, got shapes {ma.shape} and {mb.shape}")
    if ma.shape[1] != mb.shape[1]:
        raise ValueError(f"embedding dimension mismatch: {ma.shape[1]} vs {mb.shape[1]}")
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        dot = np.zeros((ma.shape[0], mb.shape[0]), dtype=np.float32)
        # Rust adds x * y for j = 0..D in order; a column that is zero on either side
        # only adds +-0, which cannot change the final (dot / norms + 1) / 2.
        for j in np.flatnonzero(ma.any(axis=0) & mb.any(axis=0)):
            dot += ma[:, j, None] * mb[None, :, j]
        na, nb = _row_norms(ma), _row_norms(mb)
        sim = (dot / (na[:, None] * nb[None, :]) + np.float32(1.0)) / np.float32(2.0)
    sim[(na == 0)[:, None] | (nb == 0)[None, :]] = 0.0
    return sim


# ---------------------------------------------- SQL entry points (python_udfs/)
# NULL arrays mean "no tokens": array_agg over no rows yields NULL, and the seed's
# tokenizer gives an empty list (a zero vector) for such an entity.


def sql_hash_embed(tokens: list | None, weights: list | None, dimension: int | None) -> bytes:
    v = embed_tokens(
        [] if tokens is None else tokens, [] if weights is None else weights, dimension
    )
    return vector_to_bytes(v)


def sql_hash_embed_batch(
    entity_ids: list | None,
    token_entity_ids: list | None,
    tokens: list | None,
    weights: list | None,
    dimension: int | None,
) -> list[tuple[int, bytes]]:
    ids, matrix = embed_batch(
        [] if entity_ids is None else entity_ids,
        [] if token_entity_ids is None else token_entity_ids,
        [] if tokens is None else tokens,
        [] if weights is None else weights,
        dimension,
    )
    le = matrix.astype(_F32_LE, copy=False)
    return list(zip(ids.tolist(), (row.tobytes() for row in le), strict=True))


def sql_two_tower_similarity(a: bytes | None, b: bytes | None) -> float | None:
    if a is None or b is None:
        return None
    va, vb = bytes_to_vector(a), bytes_to_vector(b)
    if va.size != vb.size:
        raise ValueError(f"embedding dimension mismatch: {va.size} vs {vb.size}")
    return similarity(va, vb)


def sql_embedding_to_array(embedding: bytes | None) -> list[float] | None:
    return None if embedding is None else bytes_to_vector(embedding).tolist()
