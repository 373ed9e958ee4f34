"""Alerts on failed scheduled runs: a row in ses.alerts and, when SES_ALERT_WEBHOOK
is set, a JSON POST to it (a chat or paging webhook).

The row is written first and the POST goes out even when the database cannot be
reached (the failure may be the database itself); ses.alerts.webhook_status
records whether the POST was delivered. Raising an alert never touches the
registry: the active model stays what it was.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ses_ops.db import connect

WEBHOOK_ENV = "SES_ALERT_WEBHOOK"
WEBHOOK_TIMEOUT_S = 10.0


@dataclass
class Alert:
    id: int | None
    payload: dict[str, Any]
    webhook_status: str | None = None
    database_error: str | None = None


def post_webhook(url: str, payload: dict[str, Any], timeout: float = WEBHOOK_TIMEOUT_S) -> str:
    """POST ``payload`` as JSON; returns what happened, never raises."""
    body = json.dumps(payload, ensure_ascii=False, default=str).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return f"sent (HTTP {response.status})"
    except urllib.error.HTTPError as exc:
        return f"failed: HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"failed: {getattr(exc, 'reason', exc)}"


def raise_alert(
    *,
    source: str,
    job_name: str,
    message: str,
    run_id: str | None = None,
    severity: str = "error",
    details: dict[str, Any] | None = None,
    database: str | None = None,
    webhook: str | None = None,
) -> Alert:
    """Record an alert in ses.alerts and POST it to the webhook (SES_ALERT_WEBHOOK by default)."""
    if not message or not message.strip():
        raise ValueError("an alert needs a message")
    if severity not in ("warning", "error"):
        raise ValueError(f"severity must be warning or error, got {severity!r}")
    webhook = os.environ.get(WEBHOOK_ENV) if webhook is None else webhook
    payload: dict[str, Any] = {
        "source": source,
        "job_name": job_name,
        "run_id": run_id,
        "severity": severity,
        "message": message,
        "details": details or {},
        "raised_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    alert = Alert(id=None, payload=payload)
    conn: psycopg.Connection | None = None
    try:
        conn = connect(dbname=database)
        payload["database"] = conn.info.dbname
        alert.id = conn.execute(
            "insert into ses.alerts (source, job_name, run_id, severity, message, details) "
            "values (%s, %s, %s, %s, %s, %s) returning id",
            (source, job_name, run_id, severity, message, Jsonb(details or {})),
        ).fetchone()[0]
        payload["alert_id"] = alert.id
    except psycopg.Error as exc:
        alert.database_error = str(exc).strip()
        payload["database_error"] = f"not recorded in ses.alerts: {alert.database_error}"
    try:
        if webhook:
            alert.webhook_status = post_webhook(webhook, payload)
            if conn is not None and alert.id is not None:
                conn.execute(
                    "update ses.alerts set webhook_status = %s where id = %s",
                    (alert.webhook_status, alert.id),
                )
    finally:
        if conn is not None:
            conn.close()
    return alert


def list_alerts(
    conn: psycopg.Connection, *, include_acknowledged: bool = False, limit: int = 50
) -> list[dict[str, Any]]:
    cur = conn.execute(
        "select id, created_at, severity, source, job_name, run_id, message, webhook_status, "
        "acknowledged_at, acknowledged_by from ses.alerts "
        "where %s or acknowledged_at is null order by id desc limit %s",
        (include_acknowledged, limit),
    )
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def acknowledge(conn: psycopg.Connection, alert_id: int, actor: str) -> None:
    row = conn.execute(
        "update ses.alerts set acknowledged_at = coalesce(acknowledged_at, now()), "
        "acknowledged_by = coalesce(acknowledged_by, %s) where id = %s returning id",
        (actor, alert_id),
    ).fetchone()
    if row is None:
        raise LookupError(f"no alert with id {alert_id}")
