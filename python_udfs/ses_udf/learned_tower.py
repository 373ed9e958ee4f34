"""Serving side of the learned two-tower model (imported by plpython3u).

Only numpy, onnxruntime, candle (``candle-nn``) and safetensors are imported here:
never torch. Training (``training/``) imports this module for the token id scheme
and the batch encoding, so training and serving cannot drift apart.

Token id scheme ``sip13-content-2^18+identity-2^40-v2``
    content token (the v2 tokenizer's ``skill:java``, ``loc:東京都``, ...):
        id = ses_udf.hashing.token_hash(token) % 2**18
    identity token (``talent:<id>`` / ``project:<id>``, see ``identity_token``):
        id = 2**18 + token_hash(token) % 2**40
    i.e. SipHash-1-3 (keys of R-21) of the token's UTF-8 bytes + 0xff. Content
    collisions are accepted (feature hashing: few distinct tokens); identity tokens get
    their own, far larger range so that an entity unseen in training practically never
    shares a row with a trained one (it then embeds from its content alone). Changing
    the hash, a modulus or the token strings requires a new scheme name (and a retrain).

A batch of bags is encoded EmbeddingBag-style into three flat arrays:
    ids      int64   [N]  token ids of all bags, concatenated
    offsets  int64   [B]  start of each bag in ``ids`` (offsets[0] == 0, non-decreasing)
    weights  float32 [N]  per-token weights (EmbeddingBag ``per_sample_weights``)
An empty bag is allowed (its embedding bag is the zero vector).

Identity tokens (hybrid towers)
    A model trained with identity tokens (metadata ``identity_tokens``: the towers that
    use them, ``identity_weight``: their bag weight) sees, besides an entity's content
    tokens, one token naming the entity itself. The SQL tokenizer never emits them (the
    hash tower stays the seed's); the serving embedder appends them from the entity ids
    (``append_identity``). Training drops them at random, so an entity absent from
    training (whose identity id has no row: the zero row) embeds exactly as its
    content-only bag does.

Model format 3 (compact)
    Training learns one embedding row per id of its vocabulary; only the rows of ids
    seen in training are non-zero. A deployed tower keeps just those: ``vocab_ids``
    (sorted int64 [K], ids of the scheme above) and ``table`` (float32 [K + 1, 128]);
    id ``vocab_ids[k]`` uses row ``k + 1`` and every other id row 0, which is zero.
    The id -> row lookup is a binary search over vocab_ids (``vocab_rows``; inside the
    ONNX graph an unrolled one), so the id range can be far larger than the table.

    One model = one ONNX file and one safetensors file, both holding both towers:
    * ONNX inputs ``<tower>_ids`` / ``<tower>_offsets`` / ``<tower>_weights`` and
      outputs ``<tower>_embedding`` [B, 256] for tower in (talent, project); the id
      lookup is inside the graph, so the inputs are scheme ids.
    * safetensors tensors ``<tower>.bag.ids`` (int64 [K]), ``<tower>.bag.weight``
      ([K + 1, 128], row 0 zero), ``<tower>.mlp.0.weight`` / ``.mlp.0.bias`` /
      ``.mlp.2.weight`` / ``.mlp.2.bias``; run by Candle.
    Format 2 (scheme v1, a dense in-graph remap of 2**18 ids) is no longer served: its
    models must be retrained (the loader says so).

Tower forward pass (both towers, separate weights)::

    bag = sum_i weights[i] * table[row(ids[i])]     # EmbeddingBag(sum)
    h   = relu(bag @ W1.T + b1)                     # 128 -> 256
    y   = h @ W2.T + b2                             # 256 -> 256, no final activation
    out = y / max(||y||_2, 1e-12)                   # L2 normalised, dimension 256
"""

from __future__ import annotations

import contextlib
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

ID_SCHEME = "sip13-content-2^18+identity-2^40-v2"
VOCAB_SIZE = 2**18  # content token ids: [0, VOCAB_SIZE)
IDENTITY_BASE = VOCAB_SIZE
IDENTITY_SPACE = 2**40  # identity token ids: [IDENTITY_BASE, ID_LIMIT)
ID_LIMIT = IDENTITY_BASE + IDENTITY_SPACE
EMBEDDING_DIM = 128
HIDDEN_DIM = 256
DIMENSION = 256
TOKENIZER_VERSION = "v2"
MODEL_FORMAT_VERSION = 3
L2_EPS = 1e-12

TOWERS = ("talent", "project")
BACKENDS = ("onnx", "candle")
# The file kind each backend serves from (keys of metadata["files"]).
BACKEND_FILE = {"onnx": "onnx", "candle": "safetensors"}


def onnx_inputs(tower: str) -> tuple[str, str, str]:
    return (f"{tower}_ids", f"{tower}_offsets", f"{tower}_weights")


def onnx_output(tower: str) -> str:
    return f"{tower}_embedding"


# Per-tower tensors of the safetensors file: name suffix -> (dtype, shape); None is K
# (ids) or K + 1 (table rows).
TOWER_TENSORS: dict[str, tuple[str, tuple[int | None, ...]]] = {
    "bag.ids": ("int64", (None,)),
    "bag.weight": ("float32", (None, EMBEDDING_DIM)),
    "mlp.0.weight": ("float32", (HIDDEN_DIM, EMBEDDING_DIM)),
    "mlp.0.bias": ("float32", (HIDDEN_DIM,)),
    "mlp.2.weight": ("float32", (DIMENSION, HIDDEN_DIM)),
    "mlp.2.bias": ("float32", (DIMENSION,)),
}

# Metadata keys a model must agree on with this serving code.
_EXPECTED_METADATA: dict[str, Any] = {
    "format_version": MODEL_FORMAT_VERSION,
    "dimension": DIMENSION,
    "embedding_dim": EMBEDDING_DIM,
    "hidden_dim": HIDDEN_DIM,
    "vocab_size": VOCAB_SIZE,
    "identity_space": IDENTITY_SPACE,
    "id_scheme": ID_SCHEME,
    "tokenizer_version": TOKENIZER_VERSION,
}

Bag = tuple[Sequence[str], Sequence[float]]


class ModelFileError(ValueError):
    """A model file is corrupt, unreadable, or does not match its metadata."""


# --------------------------------------------------------------------------- encoding


class _TokenIds(dict):
    """token -> id under ID_SCHEME; restarted beyond a bound so a long-lived database
    backend cannot grow without limit."""

    MAX = 1 << 20

    def __missing__(self, token: object) -> int:
        if not isinstance(token, str):
            raise ValueError(f"token must be a string, got {token!r}")
        if len(self) >= self.MAX:
            self.clear()
        h = token_hash(token)
        if token.startswith(_IDENTITY_PREFIXES):
            value = IDENTITY_BASE + h % IDENTITY_SPACE
        else:
            value = h % VOCAB_SIZE
        self[token] = value
        return value


_IDENTITY_PREFIXES = tuple(f"{side}:" for side in TOWERS)
_TOKEN_IDS = _TokenIds()


def identity_token(side: str, entity_id: Any) -> str:
    """The identity token of a talent or project (``talent:42``)."""
    if side not in TOWERS:
        raise ValueError(f"side must be one of {TOWERS}, got {side!r}")
    return f"{side}:{entity_id}"


def is_identity_id(ids: np.ndarray) -> np.ndarray:
    """Mask of the identity token ids among ``ids``."""
    return np.asarray(ids) >= IDENTITY_BASE


def append_identity(
    side: str,
    entity_ids: np.ndarray,
    bag_ids: np.ndarray,
    counts: np.ndarray,
    weights: np.ndarray,
    weight: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bags grouped by entity (counts[k] tokens of entity_ids[k], in order) with each
    entity's identity token appended at the end of its bag: (ids, counts, weights)."""
    n = int(np.asarray(entity_ids).size)
    if n == 0:
        return bag_ids, counts, weights
    ident = token_ids([identity_token(side, e) for e in np.asarray(entity_ids).tolist()])
    ends = np.cumsum(counts)  # insert position of each entity's identity token
    ids = np.insert(np.asarray(bag_ids, dtype=np.int64), ends, ident)
    w = np.insert(np.asarray(weights, dtype=np.float32), ends, np.float32(weight))
    return ids, np.asarray(counts, dtype=np.int64) + 1, w


def token_id(token: str) -> int:
    """Id of one token under ``ID_SCHEME``."""
    return _TOKEN_IDS[token]


def token_ids(tokens: Sequence[str]) -> np.ndarray:
    """Ids of many tokens (int64), through the per-process cache."""
    try:
        return np.fromiter(map(_TOKEN_IDS.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    except TypeError:
        # An unhashable token (a list, say) fails the dict lookup before __missing__.
        bad = next(t for t in tokens if not isinstance(t, str))
        raise ValueError(f"token must be a string, got {bad!r}") from None


def encode(bags: Iterable[Bag]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encode bags of weighted tokens into flat ``(ids, offsets, weights)``.

    ``bags`` yields ``(tokens, weights)`` pairs of equal length. Returns int64 ids [N],
    int64 offsets [B] and float32 weights [N].
    """
    flat_tokens: list[str] = []
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
        offsets.append(len(flat_tokens))
        flat_tokens.extend(tokens)
        weights.extend(token_weights)
    w = np.asarray(weights, dtype=np.float32)
    if w.size and not np.isfinite(w).all():
        raise ValueError("token weights must be finite")
    return token_ids(flat_tokens), np.asarray(offsets, dtype=np.int64), w


def check_encoded(ids: np.ndarray, offsets: np.ndarray, weights: np.ndarray) -> None:
    """Raise ValueError unless the arrays form a valid encoded batch."""
    if ids.ndim != 1 or offsets.ndim != 1 or weights.ndim != 1:
        raise ValueError("ids, offsets and weights must be one-dimensional")
    if ids.shape != weights.shape:
        raise ValueError(f"{ids.size} ids but {weights.size} weights")
    if offsets.size:
        if offsets[0] != 0:
            raise ValueError(f"offsets[0] must be 0, got {int(offsets[0])}")
        if np.any(np.diff(offsets) < 0) or offsets[-1] > ids.size:
            raise ValueError("offsets must be non-decreasing and within the ids")
    elif ids.size:
        raise ValueError(f"{ids.size} ids but no bag (offsets is empty)")
    if ids.size and (ids.min() < 0 or ids.max() >= ID_LIMIT):
        bad = int(ids[(ids < 0) | (ids >= ID_LIMIT)][0])
        raise ValueError(f"token id {bad} is outside [0, {ID_LIMIT}) ({ID_SCHEME})")


def vocab_rows(vocab_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Table row of each id (int64): k + 1 for ``vocab_ids[k]``, 0 for ids outside the
    sorted vocabulary. The same binary search the ONNX graph unrolls."""
    ids = np.asarray(ids, dtype=np.int64)
    if vocab_ids.size == 0:
        return np.zeros(ids.shape, dtype=np.int64)
    pos = np.searchsorted(vocab_ids, ids)
    found = vocab_ids[np.minimum(pos, vocab_ids.size - 1)] == ids
    return np.where(found, pos + 1, 0).astype(np.int64)


def _bag_lengths(ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    return np.append(offsets[1:], ids.size) - offsets


def _gather_bags(
    ids: np.ndarray, offsets: np.ndarray, weights: np.ndarray, lengths: np.ndarray, sel: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The encoded sub-batch of bags ``sel`` (in that order)."""
    ln = lengths[sel]
    sub_offsets = np.zeros(sel.size, dtype=np.int64)
    if sel.size > 1:
        np.cumsum(ln[:-1], out=sub_offsets[1:])
    src = np.repeat(offsets[sel] - sub_offsets, ln) + np.arange(int(ln.sum()), dtype=np.int64)
    return ids[src], sub_offsets, weights[src]


# --------------------------------------------------------------------------- metadata


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def validate_metadata(metadata: Mapping[str, Any]) -> None:
    """Raise ModelFileError naming the first key that does not match this serving code."""
    if not isinstance(metadata, Mapping):
        raise ModelFileError(f"model metadata must be a mapping, got {type(metadata).__name__}")
    if metadata.get("format_version") == 2:
        raise ModelFileError(
            "model format 2 (id scheme sip13-mod-2^18-v1) is no longer served: retrain the "
            f"model (format {MODEL_FORMAT_VERSION}, id scheme {ID_SCHEME})"
        )
    for key, expected in _EXPECTED_METADATA.items():
        if key not in metadata:
            raise ModelFileError(f"model metadata lacks {key!r} (expected {expected!r})")
        actual = metadata[key]
        if actual != expected:
            raise ModelFileError(
                f"model metadata mismatch: {key} is {actual!r}, serving code expects {expected!r}"
            )
    identity_settings(metadata)


def identity_settings(metadata: Mapping[str, Any]) -> tuple[tuple[str, ...], float]:
    """(towers that append identity tokens, their bag weight) of a model's metadata."""
    sides = metadata.get("identity_tokens", [])
    if not isinstance(sides, (list, tuple)) or any(s not in TOWERS for s in sides):
        raise ModelFileError(
            f"model metadata identity_tokens must list towers of {TOWERS}, got {sides!r}"
        )
    weight = metadata.get("identity_weight", 1.0)
    if sides and not (isinstance(weight, (int, float)) and np.isfinite(weight) and weight > 0):
        raise ModelFileError(f"model metadata identity_weight must be a number > 0, got {weight!r}")
    return tuple(sides), float(weight)


def header_fields(version: str) -> dict[str, str]:
    """The key/values written into both model files (ONNX metadata_props, safetensors
    header), so a file alone says what it is."""
    return {"version": str(version), **{k: str(v) for k, v in _EXPECTED_METADATA.items()}}


def _expected_sha(metadata: Mapping[str, Any] | None, kind: str) -> str | None:
    if metadata is None:
        return None
    try:
        return metadata["files"][kind]["sha256"]
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


def _check_header(header: Mapping[str, str], metadata: Mapping[str, Any] | None, what: str) -> None:
    """The metadata embedded in a model file must agree with the serving constants and
    with the model version of ``metadata``."""
    for key, expected in _EXPECTED_METADATA.items():
        if key in header and header[key] != str(expected):
            raise ModelFileError(
                f"{what} file metadata mismatch: {key} is {header[key]!r}, expected {expected!r}"
            )
    version = None if metadata is None else metadata.get("version")
    if version is not None and "version" in header and header["version"] != str(version):
        raise ModelFileError(
            f"{what} file is model version {header['version']!r}, metadata says {version!r}"
        )


def _check_output(out: np.ndarray, batch: int, what: str) -> np.ndarray:
    if out.shape != (batch, DIMENSION):
        raise ModelFileError(f"{what} returned shape {out.shape}, expected ({batch}, {DIMENSION})")
    if not np.isfinite(out).all():
        raise ModelFileError(f"{what} returned non-finite values (corrupt weights?)")
    norms = np.linalg.norm(out, axis=1)
    # unit rows, or all-zero ones (a tower whose MLP maps an empty bag to zero: the
    # similarity of R-22 is 0.0 there, as for the hash tower)
    if batch and (np.minimum(np.abs(norms - 1.0), norms) > 1e-3).any():
        raise ModelFileError(f"{what} returned vectors that are not unit length (corrupt model?)")
    return out


_PROBE_BAGS: list[Bag] = [
    (["skill:java", "loc:東京都", "exp:3-5"], [2.0, 1.5, 1.0]),
    ([], []),
    (["skill:python"], [1.0]),
]


class _Model:
    """Both towers of one model behind one backend; ``towers[name]`` is a per-tower view."""

    name = "?"

    def __init__(self, metadata: Mapping[str, Any] | None, max_batch: int) -> None:
        if metadata is not None:
            validate_metadata(metadata)
        self.metadata = dict(metadata) if metadata is not None else None
        self.identity_sides, self.identity_weight = (
            identity_settings(metadata) if metadata is not None else ((), 1.0)
        )
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.max_batch = max_batch
        self.towers = {name: TowerView(self, name) for name in TOWERS}

    @property
    def version(self) -> str | None:
        return None if self.metadata is None else self.metadata.get("version")

    def _probe(self) -> None:
        for name in TOWERS:  # fails loudly on a model that does not compute
            self.embed_batch(name, _PROBE_BAGS)

    def embed_encoded(
        self, tower: str, ids: np.ndarray, offsets: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        """Embeddings float32 [B, 256] of an encoded batch; bags are run in chunks of
        ``max_batch`` sorted by length, so padding stays small."""
        if tower not in TOWERS:
            raise ValueError(f"tower must be one of {TOWERS}, got {tower!r}")
        check_encoded(ids, offsets, weights)
        b = offsets.size
        out = np.empty((b, DIMENSION), dtype=np.float32)
        if b == 0:
            return out
        lengths = _bag_lengths(ids, offsets)
        order = np.argsort(lengths, kind="stable")
        for start in range(0, b, self.max_batch):
            sel = order[start : start + self.max_batch]
            block = self._forward(tower, *_gather_bags(ids, offsets, weights, lengths, sel))
            # a model whose output is not [n, DIMENSION] is the model's fault, not numpy's
            _check_output(block, sel.size, f"{self.name} model ({tower} tower)")
            out[sel] = block
        return out

    def embed_batch(self, tower: str, bags: Sequence[Bag]) -> np.ndarray:
        """Embeddings float32 [len(bags), 256], L2-normalised."""
        return self.embed_encoded(tower, *encode(bags))

    def _forward(
        self, tower: str, ids: np.ndarray, offsets: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        raise NotImplementedError


class TowerView:
    """One tower of a loaded model: ``embed_batch(bags)`` / ``embed_encoded(...)``."""

    def __init__(self, model: _Model, tower: str) -> None:
        self.model = model
        self.tower = tower

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def version(self) -> str | None:
        return self.model.version

    def embed_encoded(
        self, ids: np.ndarray, offsets: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        return self.model.embed_encoded(self.tower, ids, offsets, weights)

    def embed_batch(self, bags: Sequence[Bag]) -> np.ndarray:
        return self.model.embed_batch(self.tower, bags)


# --------------------------------------------------------------------------- ONNX


class OnnxModel(_Model):
    """Both towers from one ONNX file (see the module docstring for its interface).

    ``model`` is a path or the file's bytes. With ``metadata`` (the dict written by
    ``training.export``) dimension / id scheme / format are validated and the file's
    sha256 is checked.
    """

    name = "onnx"

    def __init__(
        self,
        model: bytes | bytearray | memoryview | str | os.PathLike,
        metadata: Mapping[str, Any] | None = None,
        *,
        intra_op_threads: int = 1,
        max_batch: int = 4096,
    ) -> None:
        import onnxruntime as ort

        super().__init__(metadata, max_batch)
        data = _read_source(model, "ONNX model")
        _check_sha(data, _expected_sha(metadata, "onnx"), "ONNX model")
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
        expected = {}
        for tower in TOWERS:
            i, o, w = onnx_inputs(tower)
            expected.update({i: "tensor(int64)", o: "tensor(int64)", w: "tensor(float)"})
        if inputs != expected:
            raise ModelFileError(f"ONNX model inputs are {inputs}, expected {expected}")
        outputs = sorted(o.name for o in self._session.get_outputs())
        if outputs != sorted(onnx_output(t) for t in TOWERS):
            raise ModelFileError(
                f"ONNX model outputs are {outputs}, expected {[onnx_output(t) for t in TOWERS]}"
            )
        _check_header(
            dict(self._session.get_modelmeta().custom_metadata_map or {}), metadata, "ONNX"
        )
        # The idle tower of a call gets one empty bag (a zero-weight token keeps its
        # tensors non-empty); its output is discarded.
        self._idle = (
            np.zeros(1, dtype=np.int64),
            np.zeros(1, dtype=np.int64),
            np.zeros(1, dtype=np.float32),
        )
        self._probe()

    def _forward(
        self, tower: str, ids: np.ndarray, offsets: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        if ids.size == 0:  # all bags empty: a zero-weight token keeps every tensor non-empty
            ids, weights = self._idle[0], self._idle[2]
        feeds: dict[str, np.ndarray] = {}
        for name in TOWERS:
            arrays = (ids, offsets, weights) if name == tower else self._idle
            for key, value, dtype in zip(
                onnx_inputs(name), arrays, (np.int64, np.int64, np.float32), strict=True
            ):
                feeds[key] = np.ascontiguousarray(value, dtype=dtype)
        try:
            (out,) = self._session.run([onnx_output(tower)], feeds)
        except Exception as exc:
            raise ModelFileError(f"ONNX inference failed: {exc}") from exc
        return np.asarray(out, dtype=np.float32)


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


def _header_metadata(data: bytes) -> dict[str, str]:
    if len(data) < 8:
        raise ModelFileError("safetensors weights are truncated")
    n = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8 : 8 + n])
    except ValueError as exc:
        raise ModelFileError(f"safetensors header is corrupt: {exc}") from exc
    if not isinstance(header, dict):
        raise ModelFileError("safetensors header is corrupt: not a JSON object")
    meta = header.get("__metadata__") or {}
    return {str(k): str(v) for k, v in meta.items()}


def load_safetensors_weights(
    source: bytes | bytearray | memoryview | str | os.PathLike,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """Read and validate a model's safetensors file -> {tensor name: array}."""
    from safetensors.numpy import load

    data = _read_source(source, "safetensors weights")
    _check_sha(data, _expected_sha(metadata, "safetensors"), "safetensors weights")
    header = _header_metadata(data)
    try:
        tensors = load(data)
    except Exception as exc:
        raise ModelFileError(f"safetensors weights are corrupt or unreadable: {exc}") from exc
    expected_names = {f"{t}.{n}" for t in TOWERS for n in TOWER_TENSORS}
    if set(tensors) != expected_names:
        raise ModelFileError(
            f"safetensors tensors are {sorted(tensors)}, expected {sorted(expected_names)}"
        )
    for tower in TOWERS:
        k = tensors[f"{tower}.bag.ids"].shape[0] if tensors[f"{tower}.bag.ids"].ndim == 1 else -1
        for suffix, (dtype, shape) in TOWER_TENSORS.items():
            name = f"{tower}.{suffix}"
            t = tensors[name]
            want = tuple((k if suffix == "bag.ids" else k + 1) if d is None else d for d in shape)
            if t.dtype != np.dtype(dtype):
                raise ModelFileError(f"tensor {name} has dtype {t.dtype}, expected {dtype}")
            if t.shape != want:
                raise ModelFileError(f"tensor {name} has shape {t.shape}, expected {want}")
            if t.dtype.kind == "f" and not np.isfinite(t).all():
                raise ModelFileError(f"tensor {name} holds non-finite values (corrupt file)")
        check_vocab(tensors[f"{tower}.bag.ids"], tensors[f"{tower}.bag.weight"], tower)
    _check_header(header, metadata, "safetensors")
    return tensors


def check_vocab(vocab_ids: np.ndarray, table: np.ndarray, tower: str) -> None:
    """The compact-table contract: sorted unique ids of the scheme, row 0 all zero."""
    if vocab_ids.size and (vocab_ids.min() < 0 or vocab_ids.max() >= ID_LIMIT):
        raise ModelFileError(f"{tower} tower: vocabulary ids outside [0, {ID_LIMIT})")
    if vocab_ids.size > 1 and not (np.diff(vocab_ids) > 0).all():
        raise ModelFileError(f"{tower} tower: vocabulary ids are not sorted and unique")
    if table.shape[0] != vocab_ids.size + 1:
        raise ModelFileError(
            f"{tower} tower: {table.shape[0]} table rows for {vocab_ids.size} vocabulary ids "
            "(expected one more: row 0 serves unseen ids)"
        )
    if table.shape[0] and np.any(table[0] != 0):
        raise ModelFileError(f"{tower} tower: row 0 (unseen ids) must be zero")


class CandleModel(_Model):
    """The same towers as OnnxModel, forward pass in Candle (weights from safetensors).

    EmbeddingBag-sum with per-sample weights is computed on a padded [B, L] layout:
    the table rows of the ids (``vocab_rows``, in numpy) are gathered with
    ``index_select``, then a batched ``[B,1,L] @ [B,L,128]`` matmul with the
    (zero-padded) weights, which is the weighted segment sum. Bags run in chunks of
    ``max_batch`` sorted by length.
    """

    name = "candle"

    def __init__(
        self,
        weights: bytes | bytearray | memoryview | str | os.PathLike,
        metadata: Mapping[str, Any],
        *,
        max_batch: int = 4096,
    ) -> None:
        if metadata is None:
            raise ModelFileError("CandleModel needs the model metadata")
        super().__init__(metadata, max_batch)
        tensors = load_safetensors_weights(weights, metadata)
        self._bridge = _CandleBridge()
        self._t: dict[str, dict[str, Any]] = {}
        self._vocab = {tower: tensors[f"{tower}.bag.ids"] for tower in TOWERS}
        try:
            for tower in TOWERS:
                arrays = {
                    "table": tensors[f"{tower}.bag.weight"],
                    "w1t": np.ascontiguousarray(tensors[f"{tower}.mlp.0.weight"].T),
                    "b1": tensors[f"{tower}.mlp.0.bias"],
                    "w2t": np.ascontiguousarray(tensors[f"{tower}.mlp.2.weight"].T),
                    "b2": tensors[f"{tower}.mlp.2.bias"],
                }
                self._t[tower] = self._bridge.to_candle(arrays)
        except Exception as exc:
            raise ModelFileError(f"candle could not load the weights: {exc}") from exc
        self._probe()

    def _forward(
        self, tower: str, ids: np.ndarray, offsets: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        import candle
        from candle import functional as F

        t = self._t[tower]
        bsz = offsets.size
        lengths = _bag_lengths(ids, offsets)
        width = max(1, int(lengths.max()))
        # Padded [B, L] layout: padding slots point at id 0 with weight 0.
        col = np.arange(width, dtype=np.int64)
        valid = col[None, :] < lengths[:, None]
        pos = np.where(valid, offsets[:, None] + col[None, :], 0)
        token_rows = vocab_rows(self._vocab[tower], ids)
        prow = np.where(valid, token_rows[pos] if ids.size else 0, 0).astype(np.uint32)
        pw = np.where(valid, weights[pos] if weights.size else 0.0, 0.0).astype(np.float32)
        x = self._bridge.to_candle({"rows": prow.ravel(), "w": pw})
        rows = t["table"].index_select(x["rows"], 0).reshape((bsz, width, EMBEDDING_DIM))
        bag = x["w"].reshape((bsz, 1, width)).matmul(rows).reshape((bsz, EMBEDDING_DIM))
        h = F.relu(bag.matmul(t["w1t"]).broadcast_add(t["b1"]))
        y = h.matmul(t["w2t"]).broadcast_add(t["b2"])
        norm = y.sqr().sum_keepdim(1).sqrt()
        eps = candle.ones((bsz, 1), dtype=candle.f32) * L2_EPS
        norm = (norm > L2_EPS).where_cond(norm, eps)
        return self._bridge.to_numpy(y.broadcast_div(norm))


# --------------------------------------------------------------------------- loading


def load_model(
    backend: str,
    data: bytes | bytearray | memoryview | str | os.PathLike,
    metadata: Mapping[str, Any],
    **kwargs: Any,
) -> OnnxModel | CandleModel:
    """The model of ``backend`` ("onnx" | "candle") from its file (path or bytes)."""
    if backend == "onnx":
        return OnnxModel(data, metadata, **kwargs)
    if backend == "candle":
        return CandleModel(data, metadata, **kwargs)
    raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


def load_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a model's metadata JSON (written by training.export)."""
    try:
        with open(path, encoding="utf-8") as fh:
            metadata = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"cannot read model metadata {os.fspath(path)!r}: {exc}") from exc
    validate_metadata(metadata)
    return metadata


def load_files(
    metadata_path: str | os.PathLike, backend: str = "onnx", **kwargs: Any
) -> OnnxModel | CandleModel:
    """A model exported to files, resolved next to its metadata JSON."""
    metadata = load_metadata(metadata_path)
    if backend not in BACKEND_FILE:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    kind = BACKEND_FILE[backend]
    try:
        name = metadata["files"][kind]["file"]
    except (KeyError, TypeError) as exc:
        raise ModelFileError(f"model metadata names no {kind} file") from exc
    base = os.path.dirname(os.fspath(metadata_path))
    return load_model(backend, os.path.join(base, name), metadata, **kwargs)


def load_towers(
    metadata_path: str | os.PathLike, backend: str = "onnx", **kwargs: Any
) -> dict[str, TowerView]:
    """Both towers of an exported model: {"talent": view, "project": view}."""
    return load_files(metadata_path, backend, **kwargs).towers


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
    "BACKENDS",
    "BACKEND_FILE",
    "DIMENSION",
    "EMBEDDING_DIM",
    "HIDDEN_DIM",
    "IDENTITY_BASE",
    "IDENTITY_SPACE",
    "ID_LIMIT",
    "ID_SCHEME",
    "MODEL_FORMAT_VERSION",
    "TOKENIZER_VERSION",
    "TOWERS",
    "TOWER_TENSORS",
    "VOCAB_SIZE",
    "CandleModel",
    "ModelFileError",
    "OnnxModel",
    "TowerView",
    "append_identity",
    "check_encoded",
    "check_vocab",
    "cosine_similarity",
    "encode",
    "header_fields",
    "identity_settings",
    "identity_token",
    "is_identity_id",
    "load_files",
    "load_metadata",
    "load_model",
    "load_safetensors_weights",
    "load_towers",
    "onnx_inputs",
    "onnx_output",
    "sha256_hex",
    "similarity",
    "token_id",
    "token_ids",
    "validate_metadata",
    "vocab_rows",
]
