"""The registry's write path (macros/migrations/r_model_registry.sql): a model
that cannot be served is refused before anything changes, so the active model
keeps serving; a model whose tower returns vectors of the wrong dimension fails
with the embedder's own error; ses.register_model checks what it records."""

from __future__ import annotations

import hashlib

import onnx
import psycopg
import pytest
from onnx import numpy_helper
from psycopg.types.json import Jsonb

from ses_ops.db import connect
from training.export import build_artifacts
from training.split import split_by_project
from training.synthetic import make_synthetic
from training.train import TrainConfig, train

pytestmark = pytest.mark.db

GOOD, NARROW, CORRUPT = "20260501", "20260502", "20260503"


def narrowed(onnx_bytes: bytes, version: str, rows: int = 128) -> bytes:
    """The same model as `version`, with a talent tower that returns `rows` values, not 256."""
    model = onnx.load_from_string(onnx_bytes)
    for prop in model.metadata_props:
        if prop.key == "version":
            prop.value = version
    for init in model.graph.initializer:
        if init.name in ("talent.mlp.2.weight", "talent.mlp.2.bias"):
            init.CopyFrom(
                numpy_helper.from_array(numpy_helper.to_array(init)[:rows].copy(), init.name)
            )
    return model.SerializeToString()


def register(
    conn, version: str, artifacts, onnx_bytes: bytes | None = None, activate: bool = False
):
    data = onnx_bytes if onnx_bytes is not None else artifacts.onnx
    metadata = {**artifacts.metadata, "version": version}
    metadata["files"] = {
        **metadata["files"],
        "onnx": {**metadata["files"]["onnx"], "sha256": hashlib.sha256(data).hexdigest()},
    }
    return conn.execute(
        "select ses.register_model(%s, 'candidate', now(), 0, null, '{}', %s, %s, %s, 'test', %s)",
        (version, Jsonb(metadata), data, artifacts.safetensors, activate),
    ).fetchone()[0]


@pytest.fixture(scope="module")
def registry():
    pairs, talents, projects = make_synthetic(120, 30, 10, seed=8)
    split = split_by_project(pairs)
    result = train(
        split.train, split.valid, talents, projects, TrainConfig(epochs=1, num_threads=1, seed=5)
    )
    artifacts = build_artifacts(result.model, GOOD)
    with connect() as conn:
        assert conn.execute("select count(*) from ses.model_registry").fetchone()[0] == 0
        register(conn, GOOD, artifacts, activate=True)
        register(conn, NARROW, artifacts, narrowed(artifacts.onnx, NARROW))
        register(conn, CORRUPT, artifacts, artifacts.onnx[:4000])
        yield conn, artifacts
        conn.execute("delete from ses.model_registry")


def active(conn) -> str:
    return conn.execute("select ses.active_model_version()").fetchone()[0]


@pytest.mark.parametrize(
    ("version", "problem"),
    [(NARROW, "returned shape (3, 128), expected (3, 256)"), (CORRUPT, "corrupt or unreadable")],
)
def test_unservable_model_is_not_activated_and_the_active_one_keeps_serving(
    registry, version, problem
):
    conn, _ = registry
    assert active(conn) == GOOD
    with pytest.raises(psycopg.Error) as exc:
        conn.execute("select ses.activate_model(%s)", (version,))
    assert exc.value.sqlstate == "55000"
    message = exc.value.diag.message_primary
    assert (
        f"model {version} cannot be served, it was not activated ({GOOD} keeps serving)" in message
    )
    assert problem in message and "ValueError" not in message
    assert active(conn) == GOOD
    assert (
        conn.execute(
            "select status from ses.model_registry where version = %s", (version,)
        ).fetchone()[0]
        == "candidate"
    )
    for backend in ("onnx", "candle"):
        assert (
            conn.execute("select ses.embedder_version(%s, 256)", (backend,)).fetchone()[0] == GOOD
        )


def test_register_and_activate_refuses_as_one_call(registry):
    conn, artifacts = registry
    with pytest.raises(psycopg.Error, match="cannot be served") as exc:
        register(
            conn, "20260504", artifacts, narrowed(artifacts.onnx, "20260504", 64), activate=True
        )
    assert exc.value.sqlstate == "55000"
    assert (
        conn.execute(
            "select count(*) from ses.model_registry where version = '20260504'"
        ).fetchone()[0]
        == 0
    )
    assert active(conn) == GOOD


def test_a_served_model_of_the_wrong_dimension_fails_with_the_embedders_error(registry):
    """Bytes swapped under the active row (as a broken deploy would): serving stops
    loudly with the embedder's own error, not numpy's."""
    conn, artifacts = registry
    bad = narrowed(artifacts.onnx, GOOD)
    original = conn.execute(
        "select onnx_model, metadata from ses.model_registry where version = %s", (GOOD,)
    ).fetchone()
    metadata = dict(original[1])
    metadata["files"] = {
        **metadata["files"],
        "onnx": {**metadata["files"]["onnx"], "sha256": hashlib.sha256(bad).hexdigest()},
    }
    try:
        conn.execute(
            "update ses.model_registry set onnx_model = %s, metadata = %s where version = %s",
            (bad, Jsonb(metadata), GOOD),
        )
        with connect() as session, pytest.raises(psycopg.Error) as exc:
            session.execute("select ses.embedder_version('onnx', 256)")
        message = exc.value.diag.message_primary
        assert (
            "EmbedderUnavailableError" in message
            and "returned shape (3, 128), expected (3, 256)" in message
        )
        assert "ValueError" not in message
    finally:
        conn.execute(
            "update ses.model_registry set onnx_model = %s, metadata = %s where version = %s",
            (original[0], Jsonb(original[1]), GOOD),
        )


@pytest.mark.parametrize(
    ("sql", "sqlstate", "message"),
    [
        (
            "select ses.register_model('2026-05-01', 'candidate', now(), 0)",
            "22023",
            "YYYYMMDD or YYYYMMDD-n, got '2026-05-01'",
        ),
        (
            "select ses.register_model('20260510', 'active', now(), 0)",
            "22023",
            "status must be candidate or rejected, got 'active'",
        ),
        (
            "select ses.register_model('20260510', 'candidate', now(), 0)",
            "22004",
            "candidate model 20260510 needs both onnx_model and candle_weights",
        ),
        (
            "select ses.register_model('20260510', 'rejected', 'infinity', 0)",
            "22004",
            "trained_at must be a finite timestamp",
        ),
        (
            "select ses.register_model('20260510', 'rejected', now(), -1)",
            "22023",
            "labeled_count must be >= 0, got -1",
        ),
        (
            "select ses.register_model('20260510', 'rejected', now(), 0, p_metrics => '[]')",
            "22023",
            "must be JSON objects",
        ),
        (
            "select ses.register_model('20260510', 'rejected', now(), 0, p_activate => true)",
            "22023",
            "only a candidate can be activated",
        ),
        (
            f"select ses.register_model('{GOOD}', 'rejected', now(), 0)",
            "23505",
            f"model version {GOOD} is already registered (active)",
        ),
        ("select ses.activate_model('20991231')", "23503", "unknown model version '20991231'"),
        ("select ses.activate_model(' ')", "22004", "model version is required"),
    ],
)
def test_registry_functions_name_what_is_wrong(registry, sql, sqlstate, message):
    conn, _ = registry
    before = conn.execute("select count(*) from ses.model_registry").fetchone()[0]
    with pytest.raises(psycopg.Error) as exc:
        conn.execute(sql)
    assert exc.value.sqlstate == sqlstate and message in exc.value.diag.message_primary
    assert conn.execute("select count(*) from ses.model_registry").fetchone()[0] == before


def test_rejected_models_may_keep_their_bytes(registry):
    conn, artifacts = registry
    register_rejected = conn.execute(
        "select ses.register_model('20260520', 'rejected', now(), 5, null, '{}', '{}', %s, %s, 'gate refused')",
        (artifacts.onnx, artifacts.safetensors),
    ).fetchone()[0]
    assert register_rejected == "20260520"
    assert conn.execute(
        "select status, onnx_model is not null from ses.model_registry where version = '20260520'"
    ).fetchone() == ("rejected", True)
