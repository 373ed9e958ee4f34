"""Team-draft interleaving in ses.run_match (R-35, docs/interleaving.md): the merge
shown, its teams and versions, HardKO, reproducibility from the run id."""

from __future__ import annotations

import io
import json
from collections import Counter

import psycopg
import pytest

from ses_ops.dbt_runner import run_dbt
from simulator.copyfmt import copy_statement, write_copy
from simulator.world import PROJECT_COLUMNS, TALENT_COLUMNS, WorldConfig, generate_world

pytestmark = pytest.mark.db

INTERLEAVING = {
    "two_tower_enabled": "true", "two_tower_mode": "shadow", "two_tower_interleaving_pct": "100",
    "two_tower_weight": "1.0",
}  # fmt: skip
CACHES = ["talent_embeddings", "project_embeddings"]


@pytest.fixture(scope="module")
def interleaving_world():
    """A small simulated market, every project interleaved (shadow mode, 100 %)."""
    from ses_ops.db import connect

    world = generate_world(WorldConfig(seed=13, n_talents=400, n_projects=12))
    with connect() as conn:
        conn.execute(
            "truncate ses.feedback_events, ses.interaction_events, ses.conversion_events, "
            "ses.interaction_logs, ses.match_results, ses.match_runs, ses.talent_embeddings, "
            "ses.project_embeddings, ses.talents, ses.projects restart identity cascade"
        )
        for table, rows, columns in (
            ("ses.talents", world.talents, TALENT_COLUMNS),
            ("ses.projects", world.projects, PROJECT_COLUMNS),
        ):
            buf = io.StringIO()
            write_copy(rows, columns, buf)
            with conn.cursor() as cur, cur.copy(copy_statement(table, columns)) as copy:
                copy.write(buf.getvalue())
        conn.commit()
    run_dbt(
        [
            "build",
            "--select",
            *CACHES,
            "--exclude",
            "test_type:data",
            "--vars",
            json.dumps(INTERLEAVING),
        ]
    )
    yield [p["id"] for p in world.projects]
    run_dbt(["build", "--select", *CACHES, "--exclude", "test_type:data"])


def shown(conn: psycopg.Connection, run_id: str) -> list[tuple]:
    return conn.execute(
        "select talent_id, rank, team, control_version, treatment_version from ses.match_results "
        "where match_run_id = %s order by rank",
        (run_id,),
    ).fetchall()


def test_interleaved_runs_show_a_balanced_merge_of_passed_talents(
    conn: psycopg.Connection, interleaving_world: list[int]
) -> None:
    differing = 0
    for project_id in interleaving_world:
        run_id = conn.execute("select ses.run_match(%s, 10)", (project_id,)).fetchone()[0]
        variant, config = conn.execute(
            "select variant, config from ses.match_runs where match_run_id = %s", (run_id,)
        ).fetchone()
        assert variant == "interleaving"
        rows = shown(conn, run_id)
        inputs = config["interleaving"]
        differing += inputs["control"] != inputs["treatment"]
        talents = [r[0] for r in rows]
        assert (
            len(talents)
            == len(set(talents))
            == min(10, len(set(inputs["control"]) | set(inputs["treatment"])))
        )
        balance = 0
        for _, _, team, control_version, treatment_version in rows:
            balance += 1 if team == "control" else -1
            assert abs(balance) <= 1
            assert control_version == inputs["control_version"] == "ses_match-0.1"
            assert treatment_version == inputs["treatment_version"]
            assert treatment_version.startswith("hash:v2@1")
        knocked_out = {
            t
            for (t,) in conn.execute(
                "select talent_id from ses.knocked_out_pairs where project_id = %s", (project_id,)
            )
        }
        assert not knocked_out & set(talents)
        # the shown pairs are logged as interleaving exposures
        assert Counter(
            v
            for (v,) in conn.execute(
                "select variant from ses.interaction_logs where match_run_id = %s", (run_id,)
            )
        ) == Counter({"interleaving": len(rows)})
        # the merge is reproducible from the run id and the logged inputs
        replay = conn.execute(
            "select talent_id, rank, team from ses.team_draft_merge(%s, %s, %s, 10)",
            (inputs["control"], inputs["treatment"], run_id),
        ).fetchall()
        assert replay == [r[:3] for r in rows]
    assert differing >= len(interleaving_world) // 2  # the two rankers do disagree here


def test_control_ranking_is_the_business_ranking(
    conn: psycopg.Connection, interleaving_world: list[int]
) -> None:
    project_id = interleaving_world[0]
    run_id = conn.execute("select ses.run_match(%s, 5)", (project_id,)).fetchone()[0]
    config = conn.execute(
        "select config from ses.match_runs where match_run_id = %s", (run_id,)
    ).fetchone()[0]
    # control: base score (business x R-30 historical factor, 1.0 without a row)
    # descending, ties to the smaller id
    expected = [
        t
        for (t,) in conn.execute(
            "select c.talent_id from ses_intermediate.int_candidate_pairs as c "
            "left join ses.talent_historical_scores as h on c.talent_id = h.talent_id "
            "where c.project_id = %s and cardinality(c.ko_reasons) = 0 "
            "order by ses.base_score(c.business_score, null, coalesce(h.historical_score, 1.0)) "
            "desc, c.talent_id limit 5",
            (project_id,),
        )
    ]
    assert config["interleaving"]["control"] == expected


def test_same_run_id_same_merge_and_fixed_id_replays(
    conn: psycopg.Connection, interleaving_world: list[int]
) -> None:
    project_id = interleaving_world[1]
    run_id = "01JINTERLEAVING000000000001"
    assert (
        conn.execute("select ses.run_match(%s, 8, %s)", (project_id, run_id)).fetchone()[0]
        == run_id
    )
    first = shown(conn, run_id)
    assert (
        conn.execute("select ses.run_match(%s, 8, %s)", (project_id, run_id)).fetchone()[0]
        == run_id
    )
    assert shown(conn, run_id) == first
