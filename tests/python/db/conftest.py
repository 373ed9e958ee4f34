"""Fixtures for tests against the real PostgreSQL named by the PG* env vars.

`make test` creates a fresh database and runs `dbt build` on it first, so the
schema, the seeds and every view exist. An unreachable database fails the
tests; nothing here is mocked or skipped.
"""

from __future__ import annotations

import sys

import psycopg
import pytest

from ses_ops.db import connect, current_database
from simulator.nightly import DbtBuild

OPERATIONAL_TABLES = (
    "ses.feedback_events",
    "ses.interaction_events",
    "ses.conversion_events",
    "ses.interaction_logs",
    "ses.match_results",
    "ses.match_runs",
)


@pytest.fixture(scope="session")
def dbt() -> DbtBuild:
    """dbt in this process, the project parsed once for the whole session."""
    return DbtBuild(current_database())


@pytest.fixture
def conn() -> psycopg.Connection:
    with connect() as connection:
        yield connection


@pytest.fixture
def clean_db(conn: psycopg.Connection) -> psycopg.Connection:
    """Empty the event tables (fast, keeps the schema and the seeds)."""
    conn.execute(f"truncate {', '.join(OPERATIONAL_TABLES)} restart identity cascade")
    return conn


def ensure_entities(conn: psycopg.Connection, project_ids=(), talent_ids=()) -> None:
    """Minimal talents / projects rows for ids the write path must know."""
    for table, ids in (("ses.projects", project_ids), ("ses.talents", talent_ids)):
        if ids:
            conn.execute(
                f"insert into {table} (id) select unnest(%s::bigint[]) on conflict (id) do nothing",
                (list(ids),),
            )


def log_run(conn: psycopg.Connection, project_id: int, talent_ids: list[int]) -> list[int]:
    """Log one match run through the write path; return the interaction ids."""
    ensure_entities(conn, [project_id], talent_ids)
    candidates = [{"talent_id": t, "rank": i + 1} for i, t in enumerate(talent_ids)]
    run_id = conn.execute(
        "select ses.log_match_run(%s, %s::jsonb, 'test', 'test', 'hash', 'v2')",
        (project_id, psycopg.types.json.Jsonb(candidates)),
    ).fetchone()[0]
    rows = conn.execute(
        "select id from ses.interaction_logs where match_run_id = %s order by talent_id", (run_id,)
    ).fetchall()
    return [r[0] for r in rows]


def pytest_terminal_summary(terminalreporter) -> None:
    """How many inputs the write-path fuzz suite tried per function."""
    for name, module in list(sys.modules.items()):
        if name.endswith("test_fuzz_write_path") and hasattr(module, "fuzz_summary"):
            for line in module.fuzz_summary():
                terminalreporter.write_line(line)
