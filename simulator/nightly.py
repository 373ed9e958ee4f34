"""Nightly hooks for the closed loop (simulator.loop): the scheduler's `dbt build`
and a snapshot of the label stats after it.

A hook is a callable taking a `simulator.loop.DayContext`; add instances to
`ClosedLoop.nightly_hooks`. The weekly retrain is one more: training.retrain.RetrainHook.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ses_ops.dbt_runner import PROJECT_DIR, invoke_in_process, run_dbt

# A complete build: everything except dbt unit tests (they test SQL logic on
# fixed inputs, not the night's data).
FULL_BUILD_ARGS: tuple[str, ...] = ("build", "--exclude", "test_type:unit")

# The product's nightly build (selectors.yml `nightly`): the complete build
# without the tests that read the whole history (selector `history_tests`).
NIGHTLY_BUILD_ARGS: tuple[str, ...] = ("build", "--selector", "nightly")

# What a simulation's light night builds: the complete build without the
# history-wide tests (tag:history, as the nightly selection), the
# ranked_candidates mart with its tests (the simulation never reads it), and
# the functions and seeds, which no night changes (the complete builds refresh
# them). Excluding tests, a table, functions and seeds drops no view.
LIGHT_EXCLUDES: tuple[str, ...] = (
    "tag:history",
    "model_evaluation",  # a weekly table, as in the nightly selection
    "ranked_candidates+",
    "resource_type:function",
    "resource_type:seed",
)


def nightly_build_args(light: bool = False) -> list[str]:
    return [*FULL_BUILD_ARGS, *(LIGHT_EXCLUDES if light else ())]


class DbtBuild:
    """Runs dbt commands on one database.

    in_process=True parses the project once and reuses the manifest for every
    later command (dbtRunner), which saves the interpreter start and the parse
    (~3-4 s a night); in_process=False runs the `dbt` executable each time
    (ses_ops.dbt_runner.run_dbt). Both raise with dbt's messages on failure.
    The TWO_TOWER_* settings are read when the project is parsed: set them first.
    """

    def __init__(
        self, database: str, *, in_process: bool = True, threads: int | None = None
    ) -> None:
        self.database = database
        self.in_process = in_process
        # dbt threads (default: the profile's); builds of many small nodes wait on
        # round trips more than on the CPU, so more threads than cores can help
        self.threads = threads
        self._manifest: Any = None
        self.last_execution_s: float | None = None  # dbt's own elapsed time (in process)
        self.last_node_seconds: dict[str, float] = {}  # per node of the last command (in process)

    def _invoke_in_process(self, args: list[str]) -> None:
        from dbt.cli.main import dbtRunner

        if self._manifest is None:
            # The profile reads PGDATABASE; the manifest is parsed for that database.
            os.environ["PGDATABASE"] = self.database
            os.environ.setdefault("DBT_PROFILES_DIR", str(PROJECT_DIR / ".local" / "dbt"))
            parsed = dbtRunner().invoke(["parse", "--quiet", "--project-dir", str(PROJECT_DIR)])
            if not parsed.success:
                raise RuntimeError(f"dbt parse failed: {parsed.exception}")
            self._manifest = parsed.result
        threads = ["--threads", str(self.threads)] if self.threads else []
        result = invoke_in_process([*args, *threads], self.database, manifest=self._manifest)
        self.last_execution_s = getattr(result, "elapsed_time", None)
        self.last_node_seconds = {
            r.node.name: r.execution_time for r in getattr(result, "results", None) or []
        }

    def reparse(self) -> None:
        """Parse the project again at the next command (after a TWO_TOWER_* change)."""
        self._manifest = None

    def invoke(self, args: Sequence[str]) -> float:
        """Run `dbt <args>`; returns the seconds it took."""
        started = time.perf_counter()
        if self.in_process:
            self._invoke_in_process(list(args))
        else:
            run_dbt(
                [*args, *(["--threads", str(self.threads)] if self.threads else [])],
                database=self.database,
            )
        return time.perf_counter() - started


class NightlyBuild:
    """Hook: the nightly `dbt build` (FULL_BUILD_ARGS).

    light=True leaves out LIGHT_EXCLUDES, except on the nights where
    `full_when(ctx)` is true (for example the last night of a demo).
    """

    def __init__(
        self,
        dbt: DbtBuild,
        *,
        light: bool = False,
        full_when: Callable[[Any], bool] | None = None,
    ) -> None:
        self.dbt = dbt
        self.light = light
        self.full_when = full_when

    def __call__(self, ctx: Any) -> None:
        light = self.light and not (self.full_when is not None and self.full_when(ctx))
        ctx.summary.notes["dbt_build"] = "light" if light else "full"
        ctx.summary.notes["dbt_build_s"] = round(self.dbt.invoke(nightly_build_args(light)), 2)
        if self.dbt.last_execution_s is not None:
            ctx.summary.notes["dbt_execution_s"] = round(self.dbt.last_execution_s, 2)


@dataclass
class LabelSnapshot:
    """After each night: label counts as the label views see them (report input)."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, ctx: Any) -> None:
        conn = ctx.loop.conn
        stats = conn.execute(
            "select labeled_count, accepted_count, rejected_count, pending_count from ses.training_stats"
        ).fetchone()
        by_source = dict(
            conn.execute(
                "select signal_source, count(*) from ses.training_labels group by 1"
            ).fetchall()
        )
        exposures, weight = conn.execute(
            "select (select count(*) from ses.interaction_logs), ses.two_tower_weight()"
        ).fetchone()
        self.rows.append(
            {
                "day": ctx.day.isoformat(),
                "index": ctx.index,
                "exposures": exposures,
                "training_pairs": stats[0],
                "accepted": stats[1],
                "rejected": stats[2],
                "pending": stats[3],
                "labels_conversion": by_source.get("conversion", 0),
                "labels_feedback": by_source.get("feedback", 0),
                "labels_behavior": by_source.get("behavior", 0),
                "two_tower_weight": weight,
                "runs": ctx.summary.runs,
                "events": sum(ctx.summary.events.values()),
                **ctx.summary.notes,
            }
        )
