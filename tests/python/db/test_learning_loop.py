"""Issue 5 in the database: retrain -> gate -> registry -> in-database serving.

A small labelled world (simulator talents/projects, match runs and feedback through
the write path; labels follow the hidden chemistry) is trained on with a tiny
configuration, so the whole module takes well under a minute.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest
from psycopg.types.json import Jsonb
from ses_udf import learned_tower as lt
from ses_udf import model_store

from ses_ops.db import connect
from ses_ops.dbt_runner import run_dbt
from tests.python.db.labelled_world import START, load_labelled_world
from training import retrain as rt
from training.dataset import served_embed
from training.train import TrainConfig
from training.tuning import TuningConfig

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def world() -> dict:
    """Talents, projects, one match run per project (a project an hour) and feedback
    on about half of the displayed candidates."""
    with connect() as conn:
        yield load_labelled_world(conn, START)
        conn.execute("truncate ses.model_registry")
        model_store.clear()


def config(tmp: Path, **kw) -> rt.RetrainConfig:
    train = TrainConfig(
        epochs=3, patience=3, num_threads=1, seed=kw.pop("seed", 0), sparse_lr=1e-3, lr=1e-3,
        mirror_init=True, identity_tokens=True,
    )  # fmt: skip
    # every label of this world is final 30 minutes after its display
    kw.setdefault("label_maturity_days", 0.0)
    kw.setdefault("min_holdout_labels", 10)  # this world holds out ~100 labelled pairs
    # one grid point: the pipeline, not the search, is under test here
    kw.setdefault("tuning", TuningConfig(grid=(("base", {}),), patience=3, retune_growth=3.0))
    # a 3-epoch model of a tiny world: the pipeline is under test, not its quality
    kw.setdefault("baseline_gate", False)
    return rt.RetrainConfig(min_labels=100, model_dir=tmp, train=train, **kw)


AS_OF_A = START + timedelta(days=3)
AS_OF_B = START + timedelta(days=4)
# The first deploy sees the first day only, so later retrains hold out pairs it has
# not trained on (the active model is compared on those).
AS_OF_EARLY = START + timedelta(days=1)
FIRST = "20250603"


def registry(conn: psycopg.Connection) -> dict[str, tuple]:
    return {
        r[0]: r[1:]
        for r in conn.execute(
            "select version, status, onnx_model is not null, candle_weights is not null, reason "
            "from ses.model_registry"
        )
    }


def test_retrain_triggers_r43(world, conn) -> None:
    cfg = config(Path("/nonexistent"))
    assert rt.due(conn, START - timedelta(days=1), cfg) == (
        False,
        f"0 labels, the first training needs {cfg.min_labels}",
    )
    ok, why = rt.due(conn, AS_OF_A, cfg)
    assert ok and why.startswith(f"first training: {world['labels']} labels")
    conn.execute(
        "insert into ses.model_registry (version, status, trained_at, labeled_count, reason) "
        "values ('20250605', 'rejected', %s, %s, 'test')",
        (AS_OF_A, world["labels"] - 10),
    )
    try:
        assert not rt.due(conn, AS_OF_A + timedelta(days=6), cfg)[0]
        assert rt.due(conn, AS_OF_A + timedelta(days=7), cfg)[1].startswith("weekly")
        few = rt.RetrainConfig(retrain_new_labels=10, min_labels=100, label_maturity_days=0.0)
        assert rt.due(conn, AS_OF_A, few)[1].startswith("10 new labels since 20250605")
        report = rt.retrain_if_due(conn, AS_OF_A + timedelta(days=1), cfg, log=lambda s: None)
        assert report.status == "not_due" and report.exit_code == 0
        # the version of that day is taken: the next one gets a suffix
        assert rt.unique_version(conn, AS_OF_A.date(), Path("/nonexistent")) == "20250605-2"
    finally:
        conn.execute("delete from ses.model_registry")


def test_recent_exposures_wait_for_their_labels(world, conn) -> None:
    """label_maturity_days: exposures younger than the window are neither counted by the
    triggers nor read by the training (their funnel is still open)."""
    cfg = config(Path("/nonexistent"), label_maturity_days=1.5, dry_run=True)
    shown_until = AS_OF_A - timedelta(days=1.5)
    mature = conn.execute(
        "select count(*) from ses.training_labels where created_at <= %s", (shown_until,)
    ).fetchone()[0]
    assert 0 < mature < world["labels"]
    ok, why = rt.due(conn, AS_OF_A, cfg)
    assert ok and why.startswith(f"first training: {mature} labels")
    report = rt.retrain(conn, cfg, as_of=AS_OF_A, log=lambda s: None)
    assert report.status == "evaluated"
    assert report.snapshot["label_count"] == mature
    assert report.snapshot["shown_until"] == shown_until.isoformat()
    assert registry(conn) == {}  # a dry run records nothing
    with pytest.raises(ValueError, match="label_maturity_days must lie in"):
        rt.RetrainConfig(label_maturity_days=-1.0).validate()


def test_deploy_then_gate_refuses_and_keeps_the_active_model(world, conn, tmp_path, monkeypatch):
    logs: list[str] = []
    a = rt.retrain(conn, config(tmp_path, min_auc=0.0), as_of=AS_OF_EARLY, log=logs.append)
    assert a.status == "deployed" and a.version == FIRST and a.exit_code == 0
    assert sorted(Path(p).name for p in a.files.values()) == [
        f"two_tower_{FIRST}.json",
        f"two_tower_{FIRST}.onnx",
        f"two_tower_{FIRST}.safetensors",
    ]
    meta = json.loads((tmp_path / f"two_tower_{FIRST}.json").read_text())
    early_labels = conn.execute(
        "select count(*) from ses.training_labels where created_at <= %s", (AS_OF_EARLY,)
    ).fetchone()[0]
    assert 100 < early_labels < world["labels"]
    assert meta["training_data"]["label_count"] == early_labels
    assert meta["metrics"]["learned"]["auc"] == a.metrics["learned"]["auc"]
    assert {"learned", "hash", "baselines"} <= set(meta["metrics"])
    # printed side by side with the baselines
    assert any(line.startswith("hash ") for line in "\n".join(logs).splitlines())
    assert any("popularity_combined" in line for line in logs)
    # the deployed model is the refit on every mature label; the metadata says so
    refit = meta["training_data"]["refit"]
    assert refit["labels"] == early_labels
    assert refit["pairs"] == a.split["train_pairs"] + a.split["holdout_labelled_pairs"]
    assert meta["training"]["trained_on"] == "every mature label"
    assert meta["training_data"]["evaluated_candidate"]["pairs"] == a.split["train_pairs"]
    assert a.metrics["tuning"]["chosen"] == "base"
    row = conn.execute(
        "select status, labeled_count, metrics -> 'hash' ->> 'auc', onnx_sha256, "
        "metadata ->> 'id_scheme', length(onnx_model) + length(candle_weights) "
        "from ses.model_registry where version = %s",
        (a.version,),
    ).fetchone()
    assert row[0] == "active" and row[1] == early_labels
    assert float(row[2]) == pytest.approx(a.metrics["hash"]["auc"])
    assert row[3] == a.sha256["onnx"] and row[4] == lt.ID_SCHEME
    assert row[5] < 8 * 2**20  # both files of a compact model: a few MB

    # 1. below the AUC gate
    refused = rt.retrain(conn, config(tmp_path, min_auc=0.99), as_of=AS_OF_B, log=lambda s: None)
    assert refused.status == "rejected" and refused.exit_code == 2
    assert "not above the gate 0.99" in refused.reason
    # the settings chosen for the first deploy are reused (labels grew < 3x, < 28 days)
    assert refused.metrics["tuning"]["reused_from"] == FIRST
    assert refused.metrics["tuning"]["trials"] == []
    retuned = rt.retrain(
        conn, config(tmp_path, min_auc=0.99, retune=True), as_of=AS_OF_B, log=lambda s: None
    )
    assert retuned.status == "rejected" and len(retuned.metrics["tuning"]["trials"]) == 1
    # 2. worse than the active model on the held-out pairs it has not trained on
    assert refused.metrics["active"]["version"] == FIRST
    assert refused.metrics["active"]["labelled_pairs"] <= refused.split["holdout_labelled_pairs"]
    worse = rt.retrain(
        conn, config(tmp_path, min_auc=0.0, max_auc_drop=-0.5), as_of=AS_OF_B, log=lambda s: None
    )
    assert worse.status == "rejected" and "worse than the active model's" in worse.reason
    # 3. an export that does not reproduce PyTorch
    original = lt.OnnxModel._forward
    monkeypatch.setattr(lt.OnnxModel, "_forward", lambda self, *a: original(self, *a) + 1e-3)
    broken = rt.retrain(conn, config(tmp_path, min_auc=0.0), as_of=AS_OF_B, log=lambda s: None)
    monkeypatch.undo()
    assert broken.status == "rejected" and "export verification failed" in broken.reason
    # 4. the CLI: exit code 2 and the reason
    code = rt.main(["--as-of", "2025-06-06", "--min-auc", "0.99", "--min-labels", "100",
                    "--epochs", "2", "--threads", "1", "--model-dir", str(tmp_path),
                    "--grid", "content"])  # fmt: skip
    assert code == 2

    reg = registry(conn)
    assert reg[FIRST][0] == "active"
    rejected = {v: r for v, r in reg.items() if v != FIRST}
    assert len(rejected) == 5
    assert all(r[0] == "rejected" and r[3] for r in rejected.values())
    # a refused candidate keeps its bytes (it can be deployed on purpose); an export
    # that does not reproduce PyTorch has none to keep
    assert {v: r[1] and r[2] for v, r in rejected.items()} == {
        v: "export verification failed" not in r[3] for v, r in rejected.items()
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        Path(p).name for p in a.files.values()
    )
    assert conn.execute("select ses.active_model_version()").fetchone()[0] == FIRST


def sql_embeddings(conn, backend: str, side: str, ids: list[int]) -> np.ndarray:
    relation = f"ses_intermediate.int_{side}_tokens"
    rows = conn.execute(
        f"""
        with t as (
            select array_agg(entity_id order by entity_id, token_position) as o,
                   array_agg(token order by entity_id, token_position) as tk,
                   array_agg(weight order by entity_id, token_position) as w
            from {relation} where entity_id = any(%s)
        )
        select b.entity_id, b.embedding
        from t, ses.embed_tower_batch(%s, 256, %s, %s, t.o, t.tk, t.w) as b
        order by b.entity_id
        """,
        (ids, backend, side, ids),
    ).fetchall()
    assert [r[0] for r in rows] == sorted(ids)
    return np.stack([np.frombuffer(r[1], dtype="<f4") for r in rows])


def bags_of(conn, side: str, ids: list[int]) -> list[tuple[list, list]]:
    """The current token bags of ``ids`` (sorted), as the embedding caches read them."""
    rows = dict(
        (r[0], (list(r[1]), [float(w) for w in r[2]]))
        for r in conn.execute(
            f"select entity_id, array_agg(token order by token_position), "
            f"array_agg(weight order by token_position) from ses_intermediate.int_{side}_tokens "
            "where entity_id = any(%s) group by entity_id",
            (ids,),
        )
    )
    return [rows.get(i, ([], [])) for i in sorted(ids)]


def local_embed(model, side: str, ids: list[int], conn) -> np.ndarray:
    """The same model in this process, identity tokens appended as the database does."""
    return served_embed(model)(side, sorted(ids), bags_of(conn, side, ids))


def test_hot_reload_and_sql_equals_in_process(world, conn, tmp_path):
    """A session opened before the deploy serves the new model on its next call."""
    ids = [t["id"] for t in world["talents"][:40]]
    with connect() as session:
        first = session.execute("select ses.embedder_version('onnx', 256)").fetchone()[0]
        assert first == FIRST
        before = sql_embeddings(session, "onnx", "talent", ids)

        b = rt.retrain(
            conn,
            config(tmp_path, min_auc=0.0, max_auc_drop=1.0, seed=7),
            as_of=AS_OF_B,
            log=lambda s: None,
        )
        assert b.status == "deployed", b.reason
        assert b.previous_version == FIRST
        assert registry(conn)[FIRST][0] == "retired"

        assert (
            session.execute("select ses.embedder_version('onnx', 256)").fetchone()[0] == b.version
        )
        assert (
            session.execute("select ses.embedder_version('candle', 256)").fetchone()[0] == b.version
        )
        after = sql_embeddings(session, "onnx", "talent", ids)
        assert np.abs(after - before).max() > 1e-3

        # the database's output equals the same bytes run in this process
        loaded = {
            backend: model_store.active_model(model_store.PsycopgDb(conn), backend).model
            for backend in ("onnx", "candle")
        }
        assert loaded["onnx"].identity_sides == ("talent", "project")  # a hybrid model
        local = local_embed(loaded["onnx"], "talent", ids, conn)
        assert np.abs(after - local).max() <= 1e-6
        candle_sql = sql_embeddings(session, "candle", "talent", ids)
        assert np.abs(candle_sql - local_embed(loaded["candle"], "talent", ids, conn)).max() <= 1e-6
        assert np.abs(candle_sql - after).max() <= 1e-5
        pids = [p["id"] for p in world["projects"][:10]]
        proj = sql_embeddings(session, "onnx", "project", pids)
        assert np.abs(proj - local_embed(loaded["onnx"], "project", pids, conn)).max() <= 1e-6
        # online scores use the project tower for the project and the talent tower for talents
        scores = session.execute(
            "select talent_id, two_tower_score from ses.two_tower_project_scores('onnx', 256, %s, %s, %s)",
            (pids[0], ids, [0.0] * len(ids)),
        ).fetchall()
        expected = (after @ proj[0] + 1.0) / 2.0
        got = np.array([s for _, s in sorted(scores)])
        assert np.abs(got - expected).max() <= 1e-5


def test_run_match_logs_the_model_version(world, conn):
    active = conn.execute("select ses.active_model_version()").fetchone()[0]
    onnx = {"two_tower_embedder": "onnx"}
    # Only the report table (nothing depends on it): the build renders
    # ses.two_tower_config() with onnx (migrations run first).
    evaluation_build = [
        "build",
        "--select",
        "model_evaluation",
        "--exclude",
        "test_type:data",
        "--vars",
        json.dumps(onnx),
    ]
    run_dbt(evaluation_build)
    try:
        project = world["projects"][0]["id"]
        run_id = conn.execute("select ses.run_match(%s, 5)", (project,)).fetchone()[0]
        logged = conn.execute(
            "select distinct two_tower_embedder, two_tower_version from ses.interaction_logs "
            "where match_run_id = %s",
            (run_id,),
        ).fetchall()
        assert logged == [("onnx", active)]
        run_dbt(evaluation_build)  # the report as of now
        row = conn.execute(
            "select exposures from ses.model_evaluation where two_tower_embedder = 'onnx' "
            "and two_tower_version = %s",
            (active,),
        ).fetchone()
        assert row is not None and row[0] >= 1
    finally:
        run_dbt(["build", "--select", "model_evaluation", "--exclude", "test_type:data"])


def test_corrupt_or_missing_model_fails_loudly(world, conn):
    active = conn.execute("select ses.active_model_version()").fetchone()[0]
    original, metadata = conn.execute(
        "select onnx_model, metadata from ses.model_registry where version = %s", (active,)
    ).fetchone()
    with connect() as session:
        session.execute("select ses.embedder_version('onnx', 256)")  # warm cache
        try:
            conn.execute(
                "update ses.model_registry set onnx_model = overlay(onnx_model placing '\\xdeadbeef'::bytea "
                "from 1000) where version = %s",
                (active,),
            )
            with pytest.raises(
                psycopg.Error, match=rf"active model {active} cannot be served by onnx.*sha256"
            ):
                session.execute("select ses.embedder_version('onnx', 256)")
            # a truncated model whose metadata no longer pins the hash: unreadable
            conn.execute(
                "update ses.model_registry set onnx_model = substring(onnx_model from 1 for 5000), "
                "metadata = metadata - 'files' where version = %s",
                (active,),
            )
            with pytest.raises(psycopg.Error, match="corrupt or unreadable"):
                session.execute("select ses.embedder_version('onnx', 256)")
        finally:
            conn.execute(
                "update ses.model_registry set onnx_model = %s, metadata = %s where version = %s",
                (original, Jsonb(metadata), active),
            )
        assert session.execute("select ses.embedder_version('onnx', 256)").fetchone()[0] == active
        conn.execute(
            "update ses.model_registry set status = 'retired' where version = %s", (active,)
        )
        try:
            with pytest.raises(psycopg.Error, match=r"no active model in ses\.model_registry"):
                session.execute("select ses.embedder_version('onnx', 256)")
        finally:
            conn.execute("select ses.activate_model(%s)", (active,))


def test_pipeline_is_deterministic_for_a_seed(world, conn, tmp_path):
    runs = [
        rt.retrain(conn, config(tmp_path, dry_run=True, seed=s), as_of=AS_OF_B, log=lambda s: None)
        for s in (3, 3, 4)
    ]
    assert all(r.status == "evaluated" for r in runs)
    assert runs[0].sha256 == runs[1].sha256
    assert json.dumps(runs[0].metrics["learned"], sort_keys=True) == json.dumps(
        runs[1].metrics["learned"], sort_keys=True
    )  # (NaN-safe: warm / cold metrics may be NaN)
    assert runs[0].sha256 != runs[2].sha256
    assert list(tmp_path.iterdir()) == []  # a dry run writes nothing
