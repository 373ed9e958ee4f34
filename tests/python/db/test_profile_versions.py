"""Point-in-time profiles: training reads the tokens a pair had when it was shown.

Editing a profile after an exposure must not change that exposure's training tokens;
an exposure after the edit gets the new ones. The versions are kept by triggers on
ses.talents / ses.projects (migration V040)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from psycopg.types.json import Jsonb

from ses_ops.db import connect
from training.retrain import load_labelled_data

pytestmark = pytest.mark.db

T0 = datetime.fromisoformat("2025-05-01T09:00:00+09:00")


@pytest.fixture
def world():
    with connect() as conn:
        conn.execute(
            "truncate ses.feedback_events, ses.interaction_events, ses.conversion_events, "
            "ses.interaction_logs, ses.match_results, ses.match_runs, ses.talent_embeddings, "
            "ses.project_embeddings, ses.talents, ses.projects, ses.talent_versions, "
            "ses.project_versions restart identity cascade"
        )
        conn.execute(
            "insert into ses.talents (id, possessed_skills_keywords, residential_todofuken, "
            "desired_price_min, updated_at) values (1, '{Java}', '東京都', 600000, %s)",
            (T0,),
        )
        conn.execute(
            "insert into ses.projects (id, required_skills_keywords, work_todofuken, "
            "monthly_tanka_max, updated_at) values (9, '{Java}', '東京都', 800000, %s)",
            (T0,),
        )
        yield conn


def show(conn, at: datetime, run: str) -> int:
    """One displayed pair (talent 1, project 9) at ``at`` with a thumbs-up; its id."""
    conn.execute(
        "select ses.log_match_run(9, %s, 'test', 'test', 'hash', 'v2', p_match_run_id => %s, "
        "p_created_at => %s)",
        (Jsonb([{"talent_id": 1, "rank": 1}]), run, at),
    )
    iid = conn.execute(
        "select id from ses.interaction_logs where match_run_id = %s", (run,)
    ).fetchone()[0]
    conn.execute(
        "select ses.record_feedback(%s, 'thumbs_up', 'sales', 'gui', null, %s)",
        (iid, at + timedelta(minutes=5)),
    )
    return iid


def tokens_of(data, iid: int) -> list[str]:
    e = next(e for e in data.exposures if e.interaction_id == iid)
    return data.talents[e.talent_key][0]


def test_an_edit_after_the_exposure_does_not_change_its_tokens(world):
    conn = world
    before = show(conn, T0 + timedelta(hours=1), "RUN-BEFORE-EDIT")
    # the talent learns Python and raises the price after the pair was shown
    conn.execute(
        "update ses.talents set possessed_skills_keywords = '{Java,Python}', "
        "desired_price_min = 750000, updated_at = %s where id = 1",
        (T0 + timedelta(days=2),),
    )
    after = show(conn, T0 + timedelta(days=3), "RUN-AFTER-EDIT")
    versions = conn.execute(
        "select valid_from, valid_to, possessed_skills_keywords from ses.talent_versions "
        "where talent_id = 1 order by valid_from"
    ).fetchall()
    assert [v[2] for v in versions] == [["Java"], ["Java", "Python"]]
    assert versions[0][1] == versions[1][0] and versions[1][1] is None

    data = load_labelled_data(conn, T0 + timedelta(days=10))
    old, new = tokens_of(data, before), tokens_of(data, after)
    assert "skill:python" not in old and "tanka:50-70" in old
    assert "skill:python" in new and "tanka:70-100" in new
    current = [
        r[0]
        for r in conn.execute(
            "select token from ses_intermediate.int_talent_tokens where entity_id = 1"
        )
    ]
    assert "skill:python" in current  # serving sees the profile as it is now

    # an update that changes nothing of the profile makes no version; an edit stamped
    # at the current version's start corrects it in place
    conn.execute("update ses.talents set updated_at = %s where id = 1", (T0 + timedelta(days=4),))
    assert conn.execute("select count(*) from ses.talent_versions").fetchone()[0] == 2
    conn.execute(
        "update ses.talents set english_skill = 'business', updated_at = %s where id = 1",
        (T0 + timedelta(days=2),),
    )
    rows = conn.execute(
        "select valid_from, english_skill from ses.talent_versions where talent_id = 1 "
        "order by valid_from"
    ).fetchall()
    assert len(rows) == 2 and rows[1][1] == "business"


def test_an_exposure_older_than_every_version_takes_the_first(world):
    conn = world
    early = show(conn, T0 - timedelta(days=30), "RUN-BEFORE-VERSIONS")
    row = conn.execute(
        "select talent_version, project_version from ses.training_exposures "
        "where interaction_id = %s",
        (early,),
    ).fetchone()
    assert row == (T0, T0)
