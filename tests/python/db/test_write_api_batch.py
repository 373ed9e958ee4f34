"""R-02 in bulk (macros/migrations/r_write_api_batch.sql): the batch functions
write exactly what the single-row functions called one after another write
(same rows, same ids, same outcomes, same idempotency answers), and reject bad
input with the single-row function's own error, naming the row, writing nothing."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import psycopg
import pytest

from simulator.world import JST
from tests.python.db.conftest import log_run

pytestmark = pytest.mark.db

EVENT_TABLES = ("feedback_events", "interaction_events", "conversion_events", "interaction_logs")
T0 = datetime(2026, 2, 2, 9, 0, tzinfo=JST)
FEEDBACK = ["thumbs_up", "thumbs_down", "review_ok", "review_ng", "interview_scheduled",
            "accepted", "rejected", "no_response"]  # fmt: skip
BEHAVIOR = ["viewed_candidate_detail", "copied_template", "clicked_contact", "shortlisted"]
STAGES = ["contacted", "entry", "interview_scheduled", "offer", "contract_signed", "lost"]


def dump(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    # interaction_logs: the outcome columns (match_run_id / created_at are new per run)
    columns = {"interaction_logs": "id, talent_id, project_id, outcome, feedback_at"}
    return {
        t: conn.execute(f"select {columns.get(t, '*')} from ses.{t} order by id").fetchall()
        for t in EVENT_TABLES
    }


def counts(conn: psycopg.Connection) -> dict[str, int]:
    return {t: conn.execute(f"select count(*) from ses.{t}").fetchone()[0] for t in EVENT_TABLES}


def make_interactions(conn: psycopg.Connection) -> list[tuple[int, int, int]]:
    """(interaction_id, talent_id, project_id) of two logged runs."""
    ids = log_run(conn, 100, [10, 11, 12, 13]) + log_run(conn, 101, [10, 20, 21])
    rows = conn.execute(
        "select id, talent_id, project_id from ses.interaction_logs where id = any(%s) order by id",
        (ids,),
    ).fetchall()
    return [tuple(r) for r in rows]


def scenario(interactions: list[tuple[int, int, int]], seed: int = 5) -> dict[str, list[dict]]:
    """A random but fixed mix of every kind of event, with the awkward cases:
    ties in time, revocations, retried keys, a second shortlist, unlinked conversions."""
    rng = random.Random(seed)
    feedback, behavior, conversions = [], [], []
    for n in range(60):
        iid, _t, _p = rng.choice(interactions)
        at = T0 + timedelta(minutes=rng.choice([n, n, 5]))  # some identical timestamps
        feedback.append({"interaction_id": iid, "feedback_type": rng.choice(FEEDBACK),
                         "actor": rng.choice(["a", "b"]), "created_at": at.isoformat(),
                         "meta": {"n": n} if n % 3 == 0 else None})  # fmt: skip
    for n in range(80):
        iid, _t, _p = rng.choice(interactions)
        key = f"k-{rng.randrange(50)}"  # repeats: retried requests
        row = {"interaction_id": iid, "event_type": rng.choice(BEHAVIOR), "actor": rng.choice(["a", "b"]),
               "idempotency_key": key, "created_at": (T0 + timedelta(minutes=n)).isoformat()}  # fmt: skip
        if n % 4 == 0:
            row["source"] = "extension"
        behavior.append(row)
    for n in range(30):
        iid, t, p = rng.choice(interactions)
        linked = rng.random() < 0.7
        conversions.append({"talent_id": t, "project_id": p, "stage": rng.choice(STAGES), "actor": "crm-sync",
                            "interaction_id": iid if linked else None,
                            "source": "gui" if linked and n % 2 else rng.choice(["crm", "import"]),
                            "created_at": (T0 + timedelta(hours=n)).isoformat()})  # fmt: skip
    return {"feedback": feedback, "behavior": behavior, "conversions": conversions,
            "revoke_positions": sorted(rng.sample(range(60), 12))}  # fmt: skip


def apply_single(conn: psycopg.Connection, sc: dict) -> dict:
    with conn.transaction():
        fids = [
            conn.execute(
                "select ses.record_feedback(%(interaction_id)s, %(feedback_type)s, %(actor)s, "
                "p_meta => %(meta)s::jsonb, p_created_at => %(created_at)s)",
                {**r, "meta": json.dumps(r["meta"]) if r["meta"] else None},
            ).fetchone()[0]
            for r in sc["feedback"]
        ]
        revoked = [
            conn.execute(
                "select ses.revoke_feedback(%s, 'c', %s)",
                (fids[i], T0 + timedelta(days=1, minutes=i)),
            ).fetchone()[0]["feedback_id"]
            for i in sc["revoke_positions"]
        ]
        statuses = [
            conn.execute(
                "select ses.record_interaction_event(%s, %s, %s, %s, null, %s, %s)",
                (r["interaction_id"], r["event_type"], r["actor"], r["idempotency_key"],
                 r.get("source", "gui"), r["created_at"]),
            ).fetchone()[0]
            for r in sc["behavior"]
        ]  # fmt: skip
        cids = [
            conn.execute(
                "select ses.record_conversion(%s, %s, %s, %s, %s, %s, null, %s)",
                (r["talent_id"], r["project_id"], r["stage"], r["actor"], r["interaction_id"],
                 r["source"], r["created_at"]),
            ).fetchone()[0]
            for r in sc["conversions"]
        ]  # fmt: skip
    return {"feedback": fids, "revoked": len(revoked), "statuses": statuses, "conversions": cids}


def batch(conn: psycopg.Connection, function: str, rows: list[dict]):
    return conn.execute(f"select ses.{function}(%s::jsonb)", (json.dumps(rows),)).fetchone()[0]


def apply_batch(conn: psycopg.Connection, sc: dict) -> dict:
    fids = batch(conn, "record_feedback_batch", sc["feedback"])
    revoked = batch(
        conn,
        "revoke_feedback_batch",
        [
            {"feedback_id": fids[i], "revoked_by": "c",
             "revoked_at": (T0 + timedelta(days=1, minutes=i)).isoformat()}
            for i in sc["revoke_positions"]
        ],
    )  # fmt: skip
    statuses = batch(conn, "record_interaction_events_batch", sc["behavior"])
    cids = batch(conn, "record_conversions_batch", sc["conversions"])
    return {"feedback": fids, "revoked": revoked, "statuses": statuses, "conversions": cids}


def test_batch_writes_what_sequential_single_calls_write(clean_db: psycopg.Connection) -> None:
    conn = clean_db
    sc = scenario(make_interactions(conn))
    single = apply_single(conn, sc)
    expected = dump(conn)

    conn.execute(
        "truncate ses.feedback_events, ses.interaction_events, ses.conversion_events, "
        "ses.interaction_logs, ses.match_results, ses.match_runs restart identity cascade"
    )
    assert scenario(make_interactions(conn)) == sc  # same interaction ids again
    assert apply_batch(conn, sc) == single
    assert dump(conn) == expected
    # the scenario exercised what it is meant to
    statuses = [s["status"] for s in single["statuses"]]
    assert "already_exists" in statuses and "created" in statuses
    assert any(r[5] for r in expected["feedback_events"])  # some meta
    assert sum(1 for r in expected["feedback_events"] if r[7]) == len(sc["revoke_positions"])
    assert any(r[1] is None for r in expected["conversion_events"])
    assert (
        conn.execute("select count(*) from ses.interaction_outcomes where is_drifted").fetchone()[0]
        == 0
    )


def test_empty_batches_write_nothing(clean_db: psycopg.Connection) -> None:
    for function, empty in (
        ("record_feedback_batch", []),
        ("revoke_feedback_batch", 0),
        ("record_interaction_events_batch", []),
        ("record_conversions_batch", []),
    ):
        assert batch(clean_db, function, []) == empty
    assert counts(clean_db) == dict.fromkeys(EVENT_TABLES, 0)


# (batch function, bad row builder given an interaction (id, talent, project),
#  the equivalent single-row SQL, its params builder)
def _fb(iid, **kw):
    return {"interaction_id": iid, "feedback_type": "thumbs_up", "actor": "a", **kw}


def _ev(iid, **kw):
    return {"interaction_id": iid, "event_type": "clicked_contact", "actor": "a",
            "idempotency_key": f"bad-{iid}", **kw}  # fmt: skip


def _cv(i, **kw):
    iid, t, p = i
    return {
        "talent_id": t,
        "project_id": p,
        "stage": "offer",
        "actor": "a",
        "interaction_id": iid,
        **kw,
    }


FEEDBACK_SQL = (
    "select ses.record_feedback(%(interaction_id)s, %(feedback_type)s, %(actor)s, "
    "coalesce(%(source)s, 'gui'), %(meta)s::jsonb)"
)
EVENT_SQL = (
    "select ses.record_interaction_event(%(interaction_id)s, %(event_type)s, %(actor)s, "
    "%(idempotency_key)s, %(meta)s::jsonb, coalesce(%(source)s, 'gui'))"
)
CONVERSION_SQL = (
    "select ses.record_conversion(%(talent_id)s, %(project_id)s, %(stage)s, %(actor)s, "
    "%(interaction_id)s, coalesce(%(source)s, 'gui'), %(meta)s::jsonb)"
)

BAD_ROWS = [
    ("record_feedback_batch", FEEDBACK_SQL, lambda i: _fb(i[0], feedback_type="thumbs_sideways"), "thumbs_sideways"),
    ("record_feedback_batch", FEEDBACK_SQL, lambda i: _fb(i[0], feedback_type=None), "feedback_type is required"),
    ("record_feedback_batch", FEEDBACK_SQL, lambda i: _fb(987654), "987654"),
    ("record_feedback_batch", FEEDBACK_SQL, lambda i: _fb(None), "interaction_id is required"),
    ("record_feedback_batch", FEEDBACK_SQL, lambda i: _fb(i[0], actor="   "), "actor is required (got '   ')"),
    ("record_feedback_batch", FEEDBACK_SQL, lambda i: _fb(i[0], meta=[1, 2]), "[1, 2]"),
    ("record_interaction_events_batch", EVENT_SQL, lambda i: _ev(i[0], event_type="liked"), "liked"),
    ("record_interaction_events_batch", EVENT_SQL, lambda i: _ev(i[0], actor=""), "actor is required"),
    ("record_interaction_events_batch", EVENT_SQL, lambda i: _ev(i[0], idempotency_key=None), "idempotency_key"),
    ("record_interaction_events_batch", EVENT_SQL, lambda i: _ev(424242), "424242"),
    ("record_interaction_events_batch", EVENT_SQL, lambda i: _ev(i[0], meta="s"), '"s"'),
    ("record_conversions_batch", CONVERSION_SQL, lambda i: _cv(i, stage="signed"), "signed"),
    ("record_conversions_batch", CONVERSION_SQL, lambda i: _cv(i, actor=None), "actor is required"),
    ("record_conversions_batch", CONVERSION_SQL, lambda i: _cv(i, interaction_id=555555), "555555"),
    ("record_conversions_batch", CONVERSION_SQL, lambda i: _cv(i, talent_id=99), "talent 99"),
    ("record_conversions_batch", CONVERSION_SQL, lambda i: _cv(i, source="fax"), "fax"),
    ("record_conversions_batch", CONVERSION_SQL, lambda i: _cv(i, interaction_id=None, talent_id=None), "talent NULL"),
]  # fmt: skip


@pytest.mark.parametrize(("function", "single_sql", "bad_row", "expected"), BAD_ROWS)
def test_bad_row_fails_like_the_single_call_and_writes_nothing(
    clean_db: psycopg.Connection, function: str, single_sql: str, bad_row, expected: str
) -> None:
    conn = clean_db
    interactions = make_interactions(conn)
    good = {
        "record_feedback_batch": lambda i: _fb(i[0]),
        "record_interaction_events_batch": lambda i: {**_ev(i[0]), "idempotency_key": f"ok-{i[0]}"},
        "record_conversions_batch": _cv,
    }[function]
    bad = bad_row(interactions[1])
    rows = [good(interactions[0]), good(interactions[2]), bad, good(interactions[3])]
    before = counts(conn)

    with pytest.raises(psycopg.Error) as single:
        params = {"source": None, "meta": None, **bad}
        params["meta"] = json.dumps(params["meta"]) if params["meta"] is not None else None
        conn.execute(single_sql, params)
    with pytest.raises(psycopg.Error) as batched:
        batch(conn, function, rows)

    assert expected in str(batched.value)
    assert batched.value.diag.message_primary == f"{single.value.diag.message_primary} (events[2])"
    assert batched.value.sqlstate == single.value.sqlstate
    assert counts(conn) == before


def test_bad_values_and_shapes_name_the_value(clean_db: psycopg.Connection) -> None:
    conn = clean_db
    before = counts(conn)
    cases = [
        ("record_feedback_batch", {"rows": "x"}, 'must be a JSON array of objects, got {"rows": "x"}'),
        ("record_feedback_batch", [{"interaction_id": 1}, 7], "events[1] must be a JSON object, got 7"),
        ("record_feedback_batch", [{"interaction_id": "abc"}], '"abc"'),
        ("record_conversions_batch", [{"talent_id": 1, "project_id": 2, "created_at": "yesterday-ish"}], "yesterday-ish"),
        ("revoke_feedback_batch", [{"feedback_id": 1.5}], "1.5"),
    ]  # fmt: skip
    for function, payload, expected in cases:
        with pytest.raises(psycopg.Error, match=expected.replace("[", r"\[").replace("{", r"\{")):
            batch(conn, function, payload)
    assert counts(conn) == before


def test_revocation_batch_checks_like_sequential_revokes(clean_db: psycopg.Connection) -> None:
    conn = clean_db
    iid = make_interactions(conn)[0][0]
    fids = batch(conn, "record_feedback_batch", [_fb(iid), _fb(iid, feedback_type="review_ng")])
    assert (
        conn.execute("select outcome from ses.interaction_logs where id = %s", (iid,)).fetchone()[0]
        == "review_ng"
    )

    def revoked() -> list[bool]:
        return [
            r[0] for r in conn.execute("select is_revoked from ses.feedback_events order by id")
        ]

    at = "2026-02-03T10:00:00+09:00"
    with pytest.raises(psycopg.Error) as dup:
        batch(conn, "revoke_feedback_batch", [
            {"feedback_id": fids[1], "revoked_by": "bob", "revoked_at": at},
            {"feedback_id": fids[1], "revoked_by": "eve"},
        ])  # fmt: skip
    assert dup.value.sqlstate == "55000"
    assert f"feedback event {fids[1]} is already revoked (by bob at 2026-02-03" in str(dup.value)
    assert "(revocations[1])" in str(dup.value)
    for rows, expected in (
        ([{"feedback_id": 777777, "revoked_by": "bob"}], "unknown feedback event id 777777"),
        ([{"feedback_id": fids[0], "revoked_by": " "}], "revoked_by is required"),
    ):
        with pytest.raises(psycopg.Error, match=expected):
            batch(conn, "revoke_feedback_batch", rows)
    assert revoked() == [False, False]

    assert (
        batch(
            conn,
            "revoke_feedback_batch",
            [{"feedback_id": fids[1], "revoked_by": "bob", "revoked_at": at}],
        )
        == 1
    )
    assert revoked() == [False, True]
    assert (
        conn.execute("select outcome from ses.interaction_logs where id = %s", (iid,)).fetchone()[0]
        == "thumbs_up"
    )
    with pytest.raises(
        psycopg.Error, match=rf"feedback event {fids[1]} is already revoked \(by bob"
    ):
        batch(conn, "revoke_feedback_batch", [{"feedback_id": fids[1], "revoked_by": "eve"}])
