"""Operating the model registry (ses.model_registry): list, inspect, export,
activate a version on purpose, roll back, and the activation history.

Every trained candidate keeps its bytes and metrics whatever the gate said
(status ``rejected`` when refused, ``candidate`` when it passed but was not
activated), so any of them can be deployed deliberately. Switching goes through
ses.activate_model / ses.rollback_model (one transaction each); serving picks the
change up on the next call of every session (hot reload, R-44), and
ses.model_activations records who, why, when and from which version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

LIST_SQL = """
select version, status, trained_at, labeled_count,
       (metrics -> 'learned' ->> 'auc')::float8 as learned_auc,
       (metrics -> 'hash' ->> 'auc')::float8 as hash_auc,
       (metrics -> 'learned' ->> 'labelled_pairs')::int as holdout_labels,
       onnx_model is not null and candle_weights is not null as has_bytes,
       activated_at, retired_at, reason
from ses.model_registry
order by trained_at desc, created_at desc
"""

SHOW_SQL = """
select version, status, created_at, trained_at, labeled_count, max_label_at, metrics, metadata,
       length(onnx_model) as onnx_bytes, length(candle_weights) as candle_bytes,
       onnx_sha256, candle_sha256, reason, activated_at, retired_at
from ses.model_registry where version = %s
"""

HISTORY_SQL = """
select id, activated_at, action, version, previous_version, activated_by, db_user, reason
from ses.model_activations
where %(version)s::text is null or version = %(version)s or previous_version = %(version)s
order by id desc
limit %(limit)s
"""


class RegistryError(RuntimeError):
    """A registry operation was refused (the message says why); nothing changed."""


def _rows(cur: psycopg.Cursor) -> list[dict[str, Any]]:
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def list_models(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return _rows(conn.execute(LIST_SQL))


def active_version(conn: psycopg.Connection) -> str | None:
    return conn.execute("select ses.active_model_version()").fetchone()[0]


def show_model(conn: psycopg.Connection, version: str) -> dict[str, Any]:
    rows = _rows(conn.execute(SHOW_SQL, (version,)))
    if not rows:
        raise RegistryError(f"unknown model version {version!r} (ses-match models list shows them)")
    model = rows[0]
    model["history"] = history(conn, version=version)
    return model


def history(
    conn: psycopg.Connection, *, version: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    return _rows(conn.execute(HISTORY_SQL, {"version": version, "limit": limit}))


def _switch(conn: psycopg.Connection, sql: str, args: tuple, actor: str | None) -> str:
    try:
        with conn.transaction():
            if actor:
                conn.execute("select set_config('ses.actor', %s, true)", (actor,))
            return conn.execute(sql, args).fetchone()[0]
    except psycopg.Error as exc:
        raise RegistryError(
            (exc.diag.message_primary or str(exc)).strip() + "; the active model is unchanged"
        ) from exc


def activate(
    conn: psycopg.Connection, version: str, *, reason: str | None = None, actor: str | None = None
) -> tuple[str | None, str]:
    """Deploy ``version`` (a candidate, a rejected candidate with its bytes, or a
    retired model); returns (previous active version, version)."""
    previous = active_version(conn)
    _switch(conn, "select ses.activate_model(%s, %s)", (version, reason), actor)
    return previous, version


def rollback(
    conn: psycopg.Connection, *, reason: str | None = None, actor: str | None = None
) -> tuple[str | None, str]:
    """Return to the model active before the current one; returns (from, to)."""
    previous = active_version(conn)
    now_active = _switch(conn, "select ses.rollback_model(%s)", (reason,), actor)
    return previous, now_active


def export(conn: psycopg.Connection, version: str, directory: Path) -> list[Path]:
    """Write a stored model's files (two_tower_<version>.onnx / .safetensors / .json)."""
    from training.export import ModelArtifacts

    row = conn.execute(
        "select onnx_model, candle_weights, metadata from ses.model_registry where version = %s",
        (version,),
    ).fetchone()
    if row is None:
        raise RegistryError(f"unknown model version {version!r}")
    if row[0] is None or row[1] is None:
        raise RegistryError(f"model {version} has no stored bytes (its export failed)")
    artifacts = ModelArtifacts(version, bytes(row[0]), bytes(row[1]), row[2])
    return sorted(artifacts.write(directory).values())
