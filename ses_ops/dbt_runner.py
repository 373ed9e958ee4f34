"""Run dbt against a named database (the PG* env vars select the server)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


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
