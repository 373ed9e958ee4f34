"""ses.rank_candidates (the ranking of ses.run_match and ranked_candidates)
against the plain per-pair SQL ranking: same candidates, same scores to the
last bit, same order, on random worlds full of ties and NULLs, with R-30's
historical factor for some talents; the historical factor reorders but admits
no knocked-out pair; run_match and ranked_candidates agree with it; the
per-backend talent store follows edits, new and deleted talents."""

from __future__ import annotations

import itertools
import random

import psycopg
import pytest

from ses_ops.db import connect
from simulator.nightly import DbtBuild

pytestmark = pytest.mark.db

PREFS = ["東京都", "大阪府", "神奈川県", None]
REMOTE = ["onsite", "hybrid", "full_remote", None]
SKILLS = ["Java", "java", "Python", "Go", "AWS", "SQL", "React", "COBOL", "Spring"]
WORLD_TABLES = (
    "ses.feedback_events, ses.interaction_events, ses.conversion_events, ses.interaction_logs, "
    "ses.match_results, ses.match_runs, ses.talent_embeddings, ses.project_embeddings, "
    "ses.talents, ses.projects"
)

# The ranking spelled out pair by pair: the rules of int_candidate_pairs, the
# two-tower scores of the online path, base score, blend, order.
REFERENCE = """
with pairs as (
    select c.talent_id, c.business_score, extract(epoch from c.talent_updated_at)::float8 as updated
    from ses_intermediate.int_candidate_pairs as c
    where c.project_id = %(project)s and cardinality(c.ko_reasons) = 0
),
tt as (
    select s.talent_id, s.two_tower_score
    from ses.two_tower_project_scores(
        'hash', 256, %(project)s,
        (select array_agg(p.talent_id order by p.talent_id) from pairs as p),
        (select array_agg(p.updated order by p.talent_id) from pairs as p)
    ) as s
),
scored as (
    select
        p.talent_id, p.business_score,
        ses.base_score(p.business_score, null, coalesce(h.historical_score, 1.0)) as base_score,
        tt.two_tower_score
    from pairs as p
    left join tt using (talent_id)
    left join ses.talent_historical_scores as h using (talent_id)
)
select
    talent_id, business_score, two_tower_score,
    ses.blend_total(base_score, two_tower_score, %(weight)s, %(serving)s) as total_score
from scored
order by total_score desc, talent_id asc
limit %(k)s
"""


def random_talent(rng: random.Random, talent_id: int) -> tuple:
    return (
        talent_id,
        rng.sample(SKILLS, rng.randrange(0, 4)) if rng.random() > 0.05 else None,
        rng.choice(PREFS),
        rng.choice(REMOTE),
        rng.choice([None, 0, 2, 5, 8]),
        rng.choice([None, 400000, 500000, 600000, 650000, 700000]),
        rng.choice(["native", "business", None]),
    )


def insert_talents(conn: psycopg.Connection, rows: list[tuple]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "insert into ses.talents (id, possessed_skills_keywords, residential_todofuken, "
            "desired_remote_onsite, min_experience_years, desired_price_min, japanese_skill) "
            "values (%s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


@pytest.fixture(scope="module")
def random_world(dbt: DbtBuild) -> psycopg.Connection:
    """One world for the module (the last test edits it); one connection, so
    its backend keeps the talent store between calls."""
    with connect() as conn:
        yield _fill_world(conn, dbt)


def _fill_world(conn: psycopg.Connection, dbt: DbtBuild) -> psycopg.Connection:
    conn.execute(f"truncate {WORLD_TABLES} restart identity cascade")
    rng = random.Random(20261203)
    insert_talents(conn, [random_talent(rng, i) for i in range(1, 601)])
    with conn.cursor() as cur:
        cur.executemany(
            "insert into ses.projects (id, required_skills_keywords, preferred_skills_keywords, "
            "work_todofuken, remote_onsite, min_experience_years, monthly_tanka_max) "
            "values (%s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    p,
                    rng.sample(SKILLS, rng.randrange(0, 3)),
                    rng.sample(SKILLS, rng.randrange(0, 3)) if rng.random() > 0.2 else None,
                    rng.choice(PREFS),
                    rng.choice(REMOTE),
                    rng.choice([None, 0, 3, 5]),
                    rng.choice([None, 550000, 650000, 800000]),
                )
                for p in range(1, 13)
            ],
        )
    # half of the talents cached, half embedded on the spot
    dbt.invoke(["run", "--select", "talent_embeddings"])
    conn.execute("delete from ses.talent_embeddings where talent_id % 2 = 0")
    set_historical(conn, rng, range(1, 601, 3))
    return conn


def set_historical(conn: psycopg.Connection, rng: random.Random, talents) -> None:
    """R-30 factors for some talents, as the nightly mart would hold them (the
    others have no row: 1.0); few distinct values, so ties stay."""
    conn.execute("truncate ses.talent_historical_scores")
    with conn.cursor() as cur:
        cur.executemany(
            "insert into ses.talent_historical_scores (talent_id, labelled_pairs, positive_pairs, "
            "global_rate, smoothed_rate, historical_score, prior_score, computed_at) "
            "values (%s, 10, 3, 0.3, %s, 0.8 + 0.2 * %s, 0.86, now())",
            [(t, r, r) for t in talents for r in [rng.choice([0.0, 0.25, 0.5, 1.0])]],
        )


def ranked(conn: psycopg.Connection, project: int, k: int, weight: float, serving: bool) -> list:
    return conn.execute(
        "select talent_id, business_score, two_tower_score, total_score, rank "
        "from ses.rank_candidates(%s, %s, 'hash', 256, %s, %s) order by rank",
        (project, k, weight, serving),
    ).fetchall()


def reference(conn: psycopg.Connection, project: int, k: int, weight: float, serving: bool) -> list:
    rows = conn.execute(
        REFERENCE, {"project": project, "k": k, "weight": weight, "serving": serving}
    ).fetchall()
    return [(*row, rank) for rank, row in enumerate(rows, start=1)]


def test_rank_candidates_is_the_per_pair_ranking(random_world: psycopg.Connection) -> None:
    conn = random_world
    checked = ties = 0
    for project in range(1, 13):
        for k, weight, serving in [
            (1, 0.0, False),
            (7, 0.2, True),
            (25, 0.05, True),
            (600, 0.3, True),
            (40, 0.2, False),
        ]:
            got = ranked(conn, project, k, weight, serving)
            assert got == reference(conn, project, k, weight, serving), (project, k, weight)
            checked += len(got)
            ties += sum(a[3] == b[3] for a, b in itertools.pairwise(got))
    assert checked > 1000 and ties > 100  # big worlds of equal scores were ranked


def test_shortlist_scores_are_the_sql_rules(random_world: psycopg.Connection) -> None:
    """The vectorised rules: the passed count and each shortlisted business
    score are the per-pair SQL's, bit for bit."""
    conn = random_world
    for project in range(1, 13):
        ids, business, passed = conn.execute(
            "select talent_ids, business_scores, passed "
            "from ses.candidate_shortlist(%s, 50, 'hash', 256, 0.2, true)",
            (project,),
        ).fetchone()
        pairs = dict(
            conn.execute(
                "select talent_id, business_score from ses_intermediate.int_candidate_pairs "
                "where project_id = %s and cardinality(ko_reasons) = 0",
                (project,),
            ).fetchall()
        )
        assert passed == len(pairs)
        assert dict(zip(ids, business, strict=True)) == {t: pairs[t] for t in ids}


def test_knocked_out_talents_never_rank(random_world: psycopg.Connection) -> None:
    conn = random_world
    seen = 0
    for project in range(1, 13):
        shown = {r[0] for r in ranked(conn, project, 600, 1.0, True)}
        knocked = {
            t
            for (t,) in conn.execute(
                "select talent_id from ses.knocked_out_pairs where project_id = %s", (project,)
            )
        }
        assert len(shown) + len(knocked) == 600 and not shown & knocked
        seen += len(knocked)
    assert seen > 1000


def test_historical_factor_reorders_and_admits_no_knocked_out_pair(
    random_world: psycopg.Connection,
) -> None:
    conn = random_world
    factors = dict(
        conn.execute("select talent_id, historical_score from ses.talent_historical_scores")
    )
    assert factors and min(factors.values()) < 1.0
    reordered = 0
    for project in range(1, 13):
        got = conn.execute(
            "select talent_id, historical_score, business_score, base_score, rank "
            "from ses.rank_candidates(%s, 600, 'hash', 256, 0.0, false) order by rank",
            (project,),
        ).fetchall()
        passed = {
            t
            for (t,) in conn.execute(
                "select talent_id from ses_intermediate.int_candidate_pairs "
                "where project_id = %s and cardinality(ko_reasons) = 0",
                (project,),
            )
        }
        assert {r[0] for r in got} == passed  # the same candidates, none admitted
        assert [r[1] for r in got] == [factors.get(r[0], 1.0) for r in got]
        assert all(r[3] == r[2] * r[1] for r in got)
        by_business = sorted(got, key=lambda r: (-r[2], r[0]))
        reordered += [r[0] for r in by_business] != [r[0] for r in got]
    assert reordered >= 6


def test_run_match_and_ranked_candidates_rank_like_rank_candidates(
    random_world: psycopg.Connection, dbt: DbtBuild
) -> None:
    """One definition: the mart's top N and a match run's logged top k are
    ses.rank_candidates' rows, with the historical factor and the hash score
    logged per displayed pair."""
    conn = random_world
    dbt.invoke(["run", "--select", "ranked_candidates"])
    settings = "ses.two_tower_weight(), ses.variant_serves_two_tower(ses.ab_variant(%(p)s))"
    for project in range(1, 13):
        want = conn.execute(
            "select talent_id, historical_score, two_tower_score, total_score, rank "
            f"from ses.rank_candidates(%(p)s, 100, 'hash', 256, {settings}) order by rank",
            {"p": project},
        ).fetchall()
        mart = conn.execute(
            "select talent_id, historical_score, two_tower_score, total_score, rank "
            "from ses.ranked_candidates where project_id = %s order by rank",
            (project,),
        ).fetchall()
        assert mart == want
        run_id = conn.execute("select ses.run_match(%s, 20)", (project,)).fetchone()[0]
        logged = conn.execute(
            "select talent_id, historical_score, two_tower_score, total_score, rank "
            "from ses.match_results where match_run_id = %s order by rank",
            (run_id,),
        ).fetchall()
        assert logged == want[:20]
        hashed = conn.execute(
            "select count(*) from ses.match_results where match_run_id = %s "
            "and hash_score is not distinct from two_tower_score and hash_score is not null",
            (run_id,),
        ).fetchone()[0]
        assert hashed == len(logged)  # hash serves: the hash score is the served score


def test_store_follows_edits_new_and_deleted_talents(random_world: psycopg.Connection) -> None:
    """A backend that ranked once keeps its talents in memory; what other
    sessions commit afterwards is ranked as it is now, what they have not
    committed yet is not."""
    conn = random_world
    project = 1
    before = ranked(conn, project, 10, 0.2, True)
    assert before == reference(conn, project, 10, 0.2, True)
    top, second = before[0][0], before[1][0]
    with connect() as other:
        other.execute("update ses.talents set desired_price_min = 9000000 where id = %s", (top,))
        other.execute("delete from ses.talent_embeddings where talent_id = %s", (second,))
        other.execute("delete from ses.talents where id = %s", (second,))
        insert_talents(
            other, [(900, ["java", "go", "aws"], "東京都", "hybrid", 9, 100000, "native")]
        )
    with connect(autocommit=False) as pending:
        insert_talents(
            pending, [(901, ["java", "go", "aws"], "東京都", "hybrid", 9, 100000, "native")]
        )
        after = ranked(conn, project, 10, 0.2, True)
        assert after == reference(conn, project, 10, 0.2, True)
        assert top not in [r[0] for r in after] and second not in [r[0] for r in after]
        pending.rollback()
    assert 901 not in [r[0] for r in ranked(conn, project, 600, 0.2, True)]
    # many edits at once, then a TRUNCATE: both still exact
    rng = random.Random(3)
    with connect() as other:
        other.execute("delete from ses.talents where id > 500")
        insert_talents(other, [random_talent(rng, i) for i in range(1000, 1400)])
    assert ranked(conn, project, 50, 0.2, True) == reference(conn, project, 50, 0.2, True)
    with connect() as other:
        other.execute("truncate ses.talents cascade")
    assert ranked(conn, project, 10, 0.2, True) == []
