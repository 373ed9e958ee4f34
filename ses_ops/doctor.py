"""`ses-match doctor`: is this server ready for ses_match, and if not, what to do.

Each check prints one line (ok / warn / FAIL / skip) and, when something is
wrong, a one-line fix. Checks, in order, each needing the ones before it:
reachable, PostgreSQL version, plpython3u, the UDF packages importable by the
server's Python (versions vs requirements-udf.txt), ses_udf importable and the
same code as this checkout, the migrations applied, the roles, and what serves.

The server's Python is examined by ses.udf_environment() (python_udfs/
udf_environment.py) once the database is built; before that, a superuser runs
the same file as a DO block in a transaction that is rolled back.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

import psycopg
import yaml

from ses_ops.db import PROJECT_DIR, connect, uses_local_cluster

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "skip"
MIN_SERVER_VERSION = 150000
UDF_REQUIREMENTS = PROJECT_DIR / "requirements-udf.txt"
PROBE_FILE = PROJECT_DIR / "python_udfs" / "udf_environment.py"
MIGRATIONS_FILE = PROJECT_DIR / "macros" / "migrations" / "ses_migrations.sql"
SES_UDF_DIR = PROJECT_DIR / "python_udfs" / "ses_udf"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str | None = None


@dataclass
class Doctor:
    """Runs the checks against the server named by the PG* environment."""

    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    checks: list[Check] = field(default_factory=list)
    _env: dict[str, Any] | None = None

    def add(self, name: str, status: str, detail: str, fix: str | None = None) -> Check:
        check = Check(name, status, detail, fix)
        self.checks.append(check)
        return check

    @property
    def ok(self) -> bool:
        return all(c.status != FAIL for c in self.checks)

    def target(self) -> str:
        e = self.environ
        return (
            f"{e.get('PGHOST', 'localhost')}:{e.get('PGPORT', '5432')}/"
            f"{e.get('PGDATABASE', '?')} as {e.get('PGUSER', '?')}"
        )

    def run(self) -> list[Check]:
        try:
            conn = connect(connect_timeout=5)
        except psycopg.Error as exc:
            self.add("reachable", FAIL, first_line(exc), self._connection_fix(exc))
            self.add("other checks", SKIP, "need a connection")
            return self.checks
        with conn:
            self.add("reachable", OK, f"connected as {conn.info.user} to {conn.info.dbname}")
            steps: list[Callable[[psycopg.Connection], bool]] = [
                self.check_version,
                self.check_plpython,
                self.check_packages,
                self.check_ses_udf,
                self.check_migrations,
                self.check_roles,
                self.check_serving,
            ]
            for step in steps:
                step(conn)
        return self.checks

    # ------------------------------------------------------------------ checks

    def _connection_fix(self, exc: psycopg.Error) -> str:
        text = str(exc)
        database = self.environ.get("PGDATABASE", "ses_match")
        if "does not exist" in text and "database" in text:
            return (
                f"create it: python -m ses_ops.ensure_database {database} (or createdb {database})"
            )
        if uses_local_cluster(self.environ) or self.environ.get("PGHOST") == "127.0.0.1":
            return "start the local cluster: make db (or scripts/localdb.sh start)"
        return "check PGHOST / PGPORT / PGUSER / PGPASSWORD / PGDATABASE and that the server accepts connections"

    def check_version(self, conn: psycopg.Connection) -> bool:
        num = int(conn.execute("show server_version_num").fetchone()[0])
        text = conn.execute("show server_version").fetchone()[0].split()[0]
        if num < MIN_SERVER_VERSION:
            self.add(
                "PostgreSQL",
                FAIL,
                f"{text}: ses_match needs PostgreSQL 15 or newer",
                "upgrade the server, or point PGHOST / PGPORT at a PostgreSQL 15 server",
            )
            return False
        self.add("PostgreSQL", OK, text)
        return True

    def check_plpython(self, conn: psycopg.Connection) -> bool:
        available, installed = conn.execute(
            "select default_version, installed_version from pg_available_extensions "
            "where name = 'plpython3u'"
        ).fetchone() or (None, None)
        if available is None:
            self.add(
                "plpython3u",
                FAIL,
                "not installed on the server (no plpython3u extension available)",
                "install the server package postgresql-plpython3-15 (apt-get install "
                "postgresql-plpython3-15) on the database host",
            )
            return False
        if installed:
            self.add("plpython3u", OK, f"{installed}, created in {conn.info.dbname}")
            return True
        if self.superuser(conn):
            self.add(
                "plpython3u",
                OK,
                f"{available} available; the first build creates it in {conn.info.dbname}",
            )
            return True
        self.add(
            "plpython3u",
            FAIL,
            f"available but not created in {conn.info.dbname}, and {conn.info.user} "
            "cannot create it (not a superuser)",
            f"ask a superuser to run: create extension plpython3u; in {conn.info.dbname}",
        )
        return False

    def check_packages(self, conn: psycopg.Connection) -> bool:
        if not self._plpython_ok():
            self.add("UDF packages", SKIP, "needs plpython3u")
            return False
        env = self.server_environment(conn)
        if env is None:
            return False
        required = udf_requirements()
        missing, wrong, broken = [], [], []
        for name, pinned in required.items():
            entry = env["packages"].get(name, {})
            if entry.get("error") == "not installed":
                missing.append(name)
            elif "error" in entry:
                broken.append(f"{name} ({entry['error']})")
            elif entry.get("version") != pinned:
                wrong.append(f"{name} {entry.get('version')} (requirements-udf.txt: {pinned})")
        where = f"server Python {env['python']}"
        fix = (
            "install them for the server's Python: pip install --target <dir on its "
            "PYTHONPATH> -r requirements-udf.txt (make setup / make db do it for the local cluster)"
        )
        problems = []
        if missing:
            problems.append("missing " + ", ".join(missing))
        if broken:
            problems.append("not importable: " + "; ".join(broken))
        if wrong:
            problems.append("other versions: " + ", ".join(wrong))
        if problems:
            self.add("UDF packages", FAIL, "; ".join(problems) + f" ({where})", fix)
            return False
        versions = ", ".join(f"{n} {v}" for n, v in required.items())
        self.add("UDF packages", OK, f"{versions} ({where})")
        return True

    def check_ses_udf(self, conn: psycopg.Connection) -> bool:
        if self._env is None:
            self.add("ses_udf", SKIP, "needs the server's Python environment")
            return False
        info = self._env["ses_udf"]
        copy_fix = (
            "the local cluster: scripts/localdb.sh sync; another server: copy "
            "python_udfs/ses_udf into a directory on the server's PYTHONPATH"
        )
        if "error" in info:
            self.add("ses_udf", FAIL, f"not importable by the server: {info['error']}", copy_fix)
            return False
        mine = probe_module().source_digest(SES_UDF_DIR)
        if info["digest"] != mine:
            self.add(
                "ses_udf",
                FAIL,
                f"{info['path']} is not the code of this checkout "
                f"(sha256 {info['digest'][:12]} vs {mine[:12]})",
                copy_fix + "; new sessions then load it",
            )
            return False
        self.add("ses_udf", OK, f"{info['path']}, same code as this checkout ({mine[:12]})")
        return True

    def check_migrations(self, conn: psycopg.Connection) -> bool:
        expected = migration_ids()
        fix = "run ses-match nightly (or dbt build): migrations apply first"
        if conn.execute("select to_regclass('ses.schema_migrations')").fetchone()[0] is None:
            self.add("migrations", FAIL, f"none applied: {conn.info.dbname} is not built", fix)
            return False
        applied = {r[0] for r in conn.execute("select migration_id from ses.schema_migrations")}
        pending = [m for m in expected if m not in applied]
        if pending:
            self.add("migrations", FAIL, f"{len(pending)} pending: {', '.join(pending)}", fix)
            return False
        self.add("migrations", OK, f"{len(expected)} of {len(expected)} applied")
        return True

    def check_roles(self, conn: psycopg.Connection) -> bool:
        user = conn.info.user
        superuser = self.superuser(conn)
        wanted = configured_roles()
        present = {
            r[0]
            for r in conn.execute("select rolname from pg_roles where rolname = any(%s)", (wanted,))
        }
        missing = [r for r in wanted if r not in present]
        login = f"{user} ({'superuser' if superuser else 'not a superuser'})"
        if missing:
            self.add(
                "roles",
                FAIL,
                f"missing {', '.join(missing)}; connected as {login}",
                "run ses-match nightly (or dbt build) once as a superuser: the build creates them",
            )
            return False
        if not wanted:
            can_create = conn.execute(
                "select has_database_privilege(current_database(), 'CREATE')"
            ).fetchone()[0]
            if not (superuser or can_create):
                self.add(
                    "roles",
                    WARN,
                    f"{login} cannot create schemas in {conn.info.dbname}: builds will fail",
                    f"grant create on database {conn.info.dbname} to {user}, or build as its owner",
                )
                return True
            self.add("roles", OK, f"connected as {login}")
            return True
        self.add("roles", OK, f"{', '.join(wanted)} present; connected as {login}")
        return True

    def check_serving(self, conn: psycopg.Connection) -> bool:
        if conn.execute("select to_regprocedure('ses.two_tower_config()')").fetchone()[0] is None:
            self.add("serving", SKIP, "not built yet")
            return False
        config = conn.execute("select ses.two_tower_config()").fetchone()[0]
        active = conn.execute("select ses.active_model_version()").fetchone()[0]
        embedder = config.get("embedder")
        state = (
            f"embedder {embedder}, two-tower {'on' if config.get('enabled') else 'off'} "
            f"({config.get('mode')}), active model {active or '(none)'}"
        )
        if embedder in ("onnx", "candle") and active is None:
            self.add(
                "serving",
                FAIL,
                state + f": {embedder} needs an active model",
                "ses-match models activate VERSION, or TWO_TOWER_EMBEDDER=hash and ses-match nightly",
            )
            return False
        open_alerts = 0
        if conn.execute("select to_regclass('ses.alerts')").fetchone()[0] is not None:
            open_alerts = conn.execute(
                "select count(*) from ses.alerts where acknowledged_at is null"
            ).fetchone()[0]
        if open_alerts:
            self.add(
                "serving",
                WARN,
                state + f"; {open_alerts} unacknowledged alert(s)",
                "ses-match alerts (then ses-match alerts ack ID)",
            )
            return True
        self.add("serving", OK, state)
        return True

    # ----------------------------------------------------------------- helpers

    def _plpython_ok(self) -> bool:
        return any(c.name == "plpython3u" and c.status == OK for c in self.checks)

    @staticmethod
    def superuser(conn: psycopg.Connection) -> bool:
        return conn.execute(
            "select rolsuper from pg_roles where rolname = current_user"
        ).fetchone()[0]

    def server_environment(self, conn: psycopg.Connection) -> dict[str, Any] | None:
        """The probe's answer, from ses.udf_environment() or a rolled-back DO block."""
        names = list(udf_requirements())
        built = conn.execute("select to_regprocedure('ses.udf_environment(text[])')").fetchone()[0]
        try:
            if built is not None:
                self._env = conn.execute("select ses.udf_environment(%s)", (names,)).fetchone()[0]
            elif self.superuser(conn):
                self._env = run_probe_block(conn, names)
            else:
                self.add(
                    "UDF packages",
                    SKIP,
                    "the database is not built and "
                    f"{conn.info.user} is not a superuser: cannot run Python on the server",
                    "build it once (ses-match nightly), then run the doctor again",
                )
                return None
        except psycopg.Error as exc:
            self.add(
                "UDF packages",
                FAIL,
                f"the server's Python failed: {first_line(exc)}",
                "check the server's log; plpython3u must load Python 3.11",
            )
            return None
        return self._env


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def udf_requirements() -> dict[str, str]:
    """{distribution: pinned version} from requirements-udf.txt."""
    pins = {}
    for line in UDF_REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.strip()] = version.strip()
    return pins


def migration_ids() -> list[str]:
    """The migration ids of this checkout, in order (macros/migrations/ses_migrations.sql)."""
    return re.findall(r"'id':\s*'([^']+)'", MIGRATIONS_FILE.read_text())


def configured_roles() -> list[str]:
    """Roles the project's grants name (dbt var ``ses_roles``: a list, or a mapping
    whose values are role names); none when the project does not configure any."""
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    roles = (project.get("vars") or {}).get("ses_roles") or []
    if isinstance(roles, dict):
        roles = list(roles.values())
    return [str(r) for r in roles]


@cache
def probe_module() -> ModuleType:
    """python_udfs/udf_environment.py as a module (its source_digest, for this checkout)."""
    spec = importlib.util.spec_from_file_location("ses_udf_environment_probe", PROBE_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_probe_block(conn: psycopg.Connection, distributions: list[str]) -> dict[str, Any]:
    """Run the probe file as a DO block (superuser), in a transaction rolled back
    afterwards: creating plpython3u for it leaves nothing behind."""
    code = PROBE_FILE.read_text() + (
        f"\nplpy.notice('SES_UDF_ENVIRONMENT ' + udf_environment({distributions!r}))\n"
    )
    notices: list[str] = []

    def handler(diag: psycopg.errors.Diagnostic) -> None:
        if diag.message_primary and diag.message_primary.startswith("SES_UDF_ENVIRONMENT "):
            notices.append(diag.message_primary.split(" ", 1)[1])

    conn.add_notice_handler(handler)
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("create extension if not exists plpython3u")
            conn.execute(f"do $ses_doctor$\n{code}\n$ses_doctor$ language plpython3u")
    finally:
        conn.remove_notice_handler(handler)
    if not notices:
        raise RuntimeError("the server's Python answered nothing")
    return json.loads(notices[-1])


def render(checks: list[Check], target: str) -> str:
    lines = [f"ses-match doctor: {target}"]
    width = max(len(c.name) for c in checks)
    for c in checks:
        lines.append(f"  {c.status:<4}  {c.name:<{width}}  {c.detail}")
        if c.fix and c.status in (FAIL, WARN, SKIP):
            lines.append(f"  {'':<4}  {'':<{width}}  fix: {c.fix}")
    failed = sum(c.status == FAIL for c in checks)
    lines.append("all checks passed" if not failed else f"{failed} check(s) failed")
    return "\n".join(lines)


def main(environ: dict[str, str] | None = None) -> int:
    doctor = Doctor(dict(os.environ if environ is None else environ))
    checks = doctor.run()
    print(render(checks, doctor.target()))
    return 0 if doctor.ok else 1
