"""R-03/R-10..R-12 against an independent oracle: concurrent writers, random
histories, and every label view compared row by row."""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from ses_ops.db import connect
from simulator.nightly import DbtBuild
from tests.python import label_oracle as oracle
from tests.python.db.conftest import log_run

pytestmark = pytest.mark.db

BASE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def read_events(conn: psycopg.Connection, table: str, kind_column: str) -> list[oracle.Event]:
    revoked = "is_revoked" if table == "feedback_events" else "false"
    rows = conn.execute(
        f"select id, interaction_id, {kind_column}, created_at, {revoked} from ses.{table}"
    ).fetchall()
    return [oracle.Event(*row) for row in rows]


def assert_stored_outcomes_match_oracle(
    conn: psycopg.Connection, interaction_ids: list[int]
) -> None:
    expected = oracle.outcomes(
        interaction_ids, read_events(conn, "feedback_events", "feedback_type")
    )
    stored = dict(
        (
            (i, (o, at))
            for i, o, at in conn.execute(
                "select id, outcome, feedback_at from ses.interaction_logs"
            )
        )
    )
    mismatches = [
        (i, stored[i], e and (e.kind, e.created_at))
        for i, e in expected.items()
        if stored[i] != ((e.kind, e.created_at) if e else (None, None))
    ]
    assert mismatches == []
    drifted = conn.execute(
        "select count(*) from ses.interaction_outcomes where is_drifted"
    ).fetchone()[0]
    assert drifted == 0


def writer(
    worker: int, interaction_ids: list[int], operations: int, errors: list[BaseException]
) -> None:
    rng = random.Random(worker)
    kinds = list(oracle.FEEDBACK_PRIORITY)
    try:
        with connect() as conn:
            for _ in range(operations):
                interaction = rng.choice(interaction_ids)
                if rng.random() < 0.2:
                    victim = conn.execute(
                        "select id from ses.feedback_events where interaction_id = %s and not is_revoked "
                        "order by random() limit 1",
                        (interaction,),
                    ).fetchone()
                    if victim is None:
                        continue
                    # another writer may revoke it first: the expected race
                    with contextlib.suppress(psycopg.errors.ObjectNotInPrerequisiteState):
                        conn.execute(
                            "select ses.revoke_feedback(%s, %s)", (victim[0], f"w{worker}")
                        )
                    continue
                # Half the events carry explicit times (imports, retries) so that
                # arrival order and created_at order disagree.
                at = BASE + timedelta(seconds=rng.randrange(600)) if rng.random() < 0.5 else None
                conn.execute(
                    "select ses.record_feedback(%s, %s, %s, 'gui', null, %s)",
                    (interaction, rng.choice(kinds), f"w{worker}", at),
                )
    except BaseException as exc:  # surfaced by the main thread
        errors.append(exc)


def test_concurrent_writers_leave_no_drift(clean_db: psycopg.Connection) -> None:
    interaction_ids = log_run(clean_db, 1, list(range(1, 51)))
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=writer, args=(w, interaction_ids, 500, errors)) for w in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    events = clean_db.execute(
        "select count(*), count(*) filter (where is_revoked) from ses.feedback_events"
    ).fetchone()
    assert events[0] > 3000 and events[1] > 300  # the run really exercised inserts and revocations
    assert_stored_outcomes_match_oracle(clean_db, interaction_ids)


def test_random_histories_match_oracle_in_every_view(
    clean_db: psycopg.Connection, dbt: DbtBuild
) -> None:
    conn = clean_db
    rng = random.Random(20261124)
    interaction_ids = []
    for project in range(1, 9):
        interaction_ids += log_run(conn, project, rng.sample(range(1, 200), 25))
    talent_project = dict(
        (
            (i, (t, p))
            for i, t, p in conn.execute(
                "select id, talent_id, project_id from ses.interaction_logs"
            )
        )
    )

    def at() -> datetime:
        return BASE + timedelta(minutes=rng.randrange(5000))

    feedback_ids = []
    for _ in range(1500):
        i = rng.choice(interaction_ids)
        fid = conn.execute(
            "select ses.record_feedback(%s, %s, 'u', 'gui', null, %s)",
            (i, rng.choice(list(oracle.FEEDBACK_PRIORITY)), at()),
        ).fetchone()[0]
        feedback_ids.append(fid)
    for fid in rng.sample(feedback_ids, 300):
        conn.execute("select ses.revoke_feedback(%s, 'u')", (fid,))
    for n in range(800):
        conn.execute(
            "select ses.record_interaction_event(%s, %s, %s, %s, null, 'gui', %s)",
            (
                rng.choice(interaction_ids),
                rng.choice(list(oracle.BEHAVIOR_RANK)),
                rng.choice("abc"),
                f"k{n % 700}",
                at(),
            ),
        )
    for _ in range(300):
        i = rng.choice(interaction_ids)
        talent, project = talent_project[i]
        linked = rng.random() < 0.8
        conn.execute(
            "select ses.record_conversion(%s, %s, %s, 'u', %s, %s, null, %s)",
            (
                talent,
                project,
                rng.choice(list(oracle.CV_RANK)),
                i if linked else None,
                "gui" if linked else "import",
                at(),
            ),
        )

    assert_stored_outcomes_match_oracle(conn, interaction_ids)
    feedback = read_events(conn, "feedback_events", "feedback_type")
    behavior = read_events(conn, "interaction_events", "event_type")
    conversions = read_events(conn, "conversion_events", "stage")
    expected_outcomes = oracle.outcomes(interaction_ids, feedback)

    # training_pairs: one row per interaction with a labelled outcome
    pairs = conn.execute(
        "select il.id, tp.outcome, tp.label::float8 from ses.training_pairs tp join ses.interaction_logs il "
        "using (talent_id, project_id, created_at)"
    ).fetchall()
    expected_pairs = {
        i: (e.kind, oracle.FEEDBACK_LABEL[e.kind])
        for i, e in expected_outcomes.items()
        if e is not None and e.kind in oracle.FEEDBACK_LABEL
    }
    assert {i: (o, lab) for i, o, lab in pairs} == expected_pairs
    assert len(pairs) == len(expected_pairs)

    labels = conn.execute(
        "select interaction_id, signal_source, label::float8 from ses.training_labels"
    ).fetchall()
    expected_labels = oracle.training_labels(interaction_ids, feedback, behavior, conversions)
    assert {i: (s, lab) for i, s, lab in labels} == expected_labels
    assert {s for s, _ in expected_labels.values()} == {"conversion", "feedback", "behavior"}

    # training_stats is summed from label_daily_summary: as of the last build
    dbt.invoke(["run", "--select", "+training_stats"])
    stats = conn.execute(
        "select accepted_count, rejected_count, pending_count, labeled_count, active_days from ses.training_stats"
    ).fetchone()
    kinds = [e.kind if e else None for e in expected_outcomes.values()]
    run_dates = {
        d
        for (d,) in conn.execute(
            "select (created_at at time zone 'Asia/Tokyo')::date from ses.interaction_logs"
        )
    }
    assert stats == (
        kinds.count("accepted"),
        kinds.count("rejected"),
        kinds.count(None),
        len(expected_pairs),
        len(run_dates),
    )


def test_repair_macro_fixes_drift(clean_db: psycopg.Connection) -> None:
    """Drift injected behind the trigger's back is reported, then repaired."""
    conn = clean_db
    ids = log_run(conn, 1, [1, 2, 3])
    conn.execute("select ses.record_feedback(%s, 'accepted', 'u')", (ids[0],))
    conn.execute("select ses.record_feedback(%s, 'thumbs_up', 'u')", (ids[1],))
    conn.execute("update ses.interaction_logs set outcome = 'rejected' where id = %s", (ids[0],))
    conn.execute(
        "update ses.interaction_logs set outcome = 'thumbs_up', feedback_at = now() where id = %s",
        (ids[2],),
    )
    assert (
        conn.execute("select count(*) from ses.interaction_outcomes where is_drifted").fetchone()[0]
        == 2
    )

    dbt = [str(Path(sys.executable).with_name("dbt"))]
    test = subprocess.run(
        [*dbt, "test", "--select", "assert_stored_outcome_matches_rule"],
        capture_output=True,
        text=True,
    )
    assert test.returncode != 0, test.stdout
    repair = subprocess.run(
        [*dbt, "run-operation", "repair_outcome_drift"], capture_output=True, text=True
    )
    assert repair.returncode == 0, repair.stdout + repair.stderr
    assert "repaired 2 interaction(s)" in repair.stdout
    assert (
        conn.execute("select count(*) from ses.interaction_outcomes where is_drifted").fetchone()[0]
        == 0
    )
    test = subprocess.run(
        [*dbt, "test", "--select", "assert_stored_outcome_matches_rule"],
        capture_output=True,
        text=True,
    )
    assert test.returncode == 0, test.stdout
