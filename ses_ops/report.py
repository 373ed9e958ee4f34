"""The demo report: label stats, outcome mix and A/B report from the label views,
plots (label growth per day, outcome mix, two-tower scores by outcome, A/B
rates) as PNG, and an index.html + summary.json tying them together.

Everything shown comes from the database's views (ses.training_stats,
ses.interaction_outcomes, ses.ab_variant_report, ...) except two simulator-side
series: the nightly label snapshots (taken by the loop's LabelSnapshot hook)
and the hidden chemistry of the displayed candidates (ground truth the product
never sees, used here only to judge the rankings).
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np
import psycopg

OUTCOME_ORDER = (
    "accepted",
    "rejected",
    "interview_scheduled",
    "review_ok",
    "review_ng",
    "thumbs_up",
    "thumbs_down",
    "no_response",
)
POSITIVE = {"accepted", "interview_scheduled", "review_ok", "thumbs_up"}
NEGATIVE = {"rejected", "review_ng", "thumbs_down"}
AB_RATES = ("thumbs_up", "accepted", "interview_scheduled")


def _rows(conn: psycopg.Connection, sql: str) -> list[dict[str, Any]]:
    cur = conn.execute(sql)
    names = [c.name for c in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def collect(conn: psycopg.Connection) -> dict[str, Any]:
    """Everything the report prints, read from the label and report views."""
    stats = _rows(conn, "select * from ses.training_stats")[0]
    outcomes = _rows(
        conn,
        "select outcome, count(*) as n from ses.interaction_outcomes group by 1 order by 2 desc",
    )
    labels = _rows(
        conn,
        "select signal_source, count(*) as n, avg(label)::float8 as mean_label "
        "from ses.training_labels group by 1 order by 1",
    )
    ab = _rows(conn, "select * from ses.ab_variant_report order by variant")
    events = _rows(
        conn,
        "select 'feedback' as kind, feedback_type as type, count(*) as n, "
        "count(*) filter (where is_revoked) as revoked from ses.feedback_events group by 2 "
        "union all select 'behavior', event_type, count(*), 0 from ses.interaction_events group by 2 "
        "union all select 'conversion', stage || case when interaction_id is null then ' (unlinked)' "
        "else '' end, count(*), 0 from ses.conversion_events group by 2 order by 1, 3 desc",
    )
    scores = conn.execute(
        "select io.outcome, il.two_tower_score from ses.interaction_outcomes as io "
        "inner join ses.interaction_logs as il on io.interaction_id = il.id "
        "where il.two_tower_score is not null"
    ).fetchall()
    config = conn.execute("select ses.two_tower_config(), ses.two_tower_weight()").fetchone()
    return {
        "training_stats": stats,
        "outcome_mix": outcomes,
        "labels_by_source": labels,
        "ab_variant_report": ab,
        "events": events,
        "two_tower_scores": scores,
        "two_tower_config": config[0],
        "two_tower_weight": config[1],
    }


def chemistry_by_week(runs: Sequence[Any], start: date) -> list[dict[str, Any]]:
    """Mean hidden chemistry of the displayed top 10, per simulated week and variant."""
    acc: dict[tuple[int, str], list[float]] = defaultdict(list)
    for r in runs:
        if r.chemistry_top10 is not None:
            acc[((r.day - start).days // 7 + 1, r.variant or "unassigned")].append(
                r.chemistry_top10
            )
    return [
        {"week": w, "variant": v, "runs": len(xs), "mean_chemistry_top10": float(np.mean(xs))}
        for (w, v), xs in sorted(acc.items())
    ]


# -- plots ----------------------------------------------------------------


def plot_label_growth(snapshots: Sequence[dict[str, Any]], path: Path) -> None:
    days = [s["day"] for s in snapshots]
    x = np.arange(len(days))
    fig, ax = plt.subplots(figsize=(9, 4.8))
    ax.plot(x, [s["training_pairs"] for s in snapshots], lw=2.2, label="training_pairs (R-10)")
    total = [
        s["labels_conversion"] + s["labels_feedback"] + s["labels_behavior"] for s in snapshots
    ]
    ax.plot(x, total, lw=2.2, label="training_labels (R-11), all")
    for key, name in (
        ("labels_conversion", "conversion"),
        ("labels_feedback", "feedback"),
        ("labels_behavior", "behaviour"),
    ):
        ax.plot(x, [s[key] for s in snapshots], lw=1, ls="--", label=f"R-11 from {name}")
    for level in (500, 1000):
        ax.axhline(level, color="grey", lw=0.6, ls=":")
        ax.text(0, level, f" cold start {level}", va="bottom", fontsize=7, color="grey")
    step = max(1, len(days) // 10)
    ax.set_xticks(x[::step], [d[5:] for d in days[::step]], rotation=45)
    ax.set_xlabel("simulated day (after the nightly build)")
    ax.set_ylabel("labelled interactions")
    ax.set_title("Label growth per day")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_outcome_mix(outcomes: Sequence[dict[str, Any]], path: Path) -> None:
    counts = {r["outcome"]: r["n"] for r in outcomes}
    names = [o for o in OUTCOME_ORDER if counts.get(o)]
    values = [counts[o] for o in names]
    colors = [
        "tab:green" if o in POSITIVE else "tab:red" if o in NEGATIVE else "tab:gray" for o in names
    ]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.barh(names[::-1], values[::-1], color=colors[::-1])
    for i, v in enumerate(values[::-1]):
        ax.text(v, i, f" {v}", va="center", fontsize=8)
    total = sum(counts.values())
    ax.set_title(
        f"Outcome mix (R-03) of {total} displayed pairs\n"
        f"({counts.get(None, 0)} without feedback, not shown)"
    )
    ax.set_xlabel("interactions")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scores_by_outcome(scores: Sequence[tuple[str | None, float]], path: Path) -> None:
    by_outcome: dict[str, list[float]] = defaultdict(list)
    for outcome, score in scores:
        by_outcome[outcome or "(no feedback)"].append(score)
    groups = {
        "positive (accepted, interview, review_ok, thumbs_up)": [
            s for o in POSITIVE for s in by_outcome.get(o, [])
        ],
        "negative (rejected, review_ng, thumbs_down)": [
            s for o in NEGATIVE for s in by_outcome.get(o, [])
        ],
        "no feedback": by_outcome.get("(no feedback)", []),
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    bins = np.linspace(
        min((min(v) for v in groups.values() if v), default=0.0),
        max((max(v) for v in groups.values() if v), default=1.0),
        40,
    )
    for name, values in groups.items():
        if values:
            left.hist(
                values,
                bins=bins,
                density=True,
                histtype="step",
                lw=1.8,
                label=f"{name} (n={len(values)})",
            )
    left.set_xlabel("two_tower_score logged at display")
    left.set_ylabel("density")
    left.set_title("Two-tower score by outcome")
    left.legend(fontsize=7)
    names = [o for o in (*OUTCOME_ORDER, "(no feedback)") if by_outcome.get(o)]
    right.boxplot([by_outcome[o] for o in names], showfliers=False)
    right.set_xticks(range(1, len(names) + 1), names, rotation=40, ha="right", fontsize=8)
    right.set_ylabel("two_tower_score")
    right.set_title("per outcome (boxes: quartiles)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_ab(ab: Sequence[dict[str, Any]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 4.2))
    width = 0.8 / max(len(ab), 1)
    x = np.arange(len(AB_RATES))
    for i, row in enumerate(ab):
        rates = np.array([row[f"{r}_rate"] for r in AB_RATES], dtype=float)
        lower = np.array([row[f"{r}_rate_lower"] for r in AB_RATES], dtype=float)
        upper = np.array([row[f"{r}_rate_upper"] for r in AB_RATES], dtype=float)
        ax.bar(
            x + i * width,
            rates,
            width,
            yerr=[rates - lower, upper - rates],
            capsize=3,
            label=f"{row['variant']} ({row['exposures']} exposures, {row['projects']} projects)",
        )
    ax.set_xticks(x + width * (len(ab) - 1) / 2, [f"{r}_rate" for r in AB_RATES])
    ax.set_ylabel("share of exposures (95% Wilson interval)")
    ax.set_title("A/B variants (ses.ab_variant_report)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- output ---------------------------------------------------------------


def _table(rows: Sequence[dict[str, Any]], floats: int = 4) -> str:
    if not rows:
        return "<p>(none)</p>"
    cols = list(rows[0])

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.{floats}f}"
        return html.escape("(none)" if v is None else str(v))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{cell(r[c])}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


def write_report(
    out_dir: Path,
    data: dict[str, Any],
    snapshots: Sequence[dict[str, Any]],
    chemistry: Sequence[dict[str, Any]],
    meta: dict[str, Any],
    *,
    retrains: Sequence[dict[str, Any]] = (),
    curve: Sequence[dict[str, Any]] = (),
) -> Path:
    """Write the PNGs, index.html and summary.json into out_dir; returns index.html.
    ``curve`` rows come from training.learning_curve, whose save() wrote
    learning_curve.png into out_dir already."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = {
        "label_growth.png": "Label growth per day",
        "outcome_mix.png": "Outcome mix",
        "two_tower_by_outcome.png": "Two-tower score distributions by outcome",
        "ab_rates.png": "A/B rates",
    }
    plot_label_growth(snapshots, out_dir / "label_growth.png")
    plot_outcome_mix(data["outcome_mix"], out_dir / "outcome_mix.png")
    plot_scores_by_outcome(data["two_tower_scores"], out_dir / "two_tower_by_outcome.png")
    plot_ab(data["ab_variant_report"], out_dir / "ab_rates.png")

    summary = {k: v for k, v in data.items() if k != "two_tower_scores"}
    summary.update(
        {
            "meta": meta,
            "nightly": list(snapshots),
            "chemistry_by_week": list(chemistry),
            "retrains": list(retrains),
            "learning_curve": list(curve),
        }
    )
    (out_dir / "summary.json").write_text(
        json.dumps(_jsonable(summary), indent=2, ensure_ascii=False), encoding="utf-8"
    )

    meta_rows = [{"setting": k, "value": v} for k, v in meta.items()]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>ses_match demo</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;"
        "padding:2px 8px;font-size:13px;text-align:right}th{background:#f3f3f3}"
        "img{max-width:100%;border:1px solid #eee}</style></head><body>",
        "<h1>ses_match closed-loop demo</h1>",
        "<p>A simulated SES market (simulator/) drove the real database: match runs through "
        "<code>ses.run_match</code>, sales-staff reactions through the write-path functions, "
        "a <code>dbt build</code> every night. Tables below come from the label and report views.</p>",
        "<h2>Run</h2>",
        _table(meta_rows),
        "<h2>Label stats (ses.training_stats)</h2>",
        _table([data["training_stats"]]),
        "<h2>Labels by signal source (ses.training_labels)</h2>",
        _table(data["labels_by_source"]),
        "<h2>Outcome mix (ses.interaction_outcomes)</h2>",
        _table(data["outcome_mix"]),
        "<h2>A/B report (ses.ab_variant_report)</h2>",
        _table(data["ab_variant_report"]),
        "<h2>Hidden chemistry of the displayed top 10 (simulator ground truth)</h2>",
        "<p>Mean chemistry (z-scale) of the ten best-ranked displayed candidates per run, by "
        "simulated week and variant. The product never sees it.</p>",
        _table(list(chemistry)),
        "<h2>Retrains (training.retrain as a nightly hook)</h2>",
        "<p>R-43 triggers (first model at 500 labels, then weekly or 500 new labels); "
        "held-out metrics of the new model and of the hash baseline on the same split; "
        "deployed only past the R-42 gate (AUC &gt; 0.7, not worse than the active model).</p>",
        _table(list(retrains)),
        "<h2>Events written (by type)</h2>",
        _table(data["events"]),
    ]
    if curve:
        parts += [
            "<h2>Learning curve (same simulated market, offline)</h2>",
            _table(
                [
                    {k: r[k] for k in ("labels", "model", "auc", "recall_at_10", "mrr")}
                    for r in curve
                ]
            ),
            "<img src='learning_curve.png' alt='learning curve'>",
        ]
    for name, title in plots.items():
        parts.append(f"<h2>{html.escape(title)}</h2><img src='{name}' alt='{html.escape(title)}'>")
    parts.append("<h2>Nightly snapshots</h2>")
    parts.append(_table(list(snapshots)))
    parts.append("</body></html>")
    index = out_dir / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    return index
