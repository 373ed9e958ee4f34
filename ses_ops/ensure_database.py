"""Create the target database if it is missing (or recreate it with --recreate).

Idempotent: running it twice leaves one database and no error.
"""

from __future__ import annotations

import argparse
import sys

from psycopg import sql

from ses_ops.db import connect


def ensure_database(name: str, recreate: bool = False) -> bool:
    """Return True when the database was created by this call."""
    with connect(dbname="postgres") as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if exists and recreate:
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where datname = %s and pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(sql.SQL("drop database {}").format(sql.Identifier(name)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name")
    parser.add_argument("--recreate", action="store_true", help="drop it first (tests)")
    args = parser.parse_args(argv)
    created = ensure_database(args.name, args.recreate)
    print(f"database {args.name}: {'created' if created else 'exists'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
