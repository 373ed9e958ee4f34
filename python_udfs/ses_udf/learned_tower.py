"""Serving side of the learned two-tower model (imported by plpython3u).

Only numpy, onnxruntime, candle (``candle-nn``) and safetensors are imported here:
never torch. Training (``training/``) imports this module for the token id scheme
and the batch encoding, so training and serving cannot drift apart.

Token id scheme ``sip13-mod-2^18-v1``
    id = ses_udf.hashing.token_hash(token) % 2**18
    i.e. SipHash-1-3 (keys of R-21) of the token's UTF-8 bytes + 0xff, modulo the
    vocabulary size. Collisions are accepted (feature hashing); the embedding row
    of an id is shared by every token hashing to it. Changing the hash, the modulus
    or the token strings requires a new scheme name (and a retrain).

A batch of bags is encoded EmbeddingBag-style into three flat arrays:
    ids      int64   [N]  token ids of all bags, concatenated
    offsets  int64   [B]  start of each bag in ``ids`` (offsets[0] == 0, non-decreasing)
    weights  float32 [N]  per-token weights (EmbeddingBag ``per_sample_weights``)
An empty bag is allowed (its embedding bag is the zero vector).

Tower forward pass (both towers, separate weights)::

    bag = sum_i weights[i] * E[ids[i]]          # EmbeddingBag(2**18, 128, mode="sum")
    h   = relu(bag @ W1.T + b1)                 # 128 -> 256
    y   = h @ W2.T + b2                         # 256 -> 256, no final activation
    out = y / max(||y||_2, 1e-12)               # L2 normalised, dimension 256
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ses_udf.hashing import token_hash

ID_SCHEME = "sip13-mod-2^18-v1"
VOCAB_SIZE = 2**18
EMBEDDING_DIM = 128
HIDDEN_DIM = 256
DIMENSION = 256
TOKENIZER_VERSION = "v2"
MODEL_FORMAT_VERSION = 1
L2_EPS = 1e-12

INPUT_NAMES = ("ids", "offsets", "weights")
OUTPUT_NAME = "embedding"
TOWERS = ("talent", "project")

# Tensor names inside a tower's safetensors file (same names as the PyTorch tower).
TENSOR_SHAPES: dict[str, tuple[int, ...]] = {
    "bag.weight": (VOCAB_SIZE, EMBEDDING_DIM),
    "mlp.0.weight": (HIDDEN_DIM, EMBEDDING_DIM),
    "mlp.0.bias": (HIDDEN_DIM,),
    "mlp.2.weight": (DIMENSION, HIDDEN_DIM),
    "mlp.2.bias": (DIMENSION,),
}

# Metadata keys a model must agree on with this serving code.
_EXPECTED_METADATA: dict[str, Any] = {
    "dimension": DIMENSION,
    "embedding_dim": EMBEDDING_DIM,
    "hidden_dim": HIDDEN_DIM,
    "vocab_size": VOCAB_SIZE,
    "id_scheme": ID_SCHEME,
    "tokenizer_version": TOKENIZER_VERSION,
}

Bag = tuple[Sequence[str], Sequence[float]]


class ModelFileError(ValueError):
    """A model file is corrupt, unreadable, or does not match its metadata."""


# --------------------------------------------------------------------------- encoding


@functools.lru_cache(maxsize=1 << 17)
def token_id(token: str) -> int:
    """Id of one token under ``ID_SCHEME``."""
    return token_hash(token) % VOCAB_SIZE


def encode(bags: Iterable[Bag]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encode bags of weighted tokens into flat ``(ids, offsets, weights)``.

    ``bags`` yields ``(tokens, weights)`` pairs of equal length. Returns int64 ids [N],
    int64 offsets [B] and float32 weights [N].
    """
    ids: list[int] = []
    weights: list[float] = []
    offsets: list[int] = []
    for i, bag in enumerate(bags):
        try:
            tokens, token_weights = bag
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bag {i}: expected a (tokens, weights) pair") from exc
        if isinstance(tokens, str):
            raise ValueError(f"bag {i}: tokens must be a sequence of strings, not a string")
        if len(tokens) != len(token_weights):
            raise ValueError(f"bag {i}: {len(tokens)} tokens but {len(token_weights)} weights")
        offsets.append(len(ids))
        ids.extend(token_id(t) for t in tokens)
        weights.extend(token_weights)
    w = np.asarray(weights, dtype=np.float32)
    if w.size and not np.isfinite(w).all():
        raise ValueError("token weights must be finite")
    return (
        np.asarray(ids, dtype=np.int64),
        np.asarray(offsets, dtype=np.int64),
        w,
    )


def check_encoded(ids: np.ndarray, offsets: np.ndarray, weights: np.ndarray) -> None:
    """Raise ValueError unless the arrays form a valid encoded batch."""
    if ids.ndim != 1 or offsets.ndim != 1 or weights.ndim != 1:
        raise ValueError("ids, offsets and weights must be one-dimensional")
    if ids.shape != weights.shape:
        raise ValueError(f"{ids.size} ids but {weights.size} weights")
    if offsets.size:
        if offsets[0] != 0:
            raise ValueError("offsets[0] must be 0")
        if np.any(np.diff(offsets) < 0) or offsets[-1] > ids.size:
            raise ValueError("offsets must be non-decreasing and within the ids")
    if ids.size and (ids.min() < 0 or ids.max() >= VOCAB_SIZE):
        raise ValueError(f"token ids must lie in [0, {VOCAB_SIZE})")


# --------------------------------------------------------------------------- metadata


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def validate_metadata(metadata: Mapping[str, Any]) -> None:
    """Raise ModelFileError naming the first key that does not match this serving code."""
    if not isinstance(metadata, Mapping):
        raise ModelFileError(f"model metadata must be a mapping, got {type(metadata).__name__}")
    for key, expected in _EXPECTED_METADATA.items():
        if key not in metadata:
            raise ModelFileError(f"model metadata lacks {key!r} (expected {expected!r})")
        actual = metadata[key]
        if actual != expected:
            raise ModelFileError(
                f"model metadata mismatch: {key} is {actual!r}, serving code expects {expected!r}"
            )


def _expected_sha(metadata: Mapping[str, Any] | None, tower: str | None, kind: str) -> str | None:
    if metadata is None or tower is None:
        return None
    try:
        return metadata["files"][tower][kind]["sha256"]
    except (KeyError, TypeError):
        return None


def _read_source(source: bytes | bytearray | memoryview | str | os.PathLike, what: str) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    try:
        with open(source, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise ModelFileError(f"cannot read {what} {os.fspath(source)!r}: {exc}") from exc


def _check_sha(data: bytes, expected: str | None, what: str) -> None:
    if expected is not None and sha256_hex(data) != expected:
        raise ModelFileError(
            f"{what} is corrupt: sha256 {sha256_hex(data)} does not match metadata {expected}"
        )


def _check_output(out: np.ndarray, batch: int, what: str) -> np.ndarray:
    if out.shape != (batch, DIMENSION):
        raise ModelFileError(f"{what} returned shape {out.shape}, expected ({batch}, {DIMENSION})")
    if not np.isfinite(out).all():
        raise ModelFileError(f"{what} returned non-finite values (corrupt weights?)")
    norms = np.linalg.norm(out, axis=1)
    if batch and np.abs(norms - 1.0).max() > 1e-3:
        raise ModelFileError(f"{what} returned vectors that are not unit length (corrupt model?)")
    return out


_PROBE_BAGS: list[Bag] = [
    (["skill:java", "loc:東京都", "exp:3-5"], [2.0, 1.5, 1.0]),
    ([], []),
    (["skill:python"], [1.0]),
]


# --------------------------------------------------------------------------- ONNX


class OnnxTower:
    """One tower exported to ONNX (inputs ids/offsets/weights, output embedding [B, 256]).

    ``model`` is a path or the file's bytes. With ``metadata`` (the dict written by
    ``training.export``) the ids/dimension/vocab are validated and, when ``tower`` names
    the side ("talent"/"project"), the file's sha256 is checked too.
    """

    name = "onnx"

    def __init__(
        self,
        model: bytes | bytearray | memoryview | str | os.PathLike,
        metadata: Mapping[str, Any] | None = None,
        *,
        tower: str | None = None,
        intra_op_threads: int = 1,
        max_batch: int = 8192,
    ) -> None:
        import onnxruntime as ort

        if metadata is not None:
            validate_metadata(metadata)
        self.metadata = dict(metadata) if metadata is not None else None
        self.tower = tower
        self.max_batch = max_batch
        data = _read_source(model, "ONNX model")
        _check_sha(data, _expected_sha(metadata, tower, "onnx"), "ONNX model")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(intra_op_threads))
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                data, sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelFileError(f"ONNX model is corrupt or unreadable: {exc}") from exc
        inputs = {i.name: i.type for i in self._session.get_inputs()}
        expected = {"ids": "tensor(int64)", "offsets": "tensor(int64)", "weights": "tensor(float)"}
        if inputs != expected:
            raise ModelFileError(f"ONNX model inputs are {inputs}, expected {expected}")
        _check_header(
            dict(self._session.get_modelmeta().custom_metadata_map or {}), metadata, tower, "ONNX"
        )
        outputs = [o.name for o in self._session.get_outputs()]
        if outputs != [OUTPUT_NAME]:
            raise ModelFileError(f"ONNX model outputs are {outputs}, expected [{OUTPUT_NAME!r}]")
        self.embed_batch(_PROBE_BAGS)  # fails loudly on a model that does not compute

    @property
    def version(self) -> str | None:
        return None if self.metadata is None else self.metadata.get("version")

    def embed_encoded(
        self, ids: np.ndarray, offsets: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        check_encoded(ids, offsets, weights)
        if offsets.size == 0:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        if ids.size == 0:  # all bags empty: a zero-weight token keeps every tensor non-empty
            ids = np.zeros(1, dtype=np.int64)
            weights = np.zeros(1, dtype=np.float32)
        feeds = {
            "ids": np.ascontiguousarray(ids, dtype=np.int64),
            "offsets": np.ascontiguousarray(offsets, dtype=np.int64),
            "weights": np.ascontiguousarray(weights, dtype=np.float32),
        }
        try:
            (out,) = self._session.run([OUTPUT_NAME], feeds)
        except Exception as exc:
            raise ModelFileError(f"ONNX inference failed: {exc}") from exc
        return _check_output(np.asarray(out, dtype=np.float32), offsets.size, "ONNX model")

    def embed_batch(self, bags: Sequence[Bag]) -> np.ndarray:
        """Embeddings float32 [len(bags), 256], L2-normalised."""
        return _chunked(self.embed_encoded, bags, self.max_batch)


def _chunked(fn, bags: Sequence[Bag], max_batch: int) -> np.ndarray:
    bags = list(bags)
    if len(bags) <= max_batch:
        return fn(*encode(bags))
    parts = [fn(*encode(bags[i : i + max_batch])) for i in range(0, len(bags), max_batch)]
    return np.concatenate(parts, axis=0)


# --------------------------------------------------------------------------- Candle


class _CandleBridge:
    """Moves numpy arrays in and out of candle.

    candle's Python bindings only convert through Python sequences (about 5 s per
    25M floats); a safetensors round trip through a private temporary directory is
    ~40x faster, so large arrays take that path.
    """

    SMALL = 4096  # elements: below this the direct conversion is cheaper

    def __init__(self) -> None:
        self._dir: str | None = None
        self._lock = threading.Lock()
        self._counter = 0

    def _path(self) -> str:
        if self._dir is None:
            base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
            self._dir = tempfile.mkdtemp(prefix="ses_candle_", dir=base)
            weakref.finalize(self, shutil.rmtree, self._dir, True)
        self._counter += 1
        return os.path.join(self._dir, f"t{self._counter}.safetensors")

    def to_candle(self, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
        import candle
        from safetensors.numpy import save_file

        if sum(a.size for a in arrays.values()) <= self.SMALL and all(
            a.size for a in arrays.values()
        ):
            return {k: self._small(candle, a) for k, a in arrays.items()}
        with self._lock:
            path = self._path()
            try:
                save_file({k: np.ascontiguousarray(a) for k, a in arrays.items()}, path)
                return dict(candle.utils.load_safetensors(path))
            finally:
                _unlink(path)

    @staticmethod
    def _small(candle, a: np.ndarray):
        t = candle.Tensor(a.ravel().tolist())
        if a.dtype == np.float32:
            t = t.to_dtype(candle.f32)
        elif a.dtype == np.int64:
            t = t.to_dtype(candle.i64)
        elif a.dtype == np.uint32:
            t = t.to_dtype(candle.u32)
        return t.reshape(a.shape) if a.ndim != 1 else t

    def to_numpy(self, tensor) -> np.ndarray:
        import candle
        from safetensors.numpy import load_file

        shape = tuple(tensor.shape)
        if tensor.nelement <= self.SMALL:
            flat = tensor.flatten_all().values() if tensor.nelement else []
            return np.asarray(flat, dtype=np.float32).reshape(shape)
        with self._lock:
            path = self._path()
            try:
                candle.utils.save_safetensors(path, {"t": tensor.contiguous()})
                return load_file(path)["t"].reshape(shape)
            finally:
                _unlink(path)


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def load_safetensors_weights(
    source: bytes | bytearray | memoryview | str | os.PathLike,
    metadata: Mapping[str, Any] | None = None,
    *,
    tower: str | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read and validate one tower's safetensors file -> (tensors, header metadata)."""
    from safetensors import safe_open
    from safetensors.numpy import load

    data = _read_source(source, "safetensors weights")
    _check_sha(data, _expected_sha(metadata, tower, "safetensors"), "safetensors weights")
    try:
        tensors = load(data)
    except Exception as exc:
        raise ModelFileError(f"safetensors weights are corrupt or unreadable: {exc}") from exc
    header: dict[str, str] = {}
    if isinstance(source, (str, os.PathLike)):
        try:
            with safe_open(os.fspath(source), framework="numpy") as fh:
                header = dict(fh.metadata() or {})
        except Exception as exc:
            raise ModelFileError(f"safetensors header unreadable: {exc}") from exc
    else:
        header = _header_metadata(data)
    names = set(tensors)
    if names != set(TENSOR_SHAPES):
        raise ModelFileError(
            f"safetensors tensors are {sorted(names)}, expected {sorted(TENSOR_SHAPES)}"
        )
    for name, shape in TENSOR_SHAPES.items():
        t = tensors[name]
        if t.dtype != np.float32:
            raise ModelFileError(f"tensor {name} has dtype {t.dtype}, expected float32")
        if t.shape != shape:
            raise ModelFileError(f"tensor {name} has shape {t.shape}, expected {shape}")
        if not np.isfinite(t).all():
            raise ModelFileError(f"tensor {name} holds non-finite values (corrupt file)")
    _check_header(header, metadata, tower, "safetensors")
    return tensors, header


def _check_header(
    header: Mapping[str, str], metadata: Mapping[str, Any] | None, tower: str | None, what: str
) -> None:
    """The metadata embedded in a model file must agree with the serving constants, the
    requested tower and the model version of ``metadata``."""
    for key, expected in _EXPECTED_METADATA.items():
        if key in header and header[key] != str(expected):
            raise ModelFileError(
                f"{what} file metadata mismatch: {key} is {header[key]!r}, expected {expected!r}"
            )
    if tower is not None and header.get("tower") not in (None, tower):
        raise ModelFileError(f"{what} file holds the {header['tower']!r} tower, not {tower!r}")
    version = None if metadata is None else metadata.get("version")
    if version is not None and "version" in header and header["version"] != str(version):
        raise ModelFileError(
            f"{what} file is model version {header['version']!r}, metadata says {version!r}"
        )


def _header_metadata(data: bytes) -> dict[str, str]:
    if len(data) < 8:
        raise ModelFileError("safetensors weights are truncated")
    n = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8 : 8 + n])
    except ValueError as exc:
        raise ModelFileError(f"safetensors header is corrupt: {exc}") from exc
    meta = header.get("__metadata__") or {}
    return {str(k): str(v) for k, v in meta.items()}


class CandleTower:
    """The same tower as OnnxTower, forward pass in Candle (weights from safetensors).

    EmbeddingBag-sum with per-sample weights is computed on a padded [B, L] layout:
    ``index_select`` of the rows of the embedding matrix, then a batched
    ``[B,1,L] @ [B,L,128]`` matmul with the (zero-padded) weights, which is the
    weighted segment sum. Bags are processed in chunks of ``max_batch``, sorted by
    length so padding stays small.
    """

    name = "candle"

    def __init__(
        self,
        weights: bytes | bytearray | memoryview | str | os.PathLike,
        metadata: Mapping[str, Any],
        *,
        tower: str | None = None,
        max_batch: int = 4096,
    ) -> None:
        if metadata is None:
            raise ModelFileError("CandleTower needs the model metadata")
        validate_metadata(metadata)
        self.metadata = dict(metadata)
        self.tower = tower
        self.max_batch = max_batch
        tensors, _ = load_safetensors_weights(weights, metadata, tower=tower)
        self._bridge = _CandleBridge()
        try:
            t = self._bridge.to_candle(tensors)
        except Exception as exc:
            raise ModelFileError(f"candle could not load the weights: {exc}") from exc
        self._emb = t["bag.weight"]
        self._w1t = t["mlp.0.weight"].t().contiguous()
        self._b1 = t["mlp.0.bias"]
        self._w2t = t["mlp.2.weight"].t().contiguous()
        self._b2 = t["mlp.2.bias"]
        self.embed_batch(_PROBE_BAGS)

    @property
    def version(self) -> str | None:
        return self.metadata.get("version")

    def embed_encoded(
        self, ids: np.ndarray, offsets: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        check_encoded(ids, offsets, weights)
        b = offsets.size
        if b == 0:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        ends = np.append(offsets[1:], ids.size)
        lengths = ends - offsets
        order = np.argsort(lengths, kind="stable")
        out = np.empty((b, DIMENSION), dtype=np.float32)
        for start in range(0, b, self.max_batch):
            sel = order[start : start + self.max_batch]
            out[sel] = self._forward_chunk(ids, weights, offsets[sel], lengths[sel])
        return _check_output(out, b, "Candle tower")

    def _forward_chunk(
        self, ids: np.ndarray, weights: np.ndarray, starts: np.ndarray, lengths: np.ndarray
    ) -> np.ndarray:
        import candle
        from candle import functional as F

        bsz = starts.size
        width = max(1, int(lengths.max()))
        # Padded [B, L] layout: padding slots point at row 0 with weight 0.
        col = np.arange(width, dtype=np.int64)
        valid = col[None, :] < lengths[:, None]
        pos = np.where(valid, starts[:, None] + col[None, :], 0)
        pid = np.where(valid, ids[pos] if ids.size else 0, 0).astype(np.uint32)
        pw = np.where(valid, weights[pos] if weights.size else 0.0, 0.0).astype(np.float32)
        t = self._bridge.to_candle({"ids": pid.ravel(), "w": pw})
        rows = self._emb.index_select(t["ids"], 0).reshape((bsz, width, EMBEDDING_DIM))
        bag = t["w"].reshape((bsz, 1, width)).matmul(rows).reshape((bsz, EMBEDDING_DIM))
        h = F.relu(bag.matmul(self._w1t).broadcast_add(self._b1))
        y = h.matmul(self._w2t).broadcast_add(self._b2)
        norm = y.sqr().sum_keepdim(1).sqrt()
        eps = candle.ones((bsz, 1), dtype=candle.f32) * L2_EPS
        norm = (norm > L2_EPS).where_cond(norm, eps)
        return self._bridge.to_numpy(y.broadcast_div(norm))

    def embed_batch(self, bags: Sequence[Bag]) -> np.ndarray:
        """Embeddings float32 [len(bags), 256], L2-normalised."""
        return _chunked(self.embed_encoded, bags, 1 << 30)


def load_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a model's metadata JSON (written by training.export)."""
    try:
        with open(path, encoding="utf-8") as fh:
            metadata = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"cannot read model metadata {os.fspath(path)!r}: {exc}") from exc
    validate_metadata(metadata)
    return metadata


def load_towers(
    metadata_path: str | os.PathLike, backend: str = "onnx", **kwargs: Any
) -> dict[str, OnnxTower | CandleTower]:
    """Both towers of an exported model, files resolved next to the metadata JSON.

    ``backend`` is "onnx" or "candle"; ``kwargs`` go to the tower class.
    """
    metadata = load_metadata(metadata_path)
    base = os.path.dirname(os.fspath(metadata_path))
    kinds = {"onnx": ("onnx", OnnxTower), "candle": ("safetensors", CandleTower)}
    if backend not in kinds:
        raise ValueError(f"backend must be 'onnx' or 'candle', got {backend!r}")
    kind, cls = kinds[backend]
    towers: dict[str, OnnxTower | CandleTower] = {}
    for tower in TOWERS:
        try:
            name = metadata["files"][tower][kind]["file"]
        except (KeyError, TypeError) as exc:
            raise ModelFileError(
                f"model metadata names no {kind} file for the {tower} tower"
            ) from exc
        towers[tower] = cls(os.path.join(base, name), metadata, tower=tower, **kwargs)
    return towers


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two [B, D] arrays (0 where either row is all zero)."""
    na = np.linalg.norm(a, axis=-1)
    nb = np.linalg.norm(b, axis=-1)
    dot = np.sum(a * b, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where((na > 0) & (nb > 0), dot / (na * nb), 0.0)
    return cos


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """R-22 similarity (cosine + 1) / 2, 0.0 when either vector is all zero."""
    na = np.linalg.norm(a, axis=-1)
    nb = np.linalg.norm(b, axis=-1)
    return np.where((na > 0) & (nb > 0), (cosine_similarity(a, b) + 1.0) / 2.0, 0.0)


__all__ = [
    "DIMENSION",
    "EMBEDDING_DIM",
    "HIDDEN_DIM",
    "ID_SCHEME",
    "INPUT_NAMES",
    "MODEL_FORMAT_VERSION",
    "OUTPUT_NAME",
    "TENSOR_SHAPES",
    "TOKENIZER_VERSION",
    "TOWERS",
    "VOCAB_SIZE",
    "CandleTower",
    "ModelFileError",
    "OnnxTower",
    "check_encoded",
    "cosine_similarity",
    "encode",
    "load_metadata",
    "load_safetensors_weights",
    "load_towers",
    "sha256_hex",
    "similarity",
    "token_id",
    "validate_metadata",
]
