"""`ses-match doctor` on real servers: the test database, and two throw-away
PostgreSQL 15 clusters, one whose installation lacks plpython3u, one whose Python
path lacks the UDF packages (each started for the test on a free port)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ses_ops import doctor
from ses_ops.db import PROJECT_DIR

pytestmark = pytest.mark.db

PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))
AS_ROOT = os.geteuid() == 0


def as_db_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if AS_ROOT else cmd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def install_without_plpython(root: Path) -> Path:
    """A PostgreSQL 15 installation without plpython3u: copies of the binaries (they
    find share/ and lib/ relative to themselves) and links to every other file."""
    real = {"bin": PGBIN, "lib": PGBIN.parent / "lib"}
    share = Path(
        subprocess.run(
            [str(PGBIN / "pg_config"), "--sharedir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    prefix = root / PGBIN.parent.relative_to("/")
    bindir, libdir = prefix / "bin", prefix / "lib"
    sharedir = root / share.relative_to("/")
    for d in (bindir, libdir, sharedir / "extension"):
        d.mkdir(parents=True)
    for name in ("postgres", "initdb", "pg_ctl"):
        shutil.copy2(real["bin"] / name, bindir / name)
    for f in real["lib"].iterdir():
        if "plpython" not in f.name:
            (libdir / f.name).symlink_to(f)
    for f in share.iterdir():
        if f.name != "extension":
            (sharedir / f.name).symlink_to(f)
    for f in (share / "extension").iterdir():
        if "plpython" not in f.name:
            (sharedir / "extension" / f.name).symlink_to(f)
    return bindir


class ScratchCluster:
    def __init__(self, root: Path, bindir: Path, pythonpath: str) -> None:
        self.root, self.bindir, self.port = root, bindir, free_port()
        self.data = root / "data"
        self.pythonpath = pythonpath

    def start(self) -> None:
        self.data.mkdir()
        if AS_ROOT:
            shutil.chown(self.data, "postgres")
            os.chmod(self.root, 0o755)
        subprocess.run(
            as_db_user([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
            check=True, capture_output=True,
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.data}'\n"
            )
        subprocess.run(
            as_db_user(["env", f"PYTHONPATH={self.pythonpath}", str(self.bindir / "pg_ctl"),
                        "-D", str(self.data), "-l", str(self.data / "log"), "-w", "start"]),
            check=True, capture_output=True,
        )  # fmt: skip

    def stop(self) -> None:
        subprocess.run(
            as_db_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                        "-w", "stop"]),
            capture_output=True,
        )  # fmt: skip

    def environ(self) -> dict[str, str]:
        return {"PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": "postgres",
                "PGDATABASE": "postgres"}  # fmt: skip


@pytest.fixture
def scratch_root() -> Iterator[Path]:
    # under /tmp: the postgres OS user must reach it when the tests run as root
    root = Path(os.environ.get("TMPDIR", "/tmp")) / f"ses-doctor-{os.getpid()}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(mode=0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def doctor_on(cluster: ScratchCluster, monkeypatch) -> dict[str, doctor.Check]:
    """Start the cluster, run the doctor against it, stop it."""
    cluster.start()
    try:
        for key, value in cluster.environ().items():
            monkeypatch.setenv(key, value)
        return {c.name: c for c in doctor.Doctor(dict(os.environ)).run()}
    finally:
        cluster.stop()


def copy_ses_udf(root: Path) -> Path:
    src = root / "udf_src"
    shutil.copytree(PROJECT_DIR / "python_udfs" / "ses_udf", src / "ses_udf")
    if AS_ROOT:
        subprocess.run(["chmod", "-R", "a+rX", str(root)], check=True)
    return src


def test_doctor_on_a_server_without_plpython3u(scratch_root, monkeypatch) -> None:
    bindir = install_without_plpython(scratch_root / "install")
    cluster = ScratchCluster(scratch_root, bindir, str(copy_ses_udf(scratch_root)))
    checks = doctor_on(cluster, monkeypatch)
    assert checks["reachable"].status == "ok"
    assert checks["PostgreSQL"].status == "ok"
    assert checks["plpython3u"].status == "FAIL"
    assert "not installed on the server" in checks["plpython3u"].detail
    assert "postgresql-plpython3-15" in checks["plpython3u"].fix
    assert checks["UDF packages"].status == "skip"
    assert checks["ses_udf"].status == "skip"
    assert checks["migrations"].status == "FAIL"  # a bare server is not built either


def test_doctor_on_a_server_without_the_udf_packages(scratch_root, monkeypatch) -> None:
    # the real installation, but the server's Python path holds only ses_udf
    cluster = ScratchCluster(scratch_root, PGBIN, str(copy_ses_udf(scratch_root)))
    checks = doctor_on(cluster, monkeypatch)
    assert checks["plpython3u"].status == "ok"
    packages = checks["UDF packages"]
    assert packages.status == "FAIL"
    names = list(doctor.udf_requirements())
    assert packages.detail.startswith("missing " + ", ".join(names) + " (server Python 3.11")
    assert "requirements-udf.txt" in packages.fix
    # ses_udf itself imports (its modules load numpy lazily) and is this checkout's code
    assert checks["ses_udf"].status == "ok"
    assert "same code as this checkout" in checks["ses_udf"].detail


def test_doctor_on_the_test_database() -> None:
    checks = {c.name: c for c in doctor.Doctor(dict(os.environ)).run()}
    assert all(c.status in ("ok", "warn") for c in checks.values()), checks
    assert checks["migrations"].detail.endswith(
        f"{len(doctor.migration_ids())} of {len(doctor.migration_ids())} applied"
    )
    assert {"V010__model_activations", "V011__alerts"} <= set(doctor.migration_ids())
