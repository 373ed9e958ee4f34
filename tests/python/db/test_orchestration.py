"""The Dagster code location, executed in-process against the test database (no
mocks): definitions, schedules, the nightly job rebuilding the labels, the +500
labels sensor, and a failing retrain raising an alert (row + webhook POST) while
the active model stays."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import psycopg
import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_run_status_sensor_context,
    build_schedule_context,
    build_sensor_context,
)
from dagster_dbt import DbtCliResource
from psycopg.types.json import Jsonb
from ses_udf import model_store

from orchestration import definitions as dg
from orchestration import jobs
from orchestration.assets import RetrainSettings
from orchestration.project import DBT_PROJECT
from ses_ops.db import connect
from ses_ops.dbt_runner import dbt_executable
from tests.python.db.labelled_world import START, load_labelled_world
from training import retrain as rt
from training.train import TrainConfig

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def instance() -> DagsterInstance:
    with DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture(scope="module")
def world() -> dict:
    with connect() as conn:
        yield load_labelled_world(conn)
        conn.execute("truncate ses.model_registry, ses.model_activations, ses.alerts")
        model_store.clear()


def test_definitions_load_with_the_dbt_project_as_assets() -> None:
    defs = dg.defs
    nodes = {
        j: {n.name for n in defs.resolve_job_def(j).nodes} for j in ("nightly", "retrain", "bi")
    }
    assert nodes == {
        "nightly": {"dbt_build_nightly"},
        "retrain": {"retrain_model", "dbt_build_weekly"},
        "bi": {"dbt_build_bi"},
    }
    # the weekly build runs after the retrain (and not after a failed one)
    deps = defs.resolve_job_def("retrain").graph.dependency_structure
    assert [o.node.name for o in deps.all_upstream_outputs_from_node("dbt_build_weekly")] == [
        "retrain_model"
    ]
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"two_tower_model", "ses/training_labels", "ses/ranked_candidates"} <= keys
    model = AssetKey("two_tower_model")
    assert AssetKey(["ses", "training_labels"]) in graph.get(model).parent_keys
    for dependent in ("talent_embeddings", "project_embeddings", "model_evaluation"):
        assert model in graph.get(AssetKey(["ses", dependent])).parent_keys
    assert {s.name for s in defs.sensors} == {"retrain_on_new_labels", "alert_on_run_failure"}


def test_schedules_cron_and_timezone() -> None:
    schedules = {s.name: s for s in dg.defs.schedules}
    nightly, weekly = schedules["nightly_build"], schedules["weekly_retrain"]
    assert (nightly.cron_schedule, nightly.execution_timezone, nightly.job_name) == (
        "0 2 * * *",
        "Asia/Tokyo",
        "nightly",
    )
    assert (weekly.cron_schedule, weekly.execution_timezone, weekly.job_name) == (
        "0 3 * * 0",
        "Asia/Tokyo",
        "retrain",
    )


def test_nightly_job_rebuilds_the_labels(world, conn, instance) -> None:
    # the label views are gone and the weight schedule is stale
    conn.execute("drop view ses.training_labels cascade")
    conn.execute("truncate ses.two_tower_weight_schedule")
    result = dg.defs.resolve_job_def("nightly").execute_in_process(instance=instance)
    assert result.success
    built = {
        m.asset_key.to_user_string()
        for m in result.asset_materializations_for_node("dbt_build_nightly")
    }
    # the top-N ranking of the open projects is nightly: it costs what the open projects cost
    assert {
        "ses/training_labels",
        "ses/training_pairs",
        "ses/talent_embeddings",
        "ses/talent_historical_scores",
        "ses/ranked_candidates",
    } <= built
    labels = conn.execute("select count(*) from ses.training_labels").fetchone()[0]
    assert labels == world["labels"]
    assert (
        conn.execute("select labeled_count from ses.two_tower_weight_schedule").fetchone()[0]
        == conn.execute("select labeled_count from ses.training_stats").fetchone()[0]
    )


def evaluate_sensor(instance, settings: RetrainSettings):
    context = build_sensor_context(instance=instance, resources={"retrain": settings})
    return dg.retrain_on_new_labels(context)


def add_mature_label(conn: psycopg.Connection, project_id: int, talent_id: int) -> None:
    """One more exposure with feedback, shown well before the maturity window."""
    at = START - timedelta(days=10)
    run_id = conn.execute(
        "select ses.log_match_run(%s, %s, 'test', 'test', 'hash', 'v2', p_created_at => %s)",
        (project_id, Jsonb([{"talent_id": talent_id, "rank": 1}]), at),
    ).fetchone()[0]
    iid = conn.execute(
        "select id from ses.interaction_logs where match_run_id = %s", (run_id,)
    ).fetchone()[0]
    conn.execute(
        "select ses.record_feedback(%s, 'thumbs_up', 'sales-t', 'gui', null, %s)",
        (iid, at + timedelta(minutes=5)),
    )


def test_retrain_sensor_fires_at_500_mature_labels_and_not_before(world, conn, instance) -> None:
    settings = RetrainSettings(min_labels=100)
    labels = world["labels"]
    first = evaluate_sensor(instance, settings)
    assert isinstance(first, RunRequest) and first.tags["trigger"] == "labels"
    assert first.tags["reason"].startswith(f"first training: {labels} labels")

    # the last training saw 499 labels fewer than there are now: not yet
    conn.execute(
        "insert into ses.model_registry (version, status, trained_at, labeled_count, reason) "
        "values ('20250601', 'rejected', now(), %s, 'test')",
        (labels - 499,),
    )
    try:
        skipped = evaluate_sensor(instance, settings)
        assert isinstance(skipped, SkipReason) and "499 labels behind" in skipped.skip_message
        # a label on an exposure shown just now is not mature yet: still not
        log_now = conn.execute(
            "select ses.log_match_run(%s, %s::jsonb, 'test', 'test', 'hash', 'v2')",
            (world["projects"][1]["id"], json.dumps([{"talent_id": world["talents"][0]["id"], "rank": 1}])),
        ).fetchone()[0]  # fmt: skip
        iid = conn.execute(
            "select id from ses.interaction_logs where match_run_id = %s", (log_now,)
        ).fetchone()[0]
        conn.execute("select ses.record_feedback(%s, 'thumbs_up', 'sales-t')", (iid,))
        assert isinstance(evaluate_sensor(instance, settings), SkipReason)
        # the 500th mature label fires it, once per step of 500
        add_mature_label(conn, world["projects"][2]["id"], world["talents"][1]["id"])
        fired = evaluate_sensor(instance, settings)
        assert isinstance(fired, RunRequest)
        assert fired.tags["reason"] == "500 new labels since 20250601 (>= 500)"
        assert fired.run_key == f"labels:20250601:{(labels + 1) // 500}"
        # the weekly schedule trains after the cold start; before it, it skips
        weekly = dg.weekly_retrain(
            build_schedule_context(instance, resources={"retrain": settings})
        )
        assert isinstance(weekly, RunRequest) and weekly.tags["trigger"] == "weekly"
        cold = RetrainSettings(min_labels=100_000)
        conn.execute("delete from ses.model_registry where version = '20250601'")
        skipped = dg.weekly_retrain(build_schedule_context(instance, resources={"retrain": cold}))
        assert isinstance(skipped, SkipReason) and skipped.skip_message.startswith("cold start")
    finally:
        conn.execute("delete from ses.model_registry where version = '20250601'")


class Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Webhook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook(monkeypatch) -> str:
    server = HTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Webhook.received.clear()
    url = f"http://127.0.0.1:{server.server_port}/alerts"
    monkeypatch.setenv("SES_ALERT_WEBHOOK", url)
    yield url
    server.shutdown()


def test_a_failed_retrain_raises_an_alert_and_keeps_the_active_model(
    world, conn, instance, tmp_path: Path, webhook: str
) -> None:
    train = TrainConfig(epochs=2, patience=2, num_threads=1, mirror_init=True)
    config = rt.RetrainConfig(min_labels=100, min_holdout_labels=10, min_auc=0.0,
                              label_maturity_days=0.0, model_dir=tmp_path, train=train)  # fmt: skip
    active = rt.retrain(conn, config, as_of=START + timedelta(days=3), log=lambda _: None)
    assert active.status == "deployed"
    registry = conn.execute("select version, status from ses.model_registry order by 1").fetchall()

    # the model folder is a file: recording the new model fails after training
    not_a_dir = tmp_path / "not-a-directory"
    not_a_dir.write_text("")
    settings = RetrainSettings(
        min_labels=100,
        label_maturity_days=0.0,
        model_dir=str(not_a_dir),
        args=["--min-auc", "0", "--min-holdout-labels", "10", "--threads", "1",
              "--set", "epochs=2", "--set", "patience=2"],
    )  # fmt: skip
    result = jobs.retrain_job.execute_in_process(
        instance=instance,
        resources={
            "retrain": settings,
            "dbt": DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=dbt_executable()),
        },
        raise_on_error=False,
    )
    assert not result.success
    assert not result.is_node_success("retrain_model")
    # the weekly build did not run after the failed retrain
    assert "dbt_build_weekly" not in {e.step_key for e in result.all_events if e.is_step_success}

    (failure,) = instance.all_logs(result.run_id, of_type=DagsterEventType.RUN_FAILURE)
    context = build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_event=failure.dagster_event,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()
    dg.alert_on_run_failure(context)

    alert = conn.execute(
        "select job_name, run_id, severity, message, webhook_status, details "
        "from ses.alerts order by id desc limit 1"
    ).fetchone()
    assert alert[:3] == ("retrain", result.run_id, "error")
    assert "retrain failed" in alert[3] and "could not record model" in alert[3]
    assert alert[4] == "sent (HTTP 200)"
    assert alert[5]["steps"][0]["step"] == "retrain_model"
    assert len(Webhook.received) == 1
    posted = Webhook.received[0]
    assert posted["job_name"] == "retrain" and posted["run_id"] == result.run_id
    assert posted["message"] == alert[3]
    # the active model, the registry and the model folder are as they were
    assert conn.execute("select ses.active_model_version()").fetchone()[0] == active.version
    assert (
        conn.execute("select version, status from ses.model_registry order by 1").fetchall()
        == registry
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*(Path(f).name for f in active.files.values()), "not-a-directory"]
    )
