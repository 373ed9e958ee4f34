"""The closed loop: the simulated market drives the real system, day by day.

One simulated day (JST):

1. morning hooks run;
2. the day's timeline runs in time order:
   - new talents and projects are registered when their posting time comes
     (COPY into ses.talents / ses.projects; master data, not events);
   - each new project is matched at once with ``ses.run_match`` (the app's
     match-run function: ranks every talent, never a knocked-out one, logs the
     displayed top k to ses.interaction_logs, returns the match_run_id); open
     projects are matched again every ``rerun_every_days`` (business mornings);
   - the simulated sales staff react to every displayed candidate
     (``simulator.staff.sample_reaction`` on the pair's hidden chemistry); each
     reaction's events are written on their own simulated day, with their
     simulated time, through the write-path functions only — one transaction
     per (match run, day);
3. nightly hooks run (the nightly ``dbt build``, label snapshots; the weekly
   retrain, training.retrain.RetrainHook, is one more hook).

Every random draw comes from a generator seeded by (seed, stream, day[, project]),
so a seed gives the same database content whatever the timing. The loop keeps a
ledger of every call and of the ids the functions returned, so tests can prove
that every row of the event tables came from a write-path call.
"""

from __future__ import annotations

import heapq
import io
import itertools
import time as time_module
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from simulator.chemistry import Chemistry, ChemistryParams
from simulator.copyfmt import copy_statement, write_copy
from simulator.staff import DEFAULT_STAFF, SimEvent, StaffParams, sample_reaction
from simulator.world import (
    JST,
    PROJECT_COLUMNS,
    TALENT_COLUMNS,
    WorldConfig,
    arrivals_for_day,
    edit_project,
    edit_talent,
    generate_world,
    is_business_day,
)

# Random streams of the loop (the world uses 1-3 and 101, see docs/simulator.md).
STREAM_RUN = 4  # [seed, 4, day, project_id]: the run's ULID bits, then its reactions
STREAM_SCHEDULE = 5  # [seed, 5, day]: the times of the day's scheduled (re-)runs
STREAM_EDITS = 7  # [seed, 7, day]: the day's profile edits (who, when, what)

TALENT_PROFILE = [c for c in TALENT_COLUMNS if c not in ("id", "updated_at")]
PROJECT_PROFILE = [c for c in PROJECT_COLUMNS if c not in ("id", "updated_at")]

SQL_RUN_MATCH = "select ses.run_match(%s::bigint, %s::integer, %s::text, %s::timestamptz)"
SQL_DISPLAYED = """
select il.id, il.talent_id, mr.rank, il.business_score, il.two_tower_score, il.variant
from ses.interaction_logs as il
inner join ses.match_results as mr on il.match_result_id = mr.id
where il.match_run_id = %s
order by mr.rank
"""
SQL_FEEDBACK = "select ses.record_feedback(%s::bigint, %s::text, %s::text, %s::text, %s::jsonb, %s::timestamptz)"
SQL_REVOKE = "select ses.revoke_feedback(%s::bigint, %s::text, %s::timestamptz)"
SQL_BEHAVIOR = (
    "select ses.record_interaction_event(%s::bigint, %s::text, %s::text, %s::text, %s::jsonb,"
    " %s::text, %s::timestamptz)"
)
SQL_CONVERSION = (
    "select ses.record_conversion(%s::bigint, %s::bigint, %s::text, %s::text, %s::bigint,"
    " %s::text, %s::jsonb, %s::timestamptz)"
)
# The only statements the loop writes with (tests check the loop's own log of them).
WRITE_PATH_STATEMENTS = (SQL_RUN_MATCH, SQL_FEEDBACK, SQL_REVOKE, SQL_BEHAVIOR, SQL_CONVERSION)

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ulid(at: datetime, rng: np.random.Generator) -> str:
    """A ULID like ses.new_ulid(at) (48-bit ms timestamp + 80 bits), the bits from `rng`."""
    ms = (at - _EPOCH) // timedelta(milliseconds=1)
    value = (ms << 80) | int.from_bytes(rng.bytes(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


def actor_for(project_id: int, n_actors: int) -> str:
    """The sales person handling a project (fixed per project)."""
    return f"sales-{(project_id * 7919) % n_actors + 1:02d}"


def copy_rows(
    conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> int:
    """COPY rows (R-01 dicts) into `table`; returns the row count."""
    buf = io.StringIO()
    n = write_copy(rows, columns, buf)
    if n:
        with conn.cursor() as cur, cur.copy(copy_statement(table, columns)) as copy:
            copy.write(buf.getvalue())
    return n


@dataclass(frozen=True)
class LoopConfig:
    """Knobs of the loop; the market itself is `world` (seed, sizes, arrival rates)."""

    world: WorldConfig = field(default_factory=lambda: WorldConfig(n_talents=1000, n_projects=150))
    days: int = 28
    top_k: int = 20  # candidates displayed per match run
    project_open_days: int = 21  # a project takes candidates this long after posting
    rerun_every_days: int = 7  # re-match open projects this often (0: only on arrival)
    n_actors: int = 8  # sales staff; each project is handled by one of them
    staff: StaffParams = DEFAULT_STAFF
    chemistry: ChemistryParams | None = None  # None: the default calibration
    # Profile edits per business day (Poisson means): talents learning a skill or
    # raising their price, open projects raising the price ceiling or adding a
    # preferred skill, so pairs shown earlier had other features than now.
    talent_edits_per_day: float = 4.0
    project_edits_per_day: float = 2.0
    # "single": every event through its single-row write-path function, in time order
    # (what the app does). "batch": a day's events through the set-based batch
    # functions at the end of the day (same validation, same final state; several
    # times faster, for generating training data).
    write_mode: str = "single"

    def __post_init__(self) -> None:
        for name in ("days", "top_k", "project_open_days", "n_actors"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.rerun_every_days < 0:
            raise ValueError(f"rerun_every_days must be >= 0, got {self.rerun_every_days}")
        for name in ("talent_edits_per_day", "project_edits_per_day"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.write_mode not in ("single", "batch"):
            raise ValueError(f"write_mode must be 'single' or 'batch', got {self.write_mode!r}")

    @property
    def seed(self) -> int:
        return self.world.seed


@dataclass
class Displayed:
    """One candidate displayed by a match run (one ses.interaction_logs row)."""

    interaction_id: int
    talent_id: int
    rank: int
    business_score: float
    two_tower_score: float | None
    variant: str | None
    chemistry: float


@dataclass
class RunRecord:
    match_run_id: str
    project_id: int
    day: date
    at: datetime
    actor: str
    variant: str | None
    displayed: int
    chemistry_top10: float | None  # mean hidden chemistry of the displayed top 10


@dataclass
class _Group:
    """The events of one match run's reactions that fall on one day (one transaction)."""

    at: datetime
    project_id: int
    events: list[tuple[datetime, Displayed, SimEvent]]


@dataclass
class Ledger:
    """What the loop did: every write-path call and the ids the functions returned."""

    runs: list[RunRecord] = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)  # (kind, type) -> calls
    behavior_status: Counter = field(default_factory=Counter)  # (is_retry, status) -> calls
    feedback_ids: list[int] = field(default_factory=list)
    behavior_ids: list[int] = field(default_factory=list)
    conversion_ids: list[int] = field(default_factory=list)
    revoked_ids: list[int] = field(default_factory=list)
    statements: Counter = field(default_factory=Counter)  # SQL text -> executions
    # Feedback and revoke events written per interaction (oracle for the stored outcome).
    written_feedback: dict[int, list[SimEvent]] = field(default_factory=lambda: defaultdict(list))
    talents_added: int = 0
    projects_added: int = 0
    profile_edits: Counter = field(default_factory=Counter)  # side -> edits
    # Hidden chemistry of every displayed pair at display time (interaction id -> z):
    # ground truth for offline evaluation, never written to the database.
    chemistry: dict[int, float] = field(default_factory=dict)

    @property
    def displayed(self) -> int:
        return sum(r.displayed for r in self.runs)


@dataclass
class DaySummary:
    day: date
    index: int
    runs: int = 0
    displayed: int = 0
    events: Counter = field(default_factory=Counter)  # kind -> write-path calls
    talents_added: int = 0
    projects_added: int = 0
    notes: dict[str, Any] = field(default_factory=dict)  # hooks add timings etc.
    # wall seconds of the day's phases: match runs, event writes, each nightly hook
    seconds: Counter = field(default_factory=Counter)


@dataclass
class DayContext:
    """What a hook gets: the loop (connection, config, ledger) and the day."""

    loop: ClosedLoop
    index: int
    day: date
    summary: DaySummary


Hook = Callable[[DayContext], None]


@dataclass
class _OpenProject:
    posted: date
    last_run: date | None


class ClosedLoop:
    """Runs the simulated market against the database behind `conn`.

    `conn` must be an autocommit connection to a database built by `dbt build`
    whose ses.talents / ses.projects and event tables are empty. Add hooks to
    `morning_hooks` / `nightly_hooks` (callables taking a DayContext).
    """

    def __init__(
        self,
        conn: psycopg.Connection,
        config: LoopConfig,
        *,
        morning_hooks: Sequence[Hook] = (),
        nightly_hooks: Sequence[Hook] = (),
    ) -> None:
        if not conn.autocommit:
            raise ValueError(
                "ClosedLoop needs an autocommit connection (it opens its own transactions)"
            )
        self.conn = conn
        self.config = config
        self.morning_hooks: list[Hook] = list(morning_hooks)
        self.nightly_hooks: list[Hook] = list(nightly_hooks)
        self.ledger = Ledger()
        self.days: list[DaySummary] = []
        self.chemistry = Chemistry(config.seed, config.chemistry)
        self.world = generate_world(config.world)
        self.talents: dict[int, dict[str, Any]] = {t["id"]: t for t in self.world.talents}
        self.projects: dict[int, dict[str, Any]] = {p["id"]: p for p in self.world.projects}
        self._next_talent_id = self.world.next_talent_id
        self._next_project_id = self.world.next_project_id
        self._open: dict[int, _OpenProject] = {}
        self._pending: dict[date, list[_Group]] = defaultdict(list)
        self._feedback_ids: dict[tuple[int, int], int] = {}
        self._seq = itertools.count()
        self._loaded = False

    # -- setup ------------------------------------------------------------

    def load_world(self) -> None:
        """COPY the initial talents and projects; open the projects posted recently."""
        if self._loaded:
            raise RuntimeError("the initial world is already loaded")
        existing = self.conn.execute(
            "select (select count(*) from ses.talents) + (select count(*) from ses.projects)"
        ).fetchone()[0]
        if existing:
            raise RuntimeError(
                f"ses.talents / ses.projects already hold {existing} rows; the loop needs empty tables"
            )
        with self.conn.transaction():
            self.ledger.talents_added += copy_rows(
                self.conn, "ses.talents", TALENT_COLUMNS, self.world.talents
            )
            self.ledger.projects_added += copy_rows(
                self.conn, "ses.projects", PROJECT_COLUMNS, self.world.projects
            )
        start = self.config.world.start_date
        closed = []
        for p in self.world.projects:
            posted = p["updated_at"].astimezone(JST).date()
            if (start - posted).days < self.config.project_open_days:
                self._open[p["id"]] = _OpenProject(posted, None)
            else:
                closed.append(p["id"])
        self._mark_closed(closed, start - timedelta(days=1))
        self._loaded = True

    def actor_for(self, project_id: int) -> str:
        return actor_for(project_id, self.config.n_actors)

    # -- the loop ---------------------------------------------------------

    def run(self, days: int | None = None) -> Ledger:
        """Load the world (first call) and simulate `days` more days (default config.days)."""
        if not self._loaded:
            self.load_world()
        for _ in range(self.config.days if days is None else days):
            self.run_day()
        return self.ledger

    @property
    def current_day(self) -> date:
        return self.config.world.start_date + timedelta(days=len(self.days))

    def run_day(self) -> DaySummary:
        if not self._loaded:
            self.load_world()
        index = len(self.days)
        day = self.current_day
        summary = DaySummary(day, index)
        ctx = DayContext(self, index, day, summary)
        for hook in self.morning_hooks:
            hook(ctx)

        arrivals = arrivals_for_day(
            self.config.world,
            day,
            first_project_id=self._next_project_id,
            first_talent_id=self._next_talent_id,
        )
        self._next_project_id += len(arrivals.projects)
        self._next_talent_id += len(arrivals.talents)

        # Timeline entries: (time, order, seq, kind, payload); at equal times
        # master data goes first, then runs, then event groups.
        timeline: list[tuple[datetime, int, int, str, Any]] = []

        def push(at: datetime, order: int, kind: str, payload: Any) -> None:
            heapq.heappush(timeline, (at, order, next(self._seq), kind, payload))

        for t in arrivals.talents:
            push(t["updated_at"], 0, "talent", t)
        for p in arrivals.projects:
            push(p["updated_at"], 0, "project", p)
            push(p["updated_at"], 1, "run", p["id"])
        for project_id, at in self._scheduled_runs(day):
            push(at, 1, "run", project_id)
        for group in self._pending.pop(day, []):
            push(group.at, 2, "group", group)
        for at, side, entity_id in self._scheduled_edits(day, arrivals.talents):
            push(at, 0, side, entity_id)

        new_talents: list[dict[str, Any]] = []
        new_projects: list[dict[str, Any]] = []
        rng_edits = np.random.default_rng([self.config.seed, STREAM_EDITS, day.toordinal(), 1])
        day_groups: list[_Group] = []

        def flush_master_data() -> None:
            if not (new_talents or new_projects):
                return
            with self.conn.transaction():
                summary.talents_added += copy_rows(
                    self.conn, "ses.talents", TALENT_COLUMNS, new_talents
                )
                summary.projects_added += copy_rows(
                    self.conn, "ses.projects", PROJECT_COLUMNS, new_projects
                )
            new_talents.clear()
            new_projects.clear()

        while timeline:
            at, _order, _seq, kind, payload = heapq.heappop(timeline)
            if kind == "talent":
                self.talents[payload["id"]] = payload
                new_talents.append(payload)
            elif kind == "project":
                self.projects[payload["id"]] = payload
                self._open[payload["id"]] = _OpenProject(day, None)
                new_projects.append(payload)
            elif kind in ("edit_talent", "edit_project"):
                flush_master_data()
                self._edit(kind, payload, at, rng_edits)
            elif kind == "run":
                flush_master_data()
                started = time_module.perf_counter()
                groups = self._match(payload, day, at, summary)
                summary.seconds["match runs"] += time_module.perf_counter() - started
                for group in groups:
                    if group.at.astimezone(JST).date() == day:
                        push(group.at, 2, "group", group)
                    else:
                        self._pending[group.at.astimezone(JST).date()].append(group)
            elif self.config.write_mode == "batch":
                day_groups.append(payload)
            else:
                flush_master_data()
                started = time_module.perf_counter()
                self._write_group(payload, summary)
                summary.seconds["event writes"] += time_module.perf_counter() - started
        flush_master_data()
        if day_groups:
            self._write_batched(day_groups, summary)
        self.ledger.talents_added += summary.talents_added
        self.ledger.projects_added += summary.projects_added
        self._close_projects(day)

        self.days.append(summary)
        for hook in self.nightly_hooks:
            started = time_module.perf_counter()
            hook(ctx)
            summary.seconds[f"nightly: {type(hook).__name__}"] += (
                time_module.perf_counter() - started
            )
        return summary

    def drain(self) -> int:
        """Write every reaction event scheduled after the last simulated day (the funnels
        run to their end; no new runs, arrivals or edits); returns the events written."""
        written = 0
        summary = DaySummary(self.current_day, len(self.days))
        for day in sorted(self._pending):
            groups = sorted(self._pending.pop(day), key=lambda g: g.at)
            if self.config.write_mode == "batch":
                self._write_batched(groups, summary)
            else:
                for group in groups:
                    self._write_group(group, summary)
            written += sum(len(g.events) for g in groups)
        return written

    def pending_events(self) -> int:
        """Events scheduled after the last simulated day (not written yet)."""
        return sum(len(g.events) for groups in self._pending.values() for g in groups)

    # -- match runs -------------------------------------------------------

    def _scheduled_runs(self, day: date) -> list[tuple[int, datetime]]:
        """Open projects due for a (re-)run this business morning, with their run times."""
        if not is_business_day(day):
            return []
        every = self.config.rerun_every_days
        due = [
            pid
            for pid, op in sorted(self._open.items())
            if op.posted < day
            and (op.last_run is None or (every and (day - op.last_run).days >= every))
        ]
        rng = np.random.default_rng([self.config.seed, STREAM_SCHEDULE, day.toordinal()])
        morning = datetime.combine(day, time(9, 0), tzinfo=JST)
        offsets = rng.uniform(0.0, 3 * 3600.0, size=len(due))
        return [
            (pid, morning + timedelta(seconds=float(s)))
            for pid, s in zip(due, offsets, strict=True)
        ]

    def _scheduled_edits(
        self, day: date, arriving: list[dict[str, Any]]
    ) -> list[tuple[datetime, str, int]]:
        """The business day's profile edits: (time, kind, entity id) of registered talents
        and open projects (not the ones arriving today)."""
        cfg = self.config
        if not is_business_day(day) or not (cfg.talent_edits_per_day or cfg.project_edits_per_day):
            return []
        rng = np.random.default_rng([cfg.seed, STREAM_EDITS, day.toordinal()])
        arriving_ids = {t["id"] for t in arriving}
        talents = sorted(t for t in self.talents if t not in arriving_ids)
        projects = sorted(p for p, op in self._open.items() if op.posted < day)
        out = []
        for kind, pool, mean in (
            ("edit_talent", talents, cfg.talent_edits_per_day),
            ("edit_project", projects, cfg.project_edits_per_day),
        ):
            n = min(len(pool), int(rng.poisson(mean))) if pool else 0
            for entity_id in rng.choice(pool, size=n, replace=False) if n else []:
                at = datetime.combine(day, time(9, 0), tzinfo=JST) + timedelta(
                    seconds=float(rng.uniform(0.0, 9 * 3600.0))
                )
                out.append((at, kind, int(entity_id)))
        return out

    def _edit(self, kind: str, entity_id: int, at: datetime, rng: np.random.Generator) -> None:
        """Apply one profile edit to the database and to the loop's view of the world."""
        if kind == "edit_talent":
            row = edit_talent(self.talents[entity_id], rng, at)
            self.talents[entity_id] = row
            table, columns, side = "ses.talents", TALENT_PROFILE, "talent"
        else:
            row = edit_project(self.projects[entity_id], rng, at)
            self.projects[entity_id] = row
            table, columns, side = "ses.projects", PROJECT_PROFILE, "project"
        sets = ", ".join(f"{c} = %s" for c in columns)
        self.conn.execute(
            f"update {table} set {sets}, updated_at = %s where id = %s",
            [*(row[c] for c in columns), at, entity_id],
        )
        self.ledger.profile_edits[side] += 1

    def _close_projects(self, day: date) -> None:
        limit = self.config.project_open_days
        closing = [p for p, op in self._open.items() if (day - op.posted).days + 1 >= limit]
        for pid in closing:
            del self._open[pid]
        self._mark_closed(closing, day)

    def _mark_closed(self, project_ids: list[int], day: date) -> None:
        """The projects stop taking candidates at the end of `day` (projects.closed_at,
        master data like the projects themselves)."""
        if project_ids:
            self.conn.execute(
                "update ses.projects set closed_at = %s where id = any(%s)",
                (datetime.combine(day, time(23, 59), tzinfo=JST), sorted(project_ids)),
            )

    def _execute(self, cur: psycopg.Cursor, sql: str, params: Sequence[Any]) -> Any:
        self.ledger.statements[sql] += 1
        return cur.execute(sql, params, prepare=True).fetchone()[0]

    def _match(self, project_id: int, day: date, at: datetime, summary: DaySummary) -> list[_Group]:
        """Run ses.run_match for one project; sample the staff's reactions; return
        the reactions' events grouped by day."""
        rng = np.random.default_rng([self.config.seed, STREAM_RUN, day.toordinal(), project_id])
        run_id = ulid(at, rng)
        actor = self.actor_for(project_id)
        with self.conn.cursor() as cur:
            returned = self._execute(
                cur, SQL_RUN_MATCH, (project_id, self.config.top_k, run_id, at)
            )
            if returned != run_id:
                raise RuntimeError(f"ses.run_match returned {returned!r}, expected {run_id!r}")
            rows = cur.execute(SQL_DISPLAYED, (run_id,), prepare=True).fetchall()
        self._open[project_id].last_run = day

        project = self.projects[project_id]
        talents = [self.talents[r[1]] for r in rows]
        chem = (
            self.chemistry.score_pairs(talents, [project] * len(talents))
            if talents
            else np.zeros(0)
        )
        shown = [
            Displayed(iid, tid, rank, bs, tt, variant, float(c))
            for (iid, tid, rank, bs, tt, variant), c in zip(rows, chem, strict=True)
        ]
        self.ledger.chemistry.update((d.interaction_id, d.chemistry) for d in shown)
        self.ledger.runs.append(
            RunRecord(
                run_id,
                project_id,
                day,
                at,
                actor,
                shown[0].variant if shown else None,
                len(shown),
                float(np.mean(chem[:10])) if len(chem) else None,
            )
        )
        summary.runs += 1
        summary.displayed += len(shown)

        by_day: dict[date, list[tuple[datetime, Displayed, SimEvent]]] = defaultdict(list)
        for d in shown:
            reaction = sample_reaction(
                d.rank, d.chemistry, d.business_score, rng, actor=actor, params=self.config.staff
            )
            for ev in reaction.events:
                ev_at = at + timedelta(seconds=ev.offset_s)
                by_day[ev_at.astimezone(JST).date()].append((ev_at, d, ev))
        groups = []
        for events in by_day.values():
            events.sort(key=lambda e: (e[0], e[1].rank))
            groups.append(_Group(events[0][0], project_id, events))
        return groups

    # -- events -----------------------------------------------------------

    def _write_group(self, group: _Group, summary: DaySummary) -> None:
        """Write one run's events of one day in one transaction, in time order."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            for at, shown, ev in group.events:
                self._write_event(cur, group.project_id, shown, ev, at)
                summary.events[ev.kind] += 1

    def _write_batched(self, groups: list[_Group], summary: DaySummary) -> None:
        """A day's events through the batch write-path functions, in one transaction:
        feedback first (revocations need their ids), then revocations, behaviour events
        and conversion stages, each batch in time order."""
        events = sorted(
            (
                (at, shown.rank, g.project_id, shown, ev)
                for g in groups
                for at, shown, ev in g.events
            ),
            key=lambda e: (e[0], e[1]),
        )
        led = self.ledger
        rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for at, _rank, project_id, shown, ev in events:
            iid, meta, stamp = shown.interaction_id, ev.meta or None, at.isoformat()
            led.calls[(ev.kind, ev.type)] += 1
            summary.events[ev.kind] += 1
            if ev.kind == "feedback":
                rows["feedback"].append((iid, ev, {
                    "interaction_id": iid, "feedback_type": ev.type, "actor": ev.actor,
                    "source": ev.source, "meta": meta, "created_at": stamp}))  # fmt: skip
                led.written_feedback[iid].append(ev)
            elif ev.kind == "revoke":
                rows["revoke"].append((iid, ev, stamp))
                led.written_feedback[iid].append(ev)
            elif ev.kind == "behavior":
                rows["behavior"].append((ev, {
                    "interaction_id": iid, "event_type": ev.type, "actor": ev.actor,
                    "idempotency_key": ev.idempotency_key, "meta": meta, "source": ev.source,
                    "created_at": stamp}))  # fmt: skip
            elif ev.kind == "conversion":
                rows["conversion"].append({
                    "talent_id": shown.talent_id, "project_id": project_id, "stage": ev.type,
                    "actor": ev.actor, "interaction_id": iid if ev.linked else None,
                    "source": ev.source, "meta": meta, "created_at": stamp})  # fmt: skip
            else:
                raise ValueError(f"unknown simulated event kind {ev.kind!r}")
        with self.conn.transaction():
            if rows["feedback"]:
                ids = self._batch("ses.record_feedback_batch", [r[2] for r in rows["feedback"]])
                for (iid, ev, _), fid in zip(rows["feedback"], ids, strict=True):
                    self._feedback_ids[(iid, ev.feedback_no)] = fid
                    led.feedback_ids.append(fid)
            if rows["revoke"]:
                revoked = [
                    {"feedback_id": self._feedback_ids[(iid, ev.feedback_no)],
                     "revoked_by": ev.actor, "revoked_at": stamp}
                    for iid, ev, stamp in rows["revoke"]
                ]  # fmt: skip
                self._batch("ses.revoke_feedback_batch", revoked)
                led.revoked_ids.extend(r["feedback_id"] for r in revoked)
            if rows["behavior"]:
                results = self._batch(
                    "ses.record_interaction_events_batch", [r[1] for r in rows["behavior"]]
                )
                for (ev, _), result in zip(rows["behavior"], results, strict=True):
                    led.behavior_status[(ev.is_retry, result["status"])] += 1
                    if result["status"] == "created":
                        led.behavior_ids.append(result["id"])
            if rows["conversion"]:
                led.conversion_ids.extend(
                    self._batch("ses.record_conversions_batch", rows["conversion"])
                )

    def _batch(self, function: str, rows: list[dict[str, Any]]) -> Any:
        sql = f"select {function}(%s::jsonb)"
        self.ledger.statements[sql] += 1
        return self.conn.execute(sql, (Jsonb(rows),)).fetchone()[0]

    def _write_event(
        self, cur: psycopg.Cursor, project_id: int, shown: Displayed, ev: SimEvent, at: datetime
    ) -> None:
        led = self.ledger
        iid = shown.interaction_id
        meta = Jsonb(ev.meta) if ev.meta else None
        led.calls[(ev.kind, ev.type)] += 1
        if ev.kind == "behavior":
            result = self._execute(
                cur,
                SQL_BEHAVIOR,
                (iid, ev.type, ev.actor, ev.idempotency_key, meta, ev.source, at),
            )
            led.behavior_status[(ev.is_retry, result["status"])] += 1
            if result["status"] == "created":
                led.behavior_ids.append(result["id"])
        elif ev.kind == "feedback":
            fid = self._execute(cur, SQL_FEEDBACK, (iid, ev.type, ev.actor, ev.source, meta, at))
            self._feedback_ids[(iid, ev.feedback_no)] = fid
            led.feedback_ids.append(fid)
            led.written_feedback[iid].append(ev)
        elif ev.kind == "revoke":
            fid = self._feedback_ids[(iid, ev.feedback_no)]
            result = self._execute(cur, SQL_REVOKE, (fid, ev.actor, at))
            led.revoked_ids.append(result["feedback_id"])
            led.written_feedback[iid].append(ev)
        elif ev.kind == "conversion":
            cid = self._execute(
                cur,
                SQL_CONVERSION,
                (
                    shown.talent_id,
                    project_id,
                    ev.type,
                    ev.actor,
                    iid if ev.linked else None,
                    ev.source,
                    meta,
                    at,
                ),
            )
            led.conversion_ids.append(cid)
        else:
            raise ValueError(f"unknown simulated event kind {ev.kind!r}")
