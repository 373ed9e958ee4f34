"""Benchmark volumes: load a simulated market and its history into a fresh database.

    python -m simulator.load --talents 20000 --projects 5000 --interactions 1000000 --seed 7

Same world, chemistry and staff model as the closed loop (simulator.loop), at
volume and without the day-by-day nightly builds:

1. recreate the database (default: $PGDATABASE + "_load") and `dbt build` it
   while it is empty (migrations, seeds, functions, views);
2. COPY the talents and projects; fill the embedding caches (`dbt run` of the
   two incremental cache models);
3. match runs in rounds: every project once per round (rounds `--rerun-every`
   days apart), through ses.run_match on `--workers` connections, until the
   displayed pairs reach `--interactions` (checked after each chunk of runs, in
   plan order, so the runs made do not depend on timing);
4. the staff's reactions to every displayed pair, written while the next chunk
   of runs is matched, through the set-based write path (ses.record_feedback_batch,
   ses.revoke_feedback_batch, ses.record_interaction_events_batch,
   ses.record_conversions_batch): the same validation as the single-row
   functions, one statement per batch. Every event of a reaction is written
   (the history is complete: funnels have run to their end).

Deterministic for a seed: with --workers 1 the database is identical run to run;
with more workers the serial ids of the match-run rows depend on which worker
got there first, everything else (and every row by its natural key) is identical.
ses.two_tower_weight() must stay fixed during the load (it is, between builds).
"""

from __future__ import annotations

import argparse
import functools
import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import psycopg

from ses_ops.db import connect, current_database
from ses_ops.ensure_database import ensure_database
from simulator.chemistry import Chemistry, encode_projects, encode_talents
from simulator.loop import SQL_RUN_MATCH, STREAM_RUN, actor_for, copy_rows, ulid
from simulator.nightly import DbtBuild, nightly_build_args
from simulator.staff import DEFAULT_STAFF, StaffParams, sample_reaction
from simulator.world import (
    JST,
    PROJECT_COLUMNS,
    TALENT_COLUMNS,
    WorldConfig,
    generate_world,
    is_business_day,
)

STREAM_LOAD_PLAN = 6  # [seed, 6, round]: order and times of a round's runs

SQL_COUNT_DISPLAYED = "select count(*) from ses.interaction_logs where match_run_id = %s"
SQL_CHUNK_DISPLAYED = """
select il.match_run_id, il.id, il.talent_id, mr.rank, il.business_score
from ses.interaction_logs as il
inner join ses.match_results as mr on il.match_result_id = mr.id
where il.match_run_id = any(%s)
"""


@dataclass(frozen=True)
class LoadConfig:
    world: WorldConfig
    interactions: int
    top_k: int = 200
    rerun_every_days: int = 3
    workers: int = 2
    chunk_runs: int = 400
    n_actors: int = 8
    staff: StaffParams = DEFAULT_STAFF

    def __post_init__(self) -> None:
        for name in (
            "interactions",
            "top_k",
            "rerun_every_days",
            "workers",
            "chunk_runs",
            "n_actors",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.world.n_projects < 1 or self.world.n_talents < 1:
            raise ValueError(
                f"need talents and projects, got {self.world.n_talents} / {self.world.n_projects}"
            )


@dataclass(frozen=True)
class PlannedRun:
    project_id: int
    day: date
    at: datetime
    run_id: str


@dataclass
class LoadStats:
    seconds: dict[str, float] = field(default_factory=dict)
    runs: int = 0
    displayed: int = 0
    rounds: int = 0
    calls: Counter = field(default_factory=Counter)  # kind -> rows written
    behavior_status: Counter = field(default_factory=Counter)  # (is_retry, status) -> rows


def plan_rounds(cfg: LoadConfig) -> Iterator[PlannedRun]:
    """Every project once per round, in a seeded order, on the round's business days."""
    ids = np.arange(1, cfg.world.n_projects + 1)
    k = cfg.rerun_every_days
    r = 0
    while True:
        rng = np.random.default_rng([cfg.world.seed, STREAM_LOAD_PLAN, r])
        first = cfg.world.start_date + timedelta(days=r * k)
        window = [first + timedelta(days=i) for i in range(k)]
        days = [d for d in window if is_business_day(d)] or window
        order = rng.permutation(ids)
        day_idx = rng.integers(0, len(days), size=len(ids))
        clock = rng.uniform(0.0, 10 * 3600.0, size=len(ids))  # 09:00-19:00 JST
        for pid, di, s in zip(order.tolist(), day_idx.tolist(), clock.tolist(), strict=True):
            day = days[di]
            at = datetime(day.year, day.month, day.day, 9, tzinfo=JST) + timedelta(seconds=s)
            run_rng = np.random.default_rng([cfg.world.seed, STREAM_RUN, day.toordinal(), pid])
            yield PlannedRun(pid, day, at, ulid(at, run_rng))
        r += 1


def _chunks(plan: Iterator[PlannedRun], size: int) -> Iterator[list[PlannedRun]]:
    chunk: list[PlannedRun] = []
    for run in plan:
        chunk.append(run)
        if len(chunk) == size:
            yield chunk
            chunk = []


class Loader:
    def __init__(self, database: str, cfg: LoadConfig, *, log=None) -> None:
        self.database = database
        self.cfg = cfg
        self.log = log or functools.partial(print, flush=True)
        self.stats = LoadStats()
        self.world = generate_world(cfg.world)
        self.chemistry = Chemistry(cfg.world.seed)
        self._local = threading.local()

    # -- phases -----------------------------------------------------------

    def _timed(self, name: str, started: float) -> None:
        self.stats.seconds[name] = round(time.perf_counter() - started, 2)
        self.log(f"  {name}: {self.stats.seconds[name]:.1f}s")

    def run(self) -> LoadStats:
        t0 = time.perf_counter()
        t = time.perf_counter()
        ensure_database(self.database, recreate=True)
        dbt = DbtBuild(self.database)
        dbt.invoke(nightly_build_args(light=False))
        self._timed("fresh database + dbt build (empty)", t)

        with connect(dbname=self.database) as conn:
            t = time.perf_counter()
            with conn.transaction():
                copy_rows(conn, "ses.talents", TALENT_COLUMNS, self.world.talents)
                copy_rows(conn, "ses.projects", PROJECT_COLUMNS, self.world.projects)
            conn.execute("analyze ses.talents, ses.projects")
            self._timed(
                f"COPY {len(self.world.talents)} talents + {len(self.world.projects)} projects", t
            )
            t = time.perf_counter()
            dbt.invoke(["run", "--select", "talent_embeddings", "project_embeddings"])
            self._timed("embedding caches (dbt run of the two incremental models)", t)

            t = time.perf_counter()
            self._match_and_react(conn)
            self._timed(
                f"{self.stats.runs} match runs ({self.stats.displayed} displayed) "
                "+ reactions through the batch write path",
                t,
            )
            t = time.perf_counter()
            conn.execute(
                "analyze ses.match_runs, ses.match_results, ses.interaction_logs, "
                "ses.feedback_events, ses.interaction_events, ses.conversion_events"
            )
            self._timed("analyze", t)
        self.stats.seconds["total"] = round(time.perf_counter() - t0, 2)
        return self.stats

    # -- match runs (worker threads, one connection each) -----------------

    def _worker_conn(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(dbname=self.database)
            self._conns.append(conn)
        return conn

    def _run_slice(self, runs: Sequence[PlannedRun]) -> list[int]:
        conn = self._worker_conn()
        counts = []
        with conn.cursor() as cur:
            for run in runs:
                returned = cur.execute(
                    SQL_RUN_MATCH,
                    (run.project_id, self.cfg.top_k, run.run_id, run.at),
                    prepare=True,
                ).fetchone()[0]
                if returned != run.run_id:
                    raise RuntimeError(
                        f"ses.run_match returned {returned!r}, expected {run.run_id!r}"
                    )
                counts.append(
                    cur.execute(SQL_COUNT_DISPLAYED, (run.run_id,), prepare=True).fetchone()[0]
                )
        return counts

    def _submit(self, pool: ThreadPoolExecutor, chunk: list[PlannedRun]):
        w = self.cfg.workers
        return [pool.submit(self._run_slice, chunk[i::w]) for i in range(w)]

    def _collect(self, futures, chunk: list[PlannedRun]) -> int:
        w = self.cfg.workers
        counts = [0] * len(chunk)
        for i, fut in enumerate(futures):
            for j, n in enumerate(fut.result()):
                counts[i + j * w] = n
        return sum(counts)

    def _match_and_react(self, conn: psycopg.Connection) -> None:
        cfg = self.cfg
        self._conns: list[psycopg.Connection] = []
        self._tf = encode_talents(self.world.talents)
        self._pf = encode_projects(self.world.projects)
        per_round = cfg.world.n_projects
        chunks = _chunks(plan_rounds(cfg), cfg.chunk_runs)
        try:
            with ThreadPoolExecutor(max_workers=cfg.workers) as pool:
                chunk = next(chunks)
                futures = self._submit(pool, chunk)
                while chunk:
                    displayed = self._collect(futures, chunk)
                    self.stats.runs += len(chunk)
                    self.stats.displayed += displayed
                    self.stats.rounds = -(-self.stats.runs // per_round)
                    if self.stats.displayed == 0 and self.stats.runs >= per_round:
                        raise RuntimeError(
                            f"a whole round of {per_round} match runs displayed no candidate: "
                            "every talent is knocked out for every project"
                        )
                    done = self.stats.displayed >= cfg.interactions
                    next_chunk = None if done else next(chunks)
                    if next_chunk:
                        futures = self._submit(pool, next_chunk)
                    # The reactions of this chunk are written while the next one is matched.
                    self._react(conn, chunk)
                    if self.stats.runs % (cfg.chunk_runs * 10) == 0 or done:
                        self.log(
                            f"    {self.stats.runs} runs, {self.stats.displayed} displayed, "
                            f"{sum(self.stats.calls.values())} events"
                        )
                    chunk = next_chunk
        finally:
            for c in self._conns:
                c.close()

    # -- reactions --------------------------------------------------------

    def _react(self, conn: psycopg.Connection, chunk: list[PlannedRun]) -> None:
        cfg = self.cfg
        rows = conn.execute(SQL_CHUNK_DISPLAYED, ([r.run_id for r in chunk],)).fetchall()
        by_run: dict[str, list[tuple]] = defaultdict(list)
        for run_id, iid, tid, rank, business in rows:
            by_run[run_id].append((rank, iid, tid, business))
        t_idx, p_idx, order = [], [], []
        for run in chunk:
            shown = sorted(by_run.get(run.run_id, []))
            by_run[run.run_id] = shown
            for _rank, _iid, tid, _b in shown:
                t_idx.append(tid - 1)  # world ids are 1..n, in list order
                p_idx.append(run.project_id - 1)
            order.append(run)
        chem = self.chemistry.score_pairs(self._tf, self._pf, t_idx, p_idx)

        feedback, revokes, behavior, conversions = [], [], [], []
        pos = 0
        for run in order:
            rng = np.random.default_rng(
                [cfg.world.seed, STREAM_RUN, run.day.toordinal(), run.project_id]
            )
            ulid(run.at, rng)  # the run id's draw comes first, as in the loop
            actor = actor_for(run.project_id, cfg.n_actors)
            for rank, iid, tid, business in by_run[run.run_id]:
                reaction = sample_reaction(
                    rank, float(chem[pos]), business, rng, actor=actor, params=cfg.staff
                )
                pos += 1
                for ev in reaction.events:
                    at = (run.at + timedelta(seconds=ev.offset_s)).isoformat()
                    meta = ev.meta or None
                    if ev.kind == "feedback":
                        feedback.append(
                            (at, (iid, ev.feedback_no), {
                                "interaction_id": iid, "feedback_type": ev.type, "actor": ev.actor,
                                "source": ev.source, "meta": meta, "created_at": at,
                            })
                        )  # fmt: skip
                    elif ev.kind == "revoke":
                        revokes.append((at, (iid, ev.feedback_no), ev.actor))
                    elif ev.kind == "behavior":
                        behavior.append(
                            (at, ev.is_retry, {
                                "interaction_id": iid, "event_type": ev.type, "actor": ev.actor,
                                "idempotency_key": ev.idempotency_key, "meta": meta,
                                "source": ev.source, "created_at": at,
                            })
                        )  # fmt: skip
                    else:
                        conversions.append(
                            (at, {
                                "talent_id": tid, "project_id": run.project_id, "stage": ev.type,
                                "actor": ev.actor, "interaction_id": iid if ev.linked else None,
                                "source": ev.source, "meta": meta, "created_at": at,
                            })
                        )  # fmt: skip

        # Time order inside each batch (stable sort: ties keep plan order).
        for rows_ in (feedback, revokes, behavior, conversions):
            rows_.sort(key=lambda r: r[0])
        ids = (
            self._call(conn, "ses.record_feedback_batch", [r[2] for r in feedback])
            if feedback
            else []
        )
        feedback_id = {r[1]: fid for r, fid in zip(feedback, ids, strict=True)}
        if revokes:
            self._call(
                conn,
                "ses.revoke_feedback_batch",
                [
                    {"feedback_id": feedback_id[key], "revoked_by": actor, "revoked_at": at}
                    for at, key, actor in revokes
                ],
            )
        if behavior:
            statuses = self._call(
                conn, "ses.record_interaction_events_batch", [r[2] for r in behavior]
            )
            for (_at, is_retry, _row), status in zip(behavior, statuses, strict=True):
                self.stats.behavior_status[(is_retry, status["status"])] += 1
        if conversions:
            self._call(conn, "ses.record_conversions_batch", [r[1] for r in conversions])
        self.stats.calls.update(
            feedback=len(feedback),
            revoke=len(revokes),
            behavior=len(behavior),
            conversion=len(conversions),
        )

    @staticmethod
    def _call(conn: psycopg.Connection, function: str, rows: list[dict[str, Any]]) -> Any:
        payload = json.dumps(rows, ensure_ascii=False)
        return conn.execute(f"select {function}(%s::jsonb)", (payload,)).fetchone()[0]


def report(conn: psycopg.Connection) -> list[tuple[str, Any]]:
    tables = [
        "talents", "projects", "match_runs", "interaction_logs", "feedback_events",
        "interaction_events", "conversion_events",
    ]  # fmt: skip
    out = [(t, conn.execute(f"select count(*) from ses.{t}").fetchone()[0]) for t in tables]
    out.append(
        (
            "revoked feedback",
            conn.execute("select count(*) from ses.feedback_events where is_revoked").fetchone()[0],
        )
    )
    out.append(
        (
            "conversions without interaction",
            conn.execute(
                "select count(*) from ses.conversion_events where interaction_id is null"
            ).fetchone()[0],
        )
    )
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--talents", type=int, default=20_000)
    p.add_argument("--projects", type=int, default=5_000)
    p.add_argument("--interactions", type=int, default=1_000_000, help="displayed pairs to reach")
    p.add_argument("--seed", type=int, default=20250401)
    p.add_argument("--start", type=date.fromisoformat, default=date(2025, 4, 1))
    p.add_argument(
        "--top-k",
        type=int,
        default=200,
        help="candidates displayed per run (a run costs the same for any k: deeper lists reach the volume with fewer runs)",
    )
    p.add_argument("--rerun-every", type=int, default=3, help="days between a project's runs")
    p.add_argument("--workers", type=int, default=2, help="connections running ses.run_match")
    p.add_argument("--chunk-runs", type=int, default=400, help="runs per chunk (stop check)")
    p.add_argument(
        "--database", default=None, help="target database, recreated (default: $PGDATABASE_load)"
    )
    args = p.parse_args(argv)
    database = args.database or f"{current_database()}_load"
    try:
        cfg = LoadConfig(
            world=WorldConfig(
                seed=args.seed,
                n_talents=args.talents,
                n_projects=args.projects,
                start_date=args.start,
            ),
            interactions=args.interactions,
            top_k=args.top_k,
            rerun_every_days=args.rerun_every,
            workers=args.workers,
            chunk_runs=args.chunk_runs,
        )
    except ValueError as exc:
        p.error(str(exc))
    print(
        f"loading into {database} (recreated): {args.talents} talents, {args.projects} projects, "
        f">= {args.interactions} displayed pairs (top {args.top_k}), seed {args.seed}"
    )
    stats = Loader(database, cfg).run()
    with connect(dbname=database) as conn:
        for name, n in report(conn):
            print(f"  {name:<34} {n:>10}")
        labels = conn.execute(
            "select labeled_count, accepted_count, rejected_count from ses.training_stats"
        ).fetchone()
        print(f"  training_stats labeled / accepted / rejected: {labels}")
    bad = {k: v for k, v in stats.behavior_status.items() if (k[0]) != (k[1] == "already_exists")}
    if bad:
        raise SystemExit(f"unexpected idempotency answers (is_retry, status): {bad}")
    print(f"total {stats.seconds['total']:.0f}s")


if __name__ == "__main__":
    main()
