"""Two-tower model (seed appendix E.1, SPEC R-40).

Each side: shared tokenizer (ses_udf tokens, id scheme of ses_udf.learned_tower)
-> EmbeddingBag(K + 1, 128, mode="sum", per_sample_weights) over the tower's vocabulary
of K scheme ids (content tokens and, for hybrid towers, identity tokens) -> MLP 128 ->
256 -> 256 (ReLU between, no final activation) -> L2 normalisation. The talent and
project towers have separate weights. Similarity is the cosine of the two unit vectors;
training turns it into a logit ``scale * cos + bias`` (+ a training-only position term,
training.train).

No final activation: a ReLU (or tanh) after the last layer would confine the unit
vectors to the positive orthant (cosine >= 0), wasting half the similarity range that
R-22's (cos + 1) / 2 maps to [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from ses_udf import learned_tower as lt
from ses_udf.learned_tower import DIMENSION, EMBEDDING_DIM, HIDDEN_DIM, L2_EPS
from torch import nn


def _torch_lookup(vocab: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Table row of each id: k + 1 for vocab[k], 0 for ids outside the sorted vocab.

    A lower-bound binary search unrolled into plain Gather / Less / Where steps (the
    vocabulary size is fixed when a model is exported), so the ONNX graph needs no
    table over the whole id range; ses_udf.learned_tower.vocab_rows is its numpy twin.
    """
    k = int(vocab.shape[0])
    if k == 0:
        return torch.zeros_like(ids)
    lo = torch.zeros_like(ids)
    hi = torch.full_like(ids, k)
    for _ in range(k.bit_length()):
        mid = torch.div(lo + hi, 2, rounding_mode="floor")
        go_right = (lo < hi) & (vocab[mid.clamp(max=k - 1)] < ids)
        lo = torch.where(go_right, mid + 1, lo)
        hi = torch.where(go_right, hi, mid)
    found = vocab[lo.clamp(max=k - 1)] == ids
    return torch.where(found, lo + 1, torch.zeros_like(lo))


class Tower(nn.Module):
    """One side of the two-tower model over a fixed vocabulary of scheme ids.

    ``vocab_ids`` (sorted, unique; ses_udf.learned_tower's id scheme) are the ids this
    tower can hold a row for: id ``vocab_ids[k]`` uses embedding row ``k + 1``, row 0
    stays zero and serves every other id. ``forward(ids, offsets, weights)`` takes scheme
    ids; ``forward_rows`` takes table rows (the training loop's fast path).
    """

    def __init__(
        self,
        vocab_ids: np.ndarray,
        embedding_dim: int = EMBEDDING_DIM,
        hidden_dim: int = HIDDEN_DIM,
        dimension: int = DIMENSION,
        *,
        sparse: bool = True,
    ) -> None:
        super().__init__()
        vocab = np.asarray(vocab_ids, dtype=np.int64)
        if vocab.size > 1 and not (np.diff(vocab) > 0).all():
            raise ValueError("vocab_ids must be sorted and unique")
        self.vocab_np = vocab
        self.register_buffer("vocab_ids", torch.from_numpy(vocab.copy()))
        # Zero-filled: init_weights() sets the rows of the training vocabulary.
        self.bag = nn.EmbeddingBag(
            vocab.size + 1,
            embedding_dim,
            mode="sum",
            sparse=sparse,
            _weight=torch.zeros(vocab.size + 1, embedding_dim),
        )
        self.mlp = nn.Sequential(
            nn.Linear(embedding_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, dimension),
        )

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """Table rows of scheme ids (0 for ids outside the vocabulary)."""
        return lt.vocab_rows(self.vocab_np, ids)

    def forward_rows(
        self, rows: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        bag = self.bag(rows, offsets, per_sample_weights=weights)
        return F.normalize(self.mlp(bag), p=2.0, dim=-1, eps=L2_EPS)

    def forward(
        self, ids: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        rows = torch.from_numpy(self.rows(ids.numpy()))
        return self.forward_rows(rows, offsets, weights)

    @torch.no_grad()
    def init_weights(
        self, generator: torch.Generator, embedding_std: float, used_rows: np.ndarray | None
    ) -> None:
        """Deterministic initialisation from ``generator``.

        Embedding rows in ``used_rows`` (the training vocabulary) get N(0, std); every
        other row is zero, and since SparseAdam only touches rows that occur in a batch
        it stays zero: a token never seen in training contributes nothing at serving
        time instead of random noise.
        """
        w = self.bag.weight
        w.zero_()
        if used_rows is None:
            w[1:].normal_(0.0, embedding_std, generator=generator)
        elif len(used_rows):
            idx = torch.as_tensor(np.asarray(used_rows, dtype=np.int64))
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
    """Talent tower + project tower + the logit calibration used by the loss.

    ``position_buckets`` > 0 adds a training-only logit offset per bucket of the shown
    rank (position bias, training.train): it explains what the rank did to a label so
    the towers need not; serving uses the cosine alone.
    """

    def __init__(
        self,
        talent_vocab: np.ndarray,
        project_vocab: np.ndarray,
        embedding_dim: int = EMBEDDING_DIM,
        hidden_dim: int = HIDDEN_DIM,
        dimension: int = DIMENSION,
        *,
        init_scale: float = 10.0,
        learn_scale: bool = True,
        sparse: bool = True,
        position_buckets: int = 0,
    ) -> None:
        super().__init__()
        self.talent = Tower(talent_vocab, embedding_dim, hidden_dim, dimension, sparse=sparse)
        self.project = Tower(project_vocab, embedding_dim, hidden_dim, dimension, sparse=sparse)
        log_scale = torch.tensor(math.log(init_scale), dtype=torch.float32)
        if learn_scale:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)
        self.bias = nn.Parameter(torch.zeros((), dtype=torch.float32))
        self.position_bias = (
            nn.Parameter(torch.zeros(position_buckets, dtype=torch.float32))
            if position_buckets > 0
            else None
        )
        # (towers that see identity tokens, their weight): set by training, exported
        # into the model's metadata so serving appends the same tokens.
        self.identity: tuple[tuple[str, ...], float] = ((), 1.0)

    MAX_SCALE = 100.0

    def scale(self) -> torch.Tensor:
        return self.log_scale.exp().clamp(max=self.MAX_SCALE)

    def logits(self, cos: torch.Tensor, position: torch.Tensor | None = None) -> torch.Tensor:
        """Training logit; ``position`` (bucket per pair, -1 = unknown) adds the position
        term when the model has one."""
        z = self.scale() * cos + self.bias
        if self.position_bias is not None and position is not None:
            known = position >= 0
            z = z + torch.where(known, self.position_bias[position.clamp(min=0)], 0.0)
        return z

    @staticmethod
    def cosine(talent_emb: torch.Tensor, project_emb: torch.Tensor) -> torch.Tensor:
        """Row-wise cosine of unit vectors."""
        return (talent_emb * project_emb).sum(-1)

    @torch.no_grad()
    def init_weights(
        self,
        generator: torch.Generator,
        embedding_std: float,
        talent_used: np.ndarray,
        project_used: np.ndarray,
        *,
        mirror: bool,
    ) -> None:
        """Initialise both towers (rows: table rows of the training vocabulary).

        ``mirror``: both towers start with the same row for the same token and identity
        MLPs (biases zero), so before any step the model's cosine is a random-feature
        version of the bag-of-tokens cosine (the hash baseline's signal); without it
        the towers start from unrelated noise."""
        if not mirror:
            self.talent.init_weights(generator, embedding_std, talent_used)
            self.project.init_weights(generator, embedding_std, project_used)
            return
        t_ids = self.talent.vocab_np[np.asarray(talent_used, dtype=np.int64) - 1]
        p_ids = self.project.vocab_np[np.asarray(project_used, dtype=np.int64) - 1]
        union = np.union1d(t_ids, p_ids)
        shared = torch.empty((union.size, self.talent.bag.weight.shape[1]))
        shared.normal_(0.0, embedding_std, generator=generator)
        for tower, ids in ((self.talent, t_ids), (self.project, p_ids)):
            tower.init_weights(generator, embedding_std, np.zeros(0, dtype=np.int64))
            rows = torch.as_tensor(tower.rows(ids))
            tower.bag.weight[rows] = shared[torch.as_tensor(np.searchsorted(union, ids))]
            tower.identity_mlp()

    def sparse_parameters(self) -> list[nn.Parameter]:
        return [self.talent.bag.weight, self.project.bag.weight]

    def dense_parameters(self) -> list[nn.Parameter]:
        sparse = {id(p) for p in self.sparse_parameters()}
        return [p for p in self.parameters() if id(p) not in sparse]


class CompactTower(nn.Module):
    """Serving form of a trained Tower (model format 3, see ses_udf.learned_tower).

    Keeps only the embedding rows that are non-zero (the ids seen in training: every
    other row is exactly zero), prefixed by one zero row that every other id maps to,
    so it computes the same function as the training tower.
    forward(ids int64 [N], offsets int64 [B], weights float32 [N]) -> [B, 256].

    The bag sum runs on a padded [B, L] layout (gather + multiply + sum): torch's ONNX
    export of EmbeddingBag is a Loop over bags, ~3x slower in onnxruntime.
    """

    def __init__(self, tower: Tower) -> None:
        super().__init__()
        weight = tower.bag.weight.detach()
        rows = torch.nonzero(weight[1:].abs().sum(1) > 0).flatten().to(torch.int64) + 1
        self.register_buffer("vocab_ids", tower.vocab_ids[rows - 1].clone())
        self.register_buffer(
            "table", torch.cat([weight.new_zeros((1, weight.shape[1])), weight[rows]]).clone()
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
        n = ids.shape[0]
        ends = torch.cat([offsets[1:], torch.full((1,), n, dtype=torch.int64)])
        lengths = ends - offsets
        col = torch.arange(lengths.max())
        valid = col.unsqueeze(0) < lengths.unsqueeze(1)
        pos = torch.where(valid, offsets.unsqueeze(1) + col.unsqueeze(0), torch.zeros_like(col))
        rows = _torch_lookup(self.vocab_ids, ids)
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
