"""A small labelled world for retrain / registry / scheduler tests: simulator talents
and projects, one match run per project (a project an hour, through the write path)
and feedback on about half of the displayed candidates, following the hidden
chemistry. Every label is final 30 minutes after its display."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from simulator import (
    PROJECT_COLUMNS,
    TALENT_COLUMNS,
    Chemistry,
    WorldConfig,
    copy_statement,
    generate_projects,
    generate_talents,
    write_copy,
)
from simulator.world import JST

START = datetime(2025, 6, 2, 9, 0, tzinfo=JST)
N_TALENTS, N_PROJECTS, SHOWN = 240, 48, 20
TABLES = (
    "ses.feedback_events, ses.interaction_events, ses.conversion_events, "
    "ses.interaction_logs, ses.match_results, ses.match_runs, ses.talent_embeddings, "
    "ses.project_embeddings, ses.talents, ses.projects, ses.talent_versions, ses.project_versions, "
    "ses.model_registry, ses.model_activations"
)


def copy_rows(conn: psycopg.Connection, table: str, rows: list[dict], columns) -> None:
    buf = io.StringIO()
    write_copy(rows, columns, buf)
    with conn.cursor() as cur, cur.copy(copy_statement(table, columns)) as copy:
        copy.write(buf.getvalue())


def load_labelled_world(conn: psycopg.Connection, start: datetime = START, seed: int = 41) -> dict:
    """Empty the operational tables, the registry and its history, then load the world; returns
    {"talents", "projects", "labels"}."""
    conn.execute(f"truncate {TABLES} restart identity cascade")
    rng = np.random.default_rng(seed)
    cfg = WorldConfig(seed=seed)
    window = (start - timedelta(days=30), start)
    talents = generate_talents(rng, N_TALENTS, updated_between=window, config=cfg)
    projects = generate_projects(rng, N_PROJECTS, updated_between=window, config=cfg)
    copy_rows(conn, "ses.talents", talents, TALENT_COLUMNS)
    copy_rows(conn, "ses.projects", projects, PROJECT_COLUMNS)
    chem = Chemistry(seed)
    labels = 0
    for i, project in enumerate(projects):
        at = start + timedelta(hours=i)
        shown = rng.choice(N_TALENTS, SHOWN, replace=False)
        candidates = [
            {"talent_id": talents[t]["id"], "rank": r + 1, "two_tower_score": 0.5}
            for r, t in enumerate(shown)
        ]
        run_id = conn.execute(
            "select ses.log_match_run(%s, %s, 'test', 'test', 'hash', 'v2', p_created_at => %s)",
            (project["id"], Jsonb(candidates), at),
        ).fetchone()[0]
        ids = dict(
            conn.execute(
                "select talent_id, id from ses.interaction_logs where match_run_id = %s",
                (run_id,),
            ).fetchall()
        )
        c = chem.score_pairs([talents[t] for t in shown], [project] * SHOWN)
        for t, value in zip(shown, c, strict=True):
            if rng.random() < 0.5:
                kind = "thumbs_up" if value > 0.3 else "thumbs_down"
                conn.execute(
                    "select ses.record_feedback(%s, %s, 'sales-t', 'gui', null, %s)",
                    (ids[talents[t]["id"]], kind, at + timedelta(minutes=30)),
                )
                labels += 1
    return {"talents": talents, "projects": projects, "labels": labels}
