"""When the scheduler retrains (R-43), decided with the retrain job's own rule
(training.retrain.due) so the CLI's `--if-due` and Dagster never disagree:

* weekly (Sunday 03:00 JST): always, once the first model is possible (enough
  mature labels); during the cold start the run is skipped, not failed.
* labels (sensor): when mature labels grew by ``retrain_new_labels`` (500) since the
  last training, or reached ``min_labels`` for the first one; never on age alone.

A refused training counts as a training (docs/operations.md: the R-43 clock).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

import psycopg

from training.retrain import RetrainConfig, due, label_count, last_training

NEVER_DAYS = 10**6  # "no age trigger" for the label sensor


@dataclass(frozen=True)
class Decision:
    run: bool
    reason: str
    run_key: str | None = None


def _not_built(conn: psycopg.Connection) -> Decision | None:
    if conn.execute("select to_regclass('ses.training_labels')").fetchone()[0] is None:
        return Decision(False, f"{conn.info.dbname} is not built yet: run the nightly job first")
    return None


def weekly_decision(conn: psycopg.Connection, now: datetime, config: RetrainConfig) -> Decision:
    if (skip := _not_built(conn)) is not None:
        return skip
    ok, why = due(conn, now, dataclasses.replace(config, retrain_every_days=0))
    return Decision(ok, why if ok else f"cold start: {why}")


def labels_decision(conn: psycopg.Connection, now: datetime, config: RetrainConfig) -> Decision:
    if (skip := _not_built(conn)) is not None:
        return skip
    ok, why = due(conn, now, dataclasses.replace(config, retrain_every_days=NEVER_DAYS))
    if not ok:
        return Decision(False, why)
    # One run per step of retrain_new_labels after a given training: a failed run
    # (no registry row) is not requested again until the next step.
    labels = label_count(conn, config.shown_until(now))
    last = last_training(conn)
    step = labels // config.retrain_new_labels
    return Decision(True, why, f"labels:{last['version'] if last else 'first'}:{step}")
