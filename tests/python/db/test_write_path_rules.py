"""The write path's rules (macros/write_api/write_api_rules.sql) on the hostile
values an adversarial probe used: each is refused with its documented SQLSTATE,
the message names the value (and the row, in a batch), and nothing is written."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from ses_ops.db import connect
from tests.python.db.conftest import ensure_entities, log_run

pytestmark = pytest.mark.db

TABLES = ("match_runs", "match_results", "interaction_logs", "feedback_events",
          "interaction_events", "conversion_events")  # fmt: skip
PROJECT, TALENTS = 970001, [971001, 971002, 971003]


def counts(conn: psycopg.Connection) -> dict[str, int]:
    return {t: conn.execute(f"select count(*) from ses.{t}").fetchone()[0] for t in TABLES}


@pytest.fixture
def ids(clean_db: psycopg.Connection) -> dict:
    conn = clean_db
    ensure_entities(conn, [PROJECT], TALENTS)
    iid = log_run(conn, PROJECT, TALENTS[:1])[0]
    fid = conn.execute("select ses.record_feedback(%s, 'thumbs_up', 'a')", (iid,)).fetchone()[0]
    return {"iid": iid, "fid": fid, "pid": PROJECT, "t": TALENTS}


def cands(*rows) -> Jsonb:
    return Jsonb([dict(r) for r in rows])


LONG = "x" * 5000
CASES = [
    # (label, sql, params builder, SQLSTATE, text the message contains)
    ("unknown project", "select ses.log_match_run(%(p)s, '[]')", lambda i: {"p": 999999999}, "23503", "unknown project_id 999999999"),
    ("unknown talent", "select ses.log_match_run(%(pid)s, %(c)s)", lambda i: {**i, "c": cands({"talent_id": 987654321, "rank": 1})}, "23503", "unknown talent_id 987654321 (candidates[0])"),
    ("talent twice", "select ses.log_match_run(%(pid)s, %(c)s)",
     lambda i: {**i, "c": cands({"talent_id": i["t"][0], "rank": 1}, {"talent_id": i["t"][0], "rank": 2})},
     "22023", f"talent_id {TALENTS[0]} appears more than once (first at candidates[0]) (candidates[1])"),
    ("duplicated rank", "select ses.log_match_run(%(pid)s, %(c)s)",
     lambda i: {**i, "c": cands({"talent_id": i["t"][0], "rank": 1}, {"talent_id": i["t"][1], "rank": 1})},
     "22023", "rank 1 appears more than once"),
    ("missing rank", "select ses.log_match_run(%(pid)s, %(c)s)",
     lambda i: {**i, "c": cands({"talent_id": i["t"][0], "rank": 1}, {"talent_id": i["t"][1], "rank": 3})},
     "22023", "rank must be between 1 and 2 (the number of candidates), got 3 (candidates[1])"),
    ("score above 1", "select ses.log_match_run(%(pid)s, %(c)s)",
     lambda i: {**i, "c": cands({"talent_id": i["t"][0], "rank": 1, "total_score": 1.5})}, "22003", "total_score must be in [0, 1], got 1.5"),
    ("negative score", "select ses.log_match_run(%(pid)s, %(c)s)",
     lambda i: {**i, "c": cands({"talent_id": i["t"][0], "rank": 1, "business_score": -0.1})}, "22003", "got -0.1"),
    ("NaN score as string", "select ses.log_match_run(%(pid)s, %(c)s)",
     lambda i: {**i, "c": cands({"talent_id": i["t"][0], "rank": 1, "two_tower_score": "NaN"})}, "22023", 'two_tower_score must be a number, got "NaN"'),
    ("non-finite weight", "select ses.log_match_run(%(pid)s, '[]', p_two_tower_weight => 'NaN')", lambda i: i, "22003", "two_tower_weight must be a finite number >= 0, got NaN"),
    ("infinite weight", "select ses.log_match_run(%(pid)s, '[]', p_two_tower_weight => 'infinity')", lambda i: i, "22003", "got Infinity"),
    ("non-integer rank", "select ses.log_match_run(%(pid)s, %(c)s)", lambda i: {**i, "c": cands({"talent_id": i["t"][0], "rank": 1.5})}, "22023", "rank must be an integer, got 1.5"),
    ("string talent id", "select ses.log_match_run(%(pid)s, %(c)s)", lambda i: {**i, "c": cands({"talent_id": "7", "rank": 1})}, "22023", 'talent_id must be an integer, got "7"'),
    ("huge talent id", "select ses.log_match_run(%(pid)s, %(c)s)", lambda i: {**i, "c": cands({"talent_id": 10**30, "rank": 1})}, "22023", "talent_id must be an integer, got 1000000000000000000000000000000"),
    ("unknown candidate key", "select ses.log_match_run(%(pid)s, %(c)s)", lambda i: {**i, "c": cands({"talent_id": i["t"][0], "rank": 1, "score": 1})}, "22023", "unknown key 'score'"),
    ("empty run id", "select ses.log_match_run(%(pid)s, '[]', p_match_run_id => '')", lambda i: i, "22004", "match_run_id must not be blank (got '')"),
    ("blank run id", "select ses.run_match(%(pid)s, 5, ' ')", lambda i: i, "22004", "match_run_id must not be blank"),
    ("long run id", "select ses.log_match_run(%(pid)s, '[]', p_match_run_id => %(l)s)", lambda i: {**i, "l": "A" * 65}, "22001", "match_run_id is too long: 65 characters (max 64)"),
    ("run id with a quote", "select ses.run_match(%(pid)s, 5, 'a''; drop table x; --')", lambda i: i, "22023", "match_run_id may hold only"),
    ("long engine version", "select ses.log_match_run(%(pid)s, '[]', p_engine_version => %(l)s)", lambda i: {**i, "l": "v" * 21}, "22001", "engine_version is too long: 21 characters (max 20)"),
    ("long variant", "select ses.log_match_run(%(pid)s, '[]', p_variant => %(l)s)", lambda i: {**i, "l": "v" * 51}, "22001", "variant is too long"),
    ("top_k zero", "select ses.run_match(%(pid)s, 0)", lambda i: i, "22023", "top_k must be between 1 and 1000, got 0"),
    ("top_k huge", "select ses.run_match(%(pid)s, 2147483647)", lambda i: i, "22023", "got 2147483647"),
    ("tab actor", "select ses.record_feedback(%(iid)s, 'thumbs_up', E'\\t\\n')", lambda i: i, "22004", "actor is required (got '\\u0009\\u000a')"),
    ("ideographic-space actor", "select ses.record_feedback(%(iid)s, 'thumbs_up', '\u3000')", lambda i: i, "22004", "actor is required"),
    ("blank source", "select ses.record_feedback(%(iid)s, 'thumbs_up', 'a', ' ')", lambda i: i, "22004", "source is required (got ' ')"),
    ("blank key", "select ses.record_interaction_event(%(iid)s, 'clicked_contact', 'a', E'\\u00a0')", lambda i: i, "22004", "idempotency_key is required"),
    ("blank revoked_by", "select ses.revoke_feedback(%(fid)s, '  ')", lambda i: i, "22004", "revoked_by is required (got '  ')"),
    ("control char actor", "select ses.record_feedback(%(iid)s, 'thumbs_up', E'ab\\u0007c')", lambda i: i, "22023", "actor contains a control or bidirectional-format character: 'ab\\u0007c'"),
    ("RTL override actor", "select ses.record_feedback(%(iid)s, 'thumbs_up', E'admin\\u202Egpj.exe')", lambda i: i, "22023", "'admin\\u202egpj.exe'"),
    ("long actor", "select ses.record_feedback(%(iid)s, 'thumbs_up', %(l)s)", lambda i: {**i, "l": LONG}, "22001", "actor is too long: 5000 characters (max 200)"),
    ("long key", "select ses.record_interaction_event(%(iid)s, 'clicked_contact', 'a', %(l)s)", lambda i: {**i, "l": LONG}, "22001", "idempotency_key is too long: 5000 characters"),
    ("year 1", "select ses.record_feedback(%(iid)s, 'thumbs_up', 'a', 'gui', null, '0001-01-01 00:00+00')", lambda i: i, "22008", "created_at 0001-01-01"),
    ("BC", "select ses.record_conversion(%(t0)s, %(pid)s, 'entry', 'a', null, 'crm', null, '0100-01-01 BC')", lambda i: {**i, "t0": i["t"][0]}, "22008", "BC is outside the accepted event time range"),
    ("year 10889", "select ses.record_interaction_event(%(iid)s, 'clicked_contact', 'a', 'k', null, 'gui', '10889-01-01')", lambda i: i, "22008", "created_at 10889-01-01"),
    ("infinity", "select ses.revoke_feedback(%(fid)s, 'a', 'infinity')", lambda i: i, "22008", "revoked_at infinity is outside"),
    ("batch infinity", "select ses.record_feedback_batch(%(r)s)", lambda i: {"r": Jsonb([{"interaction_id": i["iid"], "feedback_type": "thumbs_up", "actor": "a", "created_at": "-infinity"}])}, "22008", "created_at -infinity is outside the accepted event time range"),
    ("batch 'now'", "select ses.record_feedback_batch(%(r)s)", lambda i: {"r": Jsonb([{"interaction_id": i["iid"], "feedback_type": "thumbs_up", "actor": "a", "created_at": "now"}])}, "22023", 'created_at must be a timestamp string, got "now" (events[0])'),
    ("batch bad date", "select ses.record_conversions_batch(%(r)s)", lambda i: {"r": Jsonb([{"talent_id": i["t"][0], "project_id": i["pid"], "stage": "entry", "actor": "a", "created_at": "2026-13-45"}])}, "22023", '"2026-13-45"'),
    ("batch unknown key", "select ses.record_feedback_batch(%(r)s)", lambda i: {"r": Jsonb([{"interaction_id": i["iid"], "feedbak_type": "thumbs_up", "actor": "a"}])}, "22023", "unknown key 'feedbak_type'"),
    ("batch first bad row", "select ses.record_feedback_batch(%(r)s)",
     lambda i: {"r": Jsonb([{"interaction_id": i["iid"], "feedback_type": "thumbs_up", "actor": "a"},
                            {"interaction_id": i["iid"], "feedback_type": "nope", "actor": "a"},
                            {"interaction_id": "x", "feedback_type": "thumbs_up", "actor": "a"}])},
     "22023", "unknown feedback_type 'nope' (expected one of: "),
    ("batch id out of range", "select ses.revoke_feedback_batch(%(r)s)", lambda i: {"r": Jsonb([{"feedback_id": 2**63, "revoked_by": "a"}])}, "22023", "feedback_id must be an integer, got 9223372036854775808 (revocations[0])"),
    ("huge meta", "select ses.record_feedback(%(iid)s, 'thumbs_up', 'a', 'gui', %(m)s)", lambda i: {**i, "m": Jsonb({"x": "y" * 70000})}, "22001", "meta is too large"),
    ("conversion unknown talent", "select ses.record_conversion(987654321, %(pid)s, 'entry', 'a', null, 'crm')", lambda i: i, "23503", "unknown talent_id 987654321"),
    ("negative interaction", "select ses.record_feedback(-1, 'thumbs_up', 'a')", lambda i: i, "23503", "unknown interaction_id -1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("label", "sql", "params", "sqlstate", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_hostile_value_is_refused_naming_it(ids, label, sql, params, sqlstate, expected) -> None:
    with connect() as conn:
        before = counts(conn)
        with pytest.raises(psycopg.Error) as exc:
            conn.execute(sql, params(ids))
        assert exc.value.sqlstate == sqlstate, exc.value.diag.message_primary
        assert expected in exc.value.diag.message_primary
        assert counts(conn) == before


def test_good_values_at_the_limits_are_written(ids) -> None:
    with connect() as conn:
        conn.execute(
            "select ses.record_feedback(%s, 'thumbs_up', %s, %s, %s, '2099-12-31 23:59:59+00')",
            (ids["iid"], "a" * 200, "s" * 50, Jsonb({"x": "é" * 1000, "rtl": "\u202e"})),
        )
        run_id = conn.execute(
            "select ses.log_match_run(%s, %s, p_match_run_id => %s, p_engine_version => %s)",
            (
                PROJECT,
                cands(
                    {"talent_id": TALENTS[1], "rank": 2, "total_score": 0},
                    {"talent_id": TALENTS[2], "rank": 1, "total_score": 1.0},
                ),
                "A" * 64,
                "v" * 20,
            ),
        ).fetchone()[0]
        assert run_id == "A" * 64
        assert conn.execute(
            "select array_agg(talent_id order by rank) from ses.match_results where match_run_id = %s",
            (run_id,),
        ).fetchone()[0] == [TALENTS[2], TALENTS[1]]
