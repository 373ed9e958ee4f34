"""Embedder factory (R-23, seed B.8): one name → one embedder with a version.

`hash` is the seed's HashTwoTower. `onnx` and `candle` serve the trained model
(learning issue); until a model is deployed, asking for them is an error that
says so, never a silent zero vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ses_udf import hash_tower

KNOWN_EMBEDDERS = ("hash", "onnx", "candle")


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
    ) -> tuple[np.ndarray, np.ndarray]:
        return hash_tower.embed_batch(entity_ids, token_entity_ids, tokens, weights, self.dimension)


def create_embedder(name: str, dimension: int = hash_tower.DEFAULT_DIMENSION) -> HashEmbedder:
    """The embedder called `name` (TWO_TOWER_EMBEDDER)."""
    if name == "hash":
        return HashEmbedder(dimension=dimension)
    if name in ("onnx", "candle"):
        raise EmbedderUnavailableError(
            f"embedder {name!r} has no deployed model yet: train and deploy one, "
            "or set TWO_TOWER_EMBEDDER=hash"
        )
    raise ValueError(f"unknown embedder {name!r} (expected one of: {', '.join(KNOWN_EMBEDDERS)})")
