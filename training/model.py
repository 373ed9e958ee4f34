"""Two-tower model (seed appendix E.1, SPEC R-40).

Each side: shared tokenizer (ses_udf tokens, id scheme of ses_udf.learned_tower)
-> EmbeddingBag(2**18, 128, mode="sum", per_sample_weights) -> MLP 128 -> 256 -> 256
(ReLU between, no final activation) -> L2 normalisation. The talent and project towers
have separate weights. Similarity is the cosine of the two unit vectors; training
turns it into a logit ``scale * cos + bias``.

No final activation: a ReLU (or tanh) after the last layer would confine the unit
vectors to the positive orthant (cosine >= 0), wasting half the similarity range that
R-22's (cos + 1) / 2 maps to [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from ses_udf.learned_tower import DIMENSION, EMBEDDING_DIM, HIDDEN_DIM, L2_EPS, VOCAB_SIZE
from torch import nn


class Tower(nn.Module):
    """One side of the two-tower model; forward(ids, offsets, weights) -> [B, 256] unit rows."""

    def __init__(
        self,
        vocab_size: int = VOCAB_SIZE,
        embedding_dim: int = EMBEDDING_DIM,
        hidden_dim: int = HIDDEN_DIM,
        dimension: int = DIMENSION,
        *,
        sparse: bool = True,
    ) -> None:
        super().__init__()
        # Zero-filled (no default random init of 2**18 x 128 values): init_weights() sets
        # the rows of the training vocabulary.
        self.bag = nn.EmbeddingBag(
            vocab_size,
            embedding_dim,
            mode="sum",
            sparse=sparse,
            _weight=torch.zeros(vocab_size, embedding_dim),
        )
        self.mlp = nn.Sequential(
            nn.Linear(embedding_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, dimension),
        )

    def forward(
        self, ids: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        bag = self.bag(ids, offsets, per_sample_weights=weights)
        return F.normalize(self.mlp(bag), p=2.0, dim=-1, eps=L2_EPS)

    @torch.no_grad()
    def init_weights(
        self, generator: torch.Generator, embedding_std: float, used_ids: np.ndarray | None
    ) -> None:
        """Deterministic initialisation from ``generator``.

        Embedding rows of ids in ``used_ids`` (the training vocabulary) get N(0, std);
        every other row is zero, and since SparseAdam only touches rows that occur in a
        batch it stays zero: a token never seen in training contributes nothing at
        serving time instead of random noise.
        """
        w = self.bag.weight
        w.zero_()
        if used_ids is None:
            w.normal_(0.0, embedding_std, generator=generator)
        elif len(used_ids):
            idx = torch.as_tensor(np.asarray(used_ids, dtype=np.int64))
            rows = torch.empty((idx.numel(), w.shape[1]), dtype=w.dtype)
            rows.normal_(0.0, embedding_std, generator=generator)
            w[idx] = rows
        for layer in self.mlp:
            if isinstance(layer, nn.Linear):
                fan_in = layer.weight.shape[1]
                bound = 1.0 / math.sqrt(fan_in)
                # nn.Linear's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from our generator.
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)


class TwoTower(nn.Module):
    """Talent tower + project tower + the logit calibration used by the loss."""

    def __init__(
        self,
        vocab_size: int = VOCAB_SIZE,
        embedding_dim: int = EMBEDDING_DIM,
        hidden_dim: int = HIDDEN_DIM,
        dimension: int = DIMENSION,
        *,
        init_scale: float = 10.0,
        learn_scale: bool = True,
        sparse: bool = True,
    ) -> None:
        super().__init__()
        self.talent = Tower(vocab_size, embedding_dim, hidden_dim, dimension, sparse=sparse)
        self.project = Tower(vocab_size, embedding_dim, hidden_dim, dimension, sparse=sparse)
        log_scale = torch.tensor(math.log(init_scale), dtype=torch.float32)
        if learn_scale:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)
        self.bias = nn.Parameter(torch.zeros((), dtype=torch.float32))

    MAX_SCALE = 100.0

    def scale(self) -> torch.Tensor:
        return self.log_scale.exp().clamp(max=self.MAX_SCALE)

    def logits(self, cos: torch.Tensor) -> torch.Tensor:
        return self.scale() * cos + self.bias

    @staticmethod
    def cosine(talent_emb: torch.Tensor, project_emb: torch.Tensor) -> torch.Tensor:
        """Row-wise cosine of unit vectors."""
        return (talent_emb * project_emb).sum(-1)

    def sparse_parameters(self) -> list[nn.Parameter]:
        return [self.talent.bag.weight, self.project.bag.weight]

    def dense_parameters(self) -> list[nn.Parameter]:
        sparse = {id(p) for p in self.sparse_parameters()}
        return [p for p in self.parameters() if id(p) not in sparse]


class TowerExport(nn.Module):
    """Export wrapper: (ids int64 [N], offsets int64 [B], weights float32 [N]) -> [B, 256]."""

    def __init__(self, tower: Tower) -> None:
        super().__init__()
        self.bag = nn.EmbeddingBag.from_pretrained(
            tower.bag.weight.detach().clone(), freeze=True, mode="sum", sparse=False
        )
        self.mlp = nn.Sequential(
            nn.Linear(tower.mlp[0].in_features, tower.mlp[0].out_features),
            nn.ReLU(),
            nn.Linear(tower.mlp[2].in_features, tower.mlp[2].out_features),
        )
        self.mlp.load_state_dict(tower.mlp.state_dict())
        self.eval()

    def forward(
        self, ids: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        bag = self.bag(ids, offsets, per_sample_weights=weights)
        return F.normalize(self.mlp(bag), p=2.0, dim=-1, eps=L2_EPS)
