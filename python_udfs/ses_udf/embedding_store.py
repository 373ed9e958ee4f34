"""Per-backend caches of the embedding tables, used from plpython3u.

A database backend keeps one matrix per (table, embedder, version, dimension)
and reloads it only when ses.embedding_epochs says the table changed (a
statement trigger bumps the epoch on every write), so a warm match run costs
one primary-key lookup instead of reading 100k embeddings.

`db` is plpython's `plpy` module (anything with prepare/execute).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_TABLES = {
    "talent": ("ses.talent_embeddings", "talent_id"),
    "project": ("ses.project_embeddings", "project_id"),
}


@dataclass
class EmbeddingMatrix:
    epoch: int
    ids: np.ndarray  # sorted int64
    matrix: np.ndarray  # float32 (n, D)
    source_updated_at: np.ndarray  # float64 epoch seconds
    nonzero: np.ndarray  # rows that are not all-zero (similarity 0.0 for those)

    def rows_for(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row index per wanted id, found mask)."""
        pos = np.searchsorted(self.ids, wanted)
        pos = np.clip(pos, 0, max(len(self.ids) - 1, 0))
        found = (self.ids[pos] == wanted) if len(self.ids) else np.zeros(len(wanted), dtype=bool)
        return pos, found


_CACHE: dict[tuple[str, str, str, int], EmbeddingMatrix] = {}
LOAD_CHUNK_ROWS = 100_000
_PLANS: dict[str, object] = {}


def _plan(db, key: str, sql: str, types: list[str]):
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = db.prepare(sql, types)
    return plan


def current_epoch(db, side: str, embedder: str, version: str) -> int:
    rows = db.execute(
        _plan(
            db,
            "epoch",
            "select epoch from ses.embedding_epochs where entity = $1 and embedder = $2 and version = $3",
            ["text", "text", "text"],
        ),
        [side, embedder, version],
    )
    return int(rows[0]["epoch"]) if rows else 0


def load(db, side: str, embedder: str, version: str, dimension: int) -> EmbeddingMatrix:
    """The cached matrix, reloaded when the table's epoch moved."""
    key = (side, embedder, version, dimension)
    epoch = current_epoch(db, side, embedder, version)
    cached = _CACHE.get(key)
    if cached is not None and cached.epoch == epoch:
        return cached
    table, id_column = _TABLES[side]
    # Chunks of rows in id order, each one row back with packed columns: a bytea
    # is converted as one object (arrays element by element), and no chunk
    # comes near PostgreSQL's 1 GB limit on a value.
    plan = _plan(
        db,
        f"load-{side}",
        f"select count(*) as n, "
        f"coalesce(string_agg(int8send(c.{id_column}), ''::bytea), ''::bytea) as ids, "
        f"coalesce(string_agg(float8send(extract(epoch from c.source_updated_at)::float8), ''::bytea), ''::bytea) as updated, "
        f"coalesce(string_agg(c.embedding, ''::bytea), ''::bytea) as vectors "
        f"from (select {id_column}, source_updated_at, embedding from {table} "
        f"where embedder = $1 and version = $2 and dimension = $3 and {id_column} > $4 "
        f"order by {id_column} limit $5) as c",
        ["text", "text", "int4", "int8", "int4"],
    )
    ids_parts, updated_parts, vector_parts = [], [], []
    last = -(2**63)
    while True:
        rows = db.execute(plan, [embedder, version, dimension, last, LOAD_CHUNK_ROWS])[0]
        if not rows["n"]:
            break
        chunk_ids = np.frombuffer(rows["ids"], dtype=">i8").astype(np.int64)
        ids_parts.append(chunk_ids)
        updated_parts.append(np.frombuffer(rows["updated"], dtype=">f8").astype(np.float64))
        vector_parts.append(np.frombuffer(rows["vectors"], dtype="<f4"))
        last = int(chunk_ids[-1])
        if rows["n"] < LOAD_CHUNK_ROWS:
            break
    ids = np.concatenate(ids_parts) if ids_parts else np.zeros(0, dtype=np.int64)
    if not (np.diff(ids) > 0).all():
        raise ValueError(f"{table}: ids did not come back in order")  # the order by above
    updated = np.concatenate(updated_parts) if updated_parts else np.zeros(0)
    vectors = np.concatenate(vector_parts) if vector_parts else np.zeros(0, dtype="<f4")
    matrix = vectors.astype(np.float32, copy=False).reshape(len(ids), dimension)
    entry = EmbeddingMatrix(epoch, ids, matrix, updated, matrix.any(axis=1))
    # A hot-reloaded model version replaces the old one: drop the older generations of
    # this (side, embedder) so a long-lived backend keeps one matrix, not one per deploy.
    for stale in [k for k in _CACHE if k[:2] == key[:2] and k != key]:
        del _CACHE[stale]
    _CACHE[key] = entry
    return entry


def clear() -> None:
    _CACHE.clear()
