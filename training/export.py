"""Export a trained TwoTower for serving (SPEC R-23, R-42; seed E.5).

Per tower (talent, project) two files with the same weights:

* ``<basename>.<tower>.onnx`` — ONNX (opset 17 by default), inputs ``ids`` int64 [N],
  ``offsets`` int64 [B], ``weights`` float32 [N] (dynamic N and B), output ``embedding``
  float32 [B, 256] (L2-normalised). Run by onnxruntime (``ses_udf.learned_tower.OnnxTower``).
* ``<basename>.<tower>.safetensors`` — tensors ``bag.weight``, ``mlp.0.weight``, ``mlp.0.bias``,
  ``mlp.2.weight``, ``mlp.2.bias`` (float32) with the model constants in the header, run by
  Candle (``ses_udf.learned_tower.CandleTower``).

plus ``<basename>.json``, the metadata dict returned by ``export_model``. After writing,
both serving implementations are loaded from the files just written (sha256-checked) and must
reproduce the PyTorch tower within ``tolerance`` (1e-5) on a random batch; otherwise the
files are removed and ExportVerificationError is raised.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import io
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ses_udf import learned_tower as lt

from training.model import Tower, TowerExport, TwoTower

DEFAULT_OPSET = 17
DEFAULT_TOLERANCE = 1e-5


class ExportVerificationError(RuntimeError):
    """The exported files do not reproduce the PyTorch model."""


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export_tower_onnx(
    tower: Tower,
    path: str | os.PathLike,
    opset: int = DEFAULT_OPSET,
    header: dict[str, str] | None = None,
) -> None:
    """Export one tower; ``header`` is stored as the ONNX model's metadata_props."""
    if opset < 14:
        raise ValueError("opset must be >= 14")
    wrapper = TowerExport(tower)
    ids = torch.tensor([1, 2, 3, 4, 5], dtype=torch.int64)
    offsets = torch.tensor([0, 2, 2], dtype=torch.int64)
    weights = torch.tensor([1.0, 2.0, 1.5, 0.5, 1.0], dtype=torch.float32)
    import onnx

    buf = io.BytesIO()
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            (ids, offsets, weights),
            buf,
            input_names=list(lt.INPUT_NAMES),
            output_names=[lt.OUTPUT_NAME],
            dynamic_axes={
                "ids": {0: "N"},
                "offsets": {0: "B"},
                "weights": {0: "N"},
                lt.OUTPUT_NAME: {0: "B"},
            },
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    proto = onnx.load_from_string(buf.getvalue())
    if header:
        onnx.helper.set_model_props(proto, header)
    onnx.save(proto, os.fspath(path))


def tower_tensors(tower: Tower) -> dict[str, np.ndarray]:
    state = {
        k: v.detach().cpu().contiguous().numpy().astype(np.float32, copy=False)
        for k, v in tower.state_dict().items()
    }
    if set(state) != set(lt.TENSOR_SHAPES):
        raise ValueError(f"tower tensors {sorted(state)} differ from {sorted(lt.TENSOR_SHAPES)}")
    for name, shape in lt.TENSOR_SHAPES.items():
        if state[name].shape != shape:
            raise ValueError(f"tensor {name} has shape {state[name].shape}, expected {shape}")
    return state


def export_tower_safetensors(tower: Tower, path: str | os.PathLike, header: dict[str, str]) -> None:
    from safetensors.numpy import save_file

    save_file(tower_tensors(tower), os.fspath(path), metadata=header)


def random_batch(
    tower: Tower, rng: np.random.Generator, batch: int = 64, max_len: int = 40
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A verification batch: random bag lengths (empty bags included), ids half drawn from
    the trained (non-zero) rows so the check exercises the learnt weights."""
    lengths = rng.integers(0, max_len + 1, batch)
    lengths[0] = 0
    n = int(lengths.sum())
    trained = torch.nonzero(tower.bag.weight.detach().abs().sum(1)).flatten().numpy()
    ids = rng.integers(0, lt.VOCAB_SIZE, n)
    if trained.size:
        pick = rng.random(n) < 0.5
        ids[pick] = rng.choice(trained, size=int(pick.sum()))
    offsets = np.zeros(batch, dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    weights = rng.choice(np.array([0.5, 1.0, 1.5, 2.0], dtype=np.float32), size=n)
    return ids.astype(np.int64), offsets, weights.astype(np.float32)


def export_model(
    model: TwoTower,
    out_dir: str | os.PathLike,
    version: str,
    *,
    basename: str | None = None,
    opset: int = DEFAULT_OPSET,
    training: dict[str, Any] | None = None,
    verify: bool = True,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
) -> dict[str, Any]:
    """Write both towers (ONNX + safetensors) and ``<basename>.json``; return the metadata.

    ``version`` is the model version recorded with every score (e.g. "20250101"); the default
    basename is ``two_tower_<version>``. ``training`` (e.g. ``TrainResult.summary()``) is stored
    under metadata["training"].
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    basename = basename or f"two_tower_{version}"
    model = model.eval()
    header = {
        "version": str(version),
        "format_version": str(lt.MODEL_FORMAT_VERSION),
        "id_scheme": lt.ID_SCHEME,
        "vocab_size": str(lt.VOCAB_SIZE),
        "embedding_dim": str(lt.EMBEDDING_DIM),
        "hidden_dim": str(lt.HIDDEN_DIM),
        "dimension": str(lt.DIMENSION),
        "tokenizer_version": lt.TOKENIZER_VERSION,
    }
    written: list[Path] = []
    files: dict[str, dict[str, Any]] = {}
    try:
        for name in lt.TOWERS:
            tower: Tower = getattr(model, name)
            onnx_path = out / f"{basename}.{name}.onnx"
            st_path = out / f"{basename}.{name}.safetensors"
            written += [onnx_path, st_path]
            export_tower_onnx(tower, onnx_path, opset, {**header, "tower": name})
            export_tower_safetensors(tower, st_path, {**header, "tower": name})
            files[name] = {
                kind: {"file": p.name, "sha256": _sha256(p), "bytes": p.stat().st_size}
                for kind, p in (("onnx", onnx_path), ("safetensors", st_path))
            }
        metadata: dict[str, Any] = {
            "name": "two_tower",
            "version": str(version),
            "format_version": lt.MODEL_FORMAT_VERSION,
            "dimension": lt.DIMENSION,
            "embedding_dim": lt.EMBEDDING_DIM,
            "hidden_dim": lt.HIDDEN_DIM,
            "vocab_size": lt.VOCAB_SIZE,
            "id_scheme": lt.ID_SCHEME,
            "tokenizer_version": lt.TOKENIZER_VERSION,
            "architecture": "EmbeddingBag(sum, per_sample_weights) -> Linear -> ReLU -> Linear "
            "-> L2 normalise; separate talent/project towers",
            "final_activation": "none",
            "similarity": "cosine",
            "logit_scale": float(model.scale().detach()),
            "logit_bias": float(model.bias.detach()),
            "onnx_opset": opset,
            "input_names": list(lt.INPUT_NAMES),
            "output_name": lt.OUTPUT_NAME,
            "tensor_names": list(lt.TENSOR_SHAPES),
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
        if verify:
            metadata["verification"] = verify_export(model, out, metadata, tolerance, seed)
        meta_path = out / f"{basename}.json"
        written.append(meta_path)
        meta_path.write_text(json.dumps(metadata, ensure_ascii=False, indent=2, default=str))
    except BaseException:
        for p in written:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        raise
    return metadata


def verify_export(
    model: TwoTower,
    out_dir: str | os.PathLike,
    metadata: dict[str, Any],
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
) -> dict[str, Any]:
    """Reload the written files with the serving code and compare with PyTorch."""
    out = Path(out_dir)
    rng = np.random.Generator(np.random.PCG64(seed))
    report: dict[str, Any] = {"tolerance": tolerance}
    for name in lt.TOWERS:
        tower: Tower = getattr(model, name)
        ids, offsets, weights = random_batch(tower, rng)
        with torch.no_grad():
            tower.eval()
            ref = tower(
                torch.from_numpy(ids), torch.from_numpy(offsets), torch.from_numpy(weights)
            ).numpy()
        entry = metadata["files"][name]
        onnx_bytes = (out / entry["onnx"]["file"]).read_bytes()
        try:
            onnx_out = lt.OnnxTower(onnx_bytes, metadata, tower=name).embed_encoded(
                ids, offsets, weights
            )
            candle_out = lt.CandleTower(
                out / entry["safetensors"]["file"], metadata, tower=name
            ).embed_encoded(ids, offsets, weights)
        except lt.ModelFileError as exc:
            raise ExportVerificationError(
                f"{name} tower: exported file fails to load: {exc}"
            ) from exc
        for backend, got in (("onnx", onnx_out), ("candle", candle_out)):
            diff = float(np.abs(got - ref).max())
            report[f"{name}_{backend}_max_abs_diff"] = diff
            if not diff <= tolerance:
                raise ExportVerificationError(
                    f"{name} tower: {backend} output differs from PyTorch by {diff:.3g} "
                    f"(tolerance {tolerance:g}); export rejected"
                )
    report["batch"] = int(offsets.size)
    return report
