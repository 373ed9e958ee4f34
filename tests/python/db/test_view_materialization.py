"""The project's view materialization (macros/materializations/view.sql): a rebuilt
view is replaced in place, so views built on it survive a partial build."""

from __future__ import annotations

import psycopg

from ses_ops.dbt_runner import run_dbt

VIEWS_SQL = """
select c.oid, n.nspname || '.' || c.relname
from pg_class as c
join pg_namespace as n on n.oid = c.relnamespace
where c.relkind = 'v' and n.nspname like 'ses%'
order by 2
"""


def test_partial_build_keeps_downstream_views(conn: psycopg.Connection) -> None:
    before = conn.execute(VIEWS_SQL).fetchall()
    names = {name for _, name in before}
    # int_interaction_outcomes and the label marts are views on this staging view
    assert {"ses_staging.stg_ses__feedback_events", "ses.training_labels"} <= names
    run_dbt(["run", "--select", "stg_ses__feedback_events", "stg_ses__interaction_logs"])
    after = conn.execute(VIEWS_SQL).fetchall()
    # same views, same objects: replaced in place, nothing dropped and recreated
    assert after == before
    assert conn.execute("select count(*) from ses.training_labels").fetchone() is not None
