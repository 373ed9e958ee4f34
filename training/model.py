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

    @torch.no_grad()
    def identity_mlp(self) -> None:
        """MLP weights that pass the bag through unchanged: h = relu([x; -x]),
        y = h[:E] - h[E:] = x (zero-padded to the output size), biases zero. Needs
        hidden >= 2 * embedding and output >= embedding (256, 128, 256 here)."""
        first, last = self.mlp[0], self.mlp[2]
        e = first.in_features
        if first.out_features < 2 * e or last.out_features < e:
            raise ValueError("identity MLP needs hidden >= 2 x embedding and output >= embedding")
        eye = torch.eye(e)
        first.weight.zero_()
        first.weight[:e] = eye
        first.weight[e : 2 * e] = -eye
        first.bias.zero_()
        last.weight.zero_()
        last.weight[:e, :e] = eye
        last.weight[:e, e : 2 * e] = -eye
        last.bias.zero_()


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

    @torch.no_grad()
    def mirror_talent_to_project(self, talent_ids: np.ndarray, project_ids: np.ndarray) -> None:
        """Project tower := talent tower (TrainConfig.mirror_init): the same embedding row
        for the same token, each table keeping only its own side's training vocabulary
        (other rows zero, as init_weights does), and identity MLPs, so the initial
        cosine is the cosine of the two weighted bag sums."""
        self.project.bag.weight.copy_(self.talent.bag.weight)
        for tower, keep in ((self.talent, talent_ids), (self.project, project_ids)):
            mask = torch.ones(tower.bag.weight.shape[0], dtype=torch.bool)
            mask[torch.as_tensor(np.asarray(keep, dtype=np.int64))] = False
            tower.bag.weight[mask] = 0.0
            tower.identity_mlp()

    def sparse_parameters(self) -> list[nn.Parameter]:
        return [self.talent.bag.weight, self.project.bag.weight]

    def dense_parameters(self) -> list[nn.Parameter]:
        sparse = {id(p) for p in self.sparse_parameters()}
        return [p for p in self.parameters() if id(p) not in sparse]


class CompactTower(nn.Module):
    """Serving form of a trained Tower (model format 2, see ses_udf.learned_tower).

    Keeps only the embedding rows that are non-zero (the ids seen in training: every
    other row of the dense table is exactly zero), prefixed by one zero row that every
    other id maps to, so it computes the same function as the dense tower.
    forward(ids int64 [N], offsets int64 [B], weights float32 [N]) -> [B, 256].

    The bag sum runs on a padded [B, L] layout (gather + multiply + sum): torch's ONNX
    export of EmbeddingBag is a Loop over bags, ~3x slower in onnxruntime.
    """

    def __init__(self, tower: Tower) -> None:
        super().__init__()
        weight = tower.bag.weight.detach()
        vocab = torch.nonzero(weight.abs().sum(1) > 0).flatten().to(torch.int64)
        self.vocab_size = weight.shape[0]
        self.register_buffer("vocab_ids", vocab.clone())
        self.register_buffer(
            "table", torch.cat([weight.new_zeros((1, weight.shape[1])), weight[vocab]]).clone()
        )
        self.mlp = nn.Sequential(
            nn.Linear(tower.mlp[0].in_features, tower.mlp[0].out_features),
            nn.ReLU(),
            nn.Linear(tower.mlp[2].in_features, tower.mlp[2].out_features),
        )
        self.mlp.load_state_dict(tower.mlp.state_dict())
        self.eval()

    def remap(self) -> torch.Tensor:
        """Scheme id -> table row (0 = unseen). Built in the graph from vocab_ids so the
        file stores K ids, not a 2**18 table; onnxruntime folds it once at load."""
        k = self.vocab_ids.shape[0]
        rows = torch.arange(1, k + 1, dtype=torch.int64)
        return torch.zeros(self.vocab_size, dtype=torch.int64).scatter(0, self.vocab_ids, rows)

    def forward(
        self, ids: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        n = ids.shape[0]
        ends = torch.cat([offsets[1:], torch.full((1,), n, dtype=torch.int64)])
        lengths = ends - offsets
        col = torch.arange(lengths.max())
        valid = col.unsqueeze(0) < lengths.unsqueeze(1)
        pos = torch.where(valid, offsets.unsqueeze(1) + col.unsqueeze(0), torch.zeros_like(col))
        rows = self.remap()[ids]
        padded_rows = torch.where(valid, rows[pos], torch.zeros_like(pos))
        padded_weights = torch.where(valid, weights[pos], torch.zeros((), dtype=weights.dtype))
        bag = (self.table[padded_rows] * padded_weights.unsqueeze(2)).sum(1)
        return F.normalize(self.mlp(bag), p=2.0, dim=-1, eps=L2_EPS)

    def tensors(self, prefix: str) -> dict[str, torch.Tensor]:
        """The safetensors tensors of this tower (names of ses_udf.learned_tower)."""
        return {
            f"{prefix}.bag.ids": self.vocab_ids,
            f"{prefix}.bag.weight": self.table,
            f"{prefix}.mlp.0.weight": self.mlp[0].weight.detach(),
            f"{prefix}.mlp.0.bias": self.mlp[0].bias.detach(),
            f"{prefix}.mlp.2.weight": self.mlp[2].weight.detach(),
            f"{prefix}.mlp.2.bias": self.mlp[2].bias.detach(),
        }


class TwoTowerExport(nn.Module):
    """Both compact towers in one graph: (talent_ids, talent_offsets, talent_weights,
    project_ids, project_offsets, project_weights) -> (talent_embedding, project_embedding)."""

    def __init__(self, model: TwoTower) -> None:
        super().__init__()
        self.talent = CompactTower(model.talent)
        self.project = CompactTower(model.project)
        self.eval()

    def forward(
        self,
        talent_ids: torch.Tensor,
        talent_offsets: torch.Tensor,
        talent_weights: torch.Tensor,
        project_ids: torch.Tensor,
        project_offsets: torch.Tensor,
        project_weights: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return (
            self.talent(talent_ids, talent_offsets, talent_weights),
            self.project(project_ids, project_offsets, project_weights),
        )
