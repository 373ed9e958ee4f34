"""Export a trained TwoTower for serving (SPEC R-23, R-42; seed E.5).

One model version = three files (``two_tower_<version>.*``), the same weights twice:

* ``.onnx`` — both towers in one ONNX graph (opset 17 by default): inputs
  ``<tower>_ids`` int64 [N], ``<tower>_offsets`` int64 [B], ``<tower>_weights`` float32 [N]
  for tower in (talent, project), outputs ``<tower>_embedding`` float32 [B, 256]
  (L2-normalised). Run by onnxruntime (``ses_udf.learned_tower.OnnxModel``).
* ``.safetensors`` — the compact tensors of both towers (``<tower>.bag.ids``,
  ``<tower>.bag.weight``, ``<tower>.mlp.*``) with the model constants in the header,
  run by Candle (``ses_udf.learned_tower.CandleModel``).
* ``.json`` — the metadata dict (version, dimension, id scheme, file hashes, training
  summary...).

Both files are compact (model format 3): only the embedding rows of ids seen in
training are kept (see ses_udf.learned_tower), so a model is a few MB, small enough to
live in ses.model_registry as bytea. A hybrid model's metadata names the towers that
append identity tokens (``identity_tokens``) and their weight. Before anything is written, both serving
implementations are loaded from the bytes and must reproduce the dense PyTorch towers
within ``tolerance`` (1e-5) on a random batch; otherwise ExportVerificationError.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import io
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ses_udf import learned_tower as lt

from training.model import Tower, TwoTower, TwoTowerExport

DEFAULT_OPSET = 17
DEFAULT_TOLERANCE = 1e-5


class ExportVerificationError(RuntimeError):
    """The exported files do not reproduce the PyTorch model."""


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def basename_for(version: str) -> str:
    return f"two_tower_{version}"


@dataclass
class ModelArtifacts:
    """An exported model held in memory: what goes to files and to ses.model_registry."""

    version: str
    onnx: bytes
    safetensors: bytes
    metadata: dict[str, Any]

    @property
    def basename(self) -> str:
        return basename_for(self.version)

    def payload(self, backend: str) -> bytes:
        return self.onnx if backend == "onnx" else self.safetensors

    def write(self, out_dir: str | os.PathLike) -> dict[str, Path]:
        """Write ``<basename>.onnx / .safetensors / .json`` into ``out_dir``; each file
        appears complete or not at all (temporary name, then rename)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        contents = {
            "onnx": self.onnx,
            "safetensors": self.safetensors,
            "json": json.dumps(self.metadata, ensure_ascii=False, indent=2, default=str).encode(),
        }
        paths = {kind: out / f"{self.basename}.{kind}" for kind in contents}
        written: list[Path] = []
        try:
            for kind, data in contents.items():
                tmp = paths[kind].with_name(paths[kind].name + ".tmp")
                written.append(tmp)
                tmp.write_bytes(data)
                os.replace(tmp, paths[kind])
                written.append(paths[kind])
        except BaseException:
            for p in written:
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
            raise
        return paths


def onnx_bytes(model: TwoTower, version: str, opset: int = DEFAULT_OPSET) -> bytes:
    """Both compact towers as one ONNX model; the header goes to metadata_props."""
    if opset < 14:
        raise ValueError(f"opset must be >= 14, got {opset}")
    import onnx

    wrapper = TwoTowerExport(model)
    example = (
        torch.tensor([1, 2, 3, 4, 5], dtype=torch.int64),
        torch.tensor([0, 2, 2], dtype=torch.int64),
        torch.tensor([1.0, 2.0, 1.5, 0.5, 1.0], dtype=torch.float32),
    )
    names: list[str] = []
    axes: dict[str, dict[int, str]] = {}
    for tower in lt.TOWERS:
        ids, offsets, weights = lt.onnx_inputs(tower)
        names += [ids, offsets, weights]
        axes.update(
            {
                ids: {0: f"{tower}_N"},
                offsets: {0: f"{tower}_B"},
                weights: {0: f"{tower}_N"},
                lt.onnx_output(tower): {0: f"{tower}_B"},
            }
        )
    buf = io.BytesIO()
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            example + example,
            buf,
            input_names=names,
            output_names=[lt.onnx_output(t) for t in lt.TOWERS],
            dynamic_axes=axes,
            opset_version=opset,
            dynamo=False,
        )
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    onnx.helper.set_model_props(proto, lt.header_fields(version))
    return proto.SerializeToString()


def safetensors_bytes(model: TwoTower, version: str) -> bytes:
    wrapper = TwoTowerExport(model)
    tensors: dict[str, np.ndarray] = {}
    for tower in lt.TOWERS:
        for name, t in getattr(wrapper, tower).tensors(tower).items():
            tensors[name] = np.ascontiguousarray(t.detach().cpu().numpy())
    return deterministic_safetensors(tensors, lt.header_fields(version))


_ST_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}


def deterministic_safetensors(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """The safetensors format written with sorted keys: the library's writer orders the
    header through a hash map, so equal tensors could give different bytes (and sha256)."""
    header: dict[str, Any] = {"__metadata__": dict(sorted(metadata.items()))}
    chunks: list[bytes] = []
    offset = 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        data = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {
            "dtype": _ST_DTYPES[a.dtype],
            "shape": list(a.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes
    return len(text).to_bytes(8, "little") + text + b"".join(chunks)


def random_batch(
    tower: Tower, rng: np.random.Generator, batch: int = 64, max_len: int = 40
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A verification batch: random bag lengths (empty bags included), ids half drawn from
    the trained (non-zero) rows so the check exercises the learnt weights, half anywhere
    in the content and identity ranges (mostly unseen ids, which must hit the zero row)."""
    lengths = rng.integers(0, max_len + 1, batch)
    lengths[0] = 0
    n = int(lengths.sum())
    trained_rows = torch.nonzero(tower.bag.weight.detach().abs().sum(1)).flatten().numpy()
    trained = tower.vocab_np[trained_rows[trained_rows > 0] - 1]
    ids = rng.integers(0, lt.VOCAB_SIZE, n)
    identity = rng.random(n) < 0.2
    ids[identity] = rng.integers(lt.IDENTITY_BASE, lt.ID_LIMIT, int(identity.sum()))
    if trained.size:
        pick = rng.random(n) < 0.5
        ids[pick] = rng.choice(trained, size=int(pick.sum()))
    offsets = np.zeros(batch, dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    weights = rng.choice(np.array([0.5, 1.0, 1.5, 2.0], dtype=np.float32), size=n)
    return ids.astype(np.int64), offsets, weights.astype(np.float32)


def build_artifacts(
    model: TwoTower,
    version: str,
    *,
    opset: int = DEFAULT_OPSET,
    training: dict[str, Any] | None = None,
    verify: bool = True,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
) -> ModelArtifacts:
    """Export ``model`` as model ``version`` into memory (and verify it)."""
    model = model.eval()
    version = str(version)
    identity_sides, identity_weight = model.identity
    onnx_data = onnx_bytes(model, version, opset)
    st_data = safetensors_bytes(model, version)
    base = basename_for(version)
    files = {
        kind: {"file": f"{base}.{kind}", "sha256": lt.sha256_hex(data), "bytes": len(data)}
        for kind, data in (("onnx", onnx_data), ("safetensors", st_data))
    }
    metadata: dict[str, Any] = {
        "name": "two_tower",
        "version": version,
        "format_version": lt.MODEL_FORMAT_VERSION,
        "dimension": lt.DIMENSION,
        "embedding_dim": lt.EMBEDDING_DIM,
        "hidden_dim": lt.HIDDEN_DIM,
        "vocab_size": lt.VOCAB_SIZE,
        "identity_space": lt.IDENTITY_SPACE,
        "id_scheme": lt.ID_SCHEME,
        "identity_tokens": list(identity_sides),
        "identity_weight": identity_weight,
        "tokenizer_version": lt.TOKENIZER_VERSION,
        "towers": {
            name: {"vocab_rows": int(getattr(TwoTowerExport(model), name).vocab_ids.numel())}
            for name in lt.TOWERS
        },
        "architecture": "EmbeddingBag(sum, per_sample_weights; compact rows of the training "
        "vocabulary (content tokens, plus identity tokens for the towers in identity_tokens), "
        "unseen ids -> zero row) -> Linear 128->256 -> ReLU -> Linear 256->256 "
        "-> L2 normalise; separate talent/project towers",
        "final_activation": "none",
        "similarity": "cosine",
        "logit_scale": float(model.scale().detach()),
        "logit_bias": float(model.bias.detach()),
        "onnx_opset": opset,
        "onnx_inputs": {t: list(lt.onnx_inputs(t)) for t in lt.TOWERS},
        "onnx_outputs": {t: lt.onnx_output(t) for t in lt.TOWERS},
        "tensor_names": sorted(f"{t}.{n}" for t in lt.TOWERS for n in lt.TOWER_TENSORS),
        "torch_version": torch.__version__,
        "onnx_version": _version("onnx"),
        "onnxruntime_version": _version("onnxruntime"),
        "safetensors_version": _version("safetensors"),
        "candle_version": _version("candle-nn"),
        "numpy_version": np.__version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": files,
    }
    if training is not None:
        metadata["training"] = training
    artifacts = ModelArtifacts(version, onnx_data, st_data, metadata)
    if verify:
        metadata["verification"] = verify_artifacts(model, artifacts, tolerance, seed)
    return artifacts


def export_model(
    model: TwoTower, out_dir: str | os.PathLike, version: str, **kwargs: Any
) -> dict[str, Any]:
    """build_artifacts + write: the three files in ``out_dir``; returns the metadata."""
    artifacts = build_artifacts(model, version, **kwargs)
    artifacts.write(out_dir)
    return artifacts.metadata


def verify_artifacts(
    model: TwoTower,
    artifacts: ModelArtifacts,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
) -> dict[str, Any]:
    """Load the exported bytes with the serving code and compare with PyTorch."""
    rng = np.random.Generator(np.random.PCG64(seed))
    report: dict[str, Any] = {"tolerance": tolerance}
    served = {}
    for backend in lt.BACKENDS:
        try:
            served[backend] = lt.load_model(
                backend, artifacts.payload(backend), artifacts.metadata, max_batch=16
            )
        except lt.ModelFileError as exc:
            raise ExportVerificationError(f"exported {backend} model fails to load: {exc}") from exc
    batch = 0
    for name in lt.TOWERS:
        tower: Tower = getattr(model, name)
        ids, offsets, weights = random_batch(tower, rng)
        batch = int(offsets.size)
        with torch.no_grad():
            tower.eval()
            ref = tower(
                torch.from_numpy(ids), torch.from_numpy(offsets), torch.from_numpy(weights)
            ).numpy()
        for backend, served_model in served.items():
            got = served_model.embed_encoded(name, ids, offsets, weights)
            diff = float(np.abs(got - ref).max())
            report[f"{name}_{backend}_max_abs_diff"] = diff
            if not diff <= tolerance:
                raise ExportVerificationError(
                    f"{name} tower: {backend} output differs from PyTorch by {diff:.3g} "
                    f"(tolerance {tolerance:g}); export rejected"
                )
    report["batch"] = batch
    return report
