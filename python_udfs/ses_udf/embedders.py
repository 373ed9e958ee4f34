"""Embedder factory (R-23, seed B.8): one name -> one embedder with a version.

`hash` is the seed's HashTwoTower ("v2"). `onnx` and `candle` serve the learned
two-tower model that is active in ses.model_registry (its version is the model
version, e.g. "20250401"), loaded from the registry's bytes and cached per process
(ses_udf.model_store: hot reload when the active model changes, R-44).

No silent fallback: when the learned embedders cannot serve (no active model, a
corrupt model, a dimension that is not the model's), they raise
EmbedderUnavailableError naming the problem, never a zero vector and never hash
scores under the learned embedder's name. Serve `hash` (TWO_TOWER_EMBEDDER=hash)
until a model is active.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ses_udf import hash_tower
from ses_udf import learned_tower as lt

KNOWN_EMBEDDERS = ("hash", "onnx", "candle")
SIDES = ("talent", "project")


class EmbedderUnavailableError(RuntimeError):
    """The named embedder cannot serve (no deployed model, bad model file...)."""


@dataclass(frozen=True)
class HashEmbedder:
    dimension: int = hash_tower.DEFAULT_DIMENSION
    name: str = hash_tower.EMBEDDER_NAME
    version: str = hash_tower.EMBEDDER_VERSION

    def embed_batch(
        self,
        entity_ids: Sequence[int],
        token_entity_ids: Sequence[int],
        tokens: Sequence[str],
        weights: Sequence[float],
        side: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Both sides share the hash tower, so ``side`` is only checked."""
        _check_side(side, required=False)
        return hash_tower.embed_batch(entity_ids, token_entity_ids, tokens, weights, self.dimension)

    def embed_grouped(
        self,
        ids: np.ndarray,
        counts: np.ndarray,
        tokens: Sequence[str],
        w32: np.ndarray,
        side: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """embed_batch on decoded, validated arrays grouped by entity (what
        ses_udf.packed.unpack_batch returns): the first counts[0] tokens belong to
        ids[0], the next counts[1] to ids[1]... Same bits as embed_batch."""
        _check_side(side, required=False)
        rows = np.repeat(np.arange(ids.size, dtype=np.int64), counts)
        return ids, hash_tower.embed_rows(rows, tokens, w32, ids.size, self.dimension)


@dataclass(frozen=True)
class LearnedEmbedder:
    """The active learned model behind one backend ("onnx" or "candle")."""

    name: str
    version: str
    dimension: int
    model: lt.OnnxModel | lt.CandleModel

    def embed_batch(
        self,
        entity_ids: Sequence[int],
        token_entity_ids: Sequence[int],
        tokens: Sequence[str],
        weights: Sequence[float],
        side: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Same contract as hash_tower.embed_batch: token i belongs to
        token_entity_ids[i]; (entity ids int64, float32 [n, 256]); an id without
        tokens gets the model's embedding of an empty bag."""
        side = _check_side(side, required=True, embedder=self.name)
        ids, owner_rows, token_list, w32 = hash_tower.group_tokens(
            entity_ids, token_entity_ids, tokens, weights
        )
        n = ids.size
        if n == 0:
            return ids, np.zeros((0, self.dimension), dtype=np.float32)
        # Tokens of one entity stay in input order (stable sort), as the bag needs.
        order = np.argsort(owner_rows, kind="stable")
        token_ids = lt.token_ids(token_list)[order] if len(token_list) else np.zeros(0, np.int64)
        counts = np.bincount(owner_rows, minlength=n)
        return ids, self._embed_bags(side, ids, token_ids, counts, w32[order])

    def embed_grouped(
        self,
        ids: np.ndarray,
        counts: np.ndarray,
        tokens: Sequence[str],
        w32: np.ndarray,
        side: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """embed_batch on decoded, validated arrays grouped by entity (what
        ses_udf.packed.unpack_batch returns): the first counts[0] tokens belong to
        ids[0], the next counts[1] to ids[1]... Same bits as embed_batch."""
        side = _check_side(side, required=True, embedder=self.name)
        if ids.size == 0:
            return ids, np.zeros((0, self.dimension), dtype=np.float32)
        token_ids = lt.token_ids(tokens) if len(tokens) else np.zeros(0, np.int64)
        return ids, self._embed_bags(side, ids, token_ids, counts, w32)

    def _embed_bags(
        self,
        side: str,
        entity_ids: np.ndarray,
        token_ids: np.ndarray,
        counts: np.ndarray,
        w32: np.ndarray,
    ) -> np.ndarray:
        """Bags grouped by entity -> embeddings; a hybrid model's towers also get each
        entity's identity token (ses_udf.learned_tower: identity tokens)."""
        if side in self.model.identity_sides:
            token_ids, counts, w32 = lt.append_identity(
                side, entity_ids, token_ids, counts, w32, self.model.identity_weight
            )
        n = counts.size
        offsets = np.zeros(n, dtype=np.int64)
        if n > 1:
            np.cumsum(counts[:-1], out=offsets[1:])
        return self.model.embed_encoded(side, token_ids, offsets, w32)


def _check_side(side: str | None, *, required: bool, embedder: str = "") -> str | None:
    if side is None:
        if required:
            raise ValueError(
                f"embedder {embedder!r} has separate talent and project towers: "
                f"say which one (side = 'talent' or 'project')"
            )
        return None
    if side not in SIDES:
        raise ValueError(f"side must be 'talent' or 'project', got {side!r}")
    return side


def create_embedder(
    name: str, dimension: int = hash_tower.DEFAULT_DIMENSION, db=None
) -> HashEmbedder | LearnedEmbedder:
    """The embedder called `name` (TWO_TOWER_EMBEDDER). The learned ones read the
    active model through `db` (plpy, or model_store.PsycopgDb outside the database)."""
    if name == "hash":
        return HashEmbedder(dimension=dimension)
    if name in ("onnx", "candle"):
        if db is None:
            raise EmbedderUnavailableError(
                f"embedder {name!r} has no deployed model without a database handle: it serves "
                "the active model of ses.model_registry; or set TWO_TOWER_EMBEDDER=hash"
            )
        from ses_udf import model_store

        try:
            loaded = model_store.active_model(db, name)
        except model_store.ModelUnavailableError as exc:
            raise EmbedderUnavailableError(
                f"embedder {name!r} cannot serve: {exc}; or set TWO_TOWER_EMBEDDER=hash"
            ) from exc
        model_dimension = int(loaded.metadata["dimension"])
        if dimension != model_dimension:
            raise EmbedderUnavailableError(
                f"embedder {name!r}: TWO_TOWER_DIMENSION is {dimension} but active model "
                f"{loaded.version} has dimension {model_dimension}"
            )
        return LearnedEmbedder(name, loaded.version, model_dimension, loaded.model)
    raise ValueError(f"unknown embedder {name!r} (expected one of: {', '.join(KNOWN_EMBEDDERS)})")
