"""Who may do what (macros/access.sql, docs/access.md), checked by logging in as a
member of each group role against the real database: the role x action matrix,
a search_path attack on the write path, the trainer's retrain reads and writes,
and the transformer's `dbt build`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.types.json import Jsonb

from ses_ops.dbt_runner import run_dbt
from tests.python.db.conftest import ensure_entities, log_run
from tests.python.db.roles import INSUFFICIENT_PRIVILEGE, member_logins, role_names

pytestmark = pytest.mark.db

PROJECT, TALENTS = 990001, (991001, 991002)

WRITE_PATH = {
    "record_feedback": "select ses.record_feedback(%(iid)s, 'thumbs_up', 'matrix')",
    "record_feedback_batch": "select ses.record_feedback_batch(%(feedback_rows)s)",
    "revoke_feedback": "select ses.revoke_feedback(%(fid)s, 'matrix')",
    "revoke_feedback_batch": "select ses.revoke_feedback_batch(%(revocation_rows)s)",
    "record_interaction_event": (
        "select ses.record_interaction_event(%(iid)s, 'clicked_contact', 'matrix', 'matrix-key-1')"
    ),
    "record_interaction_events_batch": "select ses.record_interaction_events_batch(%(event_rows)s)",
    "record_conversion": "select ses.record_conversion(%(tid)s, %(pid)s, 'contacted', 'matrix', %(iid)s)",
    "record_conversions_batch": "select ses.record_conversions_batch(%(conversion_rows)s)",
    "log_match_run": "select ses.log_match_run(%(pid)s, %(candidates)s)",
    "run_match": "select ses.run_match(%(pid)s, 5)",
}
# Registry functions: allowed means past the privilege check (an unknown
# version is 23503, a model that cannot be served 55000).
REGISTRY = {
    "register_model": "select ses.register_model('20991231', 'rejected', now(), 0)",
    "activate_model": "select ses.activate_model('20991230')",
    "active_model_version": "select ses.active_model_version()",
}
INTERNAL = {
    "refresh_interaction_outcome": "select ses.refresh_interaction_outcome(%(iid)s)",
    "wp_write_feedback": "select ses.wp_write_feedback('[]'::jsonb, 'events')",
    "new_ulid": "select ses.new_ulid()",
    "two_tower_config": "select ses.two_tower_config()",
    "model_serving_problem": "select ses.model_serving_problem('20991230')",
    "embedding_to_array": "select ses.embedding_to_array('\\x0000803f'::bytea)",
    "two_tower_score_matrix": "select count(*) from ses.two_tower_score_matrix('hash', 256, array[]::bigint[], 1)",
    "rank_candidates": "select count(*) from ses.rank_candidates(%(pid)s, 5, 'hash', 256, 0.0, false)",
}
ALLOWED_ERRORS = {"activate_model": "23503"}

PUBLIC_MARTS = {
    "labels": (
        "interaction_outcomes",
        "training_pairs",
        "training_labels",
        "training_stats",
        "training_exposures",
        "label_daily_summary",
    ),
    "reports": ("ab_variant_report", "model_evaluation", "interleaving_report"),
    "ranking": (
        "ranked_candidates",
        "knocked_out_pairs",
        "two_tower_weight_schedule",
        "talent_historical_scores",
    ),
}
TOKENS = (
    "ses_intermediate.int_talent_tokens", "ses_intermediate.int_project_tokens",
    "ses_intermediate.int_talent_version_tokens", "ses_intermediate.int_project_version_tokens",
)  # fmt: skip
PRIVATE_RELATIONS = (
    "ses_staging.stg_ses__interaction_logs",
    "ses_staging.stg_ses__feedback_events",
    "ses_intermediate.int_interaction_outcomes",
    "ses_intermediate.int_candidate_pairs",
    "ses_ref.feedback_types",
)


def expected(role: str, kind: str, name: str) -> bool:
    """The wanted matrix (docs/access.md): True = allowed."""
    marts = {m: group for group, ms in PUBLIC_MARTS.items() for m in ms}
    if role == "app":
        return kind == "call" and name in WRITE_PATH
    if role == "bi":
        return kind == "select" and name.removeprefix("ses.") in marts
    if role == "trainer":
        if kind == "call":
            return name in REGISTRY
        if kind == "select":
            short = name.removeprefix("ses.")
            return (
                marts.get(short) in ("labels", "reports")
                or name in TOKENS
                or short == "model_registry"
            )
        return False
    if role == "transformer":
        if kind == "call":  # what the models call (dbt functions, scoring helpers)
            return name in (
                "two_tower_config", "model_serving_problem", "embedding_to_array", "two_tower_score_matrix",
                "rank_candidates",
            )  # fmt: skip
        if kind == "select":
            return True  # the sources it builds from and everything it built
        # the caches it fills; the change log its incremental models consume
        return (kind, name.removeprefix("ses.")) in {
            ("update", "talent_embeddings"), ("delete", "talent_embeddings"),
            ("update", "project_embeddings"), ("delete", "project_embeddings"),
            ("delete", "change_log"),
            ("update", "incremental_watermarks"), ("delete", "incremental_watermarks"),
            ("update", "change_log_horizon"),
        }  # fmt: skip
    raise AssertionError(role)


@pytest.fixture
def world(clean_db: psycopg.Connection) -> dict:
    conn = clean_db
    ensure_entities(conn, [PROJECT], TALENTS)
    iid = log_run(conn, PROJECT, [TALENTS[0]])[0]
    fid = conn.execute("select ses.record_feedback(%s, 'thumbs_up', 'setup')", (iid,)).fetchone()[0]
    tables = [
        r[0]
        for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'ses' "
            "and table_type = 'BASE TABLE' and table_name not in (select unnest(%s::text[])) "
            "order by 1",
            ([m for ms in PUBLIC_MARTS.values() for m in ms],),
        )
    ]
    first_column = dict(
        conn.execute(
            # an identity column GENERATED ALWAYS rejects `set id = id` before the
            # privilege check, so the update probe uses the first ordinary column
            "select distinct on (table_name) table_name, column_name "
            "from information_schema.columns where table_schema = 'ses' "
            "and coalesce(identity_generation, '') <> 'ALWAYS' "
            "order by table_name, ordinal_position"
        ).fetchall()
    )
    fb = {"interaction_id": iid, "feedback_type": "review_ok", "actor": "matrix"}
    return {
        "tables": tables,
        "first_column": first_column,
        "params": {
            "iid": iid,
            "fid": fid,
            "pid": PROJECT,
            "tid": TALENTS[0],
            "feedback_rows": Jsonb([fb]),
            "revocation_rows": Jsonb([{"feedback_id": fid, "revoked_by": "matrix"}]),
            "event_rows": Jsonb(
                [
                    {
                        "interaction_id": iid,
                        "event_type": "shortlisted",
                        "actor": "matrix",
                        "idempotency_key": "matrix-key-2",
                    }
                ]
            ),
            "conversion_rows": Jsonb(
                [
                    {
                        "talent_id": TALENTS[0],
                        "project_id": PROJECT,
                        "stage": "entry",
                        "actor": "matrix",
                    }
                ]
            ),
            "candidates": Jsonb([{"talent_id": TALENTS[1], "rank": 1}]),
        },
    }


def actions(world: dict) -> list[tuple[str, str, str, dict]]:
    """(kind, name, sql, params): every function call and table action of the matrix."""
    out = [
        ("call", n, s, world["params"]) for n, s in {**WRITE_PATH, **REGISTRY, **INTERNAL}.items()
    ]
    for table in world["tables"]:
        rel, col = f"ses.{table}", world["first_column"][table]
        out += [
            ("select", rel, f"select 1 from {rel} limit 1", {}),
            ("update", rel, f"update {rel} set {col} = {col} where false", {}),
            ("delete", rel, f"delete from {rel} where false", {}),
        ]
    for group in PUBLIC_MARTS.values():
        out += [("select", f"ses.{m}", f"select 1 from ses.{m} limit 1", {}) for m in group]
    out += [("select", r, f"select 1 from {r} limit 1", {}) for r in TOKENS + PRIVATE_RELATIONS]
    return out


def attempt(conn: psycopg.Connection, name: str, statement: str, params: dict) -> bool:
    """True when the role may do it (the statement ran, or failed past the privilege
    check with the error the matrix expects); False on insufficient privilege."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(statement, params or None)
    except psycopg.Error as exc:
        if exc.sqlstate == INSUFFICIENT_PRIVILEGE:
            return False
        if exc.sqlstate == ALLOWED_ERRORS.get(name):
            return True
        raise AssertionError(f"{name}: {statement} failed with {exc.sqlstate}: {exc}") from exc
    return True


@pytest.mark.parametrize("role", ["app", "bi", "trainer", "transformer"])
def test_role_matrix(world: dict, role: str) -> None:
    with member_logins([role]) as logins, logins[role].connect(autocommit=False) as conn:
        got = {(kind, name): attempt(conn, name, s, p) for kind, name, s, p in actions(world)}
        conn.rollback()
    want = {key: expected(role, *key) for key in got}
    wrong = {key: (got[key], want[key]) for key in got if got[key] != want[key]}
    assert wrong == {}, f"{role}: (got, wanted) differ for {wrong}"
    # the matrix covers what the issue lists
    kinds = {kind for kind, _ in got}
    assert kinds == {"call", "select", "update", "delete"} and len(got) > 60


def test_group_roles_cannot_log_in_and_nobody_connects_by_default(conn) -> None:
    names = role_names()
    rows = conn.execute(
        "select rolname, rolcanlogin, rolsuper from pg_roles where rolname = any(%s)",
        (list(names.values()),),
    ).fetchall()
    assert sorted(rows) == sorted((n, False, False) for n in names.values())
    assert conn.execute(
        "select has_database_privilege('public', current_database(), 'CONNECT'), "
        "has_database_privilege(%s, current_database(), 'TEMPORARY'), "
        "has_schema_privilege('public', 'public', 'CREATE')",
        (names["app"],),
    ).fetchone() == (False, False, False)
    public_functions = conn.execute(
        "select count(*) from pg_proc where pronamespace = 'ses'::regnamespace "
        "and has_function_privilege('public', oid, 'EXECUTE')"
    ).fetchone()[0]
    assert public_functions == 0
    owners = dict(
        conn.execute(
            "select proname, pg_get_userbyid(proowner) from pg_proc where pronamespace = 'ses'::regnamespace"
        ).fetchall()
    )
    assert set(owners.values()) == {names["owner"]}
    definers = {
        r[0]
        for r in conn.execute(
            "select proname from pg_proc where pronamespace = 'ses'::regnamespace and prosecdef "
            "and array_to_string(proconfig, ',') like 'search_path=pg_catalog, ses, pg_temp%'"
        )
    }
    assert set(WRITE_PATH) | {"register_model", "activate_model"} <= definers


SHADOWS = """
create schema ses_attack;
create function ses_attack.shadow_called() returns boolean language plpgsql as
  $$ begin raise exception 'shadow called'; end $$;
create function ses_attack.btrim(text) returns text language sql as $$ select ses_attack.shadow_called()::text $$;
create function ses_attack.lower(text) returns text language sql as $$ select ses_attack.shadow_called()::text $$;
create function ses_attack.char_length(text) returns integer language sql as $$ select 0 where ses_attack.shadow_called() $$;
create function ses_attack.jsonb_typeof(jsonb) returns text language sql as $$ select ses_attack.shadow_called()::text $$;
create function ses_attack.now() returns timestamptz language sql as $$ select 'epoch'::timestamptz where ses_attack.shadow_called() $$;
create function ses_attack.nextval(regclass) returns bigint language sql as $$ select 0::bigint where ses_attack.shadow_called() $$;
create function ses_attack.text_eq(text, text) returns boolean language sql as $$ select ses_attack.shadow_called() $$;
create function ses_attack.int8_eq(bigint, bigint) returns boolean language sql as $$ select ses_attack.shadow_called() $$;
create operator ses_attack.= (leftarg = text, rightarg = text, function = ses_attack.text_eq);
create operator ses_attack.= (leftarg = bigint, rightarg = bigint, function = ses_attack.int8_eq);
create table ses_attack.feedback_types (feedback_type text);
insert into ses_attack.feedback_types values ('evil');
create table ses_attack.interaction_logs (id bigint);
grant usage on schema ses_attack to {app};
grant execute on all functions in schema ses_attack to {app};
grant select on all tables in schema ses_attack to {app};
"""


def write_everything(conn: psycopg.Connection, w: dict) -> list:
    """Every write-path function once (good input) and two bad calls; returns what
    each returned or the (SQLSTATE, message) it raised."""
    p = w["params"]
    out = []
    for name, statement in WRITE_PATH.items():
        if name in ("revoke_feedback_batch",):
            continue  # revokes p["fid"], which revoke_feedback just did
        try:
            with conn.transaction():
                row = conn.execute(statement, p).fetchone()[0]
            out.append(
                (name, "ok", row if name not in ("log_match_run", "run_match") else len(row))
            )
        except psycopg.Error as exc:
            out.append((name, exc.sqlstate, exc.diag.message_primary))
    for statement in (
        "select ses.record_feedback(%(iid)s, 'evil', 'matrix')",
        "select ses.record_feedback(%(iid)s, 'thumbs_up', '   ')",
        "select ses.record_conversion(%(tid)s, %(pid)s, 'offer', 'matrix', 987654321)",
    ):
        try:
            with conn.transaction():
                conn.execute(statement, p)
            out.append((statement, "ok"))
        except psycopg.Error as exc:
            out.append((statement, exc.sqlstate, exc.diag.message_primary))
    return out


def normalise(results: list) -> list:
    # ids differ between the two runs: keep only the shape of successful results
    return [
        (r[0], r[1], json.dumps(r[2], sort_keys=True) if r[1] != "ok" else type(r[2]).__name__)
        if len(r) == 3
        else r
        for r in results
    ]


def test_search_path_attack_changes_nothing(world: dict, clean_db: psycopg.Connection) -> None:
    admin = clean_db
    names = role_names()
    admin.execute("drop schema if exists ses_attack cascade")
    admin.execute(SHADOWS.format(app=names["app"]))
    try:
        with member_logins(["app"]) as logins, logins["app"].connect(autocommit=False) as conn:
            with conn.transaction(force_rollback=True):
                control = write_everything(conn, world)
            for path in ("ses_attack, pg_catalog, ses, public", "pg_temp, ses_attack, pg_catalog"):
                conn.execute(f"set search_path = {path}")
                # the shadows are live in this session: an unprotected `=` calls them
                with pytest.raises(psycopg.Error, match="shadow called"), conn.transaction():
                    conn.execute("select 'a'::text = 'b'::text")
                with conn.transaction(force_rollback=True):
                    attacked = write_everything(conn, world)
                assert normalise(attacked) == normalise(control), path
            conn.rollback()
        assert all(r[1] == "ok" for r in control[: len(WRITE_PATH) - 1])
        assert [r[1] for r in control[len(WRITE_PATH) - 1 :]] == ["22023", "22004", "23503"]
    finally:
        admin.execute("drop schema if exists ses_attack cascade")


def test_trainer_runs_the_retrain_reads_and_records_through_the_registry_function(
    world: dict, clean_db: psycopg.Connection, tmp_path
) -> None:
    from training import retrain as rt

    admin = clean_db
    now = datetime.now(UTC)
    with member_logins(["trainer"]) as logins, logins["trainer"].connect() as conn:
        data = rt.load_labelled_data(conn, now)
        assert len(data.exposures) >= 1 and data.talents
        assert rt.due(conn, now, rt.RetrainConfig())[0] is False
        version = rt.unique_version(conn, now.date(), tmp_path)
        report = rt.RetrainReport(
            status="failed", reason="matrix test", version=version, snapshot=data.snapshot, split={}
        )
        rt._record(conn, rt.RetrainConfig(model_dir=tmp_path), report, None, now, "rejected", print)
        assert report.status == "rejected"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("update ses.model_registry set status = 'active'")
    try:
        assert admin.execute(
            "select status, reason from ses.model_registry where version = %s", (version,)
        ).fetchone() == ("rejected", "matrix test")
    finally:
        admin.execute("delete from ses.model_registry where version = %s", (version,))


def test_transformer_runs_dbt_build(world: dict) -> None:
    """The nightly build as a transformer member: no superuser needed once deployed
    (migrations, functions and grants unchanged are skipped)."""
    with member_logins(["transformer"]) as logins:
        login = logins["transformer"]
        run_dbt(
            ["build", "--exclude", "test_type:unit"], PGUSER=login.user, PGPASSWORD=login.password
        )
