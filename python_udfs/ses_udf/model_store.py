"""The active learned model, loaded from ses.model_registry and cached per backend.

A database backend (plpython3u) keeps, per serving backend ("onnx" | "candle"), the
model it loaded last, keyed by (version, sha256 of the bytes). Every call reads the
active row's key (one row of a partial unique index) and reloads only when it
changed, so activating a new model takes effect on the next call of every session
without a restart (R-44), and bytes changed in place are noticed too.

`db` is plpython's `plpy` module or anything with the same prepare/execute (see
PsycopgDb for using it from a client process).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from ses_udf import learned_tower as lt

ACTIVE_SQL = (
    "select version, onnx_sha256, candle_sha256 from ses.model_registry where status = 'active'"
)
MODEL_SQL = {
    "onnx": "select metadata, onnx_model as model from ses.model_registry where version = $1",
    "candle": "select metadata, candle_weights as model from ses.model_registry where version = $1",
}


class ModelUnavailableError(RuntimeError):
    """No active model, or the active model cannot be served (the message says why)."""


@dataclass
class LoadedModel:
    backend: str
    version: str
    sha256: str
    model: lt.OnnxModel | lt.CandleModel
    metadata: dict[str, Any]


_LOADED: dict[str, LoadedModel] = {}
_PLANS: dict[tuple[int, str], Any] = {}
_LOCK = threading.Lock()


def _plan(db, key: str, sql: str, types: list[str]):
    # Plans belong to a connection; keyed by the handle so PsycopgDb instances differ.
    k = (id(db), key)
    plan = _PLANS.get(k)
    if plan is None:
        plan = _PLANS[k] = db.prepare(sql, types)
    return plan


def active_key(db) -> tuple[str, str, str] | None:
    """(version, onnx sha256, candle sha256) of the active model, None when none is."""
    rows = db.execute(_plan(db, "active", ACTIVE_SQL, []), [])
    if not rows:
        return None
    r = rows[0]
    return r["version"], r["onnx_sha256"], r["candle_sha256"]


def active_model(db, backend: str) -> LoadedModel:
    """The active model for ``backend``, from this process's cache when still current."""
    if backend not in lt.BACKENDS:
        raise ValueError(f"backend must be one of {lt.BACKENDS}, got {backend!r}")
    key = active_key(db)
    if key is None:
        raise ModelUnavailableError(
            "no active model in ses.model_registry: train and deploy one "
            "(python -m training.retrain)"
        )
    version, onnx_sha, candle_sha = key
    sha = onnx_sha if backend == "onnx" else candle_sha
    cached = _LOADED.get(backend)
    if cached is not None and (cached.version, cached.sha256) == (version, sha):
        return cached
    with _LOCK:
        cached = _LOADED.get(backend)
        if cached is not None and (cached.version, cached.sha256) == (version, sha):
            return cached
        rows = db.execute(_plan(db, f"model-{backend}", MODEL_SQL[backend], ["text"]), [version])
        if not rows or rows[0]["model"] is None:
            raise ModelUnavailableError(
                f"active model {version} has no {lt.BACKEND_FILE[backend]} bytes in ses.model_registry"
            )
        metadata = rows[0]["metadata"]
        if isinstance(metadata, str):  # plpython hands jsonb over as text
            metadata = json.loads(metadata)
        try:
            if not isinstance(metadata, dict) or metadata.get("version") != version:
                raise lt.ModelFileError(
                    f"metadata names version {metadata.get('version') if isinstance(metadata, dict) else None!r}"
                )
            model = lt.load_model(backend, rows[0]["model"], metadata)
        except lt.ModelFileError as exc:
            raise ModelUnavailableError(
                f"active model {version} cannot be served by {backend}: {exc}"
            ) from exc
        loaded = LoadedModel(backend, version, sha, model, metadata)
        _LOADED[backend] = loaded
        return loaded


def cached_versions() -> dict[str, str]:
    """backend -> version loaded in this process (for tests and diagnostics)."""
    return {b: m.version for b, m in _LOADED.items()}


def clear() -> None:
    _LOADED.clear()
    _PLANS.clear()


class PsycopgDb:
    """plpy's prepare/execute over a psycopg 3 connection, so client code (benchmarks,
    tests, the training pipeline) runs exactly the serving path of the database."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def prepare(self, sql: str, types: list[str]) -> str:
        # $n placeholders (in order, each once in our statements) -> psycopg's %s.
        return re.sub(r"\$\d+", "%s", sql)

    def execute(self, plan: str, args: list[Any]) -> list[dict[str, Any]]:
        cur = self.conn.execute(plan, args)
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
