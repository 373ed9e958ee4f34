"""The installed console script and the README's commands outside make: from any
directory, in a clean environment (no PYTHONPATH, no DBT_PROFILES_DIR)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ses_ops.db import PROJECT_DIR

pytestmark = pytest.mark.db

BIN = Path(sys.executable).parent
SES_MATCH = BIN / "ses-match"


def clean_env() -> dict[str, str]:
    """A login shell's environment plus the server to talk to (the test database)."""
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    for key in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout
    )


def test_console_script_runs_anywhere_without_pythonpath(tmp_path: Path) -> None:
    assert "PYTHONPATH" not in clean_env()
    doctor = run([str(SES_MATCH), "doctor"], tmp_path)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    lines = doctor.stdout.splitlines()
    for check in ("reachable", "PostgreSQL", "plpython3u", "UDF packages", "ses_udf", "migrations"):
        assert any(line.split()[:2] == ["ok", check.split()[0]] for line in lines), (check, lines)
    assert "all checks passed" in doctor.stdout or "warn" in doctor.stdout
    listed = run([str(SES_MATCH), "models", "list"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    help_text = run([str(SES_MATCH), "--help"], tmp_path)
    for command in ("doctor", "nightly", "retrain", "models", "load", "bench", "demo"):
        assert command in help_text.stdout
    # options of the command it wraps are passed through
    retrain_help = run([str(SES_MATCH), "retrain", "--help"], tmp_path)
    assert retrain_help.returncode == 0 and "--no-activate" in retrain_help.stdout
    assert "--set FIELD=VALUE" in retrain_help.stdout
    bad = run([str(SES_MATCH), "doctor", "--bogus"], tmp_path)
    assert bad.returncode == 2 and "--bogus" in bad.stderr


def test_readme_module_commands_work_outside_make() -> None:
    """`python -m training.retrain` from the checkout with the venv's python only."""
    imported = run(
        [sys.executable, "-c", "import ses_udf; print(ses_udf.__file__)"],
        PROJECT_DIR,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == str(PROJECT_DIR / "python_udfs" / "ses_udf" / "__init__.py")
    retrain_help = run([sys.executable, "-m", "training.retrain", "--help"], PROJECT_DIR)
    assert retrain_help.returncode == 0, retrain_help.stderr
