"""R-02: the write path validates everything and writes nothing on bad input."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.python.db.conftest import ensure_entities, log_run

pytestmark = pytest.mark.db

TABLES = ("feedback_events", "interaction_events", "conversion_events", "interaction_logs")


def row_counts(conn: psycopg.Connection) -> dict[str, int]:
    return {t: conn.execute(f"select count(*) from ses.{t}").fetchone()[0] for t in TABLES}


@pytest.fixture
def interaction(clean_db: psycopg.Connection) -> int:
    return log_run(clean_db, 100, [10])[0]


BAD_CALLS = [
    # (sql, params, text the error must contain)
    ("select ses.record_feedback(%s, 'thumbs_sideways', 'alice')", "I", "thumbs_sideways"),
    ("select ses.record_feedback(%s, null, 'alice')", "I", "feedback_type is required"),
    ("select ses.record_feedback(987654, 'thumbs_up', 'alice')", "", "987654"),
    ("select ses.record_feedback(%s, 'thumbs_up', null)", "I", "actor is required"),
    ("select ses.record_feedback(%s, 'thumbs_up', '   ')", "I", "actor is required (got '   ')"),
    ("select ses.record_feedback(%s, 'thumbs_up', 'a', 'gui', '[1, 2]')", "I", "[1, 2]"),
    ("select ses.record_feedback(%s, 'thumbs_up', 'a', 'gui', '{bad json')", "I", "bad"),
    ("select ses.record_interaction_event(%s, 'liked', 'a', 'k1')", "I", "liked"),
    ("select ses.record_interaction_event(%s, 'shortlisted', '', 'k1')", "I", "actor is required"),
    ("select ses.record_interaction_event(%s, 'shortlisted', 'a', null)", "I", "idempotency_key"),
    ("select ses.record_interaction_event(424242, 'shortlisted', 'a', 'k1')", "", "424242"),
    ("select ses.record_interaction_event(%s, 'shortlisted', 'a', 'k1', '\"s\"')", "I", '"s"'),
    ("select ses.record_conversion(10, 100, 'signed', 'a', %s)", "I", "signed"),
    ("select ses.record_conversion(10, 100, 'offer', null, %s)", "I", "actor is required"),
    ("select ses.record_conversion(10, 100, 'offer', 'a', 555555)", "", "555555"),
    ("select ses.record_conversion(11, 100, 'offer', 'a', %s)", "I", "talent 11"),
    ("select ses.record_conversion(10, 100, 'offer', 'a', %s, 'fax')", "I", "fax"),
    ("select ses.record_conversion(null, 100, 'offer', 'a')", "", "talent NULL"),
    ("select ses.revoke_feedback(777777, 'bob')", "", "777777"),
    ("select ses.log_match_run(100, '{\"talent_id\": 1}')", "", '{"talent_id": 1}'),
    (
        "select ses.log_match_run(100, '[{\"rank\": 1}]')",
        "",
        "talent_id is required (got NULL) (candidates[0])",
    ),
    ("select ses.log_match_run(987654321, '[]')", "", "unknown project_id 987654321"),
]


@pytest.mark.parametrize(("sql", "uses_interaction", "expected"), BAD_CALLS)
def test_bad_input_names_the_value_and_writes_nothing(
    clean_db: psycopg.Connection, interaction: int, sql: str, uses_interaction: str, expected: str
) -> None:
    before = row_counts(clean_db)
    params = (interaction,) if uses_interaction else ()
    with pytest.raises(psycopg.Error) as excinfo:
        clean_db.execute(sql, params)
    assert expected in str(excinfo.value)
    assert row_counts(clean_db) == before


def test_revoke_updates_the_original_row_and_inserts_none(
    clean_db: psycopg.Connection, interaction: int
) -> None:
    conn = clean_db
    first = conn.execute("select ses.record_feedback(%s, 'thumbs_up', 'alice')", (interaction,))
    first_id = first.fetchone()[0]
    second_id = conn.execute(
        "select ses.record_feedback(%s, 'review_ng', 'alice')", (interaction,)
    ).fetchone()[0]
    assert outcome(conn, interaction) == "review_ng"

    result = conn.execute("select ses.revoke_feedback(%s, 'bob')", (second_id,)).fetchone()[0]
    assert result == {
        "feedback_id": second_id,
        "interaction_id": interaction,
        "outcome": "thumbs_up",
    }
    assert conn.execute("select count(*) from ses.feedback_events").fetchone()[0] == 2
    revoked = conn.execute(
        "select is_revoked, revoked_by, revoked_at is not null from ses.feedback_events where id = %s",
        (second_id,),
    ).fetchone()
    assert revoked == (True, "bob", True)
    assert outcome(conn, interaction) == "thumbs_up"

    with pytest.raises(psycopg.Error, match=f"feedback event {second_id} is already revoked"):
        conn.execute("select ses.revoke_feedback(%s, 'bob')", (second_id,))
    with pytest.raises(psycopg.Error, match="append-only"):
        conn.execute("delete from ses.feedback_events where id = %s", (first_id,))
    with pytest.raises(psycopg.Error, match="append-only"):
        conn.execute(
            "update ses.feedback_events set feedback_type = 'accepted' where id = %s", (first_id,)
        )


def test_seed_revoke_sequence_through_the_trigger(
    clean_db: psycopg.Connection, interaction: int
) -> None:
    conn = clean_db
    conn.execute(
        "select ses.record_feedback(%s, 'thumbs_up', 'a', 'gui', null, '2026-01-01 10:01+09')",
        (interaction,),
    )
    t2 = conn.execute(
        "select ses.record_feedback(%s, 'review_ng', 'a', 'gui', null, '2026-01-01 10:02+09')",
        (interaction,),
    ).fetchone()[0]
    assert outcome(conn, interaction) == "review_ng"
    conn.execute("select ses.revoke_feedback(%s, 'a', '2026-01-01 10:03+09')", (t2,))
    assert outcome(conn, interaction) == "thumbs_up"
    conn.execute(
        "select ses.record_feedback(%s, 'thumbs_down', 'a', 'gui', null, '2026-01-01 10:04+09')",
        (interaction,),
    )
    assert outcome(conn, interaction) == "thumbs_down"


def test_behaviour_replay_is_idempotent(clean_db: psycopg.Connection, interaction: int) -> None:
    conn = clean_db
    call = "select ses.record_interaction_event(%s, %s, %s, %s, %s)"
    created = conn.execute(
        call, (interaction, "clicked_contact", "alice", "key-1", Jsonb({"method": "gmail_compose"}))
    ).fetchone()[0]
    assert created["status"] == "created" and isinstance(created["id"], int)
    for _ in range(3):
        replay = conn.execute(
            call, (interaction, "clicked_contact", "alice", "key-1", None)
        ).fetchone()[0]
        assert replay == {"id": None, "status": "already_exists"}
    # shortlisted: once per (interaction, actor) even with a fresh key; other actors may
    assert (
        conn.execute(call, (interaction, "shortlisted", "alice", "s-1", None)).fetchone()[0][
            "status"
        ]
        == "created"
    )
    assert conn.execute(call, (interaction, "shortlisted", "alice", "s-2", None)).fetchone()[0] == {
        "id": None,
        "status": "already_exists",
    }
    assert (
        conn.execute(call, (interaction, "shortlisted", "bob", "s-3", None)).fetchone()[0]["status"]
        == "created"
    )
    # repeatable events with new keys are kept
    assert (
        conn.execute(call, (interaction, "clicked_contact", "alice", "key-2", None)).fetchone()[0][
            "status"
        ]
        == "created"
    )
    counts = dict(
        conn.execute(
            "select event_type, count(*) from ses.interaction_events group by 1"
        ).fetchall()
    )
    assert counts == {"clicked_contact": 2, "shortlisted": 2}


def test_match_run_replay_writes_no_duplicates(clean_db: psycopg.Connection) -> None:
    conn = clean_db
    ensure_entities(conn, [7, 8], [1, 2])
    candidates = Jsonb([{"talent_id": 1, "rank": 1}, {"talent_id": 2, "rank": 2}])
    run_id = conn.execute("select ses.log_match_run(7, %s)", (candidates,)).fetchone()[0]
    assert len(run_id) == 26
    again = conn.execute(
        "select ses.log_match_run(7, %s, p_match_run_id => %s)", (candidates, run_id)
    ).fetchone()[0]
    assert again == run_id
    assert conn.execute("select count(*) from ses.interaction_logs").fetchone()[0] == 2
    assert conn.execute("select count(*) from ses.match_results").fetchone()[0] == 2
    with pytest.raises(psycopg.Error, match=f"match_run_id {run_id} belongs to project 7, not 8"):
        conn.execute("select ses.log_match_run(8, %s, p_match_run_id => %s)", (candidates, run_id))


def outcome(conn: psycopg.Connection, interaction_id: int) -> str | None:
    return conn.execute(
        "select outcome from ses.interaction_logs where id = %s", (interaction_id,)
    ).fetchone()[0]
