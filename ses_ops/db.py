"""Connections from the standard libpq environment (PGHOST, PGPORT, ...)."""

from __future__ import annotations

import os

import psycopg


def connect(dbname: str | None = None, autocommit: bool = True, **kwargs) -> psycopg.Connection:
    """Open a psycopg 3 connection configured by the PG* env vars."""
    if dbname is not None:
        kwargs["dbname"] = dbname
    return psycopg.connect(autocommit=autocommit, **kwargs)


def current_database() -> str:
    return os.environ.get("PGDATABASE", "ses_match")
