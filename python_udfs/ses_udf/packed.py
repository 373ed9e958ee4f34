"""Packed arguments and results of the batch embedders (ses.embed_tower_packed).

PL/Python converts an array argument element by element (1.57M tokens, owner ids
and weights for 100k talents cost ~0.45 s) and every returned row separately; a
bytea argument arrives as ONE bytes object. So the packed batch is four bytea:

  entity_ids    n big-endian int8, as ``int8send``: the entities, in result order
                (``string_agg(int8send(id), ''::bytea order by id)``).
  token_counts  n big-endian int4, as ``int4send``: how many tokens entity k has.
  tokens        the tokens of entity 0, then of entity 1, ..., each entity's in
                tokenizer order, UTF-8, joined by one NUL byte
                (``string_agg(convert_to(token, 'UTF8'), '\\x00'::bytea order by ...)``).
                PostgreSQL text cannot hold NUL, so no token from SQL can contain
                the separator; the count check below catches any other source.
  weights       one big-endian float8 per token (``float8send``), same order; used
                as float32 exactly like the float8[] of the array path.

A NULL argument means empty (string_agg over no rows is NULL). Every inconsistency
raises ValueError naming the bad value: never a silent wrong result or a zero
vector. The embeddings come back in chunks of CHUNK_ROWS entities, (ids, one bytea
of their float32 little-endian vectors back to back), which SQL slices into rows
(ses.embed_tower_packed_rows): ~100 returned values instead of 100k rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ses_udf import hash_tower
from ses_udf.embedders import create_embedder

SEPARATOR = "\x00"
_SEPARATOR_BYTES = SEPARATOR.encode("utf-8")
CHUNK_ROWS = 1024

_IDS = np.dtype(">i8")
_COUNTS = np.dtype(">i4")
_WEIGHTS = np.dtype(">f8")
_F32_LE = np.dtype("<f4")
_MAX_COUNT = np.iinfo(np.int32).max


@dataclass(frozen=True)
class PackedBatch:
    """A decoded, validated batch: counts[k] tokens (grouped, in order) belong to ids[k]."""

    ids: np.ndarray  # int64 [n]
    counts: np.ndarray  # int64 [n]
    tokens: list[str]  # [N]
    weights: np.ndarray  # float32 [N]


# ------------------------------------------------------------------ unpacking


def _buffer(value: object, name: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise ValueError(f"{name} must be bytea (bytes), got {type(value).__name__} {value!r:.80}")


def _fixed(value: object, name: str, dtype: np.dtype, what: str) -> np.ndarray:
    b = _buffer(value, name)
    if len(b) % dtype.itemsize:
        raise ValueError(
            f"{name} is {len(b)} bytes, not a multiple of {dtype.itemsize} ({what}): "
            f"trailing bytes {b[len(b) - len(b) % dtype.itemsize :]!r}"
        )
    return np.frombuffer(b, dtype=dtype)


def _token_at(b: bytes, pos: int) -> bytes:
    """The NUL-delimited token of b around byte pos."""
    start = b.rfind(_SEPARATOR_BYTES, 0, pos) + 1
    end = b.find(_SEPARATOR_BYTES, pos)
    return b[start : len(b) if end < 0 else end]


def split_tokens(tokens: object, expected: int) -> list[str]:
    """The `expected` tokens of a NUL-joined UTF-8 bytea (see the module docstring)."""
    b = _buffer(tokens, "tokens")
    if expected == 0:
        if b:
            raise ValueError(
                f"tokens holds {b[:80]!r} ({len(b)} bytes) but token_counts and weights "
                "say there are no tokens"
            )
        return []
    try:
        text = b.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"tokens is not UTF-8: token {_token_at(b, exc.start)!r} has a bad byte at "
            f"offset {exc.start}"
        ) from None
    parts = text.split(SEPARATOR)
    if len(parts) != expected:
        raise ValueError(
            f"tokens holds {len(parts)} NUL-separated tokens but token_counts and weights "
            f"say {expected}: a token contains NUL or a count is wrong "
            f"(tokens begin {parts[:3]!r})"
        )
    return parts


def _entity_of(counts: np.ndarray, token_index: int) -> int:
    return int(np.searchsorted(np.cumsum(counts), token_index, side="right"))


def unpack_batch(
    entity_ids: object, token_counts: object, tokens: object, weights: object
) -> PackedBatch:
    """Decode and validate the four packed arguments (NULL = empty)."""
    ids = _fixed(entity_ids, "entity_ids", _IDS, "big-endian int8 from int8send").astype(np.int64)
    counts = _fixed(token_counts, "token_counts", _COUNTS, "big-endian int4 from int4send")
    counts = counts.astype(np.int64)
    w64 = _fixed(weights, "weights", _WEIGHTS, "big-endian float8 from float8send")
    if counts.size != ids.size:
        raise ValueError(
            f"token_counts holds {counts.size} counts for {ids.size} entity_ids "
            "(one int4 per entity expected)"
        )
    negative = np.flatnonzero(counts < 0)
    if negative.size:
        k = int(negative[0])
        raise ValueError(f"token count {int(counts[k])} of entity id {int(ids[k])} is negative")
    if ids.size > 1:
        sorted_ids = np.sort(ids)
        dup = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
        if dup.size:
            raise ValueError(f"entity id {int(sorted_ids[dup[0]])} appears twice in entity_ids")
    total = int(counts.sum())
    if total != w64.size:
        raise ValueError(
            f"token_counts add up to {total} tokens but weights holds {w64.size} weights"
        )
    token_list = split_tokens(tokens, total)
    with np.errstate(over="ignore", invalid="ignore"):
        w32 = w64.astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(w32))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"weight {float(w64[i])!r} of token {token_list[i]!r} (entity id "
            f"{int(ids[_entity_of(counts, i)])}) is not a finite float32"
        )
    return PackedBatch(ids, counts, token_list, w32)


# -------------------------------------------------------------------- packing


def pack_ids(ids: Sequence[int] | np.ndarray) -> bytes:
    """entity_ids as int8send would write them."""
    return hash_tower._int64_ids(ids, "entity_ids").astype(_IDS).tobytes()


def pack_counts(counts: Sequence[int] | np.ndarray) -> bytes:
    """token_counts as int4send would write them."""
    arr = hash_tower._int64_ids(counts, "token_counts")
    bad = np.flatnonzero((arr < 0) | (arr > _MAX_COUNT))
    if bad.size:
        raise ValueError(f"token count {int(arr[bad[0]])} is outside [0, {_MAX_COUNT}]")
    return arr.astype(_COUNTS).tobytes()


def pack_tokens(tokens: Sequence[str]) -> bytes:
    """Tokens joined by NUL, UTF-8; a token that is not a string or that contains
    the separator is named."""
    for t in tokens:
        if not isinstance(t, str):
            raise ValueError(f"token must be a string, got {t!r}")
    joined = SEPARATOR.join(tokens)
    if joined.count(SEPARATOR) != max(0, len(tokens) - 1):
        bad = next(t for t in tokens if SEPARATOR in t)
        raise ValueError(f"token {bad!r} contains the separator NUL (U+0000)")
    try:
        return joined.encode("utf-8")
    except UnicodeEncodeError:
        bad = next(t for t in tokens if not _encodable(t))
        raise ValueError(f"token {bad!r} cannot be encoded as UTF-8") from None


def _encodable(t: str) -> bool:
    try:
        t.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def pack_weights(weights: Sequence[float] | np.ndarray) -> bytes:
    """weights as float8send would write them."""
    arr = np.asarray(weights, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"weights must be one-dimensional, got shape {arr.shape}")
    return arr.astype(_WEIGHTS).tobytes()


def pack_batch(
    entity_ids: Sequence[int],
    token_entity_ids: Sequence[int],
    tokens: Sequence[str],
    weights: Sequence[float],
) -> tuple[bytes, bytes, bytes, bytes]:
    """The packed arguments of the array path's flattened form (token i belongs to
    token_entity_ids[i]); tokens are regrouped by entity in entity_ids order, each
    entity's keeping its order, so the embeddings are the same bits. Validated like
    the array path (hash_tower.group_tokens)."""
    ids, rows, token_list, w32 = hash_tower.group_tokens(
        entity_ids, token_entity_ids, tokens, weights
    )
    order = np.argsort(rows, kind="stable")
    counts = np.bincount(rows, minlength=ids.size)
    return (
        pack_ids(ids),
        pack_counts(counts),
        pack_tokens([token_list[i] for i in order.tolist()]),
        # float32 widened to float8 is exact, so unpacking gives back the same float32.
        pack_weights(w32[order].astype(np.float64)),
    )


# --------------------------------------------------------------------- output


def embedding_chunks(
    ids: np.ndarray, matrix: np.ndarray, chunk_rows: int = CHUNK_ROWS
) -> list[tuple[list[int], bytes]]:
    """(entity ids, their embeddings back to back) per chunk of chunk_rows entities;
    each embedding is float32 little-endian, the bytes hash_tower.embedding_rows gives."""
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    m = np.asarray(matrix)
    ids = np.asarray(ids, dtype=np.int64)
    if m.ndim != 2 or m.shape[0] != ids.size:
        raise ValueError(f"embedding matrix of shape {m.shape} for {ids.size} ids")
    m = m.astype(_F32_LE, copy=False)
    return [
        (ids[s : s + chunk_rows].tolist(), np.ascontiguousarray(m[s : s + chunk_rows]).tobytes())
        for s in range(0, ids.size, chunk_rows)
    ]


def unchunk(
    chunks: Sequence[tuple[Sequence[int], bytes]], dimension: int
) -> list[tuple[int, bytes]]:
    """(entity id, embedding bytea) rows of embedding_chunks' output (what the SQL
    wrapper ses.embed_tower_packed_rows does)."""
    step = 4 * dimension
    rows = []
    for chunk_ids, blob in chunks:
        if len(blob) != step * len(chunk_ids):
            raise ValueError(f"chunk of {len(chunk_ids)} ids holds {len(blob)} bytes")
        rows.extend(
            (int(i), bytes(blob[k * step : (k + 1) * step])) for k, i in enumerate(chunk_ids)
        )
    return rows


# ------------------------------------------------------ SQL entry (python_udfs/)


def sql_embed_tower_packed(
    embedder: str,
    dimension: int,
    side: str | None,
    entity_ids: bytes | None,
    token_counts: bytes | None,
    tokens: bytes | None,
    weights: bytes | None,
    db,
) -> list[tuple[list[int], bytes]]:
    model = create_embedder(embedder, dimension, db)
    batch = unpack_batch(entity_ids, token_counts, tokens, weights)
    ids, matrix = model.embed_grouped(
        batch.ids, batch.counts, batch.tokens, batch.weights, side=side
    )
    return embedding_chunks(ids, matrix)
