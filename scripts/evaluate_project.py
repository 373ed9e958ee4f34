"""Run dbt-project-evaluator on a throw-away copy of this project.

    python scripts/evaluate_project.py <packages dir>      (make evaluate EVALUATOR_PACKAGES=...)

<packages dir> holds the evaluator (dbt_project_evaluator/) and dbt-utils
(dbt_utils/) as local package folders: the dbt hub may be out of reach, and the
project does not depend on either. The copy (the working tree, so uncommitted
changes count) gets a packages.yml with the evaluator, the project's deliberate
exceptions (scripts/project_evaluator_exceptions.csv) as the evaluator's
exceptions seed, and builds the evaluator into a scratch database
($EVALUATOR_DATABASE, default <PGDATABASE>_evaluator, recreated). The project's
conventions for the evaluator are its vars in dbt_project.yml.

Prints every violation the evaluator's fct_* models hold and exits 1 if any.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ses_ops.db import connect, current_database  # noqa: E402
from ses_ops.ensure_database import ensure_database  # noqa: E402

TOP_LEVEL_SKIP = {".git", ".venv", ".local", "target", "logs", "reports", "dbt_packages", "tools"}


def skip(directory: str, names: list[str]) -> set[str]:
    """What the copy leaves out: local state at the top, caches anywhere."""
    top = TOP_LEVEL_SKIP if Path(directory) == ROOT else set()
    return {n for n in names if n in top or n in ("__pycache__", ".pytest_cache", ".ruff_cache")}


SCHEMA = "dbt_project_evaluator"


def dbt(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    exe = str(Path(sys.executable).with_name("dbt"))
    proc = subprocess.run([exe, *args], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-6000:] + proc.stderr[-2000:])
        raise SystemExit(f"dbt {' '.join(args)} failed (exit {proc.returncode})")


def prepare_copy(packages: Path, work: Path) -> Path:
    project = work / "project"
    shutil.copytree(ROOT, project, ignore=skip)
    # the evaluator's own packages.yml names dbt-utils as local: ../dbt_utils
    (work / "dbt_utils").symlink_to(packages / "dbt_utils")
    (project / "packages.yml").write_text(
        yaml.safe_dump({"packages": [{"local": str(packages / "dbt_project_evaluator")}]})
    )
    shutil.copy(
        ROOT / "scripts" / "project_evaluator_exceptions.csv",
        project / "seeds" / "dbt_project_evaluator_exceptions.csv",
    )
    config = yaml.safe_load((project / "dbt_project.yml").read_text())
    config.setdefault("seeds", {})["dbt_project_evaluator"] = {
        "dbt_project_evaluator_exceptions": {"+enabled": False}
    }
    config.setdefault("models", {})["dbt_project_evaluator"] = {"+schema": SCHEMA}
    (project / "dbt_project.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return project


def violations(database: str) -> dict[str, list[tuple]]:
    found: dict[str, list[tuple]] = {}
    with connect(dbname=database) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables "
                "where table_schema = %s and table_name like 'fct\\_%%' order by 1",
                (SCHEMA,),
            )
        ]
        for table in tables:
            cur = conn.execute(f"select * from {SCHEMA}.{table}")
            rows = cur.fetchall()
            if table in ("fct_documentation_coverage", "fct_test_coverage"):
                continue  # percentages, judged by the evaluator's own tests below
            if rows:
                found[table] = [tuple(c.name for c in cur.description), *rows]
        for table, column, target in (
            ("fct_documentation_coverage", "documentation_coverage_pct", 100),
            ("fct_test_coverage", "test_coverage_pct", 100),
        ):
            value = conn.execute(f"select {column} from {SCHEMA}.{table}").fetchone()[0]
            if value is not None and float(value) < target:
                found[table] = [(column,), (value,)]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "packages", type=Path, help="folder holding dbt_project_evaluator/ and dbt_utils/"
    )
    args = parser.parse_args(argv)
    packages = args.packages.resolve()
    for name in ("dbt_project_evaluator", "dbt_utils"):
        if not (packages / name / "dbt_project.yml").exists():
            parser.error(f"{packages / name} is not a dbt package folder")
    database = os.environ.get("EVALUATOR_DATABASE", f"{current_database()}_evaluator")
    ensure_database(database, recreate=True)
    env = {**os.environ, "PGDATABASE": database}
    env.setdefault("DBT_PROFILES_DIR", str(ROOT / ".local" / "dbt"))
    with tempfile.TemporaryDirectory(prefix="ses_evaluator_") as tmp:
        project = prepare_copy(packages, Path(tmp))
        dbt(["deps"], project, env)
        dbt(
            [
                "build",
                "--select",
                "package:dbt_project_evaluator",
                "dbt_project_evaluator_exceptions",
            ],
            project,
            env,
        )
    found = violations(database)
    if not found:
        print(
            "dbt-project-evaluator: no violations (exceptions: scripts/project_evaluator_exceptions.csv)"
        )
        return 0
    for table, rows in found.items():
        print(f"{table}: {len(rows) - 1} violation(s)")
        for row in rows:
            print("   ", " | ".join(str(v) for v in row))
    print(f"dbt-project-evaluator: {sum(len(r) - 1 for r in found.values())} violation(s)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
