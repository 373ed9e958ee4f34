"""Simulated labelled data from the real system, for learning curves and benchmarks.

The simulated market (world, hidden chemistry, sales staff) drives the product in a
scratch database, exactly as the closed loop does (simulator.loop): projects and talents
arrive, every new project is matched once with ``ses.run_match`` (the product's business
rules and ranking), profiles change now and then, the staff react through the write
path; then the product's own loader (training.retrain.load_labelled_data: the label
views, the shown ranks, the point-in-time token bags) reads what a retrain would read.
Nothing of the product is re-implemented here: the simulator is a client.

Worlds (``WORLDS``): ``default`` (calibration v2), ``hard`` (calibration v1: noisier
chemistry and staff) and ``popular`` (a quarter of the chemistry is the talent's own
appeal and a tenth the project's: entity effects a content model cannot see, the case
hybrid towers are for). The oracle is the hidden chemistry of each exposure at display
time: the ceiling of what any model could reach on these labels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ses_ops.db import connect, current_database
from ses_ops.dbt_runner import run_dbt
from ses_ops.ensure_database import ensure_database
from simulator.chemistry import HARD_CHEMISTRY, ChemistryParams
from simulator.loop import ClosedLoop, LoopConfig
from simulator.staff import DEFAULT_STAFF, HARD_STAFF, StaffParams
from simulator.world import JST, WorldConfig
from training.dataset import LabelledData
from training.retrain import load_labelled_data

POPULAR_CHEMISTRY = ChemistryParams(
    structured_share=0.45, talent_share=0.25, project_share=0.10, pair_share=0.20
)
WORLDS: dict[str, tuple[ChemistryParams | None, StaffParams]] = {
    "default": (None, DEFAULT_STAFF),
    "hard": (HARD_CHEMISTRY, HARD_STAFF),
    "popular": (POPULAR_CHEMISTRY, DEFAULT_STAFF),
}
CHECK_EVERY_DAYS = 3
# dbt build of the empty scratch database: models and functions, no data tests.
BUILD_ARGS = ["build", "--exclude", "resource_type:test", "resource_type:unit_test"]


@dataclass(frozen=True)
class OfflineConfig:
    n_labels: int
    seed: int = 20250401
    world: str = "default"
    n_talents: int = 4000
    n_initial_projects: int = 40
    top_k: int = 20
    max_days: int = 1000
    talent_edits_per_day: float = 4.0
    project_edits_per_day: float = 2.0
    database: str | None = None  # default: <PGDATABASE>_sim (recreated)

    def __post_init__(self) -> None:
        if self.world not in WORLDS:
            raise ValueError(f"world must be one of {sorted(WORLDS)}, got {self.world!r}")
        if self.n_labels < 1:
            raise ValueError(f"n_labels must be >= 1, got {self.n_labels}")


def simulate(
    config: OfflineConfig, *, log=print
) -> tuple[LabelledData, dict[int, float], dict[str, Any]]:
    """(labelled data as a retrain reads it, hidden chemistry per interaction id, stats):
    day by day until ``n_labels`` labels exist, then the pending reactions run to
    their end."""
    database = config.database or f"{current_database()}_sim"
    chemistry, staff = WORLDS[config.world]
    started = time.perf_counter()
    ensure_database(database, recreate=True)
    run_dbt(BUILD_ARGS, database=database)
    built = time.perf_counter() - started
    loop_config = LoopConfig(
        world=WorldConfig(
            seed=config.seed, n_talents=config.n_talents, n_projects=config.n_initial_projects
        ),
        days=config.max_days,
        top_k=config.top_k,
        rerun_every_days=0,
        staff=staff,
        chemistry=chemistry,
        talent_edits_per_day=config.talent_edits_per_day,
        project_edits_per_day=config.project_edits_per_day,
        write_mode="batch",
    )
    with connect(dbname=database) as conn:
        loop = ClosedLoop(conn, loop_config)
        labels = 0
        for day in range(config.max_days):
            loop.run_day()
            if day % CHECK_EVERY_DAYS:
                continue  # counting the label view costs more than a simulated day
            labels = conn.execute("select count(*) from ses.training_labels").fetchone()[0]
            if labels >= config.n_labels:
                break
            if day % 30 == 0:
                log(f"  simulated {day + 1} days: {labels} labels")
        else:
            raise ValueError(
                f"only {labels} labels after {config.max_days} simulated days "
                f"(wanted {config.n_labels})"
            )
        drained = loop.drain()
        end = datetime.combine(loop.current_day, datetime.min.time(), tzinfo=JST)
        data = load_labelled_data(conn, end + timedelta(days=365))
    stats = {
        "database": database,
        "world": config.world,
        "seed": config.seed,
        "days": len(loop.days),
        "match_runs": len(loop.ledger.runs),
        "displayed": loop.ledger.displayed,
        "profile_edits": dict(loop.ledger.profile_edits),
        "events_after_last_day": drained,
        "labels": data.label_count,
        "build_seconds": round(built, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
    data.snapshot.update(source="simulated", **{k: stats[k] for k in ("world", "seed")})
    log(
        f"simulated {config.world} world seed {config.seed}: {stats['days']} days, "
        f"{stats['match_runs']} match runs, {stats['displayed']} displayed, "
        f"{data.label_count} labels in {stats['seconds']:.0f}s ({database})"
    )
    return data, dict(loop.ledger.chemistry), stats


def latest_profiles(data: LabelledData) -> LabelledData:
    """The same exposures with every pair's bags replaced by the entities' latest
    profile versions: what training would see without point-in-time features."""
    from dataclasses import replace

    latest_t: dict[int, Any] = {}
    latest_p: dict[int, Any] = {}
    for e in data.exposures:
        if e.talent_version is not None:
            latest_t[e.talent_id] = max(
                latest_t.get(e.talent_id, e.talent_version), e.talent_version
            )
        if e.project_version is not None:
            latest_p[e.project_id] = max(
                latest_p.get(e.project_id, e.project_version), e.project_version
            )
    # A later version may belong to exposures outside the data: take the newest bag
    # the data holds for each entity.
    for key in data.talents:
        if isinstance(key, tuple):
            latest_t[key[0]] = max(latest_t.get(key[0], key[1]), key[1])
    for key in data.projects:
        if isinstance(key, tuple):
            latest_p[key[0]] = max(latest_p.get(key[0], key[1]), key[1])
    exposures = [
        replace(
            e,
            talent_version=latest_t.get(e.talent_id, e.talent_version),
            project_version=latest_p.get(e.project_id, e.project_version),
        )
        for e in data.exposures
    ]
    return LabelledData(exposures, data.talents, data.projects, dict(data.snapshot))
