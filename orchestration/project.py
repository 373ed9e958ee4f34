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


# What the manifest is parsed from: dbt_project.yml, selectors.yml and these folders.
_PARSED_FOLDERS = ("models", "macros", "seeds", "tests", "python_udfs", "snapshots", "analyses")
_PARSED_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md", ".py"}


def manifest_is_stale(manifest: Path) -> bool:
    """True when a file dbt parses changed after the manifest was written (a pulled
    checkout adds a model: a stale manifest would not know it and the run would fail)."""
    if not manifest.exists():
        return True
    written = manifest.stat().st_mtime
    sources = [PROJECT_DIR / "dbt_project.yml", PROJECT_DIR / "selectors.yml"]
    for folder in _PARSED_FOLDERS:
        sources += [f for f in (PROJECT_DIR / folder).rglob("*") if f.suffix in _PARSED_SUFFIXES]
    return any(f.exists() and f.stat().st_mtime > written for f in sources)


def prepare_manifest(force: bool = True) -> Path:
    """`dbt parse` into TARGET_PATH (when forced, missing or older than the project's
    files); returns the manifest path."""
    manifest = DBT_PROJECT.manifest_path
    if force or manifest_is_stale(manifest):
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
