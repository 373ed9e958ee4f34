"""The dbt project as Dagster sees it: its manifest, parsed into a target folder of
its own (.local/dagster/dbt) so Dagster's dbt runs never share dbt's default target/."""

from __future__ import annotations

import os
from pathlib import Path

from dagster_dbt import DbtProject

from ses_ops.db import PROJECT_DIR, apply_defaults
from ses_ops.dbt_runner import DbtFailed

TARGET_PATH = Path(".local") / "dagster" / "dbt"

apply_defaults()  # PG* of the local cluster unless PGHOST is set; the dbt profile

DBT_PROJECT = DbtProject(
    project_dir=PROJECT_DIR,
    target_path=TARGET_PATH,
    profiles_dir=os.environ["DBT_PROFILES_DIR"],
)


def prepare_manifest(force: bool = True) -> Path:
    """`dbt parse` into TARGET_PATH (when forced or missing); returns the manifest path."""
    manifest = DBT_PROJECT.manifest_path
    if force or not manifest.exists():
        from dbt.cli.main import dbtRunner

        res = dbtRunner().invoke(
            [
                "parse",
                "--quiet",
                "--project-dir",
                str(PROJECT_DIR),
                "--target-path",
                str(PROJECT_DIR / TARGET_PATH),
            ]
        )
        if not res.success:
            raise DbtFailed(f"dbt parse failed: {res.exception}")
    return manifest
