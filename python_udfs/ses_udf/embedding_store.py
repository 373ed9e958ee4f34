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
    # One row back: ids, update times and every vector concatenated in id order.
    rows = db.execute(
        _plan(
            db,
            f"load-{side}",
            f"select coalesce(array_agg({id_column} order by {id_column}), '{{}}') as ids, "
            f"coalesce(array_agg(extract(epoch from source_updated_at)::float8 order by {id_column}), '{{}}') as updated, "
            f"coalesce(string_agg(embedding, ''::bytea order by {id_column}), ''::bytea) as vectors "
            f"from {table} where embedder = $1 and version = $2 and dimension = $3",
            ["text", "text", "int4"],
        ),
        [embedder, version, dimension],
    )[0]
    ids = np.asarray(rows["ids"], dtype=np.int64)
    matrix = np.frombuffer(rows["vectors"], dtype="<f4").reshape(len(ids), dimension)
    updated = np.asarray(rows["updated"], dtype=np.float64)
    entry = EmbeddingMatrix(epoch, ids, matrix, updated, matrix.any(axis=1))
    # A hot-reloaded model version replaces the old one: drop the older generations of
    # this (side, embedder) so a long-lived backend keeps one matrix, not one per deploy.
    for stale in [k for k in _CACHE if k[:2] == key[:2] and k != key]:
        del _CACHE[stale]
    _CACHE[key] = entry
    return entry


def clear() -> None:
    _CACHE.clear()
