"""Logins that are members of the project's group roles (macros/access.sql), for
tests that act as the app, a BI tool, the trainer or the transformer."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import yaml
from psycopg import sql

from ses_ops.db import connect, current_database

PROJECT_DIR = Path(__file__).resolve().parents[3]
ROLE_KEYS = ("owner", "app", "bi", "trainer", "transformer")
INSUFFICIENT_PRIVILEGE = "42501"


def role_names() -> dict[str, str]:
    """Group role names as configured by the dbt vars (ses_<key>_role)."""
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    return {key: project["vars"][f"ses_{key}_role"] for key in ROLE_KEYS}


class Login:
    """A LOGIN role that is a member of one group role, with a random password (so
    the test also works where the server asks for one)."""

    def __init__(self, key: str, group: str) -> None:
        digest = hashlib.sha1(current_database().encode()).hexdigest()[:8]
        self.key = key
        self.group = group
        self.user = f"ses_test_{key}_{digest}"
        self.password = secrets.token_hex(16)

    def connect(self, **kwargs) -> psycopg.Connection:
        return connect(user=self.user, password=self.password, **kwargs)


@contextlib.contextmanager
def member_logins(keys=("app", "bi", "trainer", "transformer")) -> Iterator[dict[str, Login]]:
    """Create one login per group role (dropped afterwards)."""
    names = role_names()
    logins = {key: Login(key, names[key]) for key in keys}
    with connect() as admin:
        for login in logins.values():
            admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(login.user)))
            admin.execute(
                sql.SQL("create role {} login password {} in role {}").format(
                    sql.Identifier(login.user),
                    sql.Literal(login.password),
                    sql.Identifier(login.group),
                )
            )
        try:
            yield logins
        finally:
            for login in logins.values():
                admin.execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity where usename = %s",
                    (login.user,),
                )
                admin.execute(sql.SQL("drop owned by {}").format(sql.Identifier(login.user)))
                admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(login.user)))
