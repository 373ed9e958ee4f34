"""The BI contract: a public mart whose column type changes without its YAML
contract fails `dbt build` and leaves the database as it was, for a view (the
project's in-place view materialization, which must check the contract before
it replaces the view) and for a table. Runs on a copy of the project."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from ses_ops.dbt_runner import PROJECT_DIR, run_dbt

pytestmark = pytest.mark.db

TOP_LEVEL_SKIP = {".git", ".venv", ".local", "target", "logs", "reports", "dbt_packages", "tools"}


def skip(directory: str, names: list[str]) -> set[str]:
    top = TOP_LEVEL_SKIP if Path(directory) == PROJECT_DIR else set()
    return {n for n in names if n in top or n in ("__pycache__", ".pytest_cache", ".ruff_cache")}


COLUMN_TYPES = """
select table_name, column_name, data_type from information_schema.columns
where table_schema = 'ses' and table_name in ('training_stats', 'two_tower_weight_schedule')
order by 1, 2
"""


def project_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, copy, ignore=skip)
    return copy


def test_changed_column_type_without_contract_update_fails_the_build(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    before = conn.execute(COLUMN_TYPES).fetchall()
    copy = project_copy(tmp_path)
    stats = copy / "models/marts/labels/training_stats.sql"
    stats.write_text(
        stats.read_text().replace(
            "count(distinct run_date) as active_days",
            "count(distinct run_date)::text as active_days",
        )
    )
    schedule = copy / "models/marts/two_tower/two_tower_weight_schedule.sql"
    schedule.write_text(
        schedule.read_text().replace("labeled_count,", "labeled_count::integer as labeled_count,")
    )
    for model, column in (
        ("training_stats", "active_days"),
        ("two_tower_weight_schedule", "labeled_count"),
    ):
        with pytest.raises(RuntimeError) as failure:
            run_dbt(["build", "--select", model], project_dir=copy)
        output = str(failure.value).lower()
        # dbt's contract error: the column, the YAML type and the query's type
        assert "contract" in output and "data type mismatch" in output and column in output, output
    assert conn.execute(COLUMN_TYPES).fetchall() == before  # nothing replaced
