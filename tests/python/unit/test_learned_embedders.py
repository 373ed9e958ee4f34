"""The onnx / candle embedders outside the database: the same model_store code the UDFs
run, over a fake plpy that serves registry rows from memory."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ses_udf import learned_tower as lt
from ses_udf import model_store
from ses_udf.embedders import EmbedderUnavailableError, create_embedder

from training.export import build_artifacts
from training.split import split_by_project
from training.synthetic import make_synthetic
from training.train import TrainConfig, train


class FakePlpy:
    """plpy.prepare / plpy.execute over an in-memory ses.model_registry."""

    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}
        self.queries = 0

    def add(self, artifacts, status: str = "candidate") -> None:
        self.rows[artifacts.version] = {
            "version": artifacts.version,
            "status": status,
            "metadata": json.dumps(artifacts.metadata),  # plpy passes jsonb as text
            "onnx_model": artifacts.onnx,
            "candle_weights": artifacts.safetensors,
        }

    def activate(self, version: str) -> None:
        for r in self.rows.values():
            if r["status"] == "active":
                r["status"] = "retired"
        self.rows[version]["status"] = "active"

    def prepare(self, sql, types):
        return sql

    def execute(self, plan, args):
        self.queries += 1
        if plan == model_store.ACTIVE_SQL:
            return [
                {
                    "version": r["version"],
                    "onnx_sha256": lt.sha256_hex(r["onnx_model"]),
                    "candle_sha256": lt.sha256_hex(r["candle_weights"]),
                }
                for r in self.rows.values()
                if r["status"] == "active"
            ]
        r = self.rows[args[0]]
        column = "onnx_model" if "onnx_model" in plan else "candle_weights"
        return [{"metadata": r["metadata"], "model": r[column]}]


@pytest.fixture(scope="module")
def models():
    pairs, talents, projects = make_synthetic(150, 40, 12, seed=4)
    split = split_by_project(pairs)
    out = []
    for seed, version in ((1, "20260101"), (2, "20260102")):
        result = train(
            split.train,
            split.valid,
            talents,
            projects,
            TrainConfig(epochs=1, num_threads=1, seed=seed),
        )
        out.append(build_artifacts(result.model, version))
    return out, talents, projects


@pytest.fixture
def db(models):
    model_store.clear()
    fake = FakePlpy()
    for a in models[0]:
        fake.add(a)
    yield fake
    model_store.clear()


def flatten(bags: dict) -> tuple[list, list, list, list]:
    ids = list(bags)
    owners, tokens, weights = [], [], []
    for i in ids:
        owners += [i] * len(bags[i][0])
        tokens += list(bags[i][0])
        weights += list(bags[i][1])
    return ids, owners, tokens, weights


def test_no_database_or_no_active_model_is_an_error(db):
    with pytest.raises(EmbedderUnavailableError, match="'onnx' has no deployed model"):
        create_embedder("onnx")
    with pytest.raises(EmbedderUnavailableError, match=r"no active model in ses\.model_registry"):
        create_embedder("candle", 256, db)


@pytest.mark.parametrize("backend", ["onnx", "candle"])
def test_embed_batch_equals_the_model_on_bags(db, models, backend):
    artifacts, talents, projects = models
    db.activate("20260101")
    embedder = create_embedder(backend, 256, db)
    assert (embedder.name, embedder.version, embedder.dimension) == (backend, "20260101", 256)
    model = lt.load_model(backend, artifacts[0].payload(backend), artifacts[0].metadata)
    bags = {100 + i: talents[k] for i, k in enumerate(list(talents)[:25])}
    bags[999] = ([], [])  # no tokens: the empty bag's embedding, never a zero vector
    ids, owners, tokens, weights = flatten(bags)
    # tokens arrive interleaved and ids unsorted: grouping must keep each bag's order
    perm = np.random.default_rng(0).permutation(len(tokens))
    got_ids, got = embedder.embed_batch(
        ids[::-1],
        [owners[i] for i in perm],
        [tokens[i] for i in perm],
        [weights[i] for i in perm],
        side="talent",
    )
    assert got_ids.tolist() == ids[::-1]
    order = {i: k for k, i in enumerate(ids)}
    ref = model.embed_batch("talent", [bags[i] for i in ids])
    # a bag's token order can change float sums in the last bit only
    assert np.abs(got - ref[[order[i] for i in ids[::-1]]]).max() <= 1e-6
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    p_tokens, p_weights = projects["p1"]
    proj = embedder.embed_batch([5], [5] * len(p_tokens), p_tokens, p_weights, side="project")[1]
    assert np.abs(proj - model.embed_batch("project", [projects["p1"]])).max() <= 1e-6
    with pytest.raises(ValueError, match="separate talent and project towers"):
        embedder.embed_batch([1], [1], ["skill:java"], [1.0])
    with pytest.raises(ValueError, match="side must be 'talent' or 'project', got 'both'"):
        embedder.embed_batch([1], [1], ["skill:java"], [1.0], side="both")
    with pytest.raises(ValueError, match="belongs to entity id 2"):
        embedder.embed_batch([1], [2], ["skill:java"], [1.0], side="talent")


def test_hot_reload_follows_the_active_model(db, models):
    db.activate("20260101")
    first = create_embedder("onnx", 256, db)
    again = create_embedder("onnx", 256, db)
    assert again.model is first.model  # cached: one registry row read, no reload
    bag = [(["skill:c1s1", "loc:東京都"], [1.0, 1.5])]
    before = first.model.embed_batch("talent", bag)
    db.activate("20260102")
    second = create_embedder("onnx", 256, db)
    assert second.version == "20260102" and second.model is not first.model
    assert np.abs(second.model.embed_batch("talent", bag) - before).max() > 1e-3
    assert model_store.cached_versions()["onnx"] == "20260102"
    # candle has its own cache entry, loaded on first use
    assert create_embedder("candle", 256, db).version == "20260102"


@pytest.mark.parametrize("backend", ["onnx", "candle"])
def test_corrupt_active_bytes_fail_loudly(db, backend):
    db.activate("20260101")
    create_embedder(backend, 256, db)
    column = "onnx_model" if backend == "onnx" else "candle_weights"
    data = bytearray(db.rows["20260101"][column])
    data[len(data) // 2] ^= 0xFF
    db.rows["20260101"][column] = bytes(data)  # bytes changed in place: sha256 differs
    with pytest.raises(
        EmbedderUnavailableError, match=r"active model 20260101 cannot be served.*sha256"
    ):
        create_embedder(backend, 256, db)


def test_dimension_and_metadata_mismatch(db):
    db.activate("20260101")
    with pytest.raises(
        EmbedderUnavailableError,
        match="TWO_TOWER_DIMENSION is 128 but active model 20260101 has dimension 256",
    ):
        create_embedder("onnx", 128, db)
    meta = json.loads(db.rows["20260101"]["metadata"])
    meta["id_scheme"] = "sip13-mod-2^20-v1"
    db.rows["20260101"]["metadata"] = json.dumps(meta)
    model_store.clear()  # same key: only a fresh process reads the metadata again
    with pytest.raises(EmbedderUnavailableError, match="id_scheme"):
        create_embedder("onnx", 256, db)


def test_embedding_rows_are_the_bytea_of_each_vector():
    from ses_udf.hash_tower import embedding_rows, vector_to_bytes

    m = np.random.default_rng(3).normal(size=(6, 5)).astype(np.float32)
    ids = np.array([9, 2, 7, 1, 4, 3])
    assert embedding_rows(ids, m) == [
        (int(i), vector_to_bytes(v)) for i, v in zip(ids, m, strict=True)
    ]
    assert embedding_rows(np.zeros(0, np.int64), np.zeros((0, 5), np.float32)) == []
    with pytest.raises(ValueError, match=r"shape \(6, 5\) for 5 ids"):
        embedding_rows(ids[:5], m)
