"""Connections from the standard libpq environment (PGHOST, PGPORT, ...)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import MutableMapping
from pathlib import Path

import psycopg

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = "ses_match"
LOCAL_PORT = "54329"  # the project-local cluster (scripts/localdb.sh), unless SES_LOCAL_PGPORT


def connect(dbname: str | None = None, autocommit: bool = True, **kwargs) -> psycopg.Connection:
    """Open a psycopg 3 connection configured by the PG* env vars."""
    if dbname is not None:
        kwargs["dbname"] = dbname
    return psycopg.connect(autocommit=autocommit, **kwargs)


def current_database() -> str:
    return os.environ.get("PGDATABASE", DEFAULT_DATABASE)


def uses_local_cluster(environ: MutableMapping[str, str] = os.environ) -> bool:
    """True when no server was named (PGHOST unset): the project-local cluster."""
    return "PGHOST" not in environ


def apply_defaults(environ: MutableMapping[str, str] = os.environ) -> None:
    """What the Makefile does for `make`, for commands run outside it: without
    PGHOST, point the PG* variables at the project-local cluster; a database name
    and the dbt profile (copied from profiles.yml.example, like `make setup`)."""
    if uses_local_cluster(environ):
        environ["PGHOST"] = "127.0.0.1"
        environ["PGPORT"] = environ.get("SES_LOCAL_PGPORT") or LOCAL_PORT
        environ["PGUSER"] = "postgres"
    environ.setdefault("PGDATABASE", DEFAULT_DATABASE)
    if "DBT_PROFILES_DIR" not in environ:
        profiles = PROJECT_DIR / ".local" / "dbt"
        if not (profiles / "profiles.yml").exists():
            profiles.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(PROJECT_DIR / "profiles.yml.example", profiles / "profiles.yml")
        environ["DBT_PROFILES_DIR"] = str(profiles)


def with_actor(options: str | None, who: str) -> str:
    """PGOPTIONS setting ``ses.actor`` (who activates a model, ses.model_activations)
    for every connection of a process and its children, replacing an earlier one."""
    escaped = who.replace("\\", "\\\\").replace(" ", "\\ ")
    kept = re.sub(r"\s*-c\s*ses\.actor=(?:\\.|\S)*", "", options or "").strip()
    return f"{kept} -c ses.actor={escaped}".strip()
