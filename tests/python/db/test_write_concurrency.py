"""Concurrency faults of the write path, each fixed at its root (macros/migrations/
r_write_api.sql, r_match_run.sql, r_outcome_rule.sql): replayed match_run_ids never
merge, callers at REPEATABLE READ / SERIALIZABLE never leave a wrong outcome, and
concurrent batches do not deadlock."""

from __future__ import annotations

import random
import threading
from collections import Counter

import psycopg
import pytest
from psycopg.types.json import Jsonb

from ses_ops.db import connect
from tests.python.db.conftest import log_run

pytestmark = pytest.mark.db

PROJECT = 980001
TALENTS = list(range(981001, 981009))


def drifted(conn: psycopg.Connection) -> int:
    return conn.execute(
        "select count(*) from ses.interaction_outcomes where is_drifted"
    ).fetchone()[0]


def run_threads(n: int, target) -> list:
    """Run target(i, barrier) in n threads started together; return their results
    (an exception is a result too)."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def wrap(i: int) -> None:
        try:
            results[i] = target(i, barrier)
        except BaseException as exc:  # reported by the caller
            results[i] = exc

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


@pytest.fixture
def matchable(clean_db: psycopg.Connection) -> psycopg.Connection:
    """A project whose required skill every test talent has."""
    conn = clean_db
    conn.execute(
        "insert into ses.projects (id, required_skills_keywords) values (%s, '{java}') "
        "on conflict (id) do update set required_skills_keywords = excluded.required_skills_keywords",
        (PROJECT,),
    )
    conn.execute(
        "insert into ses.talents (id, possessed_skills_keywords) select unnest(%s::bigint[]), '{java}' "
        "on conflict (id) do update set possessed_skills_keywords = excluded.possessed_skills_keywords",
        (TALENTS,),
    )
    return conn


def test_concurrent_run_match_replays_log_one_consistent_run(matchable: psycopg.Connection) -> None:
    run_id = "01JREPLAYRACE0000000000001"

    def replay(i: int, barrier: threading.Barrier):
        top_k = 3 if i % 2 == 0 else 5
        with connect() as conn:
            barrier.wait()
            try:
                return ("ok", top_k, conn.execute(
                    "select ses.run_match(%s, %s, %s)", (PROJECT, top_k, run_id)).fetchone()[0])  # fmt: skip
            except psycopg.Error as exc:
                return ("error", top_k, exc.sqlstate)

    results = run_threads(8, replay)
    assert not [r for r in results if isinstance(r, BaseException)], results
    top_k, results_rows, logged = matchable.execute(
        "select mr.top_k, (select count(*) from ses.match_results where match_run_id = mr.match_run_id), "
        "(select count(*) from ses.interaction_logs where match_run_id = mr.match_run_id) "
        "from ses.match_runs as mr where mr.match_run_id = %s",
        (run_id,),
    ).fetchone()
    assert top_k in (3, 5) and results_rows == top_k and logged == top_k
    # replays with the logged top_k return the run; the others are refused
    for status, k, value in results:
        assert (status, value) == (("ok", run_id) if k == top_k else ("error", "23505"))


def test_log_match_run_replay_with_another_payload_is_refused(
    matchable: psycopg.Connection,
) -> None:
    conn = matchable
    first = Jsonb([{"talent_id": TALENTS[0], "rank": 1}, {"talent_id": TALENTS[1], "rank": 2}])
    run_id = conn.execute("select ses.log_match_run(%s, %s)", (PROJECT, first)).fetchone()[0]
    assert conn.execute("select ses.log_match_run(%s, %s, p_match_run_id => %s)", (PROJECT, first, run_id)).fetchone()[0] == run_id  # fmt: skip
    for other, message in (
        (Jsonb([{"talent_id": TALENTS[2], "rank": 1}]), "other candidates"),
        (
            Jsonb(
                [
                    {"talent_id": TALENTS[0], "rank": 1, "two_tower_score": 0.5},
                    {"talent_id": TALENTS[1], "rank": 2},
                ]
            ),
            "other candidates",
        ),
    ):
        with pytest.raises(psycopg.Error, match=message) as exc:
            conn.execute(
                "select ses.log_match_run(%s, %s, p_match_run_id => %s)", (PROJECT, other, run_id)
            )
        assert exc.value.sqlstate == "23505"
    with pytest.raises(psycopg.Error, match='was logged with variant null, not "control"'):
        conn.execute(
            "select ses.log_match_run(%s, %s, p_variant => 'control', p_match_run_id => %s)",
            (PROJECT, first, run_id),
        )
    assert (
        conn.execute(
            "select count(*) from ses.interaction_logs where match_run_id = %s", (run_id,)
        ).fetchone()[0]
        == 2
    )


@pytest.mark.parametrize("isolation", ["repeatable read", "serializable"])
def test_snapshot_isolation_callers_never_leave_a_wrong_outcome(
    clean_db: psycopg.Connection, isolation: str
) -> None:
    """A caller whose snapshot predates a concurrent write that does not change the
    stored outcome (here: rejected while accepted wins) must not compute the outcome
    without it (here: revoking accepted would store NULL instead of rejected)."""
    admin = clean_db
    iid = log_run(admin, PROJECT, [TALENTS[0]])[0]
    accepted = admin.execute("select ses.record_feedback(%s, 'accepted', 'a')", (iid,)).fetchone()[
        0
    ]
    with connect(autocommit=False) as caller:
        caller.execute(f"set transaction isolation level {isolation}")
        caller.execute("select 1")  # the snapshot
        admin.execute(
            "select ses.record_feedback(%s, 'rejected', 'b')", (iid,)
        )  # READ COMMITTED, committed
        try:
            caller.execute("select ses.revoke_feedback(%s, 'a')", (accepted,))
            caller.commit()
            retried = False
        except psycopg.errors.SerializationFailure:
            caller.rollback()  # what a caller at this level must do: retry
            caller.execute("select ses.revoke_feedback(%s, 'a')", (accepted,))
            caller.commit()
            retried = True
    assert (
        admin.execute("select outcome from ses.interaction_logs where id = %s", (iid,)).fetchone()[
            0
        ]
        == "rejected"
    )
    assert drifted(admin) == 0
    assert retried


def test_concurrent_batches_do_not_deadlock(clean_db: psycopg.Connection) -> None:
    admin = clean_db
    interactions = log_run(admin, PROJECT, TALENTS[:6])
    kinds = [
        "thumbs_up",
        "thumbs_down",
        "review_ok",
        "review_ng",
        "interview_scheduled",
        "rejected",
    ]

    def writer(i: int, barrier: threading.Barrier):
        rng = random.Random(i)
        states = Counter()
        with connect() as conn:
            barrier.wait()
            for b in range(6):
                order = interactions[:]
                rng.shuffle(order)  # every batch locks in another input order
                rows = [
                    {"interaction_id": iid, "feedback_type": rng.choice(kinds), "actor": f"w{i}"}
                    for iid in order * 2
                ]
                events = [{"interaction_id": iid, "event_type": "clicked_contact", "actor": f"w{i}",
                           "idempotency_key": f"k{i}-{b}-{n}"} for n, iid in enumerate(order)]  # fmt: skip
                for function, payload in (
                    ("record_feedback_batch", rows),
                    ("record_interaction_events_batch", events),
                ):
                    try:
                        conn.execute(f"select ses.{function}(%s)", (Jsonb(payload),))
                        states["ok"] += 1
                    except psycopg.Error as exc:
                        states[exc.sqlstate] += 1
        return states

    results = run_threads(6, writer)
    assert not [r for r in results if isinstance(r, BaseException)], results
    total = sum(results, Counter())
    assert total == Counter(ok=6 * 6 * 2), total  # no 40P01 (deadlock) or anything else
    assert admin.execute("select count(*) from ses.feedback_events").fetchone()[0] == 6 * 6 * 12
    assert drifted(admin) == 0
