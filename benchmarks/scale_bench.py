"""Cost curves as history and the talent pool grow: the nightly build (from
scratch and incremental after +1% events), the BI label queries, the label
marts against the seed's recovery query, and ses.run_match latency.

    python -m benchmarks.scale_bench [--logs 1000000,10000000] [--talents 100000,1000000]
                                     [--runs 60] [--json reports/bench/scale.json]

Each size gets its own database ($PGDATABASE + _scale_logs_<n> / _scale_talents_<n>,
recreated; --keep leaves them). Histories are generated in the database, set
based (a year of match runs, feedback, behaviour and conversions with realistic
delays; stored outcomes set the way the drift repair would), the +1% events go
through the triggers like the app's writes. Talents: the simulator's generator
for the first 100 000, copied in SQL with shifted prices, experience and homes
beyond that. Prints every figure, the ratios between sizes, and the load
average of the machine during each phase.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from benchmarks.common import copy_rows
from ses_ops.db import connect, current_database
from ses_ops.dbt_runner import PROJECT_DIR, run_dbt
from ses_ops.ensure_database import ensure_database
from simulator import (
    PROJECT_COLUMNS,
    TALENT_COLUMNS,
    WorldConfig,
    generate_projects,
    generate_talents,
)
from simulator.nightly import FULL_BUILD_ARGS, NIGHTLY_BUILD_ARGS, DbtBuild
from simulator.world import JST

COMPLETE = list(FULL_BUILD_ARGS)  # every model and data test (all but dbt unit tests)
NIGHTLY = list(NIGHTLY_BUILD_ARGS)  # selectors.yml nightly: without the history-wide tests
WEEKLY = ["build", "--selector", "weekly"]  # after a retrain: + the history-wide tests
LABEL_MODELS = [
    "int_interaction_outcomes",
    "int_conversion_best_stages",
    "int_behavior_best_events",
    "label_daily_summary",
]
# the feedback types of the seed (its one home), as a SQL array
FEEDBACK_TYPES = "(select array_agg(feedback_type order by priority) from ses_ref.feedback_types)"
DAYS = 365
PER_RUN = 200
BASE_TIME = "timestamptz '2025-01-06 09:00+09'"
# the seed's 「正を求めるSQL」 per interaction (as in benchmarks.labels_bench)
SEED_LOOP = """
do $$
declare i record; v text;
begin
    for i in select id from ses.interaction_logs loop
        select feedback_type into v from ses.feedback_events
        where interaction_id = i.id and is_revoked = false
        order by case feedback_type
            when 'accepted' then 1 when 'rejected' then 2 when 'interview_scheduled' then 3
            when 'review_ok' then 4 when 'review_ng' then 4 when 'thumbs_up' then 5
            when 'thumbs_down' then 5 when 'no_response' then 6 else 100 end asc,
            created_at desc
        limit 1;
    end loop;
end $$
"""
BI_QUERIES = {
    "labels per day (label_daily_summary)": (
        "select run_date, sum(interactions) filter (where signal_source is not null) "
        "from ses.label_daily_summary group by 1 order by 1"
    ),
    "outcome mix by variant (label_daily_summary)": (
        "select variant, outcome, sum(interactions) from ses.label_daily_summary group by 1, 2"
    ),
    "stats (training_stats)": "select * from ses.training_stats",
}
# The same questions asked of the row-level views, once, for comparison.
ROW_LEVEL_QUERIES = {
    "labels per day (training_labels rows)": (
        "select run_date, count(*) from ses.training_labels group by 1"
    ),
    "outcome mix by variant (training_pairs rows)": (
        "select variant, outcome, count(*) from ses.training_pairs group by 1, 2"
    ),
}


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


@dataclass
class Results:
    rows: list[dict] = field(default_factory=list)

    def add(
        self, family: str, size: int, what: str, value: float, unit: str, note: str = ""
    ) -> None:
        self.rows.append(
            {
                "family": family,
                "size": size,
                "what": what,
                "value": value,
                "unit": unit,
                "load": load(),
                "note": note,
            }
        )
        print(
            f"  [{family} {size:,}] {what}: {value:,.3f} {unit}  (load {load()}) {note}", flush=True
        )

    def get(self, family: str, size: int, what: str) -> float | None:
        for r in self.rows:
            if (r["family"], r["size"], r["what"]) == (family, size, what):
                return r["value"]
        return None


class Dbt:
    """dbt in this process for one database (parsed once): dbt's own execution
    time, without the start-up and parse of a fresh `dbt` command (the wall
    time with them goes in the note); `nodes` sums the named nodes only."""

    def __init__(self, db: str, env: dict[str, str] | None = None) -> None:
        self.build = DbtBuild(db)
        self.env = env or {}

    def __call__(
        self,
        res: Results,
        fam: str,
        n: int,
        what: str,
        args: list[str],
        nodes: list[str] | None = None,
    ) -> None:
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            wall = self.build.invoke(args)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        if nodes:
            seconds = sum(self.build.last_node_seconds.get(node, 0.0) for node in nodes)
            note = f"SQL of {len(nodes)} models; dbt command {self.build.last_execution_s or wall:.1f}s"
        else:
            seconds = self.build.last_execution_s or wall
            note = f"wall {wall:.1f}s with dbt start-up"
        res.add(fam, n, what, seconds, "s", note)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ------------------------------------------------------------------ labels


def exposure_time(i: str, n: int) -> str:
    """Exposure time of interaction id `i` (SQL): runs of PER_RUN pairs spread over DAYS."""
    day_per_run = DAYS / max(n // PER_RUN, 1)
    return (
        f"({BASE_TIME} + ((({i}) - 1) / {PER_RUN})::float8 * {day_per_run!r} * interval '1 day'"
        f" + ((({i}) * 7919) % 36000) * interval '1 second')"
    )


def generate_history(db: str, n: int) -> None:
    """n exposures over DAYS days, 2n feedback events within 30 days of their
    exposure (5% revoked), n/2 behaviour events within 7 days, n/10 conversions
    within 60 days (10% without interaction); stored outcomes set set-based."""
    types = FEEDBACK_TYPES
    with connect(dbname=db) as conn:
        conn.execute(
            "truncate ses.feedback_events, ses.interaction_events, ses.conversion_events, "
            "ses.interaction_logs, ses.match_results, ses.match_runs restart identity cascade"
        )
        conn.execute(
            "set session_replication_role = replica"
        )  # bulk load: no triggers, no FK checks
        conn.execute(
            f"""
            insert into ses.interaction_logs (talent_id, project_id, match_run_id, two_tower_score,
                two_tower_embedder, two_tower_version, business_score, variant, created_at)
            select (g * 104729) % 100000 + 1, g / {PER_RUN} % 20000 + 1, 'bench-' || (g / {PER_RUN}),
                   random(), 'hash', 'v2', random(),
                   case when (g / {PER_RUN}) % 2 = 0 then 'control' else 'two_tower_50pct' end,
                   {exposure_time("g + 1", n)}
            from generate_series(0::bigint, {n - 1}) as g
            """
        )
        conn.execute(
            f"""
            insert into ses.match_runs (match_run_id, project_id, engine_version, variant, top_k, created_at)
            select 'bench-' || r, r % 20000 + 1, 'bench',
                   case when r % 2 = 0 then 'control' else 'two_tower_50pct' end, {PER_RUN},
                   {exposure_time(f"r * {PER_RUN} + 1", n)}
            from generate_series(0::bigint, {(n - 1) // PER_RUN}) as r
            """
        )
        conn.execute(
            f"""
            insert into ses.feedback_events (interaction_id, feedback_type, actor, created_at,
                is_revoked, revoked_at, revoked_by)
            select x.i, x.t, 'bench', x.at, x.r, case when x.r then x.at + interval '1 hour' end,
                   case when x.r then 'bench' end
            from (
                select s.i, ({types})[1 + floor(random() * cardinality({types}))::int] as t,
                       {exposure_time("s.i", n)} + random() * interval '30 days' as at, random() < 0.05 as r
                from (select (floor(random() * {n}) + 1)::bigint as i from generate_series(1, {2 * n})) as s
            ) as x
            """
        )
        conn.execute(
            f"""
            insert into ses.interaction_events (interaction_id, event_type, actor, idempotency_key, created_at)
            select s.i,
                   (array['shortlisted','clicked_contact','copied_template','viewed_candidate_detail'])[1 + floor(random() * 4)::int],
                   'bench', 'k' || s.g, {exposure_time("s.i", n)} + random() * interval '7 days'
            from (select g, (floor(random() * {n}) + 1)::bigint as i from generate_series(1::bigint, {n // 2}) as g) as s
            on conflict do nothing
            """
        )
        conn.execute(
            f"""
            insert into ses.conversion_events (interaction_id, talent_id, project_id, stage, actor, source, created_at)
            select case when random() < 0.9 then s.i end, 1, 1,
                   (array['contacted','entry','interview_scheduled','offer','contract_signed','lost'])[1 + floor(random() * 6)::int],
                   'bench', 'crm', {exposure_time("s.i", n)} + random() * interval '60 days'
            from (select (floor(random() * {n}) + 1)::bigint as i from generate_series(1, {n // 10})) as s
            """
        )
        # what the trigger would have stored, in one statement
        conn.execute(
            """
            update ses.interaction_logs as il
            set outcome = w.feedback_type, feedback_at = w.created_at
            from (
                select distinct on (f.interaction_id) f.interaction_id, f.feedback_type, f.created_at
                from ses.feedback_events as f
                inner join ses_ref.feedback_types as ft using (feedback_type)
                where not f.is_revoked
                order by f.interaction_id, ft.priority, f.created_at desc, f.id desc
            ) as w
            where il.id = w.interaction_id
            """
        )
        conn.execute("set session_replication_role = origin")
        # the talents and projects the history names, each with the profile
        # version its triggers keep (what training_exposures reads), valid
        # from before the first exposure; the projects are closed (this
        # benchmark is about the history, not the ranking)
        since = f"now() - interval '{DAYS + 30} days'"
        conn.execute(
            f"insert into ses.talents (id, updated_at) select g, {since} "
            "from generate_series(1, 100000) as g on conflict (id) do nothing"
        )
        conn.execute(
            f"insert into ses.projects (id, updated_at, closed_at) select g, {since}, {since} "
            "from generate_series(1, 20000) as g on conflict (id) do nothing"
        )
        conn.execute("vacuum analyze")


def one_percent_more(db: str, n: int) -> dict[str, int]:
    """+1% events through the triggers (statement by statement, like batches of
    the write path): a new day of exposures, feedback mostly on recent
    exposures and some late on old ones, revocations, behaviour, conversions."""
    new = max(n // 100, PER_RUN)
    types = FEEDBACK_TYPES
    with connect(dbname=db) as conn:
        last = conn.execute("select max(id), max(created_at) from ses.interaction_logs").fetchone()
        conn.execute(
            f"""
            insert into ses.interaction_logs (talent_id, project_id, match_run_id, two_tower_score,
                two_tower_embedder, two_tower_version, business_score, variant, created_at)
            select (g * 104729) % 100000 + 1, g / {PER_RUN} % 20000 + 1, 'bench-new-{last[0]}-' || (g / {PER_RUN}),
                   random(), 'hash', 'v2', random(),
                   case when (g / {PER_RUN}) % 2 = 0 then 'control' else 'two_tower_50pct' end,
                   '{last[1].isoformat()}'::timestamptz + interval '1 day' + (g % 36000) * interval '1 second'
            from generate_series(0::bigint, {new - 1}) as g
            """
        )
        conn.execute(
            f"""
            insert into ses.match_runs (match_run_id, project_id, engine_version, top_k, created_at)
            select distinct il.match_run_id, il.project_id, 'bench', {PER_RUN}, min(il.created_at) over (partition by il.match_run_id)
            from ses.interaction_logs as il
            where il.id > {last[0]}
            """
        )
        recent = f"(select max(id) from ses.interaction_logs) - {14 * n // DAYS}"
        conn.execute(
            f"""
            insert into ses.feedback_events (interaction_id, feedback_type, actor, created_at)
            select s.i, ({types})[1 + floor(random() * cardinality({types}))::int], 'bench',
                   now() - random() * interval '20 days'
            from (
                select case
                    when random() < 0.6 then {last[0]} + 1 + floor(random() * {new})::bigint
                    when random() < 0.75 then greatest(1, {recent}) + floor(random() * {14 * n // DAYS})::bigint
                    else 1 + floor(random() * {last[0]})::bigint
                end as i
                from generate_series(1, {2 * n // 100})
            ) as s
            """
        )
        conn.execute(
            f"""
            update ses.feedback_events set is_revoked = true, revoked_at = now(), revoked_by = 'bench'
            where id in (
                select id from ses.feedback_events where not is_revoked
                order by id desc limit {2 * n // 100 // 20}
            )
            """
        )
        conn.execute(
            f"""
            insert into ses.interaction_events (interaction_id, event_type, actor, idempotency_key, created_at)
            select 1 + floor(random() * ({last[0]} + {new}))::bigint,
                   (array['shortlisted','clicked_contact','copied_template','viewed_candidate_detail'])[1 + floor(random() * 4)::int],
                   'bench', 'new-' || g || '-' || md5(random()::text), now()
            from generate_series(1::bigint, {n // 200}) as g
            on conflict do nothing
            """
        )
        conn.execute(
            f"""
            insert into ses.conversion_events (interaction_id, talent_id, project_id, stage, actor, source, created_at)
            select 1 + floor(random() * ({last[0]} + {new}))::bigint, 1, 1,
                   (array['contacted','entry','interview_scheduled','offer','contract_signed','lost'])[1 + floor(random() * 6)::int],
                   'bench', 'gui', now()
            from generate_series(1, {n // 1000})
            """
        )
        changed = conn.execute(
            "select count(distinct entity_id) from ses.change_log where entity = 'interaction'"
        ).fetchone()[0]
        days = conn.execute(
            "select count(distinct il.run_date) from ses.interaction_logs as il "
            "where il.id in (select entity_id from ses.change_log where entity = 'interaction')"
        ).fetchone()[0]
    return {"new_exposures": new, "changed_interactions": changed, "touched_days": days}


def percentiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    return statistics.median(values), statistics.quantiles(values, n=20)[18]


def bench_labels(base_db: str, n: int, res: Results, keep: bool, weekly: bool = True) -> None:
    fam = "logs"
    db = f"{base_db}_scale_logs_{n}"
    print(f"\n== history of {n:,} interaction logs (database {db}) ==", flush=True)
    ensure_database(db, recreate=True)
    run_dbt(COMPLETE, database=db)
    res.add(fam, n, "generate history (set-based SQL)", timed(lambda: generate_history(db, n)), "s")
    with connect(dbname=db) as conn:
        counts = conn.execute(
            "select (select count(*) from ses.interaction_logs), (select count(*) from ses.feedback_events), "
            "(select count(*) from ses.interaction_events), (select count(*) from ses.conversion_events)"
        ).fetchone()
    print(
        f"  rows: logs {counts[0]:,} feedback {counts[1]:,} behaviour {counts[2]:,} conversions {counts[3]:,}"
    )
    dbt = Dbt(db)
    dbt(
        res,
        fam,
        n,
        "label models from scratch (dbt run --full-refresh)",
        ["run", "--full-refresh", "--select", *LABEL_MODELS],
    )
    with connect(dbname=db) as conn:
        res.add(
            fam,
            n,
            "seed recovery query per interaction (PL/pgSQL loop)",
            timed(lambda: conn.execute(SEED_LOOP)),
            "s",
        )
    for name, sql in BI_QUERIES.items():
        with connect(dbname=db) as conn:
            conn.execute(sql).fetchall()  # warm
            times = []
            for _ in range(30):
                t0 = time.perf_counter()
                conn.execute(sql).fetchall()
                times.append((time.perf_counter() - t0) * 1000)
        p50, p95 = percentiles(times)
        res.add(fam, n, f"BI {name} p50", p50, "ms")
        res.add(fam, n, f"BI {name} p95", p95, "ms")
    for name, sql in ROW_LEVEL_QUERIES.items():
        with connect(dbname=db) as conn:
            res.add(
                fam,
                n,
                f"row-level {name}",
                timed(lambda sql=sql: conn.execute(sql).fetchall()) * 1000,
                "ms",
            )
    # the whole-history build last but the incremental ones: the figures the
    # label marts and BI queries need come first
    dbt(
        res,
        fam,
        n,
        "complete build from scratch (dbt build --exclude test_type:unit --full-refresh)",
        [*COMPLETE, "--full-refresh"],
    )
    more = {}
    res.add(
        fam,
        n,
        "+1% events through the triggers",
        timed(lambda: more.update(one_percent_more(db, n))),
        "s",
        json.dumps(more),
    )
    print(f"  +1%: {more}")
    dbt(
        res,
        fam,
        n,
        "label models incremental after +1% (dbt run)",
        ["run", "--select", *LABEL_MODELS],
    )
    one_percent_more(db, n)
    dbt(res, fam, n, "nightly build incremental after +1% (dbt build --selector nightly)", NIGHTLY)
    if weekly:
        dbt(
            res,
            fam,
            n,
            "weekly build after it (dbt build --selector weekly: + history-wide tests)",
            WEEKLY,
        )
    if not keep:
        ensure_database(db, recreate=True)  # recreated empty: frees the disk


# ------------------------------------------------------------------ match runs


def load_talents(db: str, n: int) -> None:
    """The simulator's talents up to 100 000, then copies shifted in SQL."""
    base = min(n, 100_000)
    config = WorldConfig(seed=7)
    window = (datetime(2026, 1, 1, tzinfo=JST), datetime(2026, 6, 1, tzinfo=JST))
    with connect(dbname=db) as conn:
        for start in range(0, base, 25_000):
            rng = np.random.default_rng([7, start])
            rows = generate_talents(
                rng,
                min(25_000, base - start),
                first_id=start + 1,
                updated_between=window,
                config=config,
            )
            copy_rows(conn, "ses.talents", rows, TALENT_COLUMNS)
        if n > base:
            conn.execute(
                f"""
                insert into ses.talents (id, possessed_skills_keywords, residential_todofuken,
                    residential_area, nearest_station, desired_remote_onsite, min_experience_years,
                    primary_contract_type, desired_price_min, japanese_skill, english_skill, updated_at)
                select t.id + k.k * {base}, t.possessed_skills_keywords,
                       h.residential_todofuken, h.residential_area, h.nearest_station,
                       t.desired_remote_onsite, greatest(0, t.min_experience_years + k.k % 3 - 1),
                       t.primary_contract_type, greatest(200000, t.desired_price_min + (k.k % 5 - 2) * 20000),
                       t.japanese_skill, t.english_skill, t.updated_at
                from ses.talents as t
                cross join generate_series(1, {n // base - 1}) as k (k)
                inner join ses.talents as h on h.id = (t.id * 7 + k.k * 7919) % {base} + 1
                where t.id <= {base}
                """
            )
        conn.execute("vacuum analyze ses.talents")


def broad(project: dict) -> dict:
    """A project most talents pass: one common required skill, remote, well paid."""
    return {
        **project,
        "required_skills_keywords": ["SQL"],
        "preferred_skills_keywords": ["Java", "AWS"],
        "remote_onsite": "full_remote",
        "monthly_tanka_max": 1_200_000,
    }


def serving_env(on: bool) -> dict[str, str]:
    if not on:
        return {"TWO_TOWER_ENABLED": "false"}
    return {
        "TWO_TOWER_ENABLED": "true",
        "TWO_TOWER_MODE": "serving",
        "TWO_TOWER_ROLLOUT_PCT": "100",
        "TWO_TOWER_WEIGHT": "0.2",
    }


def bench_match(base_db: str, n: int, runs: int, res: Results, keep: bool) -> None:
    fam = "talents"
    db = f"{base_db}_scale_talents_{n}"
    print(f"\n== {n:,} talents (database {db}) ==", flush=True)
    ensure_database(db, recreate=True)
    run_dbt(COMPLETE, database=db)
    res.add(
        fam, n, "load talents (simulator + SQL copies)", timed(lambda: load_talents(db, n)), "s"
    )
    rng = np.random.default_rng(11)
    window = (datetime(2026, 6, 1, tzinfo=JST), datetime(2026, 6, 30, tzinfo=JST))
    with connect(dbname=db) as conn:
        copy_rows(
            conn,
            "ses.projects",
            generate_projects(rng, 500, first_id=1, updated_between=window),
            PROJECT_COLUMNS,
        )
        conn.execute("update ses.projects set closed_at = now() where id > 100")  # 100 open
    dbt = Dbt(db)
    dbt(
        res,
        fam,
        n,
        "talent embedding cache (dbt run -s talent_embeddings)",
        ["run", "--select", "talent_embeddings"],
        nodes=["talent_embeddings"],
    )
    dbt(
        res,
        fam,
        n,
        "ranked_candidates, 100 open projects (dbt run)",
        ["run", "--select", "ranked_candidates"],
        nodes=["ranked_candidates"],
    )
    next_id = 1000
    for serving in (False, True):
        mode = "serving w=0.2" if serving else "control"
        run_dbt(
            ["run", "--select", "two_tower_weight_schedule"], database=db, **serving_env(serving)
        )
        projects = generate_projects(rng, runs, first_id=next_id, updated_between=window)
        projects += [
            broad(p)
            for p in generate_projects(
                rng, runs // 3, first_id=next_id + runs, updated_between=window
            )
        ]
        next_id += len(projects) + 1
        with connect(dbname=db) as conn:
            warm = projects.pop(0)
            copy_rows(conn, "ses.projects", [warm], PROJECT_COLUMNS)
            first = timed(
                lambda w=warm: conn.execute("select ses.run_match(%s, 20)", (w["id"],)).fetchone()
            )
            res.add(fam, n, f"run_match first call in a fresh backend ({mode})", first * 1000, "ms")
            latencies, passed = [], []
            for p in projects:
                copy_rows(conn, "ses.projects", [p], PROJECT_COLUMNS)  # created a moment ago
                t0 = time.perf_counter()
                conn.execute("select ses.run_match(%s, 20)", (p["id"],)).fetchone()
                latencies.append((time.perf_counter() - t0) * 1000)
                passed.append(
                    conn.execute(
                        "select passed from ses.candidate_shortlist(%s, 1, 'hash', 256, 0, false)",
                        (p["id"],),
                    ).fetchone()[0]
                )
        share = np.asarray(passed) / n
        wide = [lat for lat, s in zip(latencies, share, strict=True) if s >= 0.25]
        p50, p95 = percentiles(latencies)
        res.add(fam, n, f"run_match p50 ({mode})", p50, "ms", f"{len(latencies)} new projects")
        res.add(fam, n, f"run_match p95 ({mode})", p95, "ms")
        if wide:
            _, bp95 = percentiles(wide)
            res.add(
                fam,
                n,
                f"run_match p95, broad projects ({mode})",
                bp95,
                "ms",
                f"{len(wide)} projects passing >= 25% of talents (max {share.max():.0%})",
            )
    if not keep:
        ensure_database(db, recreate=True)


# ------------------------------------------------------------------ report


def ratio_lines(res: Results, logs: list[int], talents: list[int]) -> list[str]:
    out = []
    if len(logs) >= 2:
        small, big = logs[0], logs[-1]
        for r in res.rows:
            if r["family"] == "logs" and r["size"] == small and r["unit"] in ("s", "ms"):
                other = res.get("logs", big, r["what"])
                if other:
                    out.append(
                        f"  {r['what']}: {small:,} -> {big:,} logs x{other / r['value']:.2f} "
                        f"(history x{big / small:.0f})"
                    )
    for n in logs:
        seed = res.get("logs", n, "seed recovery query per interaction (PL/pgSQL loop)")
        marts = res.get("logs", n, "label models from scratch (dbt run --full-refresh)")
        if seed and marts:
            out.append(
                f"  RATIO label models from scratch vs seed recovery query at {n:,} logs: "
                f"{seed / marts:.1f}x faster (target >= 10x)"
            )
    if len(talents) >= 2:
        small, big = talents[0], talents[-1]
        for r in res.rows:
            if r["family"] == "talents" and r["size"] == small and r["unit"] == "ms":
                other = res.get("talents", big, r["what"])
                if other:
                    out.append(
                        f"  {r['what']}: {small:,} -> {big:,} talents x{other / r['value']:.2f} "
                        f"(talents x{big / small:.0f})"
                    )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--logs", default="1000000,10000000", help="interaction log counts ('' to skip)"
    )
    parser.add_argument("--talents", default="100000,1000000", help="talent counts ('' to skip)")
    parser.add_argument("--runs", type=int, default=60, help="match runs per mode and size")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    parser.add_argument(
        "--no-weekly",
        action="store_true",
        help="skip the weekly build (its history-wide tests also run in the complete build)",
    )
    parser.add_argument(
        "--json", type=Path, default=PROJECT_DIR / "reports" / "bench" / "scale.json"
    )
    args = parser.parse_args(argv)
    logs = [int(x) for x in args.logs.split(",") if x.strip()]
    talents = [int(x) for x in args.talents.split(",") if x.strip()]
    res = Results()
    base_db = current_database()
    started = time.perf_counter()
    print(
        f"scale benchmark on {os.cpu_count()} CPUs, load average {load()} at the start", flush=True
    )
    for n in logs:
        bench_labels(base_db, n, res, args.keep, weekly=not args.no_weekly)
    for n in talents:
        bench_match(base_db, n, args.runs, res, args.keep)
    print("\nratios between sizes (same run):")
    for line in ratio_lines(res, logs, talents):
        print(line)
    print(f"\ntotal {time.perf_counter() - started:.0f}s, load average {load()} at the end")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"rows": res.rows, "ratios": ratio_lines(res, logs, talents)}, indent=1)
    )
    print(f"figures: {args.json}")


if __name__ == "__main__":
    main()
