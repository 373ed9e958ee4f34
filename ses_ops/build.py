"""The scheduled dbt builds: `ses-match nightly` / `ses-match build weekly|bi`.

Each runs `dbt build --selector <name>` (selectors.yml, the same selections the
Dagster jobs use) in this process, keeps the two-tower settings in force
(ses_ops.settings), and shows the nodes done out of the total while it runs.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ses_ops.db import connect, current_database
from ses_ops.dbt_runner import invoke_in_process
from ses_ops.settings import kept_settings, vars_args

SELECTORS = ("nightly", "weekly", "bi")  # the scheduled selections of selectors.yml


@dataclass
class BuildReport:
    selector: str
    database: str
    seconds: float
    statuses: dict[str, int] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items()))
        return f"{self.selector} build of {self.database}: {counts} in {self.seconds:.1f}s"


class _NodeProgress:
    """dbt event callback driving a progress bar: nodes finished / nodes selected."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.task = None if progress is None else progress.add_task("migrations", total=None)
        self.statuses: Counter[str] = Counter()

    def __call__(self, event: Any) -> None:
        name = event.info.name
        if name == "NodeFinished":
            status = event.data.node_info.node_status
            self.statuses[status] += 1
            if self.progress is not None:
                self.progress.update(
                    self.task, advance=1, description=event.data.node_info.node_name[:48]
                )
        elif name == "LogStartLine" and self.progress is not None:
            self.progress.update(self.task, total=event.data.total)


def run_build(
    selector: str,
    database: str | None = None,
    *,
    keep_settings: bool = True,
    console: Console | None = None,
) -> BuildReport:
    """`dbt build --selector <selector>`; raises ses_ops.dbt_runner.DbtFailed naming the
    failed nodes."""
    if selector not in SELECTORS:
        raise ValueError(f"selector must be one of {', '.join(SELECTORS)}, got {selector!r}")
    database = database or current_database()
    console = console or Console(stderr=True)
    kept: dict[str, str] = {}
    if keep_settings:
        with connect(dbname=database) as conn:
            kept = kept_settings(conn)
    if kept:
        console.print(
            "two-tower settings kept from the database (export TWO_TOWER_* to change them): "
            + ", ".join(
                f"{k.removeprefix('two_tower_')}={v or '(schedule)'}"
                for k, v in sorted(kept.items())
            )
        )
    started = time.perf_counter()
    progress = (
        Progress(
            TextColumn(f"dbt build --selector {selector}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=console,
            transient=True,
        )
        if console.is_terminal
        else None
    )
    nodes = _NodeProgress(progress)
    try:
        if progress is not None:
            progress.start()
        invoke_in_process(
            ["build", "--selector", selector, *vars_args(kept)], database, callbacks=[nodes]
        )
    finally:
        if progress is not None:
            progress.stop()
    return BuildReport(
        selector, database, time.perf_counter() - started, dict(nodes.statuses), kept
    )
