"""The interval macros of the reports (macros/clustered_interval.sql) on simulated
streams with a known truth: the A/B intervals clustered by project cover the true
rate and the true difference at about their nominal 95 % when a project's exposures
are correlated, where the naive Wilson interval over exposures does not; the
interleaving preference interval covers a known preference."""

from __future__ import annotations

import subprocess

import numpy as np
import psycopg
import pytest

from ses_ops.dbt_runner import PROJECT_DIR, dbt_executable

pytestmark = pytest.mark.db

REPS = 300


def compile_sql(sql: str) -> str:
    """The SQL of the project's macros, rendered by dbt (`dbt compile --inline`)."""
    out = subprocess.run(
        [dbt_executable(), "--quiet", "compile", "--inline", sql],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def load(conn: psycopg.Connection, rows: list[tuple]) -> None:
    conn.execute("drop table if exists pg_temp.streams")
    conn.execute(
        "create temp table streams (rep int, arm text, project_id int, successes int, units int)"
    )
    with conn.cursor() as cur, cur.copy("copy streams from stdin") as copy:
        for row in rows:
            copy.write_row(row)


def ab_streams(rng: np.random.Generator, truth: dict[str, float]) -> list[tuple]:
    """Per replication and arm, 25 projects with 5..60 exposures each, every project
    with its own rate (Beta around the arm's mean, intra-project correlation 0.1)."""
    rows = []
    icc = 0.1
    for rep in range(REPS):
        for arm, mean in truth.items():
            a, b = mean * (1 - icc) / icc, (1 - mean) * (1 - icc) / icc
            for project in range(25):
                n = int(rng.integers(5, 61))
                rows.append((rep, arm, project, int(rng.binomial(n, rng.beta(a, b))), n))
    return rows


def test_clustered_ab_intervals_cover_at_nominal_rate_naive_do_not(
    conn: psycopg.Connection,
) -> None:
    truth = {"control": 0.20, "treatment": 0.25}
    load(conn, ab_streams(np.random.default_rng(35), truth))
    per_arm = compile_sql(
        "select *, {{ wilson_bound('rate * effective_n', 'effective_n', 'lower') }} as lo, "
        "{{ wilson_bound('rate * effective_n', 'effective_n', 'upper') }} as hi from ("
        "select *, {{ effective_sample_size('rate', 'variance', 'units') }} as effective_n from ("
        "select rep, arm, {{ cluster_ratio('successes', 'units') }} as rate, "
        "{{ cluster_ratio_variance('successes', 'units') }} as variance, sum(units) as units, "
        "{{ wilson_bound('sum(successes)', 'sum(units)', 'lower') }} as naive_lo, "
        "{{ wilson_bound('sum(successes)', 'sum(units)', 'upper') }} as naive_hi "
        "from streams group by rep, arm) as a) as b"
    )
    diff = compile_sql(
        "select t.rep, {{ cluster_diff_bound('t.rate', 't.variance', 'c.rate', 'c.variance', 'lower') }}, "
        "{{ cluster_diff_bound('t.rate', 't.variance', 'c.rate', 'c.variance', 'upper') }}, "
        "{{ cluster_diff_bound('t.rate', 't.rate * (1 - t.rate) / t.units', 'c.rate', "
        "'c.rate * (1 - c.rate) / c.units', 'lower') }}, "
        "{{ cluster_diff_bound('t.rate', 't.rate * (1 - t.rate) / t.units', 'c.rate', "
        "'c.rate * (1 - c.rate) / c.units', 'upper') }} "
        "from arms as t inner join arms as c on t.rep = c.rep "
        "where t.arm = 'treatment' and c.arm = 'control'"
    )
    conn.execute(f"create temp table arms as {per_arm}")
    rows = conn.execute(
        "select arm, lo, hi, naive_lo, naive_hi, effective_n, units from arms"
    ).fetchall()
    covered = {"clustered": [], "naive": []}
    for arm, lo, hi, naive_lo, naive_hi, effective_n, units in rows:
        covered["clustered"].append(lo <= truth[arm] <= hi)
        covered["naive"].append(naive_lo <= truth[arm] <= naive_hi)
        assert effective_n < units  # correlated exposures are worth fewer
    rate_coverage = {k: float(np.mean(v)) for k, v in covered.items()}
    assert rate_coverage["clustered"] >= 0.91, rate_coverage
    assert rate_coverage["naive"] <= 0.85, rate_coverage

    true_diff = truth["treatment"] - truth["control"]
    bounds = conn.execute(diff).fetchall()
    clustered = np.mean([lo <= true_diff <= hi for _, lo, hi, _, _ in bounds])
    naive = np.mean([lo <= true_diff <= hi for _, _, _, lo, hi in bounds])
    assert clustered >= 0.91, (clustered, naive)
    assert naive <= 0.85, (clustered, naive)


def test_preference_interval_covers_a_known_preference(conn: psycopg.Connection) -> None:
    """Interleaved runs: 40 projects with 1..8 decided runs each, the treatment
    winning each with its project's own probability (mean 0.6); the report's
    preference interval (as interleaving_report computes it) covers 0.6."""
    rng = np.random.default_rng(11)
    rows = []
    for rep in range(REPS):
        for project in range(40):
            p = rng.beta(6.0, 4.0)  # mean 0.6, varying by project
            n = int(rng.integers(1, 9))
            rows.append((rep, "interleaving", project, int(rng.binomial(n, p)), n))
    load(conn, rows)
    sql = compile_sql(
        "select {{ wilson_bound('rate * n_eff', 'n_eff', 'lower') }}, "
        "{{ wilson_bound('rate * n_eff', 'n_eff', 'upper') }} from ("
        "select rate, {{ effective_sample_size('rate', 'variance', 'units') }} as n_eff from ("
        "select {{ cluster_ratio('successes', 'units') }} as rate, "
        "{{ cluster_ratio_variance('successes', 'units') }} as variance, sum(units) as units "
        "from streams group by rep) as a) as b"
    )
    coverage = np.mean([lo <= 0.6 <= hi for lo, hi in conn.execute(sql).fetchall()])
    assert coverage >= 0.91, coverage
