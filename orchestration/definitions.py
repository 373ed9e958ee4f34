"""The Dagster definitions of ses_match: assets, jobs, schedules, sensors, resources.

Assets: the dbt project (from its manifest) and the learned model (two_tower_model);
any of them can be materialized from the UI. Jobs (selections from selectors.yml,
shared with `ses-match build`):
  nightly   dbt build --selector nightly               schedule 02:00 Asia/Tokyo daily
  retrain   retrain, then dbt build --selector weekly  schedule 03:00 Asia/Tokyo Sundays,
                                                       and sensor: +500 mature labels (R-43)
  bi        dbt build --selector bi                    on demand
Any failed run raises an alert (ses.alerts + SES_ALERT_WEBHOOK); alerts never touch
the registry, and a failed retrain keeps the active model (training.retrain).
"""

import os
import warnings
from collections.abc import Callable

from dagster import (
    BetaWarning,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    RunFailureSensorContext,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    schedule,
    sensor,
)
from dagster_dbt import DbtCliResource

from ses_ops.alerts import raise_alert
from ses_ops.db import connect
from ses_ops.dbt_runner import dbt_executable

from .assets import RetrainSettings, ses_match_dbt, two_tower_model
from .jobs import bi_job, nightly_job, retrain_job
from .project import DBT_PROJECT
from .triggers import Decision, labels_decision, weekly_decision

# run_failure_sensor passes a beta parameter (owners) itself; nothing of ours is beta.
warnings.filterwarnings("ignore", message="Parameter `owners`", category=BetaWarning)

TIMEZONE = "Asia/Tokyo"
NIGHTLY_CRON = "0 2 * * *"
WEEKLY_CRON = "0 3 * * 0"  # Sunday
LABEL_SENSOR_INTERVAL_S = 15 * 60


def retrain_request(
    decide: Callable[..., Decision], retrain: RetrainSettings, trigger: str
) -> RunRequest | SkipReason:
    """A retrain run when the trigger's rule says so (orchestration.triggers)."""
    with connect() as conn:
        now = conn.execute("select now()").fetchone()[0]
        decision = decide(conn, now, retrain.config())
    if not decision.run:
        return SkipReason(decision.reason)
    tags = {"trigger": trigger, "reason": decision.reason[:200]}
    return RunRequest(run_key=decision.run_key, tags=tags)


@schedule(
    name="nightly_build",
    job=nightly_job,
    cron_schedule=NIGHTLY_CRON,
    execution_timezone=TIMEZONE,
    default_status=DefaultScheduleStatus.RUNNING,
    description="02:00 JST every day: the nightly dbt build.",
)
def nightly_build(context: ScheduleEvaluationContext) -> RunRequest:
    return RunRequest(tags={"trigger": "schedule"})


@schedule(
    name="weekly_retrain",
    job=retrain_job,
    cron_schedule=WEEKLY_CRON,
    execution_timezone=TIMEZONE,
    default_status=DefaultScheduleStatus.RUNNING,
    description="03:00 JST on Sundays: retrain (R-43 weekly); skipped during the cold start.",
)
def weekly_retrain(
    context: ScheduleEvaluationContext, retrain: RetrainSettings
) -> RunRequest | SkipReason:
    return retrain_request(weekly_decision, retrain, "weekly")


@sensor(
    name="retrain_on_new_labels",
    job=retrain_job,
    minimum_interval_seconds=LABEL_SENSOR_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Retrain when 500 more mature labels arrived since the last training (R-43).",
)
def retrain_on_new_labels(
    context: SensorEvaluationContext, retrain: RetrainSettings
) -> RunRequest | SkipReason:
    return retrain_request(labels_decision, retrain, "labels")


@run_failure_sensor(
    name="alert_on_run_failure",
    default_status=DefaultSensorStatus.RUNNING,
    description="Any failed run: a row in ses.alerts and a POST to SES_ALERT_WEBHOOK if set.",
)
def alert_on_run_failure(context: RunFailureSensorContext) -> None:
    run = context.dagster_run
    steps = [
        {"step": e.step_key, "error": (e.event_specific_data.error.message or "").strip()[:1000]}
        for e in context.get_step_failure_events()
        if e.event_specific_data and e.event_specific_data.error
    ]
    first = steps[0]["error"] if steps else (context.failure_event.message or "run failed")
    alert = raise_alert(
        source="dagster",
        job_name=run.job_name,
        run_id=run.run_id,
        message=f"{run.job_name} run {run.run_id[:8]} failed: {first}"[:2000],
        details={"steps": steps, "tags": dict(run.tags)},
    )
    context.log.info(
        f"alert {alert.id} raised"
        + (f"; webhook {alert.webhook_status}" if alert.webhook_status else "")
        + (f"; not recorded: {alert.database_error}" if alert.database_error else "")
    )


defs = Definitions(
    assets=[ses_match_dbt, two_tower_model],
    jobs=[nightly_job, retrain_job, bi_job],
    schedules=[nightly_build, weekly_retrain],
    sensors=[retrain_on_new_labels, alert_on_run_failure],
    resources={
        "dbt": DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=dbt_executable()),
        "retrain": RetrainSettings(args=os.environ.get("SES_RETRAIN_ARGS", "").split()),
    },
)
