"""Run dbt against a named database (the PG* env vars select the server)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ses_ops.db import PROJECT_DIR

FAILED_STATUSES = ("error", "fail", "runtime error")


class DbtFailed(RuntimeError):
    """A dbt command failed; ``problems`` names each failing node."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


def dbt_executable() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def run_dbt(
    args: list[str],
    database: str | None = None,
    quiet: bool = True,
    project_dir: Path | None = None,
    **env_overrides: str,
) -> None:
    """Run `dbt <args>` (in project_dir, this project by default); raise with dbt's
    output when it fails."""
    env = dict(os.environ)
    if database:
        env["PGDATABASE"] = database
    env.update(env_overrides)
    env.setdefault("DBT_PROFILES_DIR", str(PROJECT_DIR / ".local" / "dbt"))
    cmd = [dbt_executable(), *(["--quiet"] if quiet else []), *args]
    proc = subprocess.run(
        cmd, cwd=project_dir or PROJECT_DIR, env=env, capture_output=quiet, text=True
    )
    if proc.returncode != 0:
        output = (proc.stdout or "") + (proc.stderr or "")
        raise RuntimeError(
            f"dbt {' '.join(args)} failed (exit {proc.returncode}):\n{output[-4000:]}"
        )


def failed_nodes(result: Any) -> list[str]:
    """'unique_id: status: message' of every failed node of a dbtRunner result."""
    return [
        f"{r.node.unique_id}: {r.status}: {(r.message or '')[:500]}"
        for r in getattr(result, "results", None) or []
        if str(r.status) in FAILED_STATUSES
    ]


def invoke_in_process(
    args: Sequence[str],
    database: str,
    *,
    callbacks: Sequence[Callable[[Any], None]] = (),
    manifest: Any = None,
) -> Any:
    """`dbt <args>` in this process (dbtRunner) on ``database``; returns dbt's result,
    raises DbtFailed naming the failed nodes."""
    from dbt.cli.main import dbtRunner

    # The profile reads PGDATABASE when the project is parsed.
    os.environ["PGDATABASE"] = database
    os.environ.setdefault("DBT_PROFILES_DIR", str(PROJECT_DIR / ".local" / "dbt"))
    runner = dbtRunner(manifest=manifest, callbacks=list(callbacks))
    res = runner.invoke([*args, "--quiet", "--project-dir", str(PROJECT_DIR)])
    if not res.success:
        problems = failed_nodes(res.result)
        raise DbtFailed(
            f"dbt {' '.join(args)} failed on {database}: "
            + ("; ".join(problems) or str(res.exception)),
            problems,
        )
    return res.result
