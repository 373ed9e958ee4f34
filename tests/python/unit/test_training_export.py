"""training.export + ses_udf.learned_tower: the compact ONNX and Candle models reproduce
the dense PyTorch towers within 1e-5; bad files fail loudly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load, save
from ses_udf import learned_tower as lt
from ses_udf.hashing import token_hash

from training.export import ExportVerificationError, build_artifacts, export_model
from training.split import split_by_project
from training.synthetic import make_synthetic
from training.train import TrainConfig, train

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    pairs, talents, projects = make_synthetic(200, 60, 15, seed=2)
    split = split_by_project(pairs)
    result = train(
        split.train, split.valid, talents, projects, TrainConfig(epochs=2, num_threads=1)
    )
    out = tmp_path_factory.mktemp("model")
    metadata = export_model(result.model, out, "20260101", training=result.summary())
    return result.model, out, metadata, talents, projects


def sample_bags(talents):
    bags = [talents[k] for k in list(talents)[:40]]
    bags += [
        ([], []),
        (["skill:未知の技術", "skill:java", "skill:java"], [2.0, 1.0, 1.0]),
        (["loc:東京都"], [0.0]),
    ]
    return bags


def torch_embed(tower, bags):
    ids, offsets, weights = lt.encode(bags)
    with torch.no_grad():
        return tower(
            torch.from_numpy(ids), torch.from_numpy(offsets), torch.from_numpy(weights)
        ).numpy()


def test_encode_matches_id_scheme():
    ids, offsets, weights = lt.encode(
        [(["skill:java", "loc:東京都"], [2.0, 1.5]), ([], []), (["exp:3-5"], [1.0])]
    )
    assert ids.dtype == np.int64 and offsets.dtype == np.int64 and weights.dtype == np.float32
    assert ids.tolist() == [token_hash(t) % 2**18 for t in ["skill:java", "loc:東京都", "exp:3-5"]]
    assert offsets.tolist() == [0, 2, 2]
    assert weights.tolist() == [2.0, 1.5, 1.0]
    assert lt.ID_SCHEME == "sip13-content-2^18+identity-2^40-v2" and lt.VOCAB_SIZE == 2**18
    # identity tokens live in their own, far larger range
    ident = lt.token_ids(["talent:42", "project:42"])
    assert ident.tolist() == [2**18 + token_hash(t) % 2**40 for t in ["talent:42", "project:42"]]
    assert lt.identity_token("talent", 42) == "talent:42"
    with pytest.raises(ValueError, match="side must be one of"):
        lt.identity_token("client", 1)
    with pytest.raises(ValueError, match="2 tokens but 1 weights"):
        lt.encode([(["a", "b"], [1.0])])
    with pytest.raises(ValueError, match="finite"):
        lt.encode([(["a"], [float("nan")])])
    with pytest.raises(ValueError, match="token must be a string, got 7"):
        lt.encode([(["a", 7], [1.0, 1.0])])


def test_metadata_files_and_size(exported):
    model, out, metadata, _, _ = exported
    assert metadata["dimension"] == 256 and metadata["embedding_dim"] == 128
    assert metadata["vocab_size"] == 2**18 and metadata["id_scheme"] == lt.ID_SCHEME
    assert metadata["format_version"] == 3 and metadata["tokenizer_version"] == "v2"
    assert metadata["identity_tokens"] == [] and metadata["identity_space"] == 2**40
    assert metadata["torch_version"] and metadata["onnx_opset"] >= 14
    assert sorted(p.name for p in out.iterdir()) == [
        "two_tower_20260101.json",
        "two_tower_20260101.onnx",
        "two_tower_20260101.safetensors",
    ]
    on_disk = json.loads((out / "two_tower_20260101.json").read_text())
    assert on_disk["files"] == metadata["files"]
    for kind in ("onnx", "safetensors"):
        entry = metadata["files"][kind]
        data = (out / entry["file"]).read_bytes()
        assert lt.sha256_hex(data) == entry["sha256"] and len(data) == entry["bytes"]
        # compact: the dense table alone would be 2 towers x 128 MiB
        assert len(data) < 4 * 2**20, (kind, len(data))
    for tower in lt.TOWERS:
        trained = int((getattr(model, tower).bag.weight.detach().abs().sum(1) > 0).sum())
        assert metadata["towers"][tower]["vocab_rows"] == trained
    for key, diff in metadata["verification"].items():
        if key.endswith("max_abs_diff"):
            assert diff <= 1e-5


def test_onnx_and_candle_reproduce_pytorch(exported):
    model, out, _, talents, projects = exported
    meta_path = out / "two_tower_20260101.json"
    onnx = lt.load_towers(meta_path, "onnx", intra_op_threads=2)
    candle = lt.load_towers(meta_path, "candle")
    for name, source in (("talent", talents), ("project", projects)):
        bags = sample_bags(source)
        ref = torch_embed(getattr(model, name), bags)
        got_onnx = onnx[name].embed_batch(bags)
        got_candle = candle[name].embed_batch(bags)
        assert got_onnx.shape == got_candle.shape == (len(bags), 256)
        assert got_onnx.dtype == got_candle.dtype == np.float32
        assert np.abs(got_onnx - ref).max() <= 1e-5
        assert np.abs(got_candle - ref).max() <= 1e-5
        assert np.allclose(np.linalg.norm(got_candle, axis=1), 1.0, atol=1e-5)
    # chunked batches give the same rows
    metadata = lt.load_metadata(meta_path)
    small = lt.OnnxModel(out / "two_tower_20260101.onnx", metadata, max_batch=7)
    bags = sample_bags(talents)
    assert (
        np.abs(small.embed_batch("talent", bags) - onnx["talent"].embed_batch(bags)).max() <= 1e-6
    )
    small_c = lt.CandleModel(out / "two_tower_20260101.safetensors", metadata, max_batch=5)
    got = small_c.embed_batch("talent", bags)
    assert np.abs(got - candle["talent"].embed_batch(bags)).max() <= 1e-6
    assert onnx["talent"].embed_batch([]).shape == (0, 256)
    assert onnx["project"].embed_batch([([], []), ([], [])]).shape == (2, 256)


def test_unseen_tokens_hit_the_zero_row(exported):
    """A token never seen in training changes nothing (dense table: zero row)."""
    model, out, _, talents, _ = exported
    onnx = lt.load_towers(out / "two_tower_20260101.json", "onnx")["talent"]
    tokens, weights = talents["t3"]
    unseen = ["skill:never-seen-in-training-a", "skill:never-seen-in-training-b"]
    rows = np.flatnonzero(model.talent.bag.weight.detach().abs().sum(1) > 0)
    trained = set(model.talent.vocab_np[rows - 1].tolist())
    assert not {lt.token_id(t) for t in unseen} & trained
    a = onnx.embed_batch([(tokens, weights)])
    b = onnx.embed_batch([([*tokens, *unseen], [*weights, 2.0, 1.0])])
    assert np.abs(a - b).max() <= 1e-6


def test_truncated_or_flipped_onnx_fails(exported):
    _, out, metadata, _, _ = exported
    data = (out / metadata["files"]["onnx"]["file"]).read_bytes()
    with pytest.raises(lt.ModelFileError, match="corrupt or unreadable"):
        lt.OnnxModel(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    with pytest.raises(lt.ModelFileError, match="sha256"):
        lt.OnnxModel(bytes(flipped), metadata)
    with pytest.raises(lt.ModelFileError, match="cannot read"):
        lt.OnnxModel(out / "missing.onnx")
    with pytest.raises(lt.ModelFileError, match="corrupt or unreadable"):
        lt.OnnxModel(b"not an onnx model")


def test_corrupt_safetensors_fail(exported):
    _, out, metadata, _, _ = exported
    data = (out / metadata["files"]["safetensors"]["file"]).read_bytes()
    no_sha = {**metadata, "files": {}}
    with pytest.raises(lt.ModelFileError, match="corrupt"):
        lt.CandleModel(data[: len(data) - 1000], no_sha)
    with pytest.raises(lt.ModelFileError, match="sha256"):
        lt.CandleModel(data[:-4] + b"\0\0\0\0", metadata)
    tensors = load(data)
    nan = dict(tensors)
    nan["talent.mlp.2.bias"] = tensors["talent.mlp.2.bias"].copy()
    nan["talent.mlp.2.bias"][3] = np.nan
    with pytest.raises(lt.ModelFileError, match="non-finite"):
        lt.CandleModel(save(nan), no_sha)
    missing = {k: v for k, v in tensors.items() if k != "project.mlp.2.bias"}
    with pytest.raises(lt.ModelFileError, match="tensors are"):
        lt.CandleModel(save(missing), no_sha)
    dirty = dict(tensors)
    dirty["talent.bag.weight"] = tensors["talent.bag.weight"].copy()
    dirty["talent.bag.weight"][0, 0] = 0.5
    with pytest.raises(lt.ModelFileError, match="row 0"):
        lt.CandleModel(save(dirty), no_sha)
    unsorted = dict(tensors)
    unsorted["talent.bag.ids"] = tensors["talent.bag.ids"][::-1].copy()
    with pytest.raises(lt.ModelFileError, match="not sorted"):
        lt.CandleModel(save(unsorted), no_sha)


def test_wrong_version_fails(exported):
    _, out, metadata, _, _ = exported
    other = {**metadata, "version": "19990101", "files": {}}
    with pytest.raises(lt.ModelFileError, match="model version '20260101'"):
        lt.OnnxModel(out / metadata["files"]["onnx"]["file"], other)
    with pytest.raises(lt.ModelFileError, match="model version '20260101'"):
        lt.CandleModel(out / metadata["files"]["safetensors"]["file"], other)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("dimension", 128),
        ("vocab_size", 2**16),
        ("id_scheme", "sip13-mod-2^20-v1"),
        ("embedding_dim", 64),
        ("tokenizer_version", "v1"),
        ("format_version", 1),
    ],
)
def test_metadata_mismatch_names_the_key(exported, key, value):
    _, out, metadata, _, _ = exported
    bad = {**metadata, key: value}
    with pytest.raises(lt.ModelFileError, match=key):
        lt.CandleModel(out / metadata["files"]["safetensors"]["file"], bad)
    with pytest.raises(lt.ModelFileError, match=key):
        lt.OnnxModel(out / metadata["files"]["onnx"]["file"], bad)
    missing = {k: v for k, v in metadata.items() if k != key}
    with pytest.raises(lt.ModelFileError, match=key):
        lt.validate_metadata(missing)


def test_format_2_models_are_refused_with_a_reason(exported):
    _, out, metadata, _, _ = exported
    old = {**metadata, "format_version": 2, "id_scheme": "sip13-mod-2^18-v1"}
    with pytest.raises(lt.ModelFileError, match=r"format 2 .* no longer served: retrain"):
        lt.OnnxModel(out / metadata["files"]["onnx"]["file"], old)
    with pytest.raises(lt.ModelFileError, match="identity_tokens must list towers"):
        lt.validate_metadata({**metadata, "identity_tokens": ["client"]})


def test_hybrid_model_serves_identity_and_cold_entities_from_content(tmp_path):
    """A hybrid model's served vector of a warm talent uses its identity row; a talent
    absent from training gets exactly its content-only vector (its identity id has no
    row), finite and non-zero."""
    pairs, talents, projects = make_synthetic(200, 60, 15, seed=3)
    split = split_by_project(pairs)
    config = TrainConfig(epochs=3, num_threads=1, identity_tokens=True, identity_dropout=0.3)
    result = train(split.train, split.valid, talents, projects, config)
    assert result.model.identity == (("talent", "project"), 1.0)
    meta = export_model(result.model, tmp_path, "20260103")
    assert meta["identity_tokens"] == ["talent", "project"]
    served = {b: lt.load_files(tmp_path / "two_tower_20260103.json", b) for b in lt.BACKENDS}
    from ses_udf.embedders import LearnedEmbedder

    warm = sorted({p.talent_key for p in split.train})[0]  # synthetic keys: "t12"
    cold_id = 10**12 + 7  # never seen in training: its identity id has no row
    tokens, weights = talents[warm]
    for backend, model in served.items():
        emb = LearnedEmbedder(backend, "20260103", 256, model)
        ids, vecs = emb.embed_batch(
            [cold_id], [cold_id] * len(tokens), tokens, weights, side="talent"
        )
        content_only = model.embed_batch("talent", [(tokens, weights)])[0]
        assert ids.tolist() == [cold_id]
        assert np.isfinite(vecs).all() and np.linalg.norm(vecs[0]) > 0.99
        assert np.abs(vecs[0] - content_only).max() <= 1e-6
        warm_bag = ([*tokens, lt.identity_token("talent", warm)], [*weights, 1.0])
        with_identity = model.embed_batch("talent", [warm_bag])[0]
        assert np.abs(with_identity - content_only).max() > 1e-3  # the identity row counts


def test_failed_verification_rejects_export(exported, tmp_path, monkeypatch):
    model = exported[0]
    original = lt.CandleModel._forward

    def off_by_a_bit(self, *args):
        return original(self, *args) + 1e-3

    monkeypatch.setattr(lt.CandleModel, "_forward", off_by_a_bit)
    with pytest.raises((ExportVerificationError, lt.ModelFileError)):
        export_model(model, tmp_path, "bad")
    assert os.listdir(tmp_path) == []


def test_build_is_deterministic_apart_from_the_timestamp(exported):
    model = exported[0]
    a = build_artifacts(model, "20260102", verify=False)
    b = build_artifacts(model, "20260102", verify=False)
    assert a.onnx == b.onnx and a.safetensors == b.safetensors


def test_serving_module_never_imports_torch(exported):
    _, out, _, _, _ = exported
    code = (
        "import sys\n"
        "from ses_udf import learned_tower as lt\n"
        f"towers = lt.load_towers({str(out / 'two_tower_20260101.json')!r}, 'candle')\n"
        f"towers.update(lt.load_towers({str(out / 'two_tower_20260101.json')!r}, 'onnx'))\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'python_udfs'}"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
