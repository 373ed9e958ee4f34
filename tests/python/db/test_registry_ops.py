"""Operating the registry: refused candidates keep their bytes, retrain's --set and
--no-activate, the R-43 clock after a refusal, and `ses-match models activate /
rollback` switching what a running session serves (hot reload, R-44) and logs into
interaction_logs, with the activation history (who, why, from which version).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from ses_udf import learned_tower as lt
from ses_udf import model_store

from ses_ops import cli
from ses_ops.build import run_build
from ses_ops.db import connect
from ses_ops.dbt_runner import run_dbt
from ses_ops.settings import kept_settings, vars_args
from tests.python.db.labelled_world import START, load_labelled_world
from training import retrain as rt
from training.train import TrainConfig

pytestmark = pytest.mark.db

AS_OF_A = START + timedelta(days=3)  # version 20250605
AS_OF_B = START + timedelta(days=4)  # version 20250606


def small_config(model_dir: Path, **kw) -> rt.RetrainConfig:
    train = TrainConfig(
        epochs=2, patience=2, num_threads=1, sparse_lr=1e-3, lr=1e-3, mirror_init=True
    )
    return rt.RetrainConfig(
        min_labels=100, min_holdout_labels=10, label_maturity_days=0.0, model_dir=model_dir,
        train=train, **kw,
    )  # fmt: skip


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    """A deployed model A and a candidate B the gate refused."""
    model_dir = tmp_path_factory.mktemp("models")
    with connect() as conn:
        world = load_labelled_world(conn)
        log = lambda _: None  # noqa: E731
        a = rt.retrain(conn, small_config(model_dir, min_auc=0.0), as_of=AS_OF_A, log=log)
        b = rt.retrain(conn, small_config(model_dir, min_auc=0.99), as_of=AS_OF_B, log=log)
        assert (a.status, b.status) == ("deployed", "rejected"), (a.reason, b.reason)
        yield {
            "world": world,
            "a": a.version,
            "b": b.version,
            "model_dir": model_dir,
            "b_report": b,
        }
        conn.execute("truncate ses.model_registry, ses.model_activations")
        model_store.clear()


def row(conn: psycopg.Connection, version: str) -> tuple:
    return conn.execute(
        "select status, onnx_model is not null, candle_weights is not null, onnx_sha256, "
        "metrics -> 'gate' ->> 'reason', metadata -> 'training' -> 'config' ->> 'epochs' "
        "from ses.model_registry where version = %s",
        (version,),
    ).fetchone()


def test_a_refused_candidate_keeps_its_bytes_and_metrics(models, conn, tmp_path, capsys):
    status, has_onnx, has_candle, sha, gate_reason, _ = row(conn, models["b"])
    assert status == "rejected" and has_onnx and has_candle
    assert sha == models["b_report"].sha256["onnx"]
    assert "not above the gate 0.99" in gate_reason
    # no files for a refused candidate: the registry holds it
    assert sorted(p.name for p in models["model_dir"].iterdir()) == [
        f"two_tower_{models['a']}.{ext}" for ext in ("json", "onnx", "safetensors")
    ]
    # inspect it: ses-match models show --export writes the files, and they load
    assert cli.main(["models", "show", models["b"], "--export", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"model {models['b']}: rejected" in out and "refused" in out
    meta = json.loads((tmp_path / f"two_tower_{models['b']}.json").read_text())
    onnx = (tmp_path / f"two_tower_{models['b']}.onnx").read_bytes()
    assert lt.load_model("onnx", onnx, meta).version == models["b"]
    assert cli.main(["models", "list"]) == 0
    listed = capsys.readouterr().out
    assert models["a"] in listed and models["b"] in listed


def test_a_refused_training_resets_the_r43_clock(models, conn):
    """Decision (training.retrain docstring): a refused candidate counts as a training,
    so the next one waits a week or 500 more labels, like after a deploy."""
    config = small_config(Path("/nonexistent"))
    ok, why = rt.due(conn, AS_OF_B + timedelta(days=6), config)
    assert not ok and why.startswith(f"last training {models['b']} is 6 days old")
    ok, why = rt.due(conn, AS_OF_B + timedelta(days=7), config)
    assert ok and why.startswith(f"weekly: last training {models['b']}")


def test_no_activate_and_set(models, conn, monkeypatch):
    monkeypatch.delenv("PGOPTIONS", raising=False)
    active = conn.execute("select ses.active_model_version()").fetchone()[0]
    base = ["--as-of", "2025-06-07", "--min-labels", "100", "--min-holdout-labels", "10",
            "--label-maturity-days", "0", "--threads", "1", "--min-auc", "0", "--max-auc-drop", "1",
            "--model-dir", str(models["model_dir"])]  # fmt: skip
    code = cli.main(["retrain", *base, "--no-activate", "--set", "epochs=1", "--set", "lr=0.002"])
    assert code == 0
    version = conn.execute(
        "select version from ses.model_registry order by created_at desc limit 1"
    ).fetchone()[0]
    status, has_onnx, has_candle, _, _, epochs = row(conn, version)
    assert (status, has_onnx, has_candle, epochs) == ("candidate", True, True, "1")
    lr = conn.execute(
        "select metadata -> 'training' -> 'config' ->> 'lr' from ses.model_registry where version = %s",
        (version,),
    ).fetchone()[0]
    assert float(lr) == 0.002
    assert conn.execute("select ses.active_model_version()").fetchone()[0] == active
    # a bad setting is named, and nothing is trained
    with pytest.raises(SystemExit, match="nope=1"):
        rt.main([*base, "--set", "nope=1"])
    conn.execute("delete from ses.model_registry where version = %s", (version,))


def run_match_version(session: psycopg.Connection, project_id: int) -> set[tuple]:
    run_id = session.execute("select ses.run_match(%s, 3)", (project_id,)).fetchone()[0]
    return set(
        session.execute(
            "select two_tower_embedder, two_tower_version from ses.interaction_logs "
            "where match_run_id = %s",
            (run_id,),
        ).fetchall()
    )


def test_activate_and_rollback_switch_serving_in_a_running_session(
    models, conn, capsys, monkeypatch
):
    monkeypatch.delenv("PGOPTIONS", raising=False)
    a, b = models["a"], models["b"]
    project = models["world"]["projects"][0]["id"]
    # serve the learned model (as an operator would: TWO_TOWER_EMBEDDER=onnx + a build)
    run_dbt(["build", "--select", "model_evaluation", "--exclude", "test_type:data",
             "--vars", json.dumps({"two_tower_embedder": "onnx"})])  # fmt: skip
    try:
        with connect() as session:  # opened before the switches, kept open
            assert run_match_version(session, project) == {("onnx", a)}

            assert cli.main(["models", "activate", b, "--reason", "inspected by hand"]) == 0
            assert f"{a} -> {b}" in capsys.readouterr().out
            assert run_match_version(session, project) == {("onnx", b)}  # hot reload

            assert cli.main(["models", "rollback", "--reason", "B ranks worse"]) == 0
            assert f"rolled back: {b} -> {a}" in capsys.readouterr().out
            assert run_match_version(session, project) == {("onnx", a)}

            # A was the first model: nothing earlier, and nothing changes
            assert cli.main(["models", "rollback"]) == 1
            assert "first active model" in capsys.readouterr().err
            assert cli.main(["models", "activate", "19990101"]) == 1
            assert "unknown model version '19990101'" in capsys.readouterr().err
            assert run_match_version(session, project) == {("onnx", a)}

        history = conn.execute(
            "select action, version, previous_version, activated_by, reason "
            "from ses.model_activations order by id"
        ).fetchall()
        assert [h[:3] for h in history] == [
            ("activate", a, None),  # the retrain's deploy
            ("activate", b, a),
            ("rollback", a, b),
        ]
        assert history[1][3] == cli.actor() and history[1][4] == "inspected by hand"
        assert history[2][4] == "B ranks worse"
        assert cli.main(["models", "history"]) == 0
        assert "B ranks worse" in capsys.readouterr().out

        # a scheduled build keeps the settings in force (onnx), whatever its env says
        kept = kept_settings(conn, environ={})
        assert kept["two_tower_embedder"] == "onnx" and kept["two_tower_weight"] == ""
        before = conn.execute("select ses.two_tower_config()").fetchone()[0]
        run_dbt(["build", "--select", "model_evaluation", "--exclude", "test_type:data",
                 *vars_args(kept)])  # fmt: skip
        assert conn.execute("select ses.two_tower_config()").fetchone()[0] == before
        assert kept_settings(conn, environ={"TWO_TOWER_EMBEDDER": "hash"}).keys() == kept.keys() - {
            "two_tower_embedder"
        }
    finally:
        report = run_build("bi", keep_settings=False)
        assert report.kept == {}
        assert conn.execute("select ses.two_tower_config() ->> 'embedder'").fetchone()[0] == "hash"


def test_rollback_walks_back_instead_of_toggling(models, conn):
    """C -> rollback -> B -> rollback -> A (not back to C)."""
    a, b = models["a"], models["b"]
    # a third genuine candidate (the gate refuses it), so every activation can be served
    c = rt.retrain(
        conn, small_config(models["model_dir"], min_auc=0.99), as_of=AS_OF_B + timedelta(days=1),
        log=lambda _: None,
    ).version  # fmt: skip
    conn.execute("select ses.activate_model(%s, 'B again')", (b,))
    conn.execute("select ses.activate_model(%s, 'C')", (c,))
    assert conn.execute("select ses.rollback_model()").fetchone()[0] == b
    assert conn.execute("select ses.rollback_model()").fetchone()[0] == a
    assert conn.execute("select ses.active_model_version()").fetchone()[0] == a
    # a model without bytes (its export failed) cannot be activated: a clear error
    conn.execute(
        "insert into ses.model_registry (version, status, trained_at, labeled_count, reason) "
        "values ('20250611', 'rejected', now(), 1, 'export verification failed')"
    )
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="no model bytes"):
        conn.execute("select ses.activate_model('20250611')")
    assert conn.execute("select ses.active_model_version()").fetchone()[0] == a
    conn.execute("delete from ses.model_registry where version in (%s, '20250611')", (c,))
