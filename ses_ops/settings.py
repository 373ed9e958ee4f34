"""The two-tower settings in force, kept across scheduled builds.

Every `dbt build` renders the TWO_TOWER_* settings of its environment into
ses.two_tower_config() (R-23; dbt_project.yml reads them with env_var). A
scheduler's environment is usually bare, so a nightly build would quietly put
back the defaults (serving `hash` again after an operator switched to `onnx`).
The scheduled builds (`ses-match build|nightly`, the Dagster jobs) therefore pass
the settings in force as dbt vars for every TWO_TOWER_* variable that is not
set; one that is set wins, which is how an operator changes a setting.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import psycopg

# env var -> (dbt var in dbt_project.yml, key in ses.two_tower_config())
SETTINGS: dict[str, tuple[str, str]] = {
    "TWO_TOWER_EMBEDDER": ("two_tower_embedder", "embedder"),
    "TWO_TOWER_DIMENSION": ("two_tower_dimension", "dimension"),
    "TWO_TOWER_WEIGHT": ("two_tower_weight", "weight_override"),
    "TWO_TOWER_ENABLED": ("two_tower_enabled", "enabled"),
    "TWO_TOWER_MODE": ("two_tower_mode", "mode"),
    "TWO_TOWER_ROLLOUT_PCT": ("two_tower_rollout_pct", "rollout_pct"),
    "TWO_TOWER_MATURE_WEIGHT": ("two_tower_mature_weight", "mature_weight"),
}


def settings_in_force(conn: psycopg.Connection) -> dict[str, Any] | None:
    """ses.two_tower_config() of the last build, None before the first one."""
    exists = conn.execute("select to_regprocedure('ses.two_tower_config()')").fetchone()[0]
    if exists is None:
        return None
    return conn.execute("select ses.two_tower_config()").fetchone()[0]


def _as_var(value: Any) -> str:
    if value is None:
        return ""  # weight_override None = the cold-start schedule
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def kept_settings(
    conn: psycopg.Connection, environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """dbt vars that keep the settings in force for every TWO_TOWER_* not set."""
    config = settings_in_force(conn)
    if not config:
        return {}
    return {
        var: _as_var(config.get(key))
        for env, (var, key) in SETTINGS.items()
        if env not in environ and key in config
    }


def vars_args(variables: Mapping[str, str]) -> list[str]:
    """`--vars` arguments for dbt (nothing when empty)."""
    return ["--vars", json.dumps(dict(variables), sort_keys=True)] if variables else []
