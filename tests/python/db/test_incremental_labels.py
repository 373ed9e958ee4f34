"""The incremental label models (ses.change_log) against an independent oracle
and against a full rebuild: random histories written through the write path in
random batches, late and out-of-order events, revocations, a writer running
during a build, with incremental builds in between."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.types.json import Jsonb

from ses_ops.db import connect
from simulator.nightly import DbtBuild
from tests.python import label_oracle as oracle
from tests.python.db.conftest import ensure_entities
from tests.python.db.test_outcome_rule_random import read_events

pytestmark = pytest.mark.db

LABEL_MODELS = [
    "int_interaction_outcomes",
    "int_conversion_best_stages",
    "int_behavior_best_events",
    "label_daily_summary",
]
# (table, key) of every incremental label table, for the full-rebuild comparison.
TABLES = {
    "ses_intermediate.int_interaction_outcomes": "interaction_id",
    "ses_intermediate.int_conversion_best_stages": "interaction_id",
    "ses_intermediate.int_behavior_best_events": "interaction_id",
    "ses.label_daily_summary": "run_date, variant, outcome, signal_source",
}
BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
JST = timedelta(hours=9)


def build(dbt: DbtBuild, *extra: str) -> None:
    dbt.invoke(["run", "--select", *LABEL_MODELS, *extra])


class History:
    """Random write-path calls; event times are drawn over a month, so arrival
    order and created_at order disagree (late and out-of-order events)."""

    def __init__(self, conn: psycopg.Connection, seed: int) -> None:
        self.conn = conn
        ensure_entities(conn, range(1, 40), range(1, 300))  # the write path checks references
        self.rng = random.Random(seed)
        self.interactions: list[tuple[int, int, int]] = []  # (id, talent, project)
        self.feedback: list[int] = []
        self.keys = 0

    def at(self) -> datetime:
        return BASE + timedelta(minutes=self.rng.randrange(30 * 24 * 60))

    def exposures(self, runs: int) -> None:
        for _ in range(runs):
            project = self.rng.randrange(1, 40)
            talents = self.rng.sample(range(1, 300), self.rng.randrange(3, 9))
            variant = self.rng.choice(["control", "two_tower_50pct", None])
            run_id = self.conn.execute(
                "select ses.log_match_run(%s, %s, 'e', 'c', 'hash', 'v2', p_variant => %s,"
                " p_created_at => %s)",
                (
                    project,
                    Jsonb([{"talent_id": t, "rank": r + 1} for r, t in enumerate(talents)]),
                    variant,
                    self.at(),
                ),
            ).fetchone()[0]
            self.interactions += self.conn.execute(
                "select id, talent_id, project_id from ses.interaction_logs where match_run_id = %s",
                (run_id,),
            ).fetchall()

    def events(self, n: int) -> None:
        for _ in range(n):
            i, talent, project = self.rng.choice(self.interactions)
            roll = self.rng.random()
            if roll < 0.45:
                fid = self.conn.execute(
                    "select ses.record_feedback(%s, %s, 'u', 'gui', null, %s)",
                    (i, self.rng.choice(list(oracle.FEEDBACK_PRIORITY)), self.at()),
                ).fetchone()[0]
                self.feedback.append(fid)
            elif roll < 0.55 and self.feedback:
                fid = self.feedback.pop(self.rng.randrange(len(self.feedback)))
                self.conn.execute("select ses.revoke_feedback(%s, 'u', %s)", (fid, self.at()))
            elif roll < 0.8:
                self.keys += 1
                # a repeated key is an idempotent retry: "already_exists", no row
                key = f"k{self.rng.randrange(self.keys)}"
                self.conn.execute(
                    "select ses.record_interaction_event(%s, %s, %s, %s, null, 'gui', %s)",
                    (i, self.rng.choice(list(oracle.BEHAVIOR_RANK)), "a", key, self.at()),
                )
            else:
                linked = self.rng.random() < 0.8
                self.conn.execute(
                    "select ses.record_conversion(%s, %s, %s, 'u', %s, %s, null, %s)",
                    (
                        talent,
                        project,
                        self.rng.choice(list(oracle.CV_RANK)),
                        i if linked else None,
                        "gui" if linked else "crm",
                        self.at(),
                    ),
                )


def expected_tables(conn: psycopg.Connection) -> dict[str, dict]:
    """What every label table must hold, computed by the oracle from the event tables."""
    feedback = read_events(conn, "feedback_events", "feedback_type")
    behavior = read_events(conn, "interaction_events", "event_type")
    conversions = read_events(conn, "conversion_events", "stage")
    exposures = conn.execute(
        "select id, run_date, variant, outcome from ses.interaction_logs"
    ).fetchall()
    ids = [e[0] for e in exposures]
    with_feedback = oracle.group(feedback)
    rule = oracle.outcomes(list(with_feedback), feedback)
    outcomes = {
        i: (w.kind, w.created_at, w.id) if w else (None, None, None) for i, w in rule.items()
    }
    best_cv = {i: oracle.best(ev, oracle.CV_RANK) for i, ev in oracle.group(conversions).items()}
    best_bh = {i: oracle.best(ev, oracle.BEHAVIOR_RANK) for i, ev in oracle.group(behavior).items()}
    labels = oracle.training_labels(ids, feedback, behavior, conversions)
    summary: Counter = Counter()
    fb_labels: Counter = Counter()
    for i, day, variant, stored in exposures:
        key = (day, variant, stored, labels.get(i, (None, None))[0])
        summary[key] += 1
        fb_labels[key] += stored in oracle.FEEDBACK_LABEL
    return {
        "outcomes": outcomes,
        "conversions": {i: (e.kind, e.id) for i, e in best_cv.items()},
        "behaviors": {i: (e.kind, e.id) for i, e in best_bh.items()},
        "summary": {k: (n, fb_labels[k]) for k, n in summary.items()},
        "labels": labels,
        "stored": {i: stored for i, _, _, stored in exposures},
    }


def actual_tables(conn: psycopg.Connection) -> dict[str, dict]:
    def rows(sql: str) -> dict:
        return {r[0]: tuple(r[1:]) for r in conn.execute(sql)}

    return {
        "outcomes": rows(
            "select interaction_id, outcome, feedback_at, winning_feedback_id "
            "from ses_intermediate.int_interaction_outcomes"
        ),
        "conversions": rows(
            "select interaction_id, event_type, event_id from ses_intermediate.int_conversion_best_stages"
        ),
        "behaviors": rows(
            "select interaction_id, event_type, event_id from ses_intermediate.int_behavior_best_events"
        ),
        "summary": {
            tuple(r[:4]): tuple(r[4:])
            for r in conn.execute(
                "select run_date, variant, outcome, signal_source, interactions, feedback_labels "
                "from ses.label_daily_summary"
            )
        },
    }


def assert_tables_match(conn: psycopg.Connection) -> None:
    expected, actual = expected_tables(conn), actual_tables(conn)
    for name in actual:
        assert actual[name] == expected[name], name


def assert_live_views_match(conn: psycopg.Connection) -> None:
    """The views are exact between builds: the tables plus what changed since."""
    expected = expected_tables(conn)
    rule = {
        i: (o, at, w)
        for i, o, at, w in conn.execute(
            "select interaction_id, outcome, feedback_at, winning_feedback_id "
            "from ses.interaction_outcomes where winning_feedback_id is not null"
        )
    }
    assert rule == {i: v for i, v in expected["outcomes"].items() if v[2] is not None}
    assert (
        conn.execute("select count(*) from ses.interaction_outcomes where is_drifted").fetchone()[0]
        == 0
    )
    labels = {
        i: (s, float(lab))
        for i, s, lab in conn.execute(
            "select interaction_id, signal_source, label from ses.training_labels"
        )
    }
    assert labels == expected["labels"]


def dump(conn: psycopg.Connection) -> dict[str, tuple[int, str]]:
    return {
        table: conn.execute(
            f"select count(*), coalesce(md5(string_agg(t::text, E'\\n' order by {key})), '') "
            f"from {table} as t"
        ).fetchone()
        for table, key in TABLES.items()
    }


def test_random_batches_with_builds_equal_a_full_rebuild(
    clean_db: psycopg.Connection, dbt: DbtBuild
) -> None:
    conn = clean_db
    build(dbt)  # after the truncation: a full rebuild (TRUNCATE markers in the log)
    assert actual_tables(conn) == {
        "outcomes": {},
        "conversions": {},
        "behaviors": {},
        "summary": {},
    }
    history = History(conn, seed=20261203)
    history.exposures(12)
    rng = random.Random(7)
    for batch in range(6):
        if rng.random() < 0.5:
            history.exposures(rng.randrange(1, 5))
        history.events(rng.randrange(20, 160))
        if batch % 2:
            assert_live_views_match(conn)  # before the build: the live part at work
        build(dbt)
        assert_tables_match(conn)
    assert_live_views_match(conn)
    incremental = dump(conn)
    build(dbt, "--full-refresh")
    assert dump(conn) == incremental
    assert sum(n for n, _ in incremental.values()) > 200  # the history was not trivial


def test_writes_during_a_build_land_in_the_next_one(
    clean_db: psycopg.Connection, dbt: DbtBuild
) -> None:
    """Events committed while a build runs (inside or after its snapshot) are
    either in that build or in the next one, never lost."""
    conn = clean_db
    history = History(conn, seed=5)
    history.exposures(15)
    history.events(100)
    build(dbt)
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with connect() as other:
                concurrent = History(other, seed=6)
                concurrent.interactions = list(history.interactions)
                concurrent.feedback = list(history.feedback)
                while not done.is_set():
                    concurrent.events(5)
                    concurrent.exposures(1)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        build(dbt)
    finally:
        done.set()
        thread.join()
    assert errors == []
    build(dbt)
    assert_tables_match(conn)
    incremental = dump(conn)
    build(dbt, "--full-refresh")
    assert dump(conn) == incremental


def test_truncate_and_deleted_exposures_rebuild_in_full(
    clean_db: psycopg.Connection, dbt: DbtBuild
) -> None:
    conn = clean_db
    history = History(conn, seed=9)
    history.exposures(6)
    history.events(80)
    build(dbt)
    assert_tables_match(conn)
    # an administrator removes a whole run: its day's counts must drop
    run_id, _ = conn.execute(
        "select match_run_id, count(*) from ses.interaction_logs il "
        "where not exists (select 1 from ses.feedback_events f where f.interaction_id = il.id) "
        "and not exists (select 1 from ses.interaction_events e where e.interaction_id = il.id) "
        "and not exists (select 1 from ses.conversion_events c where c.interaction_id = il.id) "
        "group by 1 order by 2 desc limit 1"
    ).fetchone()
    conn.execute(
        "delete from ses.interaction_logs where match_run_id = %s and id not in "
        "(select interaction_id from ses.feedback_events union all "
        "select interaction_id from ses.interaction_events union all "
        "select interaction_id from ses.conversion_events where interaction_id is not null)",
        (run_id,),
    )
    build(dbt)
    assert_tables_match(conn)
    conn.execute("truncate ses.interaction_events")
    build(dbt)
    assert actual_tables(conn)["behaviors"] == {}
    assert_tables_match(conn)


def test_change_log_is_pruned_once_every_model_has_read_it(
    clean_db: psycopg.Connection, dbt: DbtBuild
) -> None:
    conn = clean_db
    history = History(conn, seed=3)
    history.exposures(5)
    history.events(40)
    before = conn.execute(
        "select count(*) from ses.change_log where entity = 'interaction'"
    ).fetchone()[0]
    assert before > 40
    newest = conn.execute(
        "select max(txid) from ses.change_log where entity = 'interaction'"
    ).fetchone()[0]
    build(dbt)
    # on-run-end prunes what every label model processed: every row below the
    # oldest processed snapshot's xmin
    floor = conn.execute(
        "select min(pg_snapshot_xmin(processed)) from ses.incremental_watermarks "
        "where entity = 'interaction'"
    ).fetchone()[0]
    after, below = conn.execute(
        "select count(*), count(*) filter (where txid < %s::xid8) from ses.change_log "
        "where entity = 'interaction'",
        (str(floor),),
    ).fetchone()
    assert floor is not None and below == 0
    if int(str(floor)) > int(str(newest)):
        # no older transaction anywhere in the cluster held the horizon back
        # (xmin is cluster-wide): everything the build read is gone
        assert after < before
    history.events(10)
    build(dbt)
    assert_tables_match(conn)
