"""The main job (`make demo`): a fresh database, several simulated weeks of a
Japanese SES market driving the real system, nightly builds, then the label
stats, the outcome mix, the A/B report and a report with plots.

1. recreate the database named by PGDATABASE (default ses_match) and `dbt build` it;
2. load the simulated world (COPY) and build once more (embedding caches);
3. simulate day by day (simulator.loop): projects and talents arrive, every new
   project is matched with ses.run_match, open projects are re-matched weekly,
   simulated sales staff react through the write-path functions only, and a
   `dbt build` runs every night (the history-wide tests and ranked_candidates on
   Sunday nights and the last night; --full-nightly for all of it every night);
   after each build the retrain job runs when due (R-43: the first model at 500
   labels, then weekly or every 500 new labels; training.retrain), and the first
   model the gate deploys is served from then on (TWO_TOWER_EMBEDDER=onnx + a build;
   later deploys are hot-reloaded);
4. print ses.training_stats, the outcome mix, the labels per signal source,
   ses.ab_variant_report and every retrain (learned vs hash on its held-out split,
   gate verdict); then the learning curve of this database (training.learning_curve:
   ~500 .. 5k labels, learned vs hash vs popularity, the hidden chemistry as the
   oracle), and where the time went; write reports/demo/ (index.html,
   summary.json, PNGs, learning_curve.csv/png).

Two-tower settings: unless TWO_TOWER_* are set in the environment, the demo
serves the two-tower to 30 % of the projects and interleaves 40 %
(TWO_TOWER_ENABLED=true, TWO_TOWER_MODE=serving, TWO_TOWER_ROLLOUT_PCT=30,
TWO_TOWER_INTERLEAVING_PCT=40): variants control, two_tower_30pct and
interleaving (docs/interleaving.md); the weight follows the cold-start schedule
(R-34) as labels accumulate. Every displayed pair logs its two-tower score in
every variant.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from datetime import date
from pathlib import Path

from ses_ops.db import connect, current_database
from ses_ops.dbt_runner import PROJECT_DIR
from ses_ops.ensure_database import ensure_database
from ses_ops.report import chemistry_by_week, collect, write_report
from ses_ops.tables import print_table
from simulator import WorldConfig
from simulator.loop import ClosedLoop, DayContext, LoopConfig
from simulator.nightly import DbtBuild, LabelSnapshot, NightlyBuild, nightly_build_args
from training import learning_curve as lc
from training.retrain import RetrainConfig, RetrainHook, default_train_config, load_labelled_data
from training.tuning import TuningConfig

DEMO_TWO_TOWER = {
    "TWO_TOWER_ENABLED": "true",
    "TWO_TOWER_MODE": "serving",
    "TWO_TOWER_ROLLOUT_PCT": "30",
    # team-draft interleaving on 40 % of the projects (docs/interleaving.md)
    "TWO_TOWER_INTERLEAVING_PCT": "40",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--weeks", type=int, default=8, help="simulated weeks (default 8)")
    p.add_argument("--talents", type=int, default=1000, help="initial talents (default 1000)")
    p.add_argument("--projects", type=int, default=150, help="initial open projects (default 150)")
    p.add_argument(
        "--projects-per-day",
        type=float,
        default=30.0,
        help="new projects per business day, Poisson mean (default 30)",
    )
    p.add_argument(
        "--talents-per-day",
        type=float,
        default=8.0,
        help="new talents per business day, Poisson mean (default 8)",
    )
    p.add_argument("--seed", type=int, default=20250401)
    p.add_argument("--start", type=date.fromisoformat, default=date(2025, 4, 1), help="first day")
    p.add_argument("--top-k", type=int, default=20, help="candidates displayed per match run")
    p.add_argument("--rerun-every", type=int, default=7, help="re-match open projects every N days")
    p.add_argument(
        "--full-nightly",
        action="store_true",
        help="complete build every night (default: the history-wide tests and the "
        "ranked_candidates mart on Sunday nights and the last night only)",
    )
    p.add_argument(
        "--train-threads",
        type=int,
        default=1,
        help="threads of each training (retrains, learning curve; default 1: on a shared "
        "2-core machine a second thread made a retrain 3-4x slower)",
    )
    p.add_argument(
        "--report-dir", type=Path, default=PROJECT_DIR / "reports" / "demo", help="report folder"
    )
    p.add_argument(
        "--curve-sizes",
        default="500,1000,2000,5000",
        help="label counts of the learning curve on the demo database ('' to skip it)",
    )
    args = p.parse_args(argv)
    for name in ("weeks", "talents", "projects", "top_k"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    return args


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f} (1 / 5 / 15 min, {os.cpu_count()} CPUs)"


class ServeLearnedModel:
    """Nightly hook after RetrainHook: when the first model is deployed, serve it
    (TWO_TOWER_EMBEDDER=onnx, then a build so ses.two_tower_config and the embedding
    caches follow), as README "Serving in the database" tells an operator to do.
    Later deploys need nothing: the onnx embedder reloads the active model."""

    def __init__(self, dbt: DbtBuild, *, light: bool) -> None:
        self.dbt = dbt
        self.light = light
        self.first_version: str | None = None
        self.first_day = None

    def __call__(self, ctx: DayContext) -> None:
        if self.first_version or ctx.summary.notes.get("retrain") != "deployed":
            return
        self.first_version = ctx.summary.notes.get("retrain_version")
        self.first_day = ctx.day
        os.environ["TWO_TOWER_EMBEDDER"] = "onnx"
        self.dbt.reparse()
        seconds = self.dbt.invoke(nightly_build_args(self.light))
        ctx.summary.notes["serve"] = f"onnx from now on (build {seconds:.1f}s)"


def retrain_note(notes: dict) -> str:
    status = notes.get("retrain")
    if status in (None, "not_due"):
        return ""
    text = f"  retrain {status}"
    if "retrain_version" in notes:
        text += f" {notes['retrain_version']}"
    if "retrain_auc" in notes:
        text += f" (held-out AUC {notes['retrain_auc']:.3f})"
    if "serve" in notes:
        text += f"; serving {notes['serve']}"
    return text


def retrain_rows(hook: RetrainHook) -> list[dict]:
    """One row per retrain: the candidate and the baselines on its held-out split."""
    rows = []
    for day, report in hook.reports:
        if report.status == "not_due":
            continue
        m = report.metrics
        learned, baseline = m.get("learned") or {}, m.get("hash") or {}
        popularity = max(
            ((k, v) for k, v in (m.get("baselines") or {}).items() if k.startswith("popularity")),
            key=lambda kv: kv[1].get("auc") or 0.0,
            default=("popularity", {}),
        )
        rows.append(
            {
                "night": day.isoformat(),
                "labels": report.snapshot.get("label_count"),
                "status": report.status,
                "version": report.version,
                "settings": (m.get("tuning") or {}).get("chosen"),
                "learned auc": learned.get("auc"),
                "learned mrr": learned.get("mrr"),
                "hash auc": baseline.get("auc"),
                "popularity auc": popularity[1].get("auc"),
            }
        )
    return rows


def demo_learning_curve(
    conn, oracle: dict[int, float], until, sizes: list[int], threads: int
) -> list[dict]:
    """training.learning_curve on the demo's own database (what a retrain reads), with
    the simulator's hidden chemistry of every displayed pair as the oracle row; only
    the sizes that leave lc.DEFAULT_HOLDOUT_LABELS labels to hold out."""
    data = load_labelled_data(conn, until)
    fitting = [n for n in sizes if n + lc.DEFAULT_HOLDOUT_LABELS <= data.label_count]
    if fitting != sizes:
        print(f"  {data.label_count} labels: curve sizes {fitting} (of {sizes})")
    if not fitting:
        return []
    return lc.learning_curve(
        data,
        fitting,
        default_train_config(0, threads),
        tuning=TuningConfig(),
        oracle=oracle,
        log=lambda m: print(f"  {m}"),
    )


def print_interleaving(conn, chemistry: dict[int, float]) -> None:
    """Interleaving vs the project-level A/B over the same weeks, and the hidden
    chemistry of each team's picks (simulator truth the product never sees)."""
    weeks = conn.execute(
        "select treatment_version, week, match_runs, wins, losses, ties, preference, "
        "preference_lower, preference_upper, verdict from ses.interleaving_report "
        "where slice = 'week_to_date' order by treatment_version, week"
    ).fetchall()
    cols = ("treatment", "week to date", "runs", "wins", "losses", "ties", "preference", "lower")
    rows = [dict(zip((*cols, "upper", "verdict"), w, strict=True)) for w in weeks]
    print_table("interleaving per treatment version, cumulative (ses.interleaving_report)", rows, 3)
    for version in dict.fromkeys(r["treatment"] for r in rows):
        mine = [r for r in rows if r["treatment"] == version]
        first = next((r for r in mine if r["verdict"] != "undecided"), None)
        print(
            f"  {version}: preference for {first['verdict']} significant after "
            f"{mine.index(first) + 1} week(s) / {first['runs']} interleaved match runs"
            if first
            else f"  {version}: not significant after {len(mine)} week(s) / {mine[-1]['runs']} runs"
        )
    ab = conn.execute(
        "select variant, projects, exposures, thumbs_up_diff_vs_control, thumbs_up_diff_lower, "
        "thumbs_up_diff_upper from ses.ab_variant_report where variant like 'two\\_tower\\_%'"
    ).fetchall()
    for variant, projects, exposures, diff, lower, upper in ab:
        verdict = "not significant" if lower is None or lower <= 0 <= upper else "significant"
        print(
            f"project-level A/B, same period: {variant} ({projects} projects, {exposures} "
            f"exposures) thumbs-up rate vs control {diff:+.4f} [{lower:+.4f}, {upper:+.4f}] "
            f"clustered 95% CI: {verdict}"
            if lower is not None
            else f"project-level A/B, same period: {variant}: too few projects for an interval"
        )
    picks = conn.execute(
        "select il.id, mr.team from ses.match_results as mr inner join ses.interaction_logs as il "
        "on il.match_result_id = mr.id where mr.team is not null"
    ).fetchall()
    by_team: dict[str, list[float]] = {}
    for interaction_id, team in picks:
        if interaction_id in chemistry:
            by_team.setdefault(team, []).append(chemistry[interaction_id])
    print_table(
        "hidden chemistry of each team's picks (simulator truth)",
        [
            {"team": t, "picks": len(v), "mean chemistry": sum(v) / len(v)}
            for t, v in sorted(by_team.items())
        ],
        3,
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    for key, value in DEMO_TWO_TOWER.items():
        os.environ.setdefault(key, value)
    database = current_database()
    two_tower = {k: os.environ[k] for k in sorted(os.environ) if k.startswith("TWO_TOWER_")}
    print(f"database {database} (recreated); two-tower settings {two_tower}")
    print(f"load average at the start: {load_average()}")

    ensure_database(database, recreate=True)
    dbt = DbtBuild(database, threads=4)  # nightly builds: many small nodes, round-trip bound
    setup_build = dbt.invoke(nightly_build_args(light=False))
    print(f"dbt build on the empty database: {setup_build:.1f}s")

    config = LoopConfig(
        world=WorldConfig(
            seed=args.seed,
            n_talents=args.talents,
            n_projects=args.projects,
            start_date=args.start,
            projects_per_business_day=args.projects_per_day,
            talents_per_business_day=args.talents_per_day,
        ),
        days=7 * args.weeks,
        top_k=args.top_k,
        rerun_every_days=args.rerun_every,
    )
    snapshots = LabelSnapshot()

    def weekly_or_last_night(ctx: DayContext) -> bool:
        return ctx.day.weekday() == 6 or ctx.index == config.days - 1

    nightly = NightlyBuild(dbt, light=not args.full_nightly, full_when=weekly_or_last_night)
    retrain = RetrainHook(
        RetrainConfig(
            seed=0,
            model_dir=args.report_dir / "models",
            train=default_train_config(0, args.train_threads),
        ),
        log=lambda _: None,
    )
    serve = ServeLearnedModel(dbt, light=not args.full_nightly)

    def progress(ctx: DayContext) -> None:
        s, snap = ctx.summary, snapshots.rows[-1]
        print(
            f"  {ctx.day} {ctx.day:%a}  runs {s.runs:>3}  displayed {s.displayed:>4}  "
            f"events {sum(s.events.values()):>4}  labels R-10 {snap['training_pairs']:>5}  "
            f"weight {snap['two_tower_weight']:.2f}  {s.notes.get('dbt_build')} build "
            f"{s.notes.get('dbt_build_s', 0):.1f}s (dbt execution {s.notes.get('dbt_execution_s', 0):.1f}s)"
            f"{retrain_note(s.notes)}",
            flush=True,
        )

    with connect(dbname=database) as conn:
        loop = ClosedLoop(
            conn, config, nightly_hooks=[nightly, snapshots, retrain, serve, progress]
        )
        loop.load_world()
        load_build = dbt.invoke(nightly_build_args(light=not args.full_nightly))
        print(
            f"world loaded: {loop.ledger.talents_added} talents, {loop.ledger.projects_added} "
            f"projects (COPY); build with embedding caches {load_build:.1f}s"
        )
        print(f"simulating {config.days} days from {args.start} (seed {args.seed}) ...")
        sim_started = time.perf_counter()
        setup_seconds = sim_started - started
        loop.run()
        sim_seconds = time.perf_counter() - sim_started
        build_seconds = sum(d.notes.get("dbt_build_s", 0.0) for d in loop.days)
        phases = Counter()
        for d in loop.days:
            phases.update(d.seconds)
        data = collect(conn)
        curve: list[dict] = []
        curve_seconds = 0.0
        sizes = sorted(int(x) for x in args.curve_sizes.split(",") if x.strip())
        if sizes:
            curve_started = time.perf_counter()
            print(f"\nlearning curve on this database ({sizes} labels) ...")
            until = conn.execute("select max(created_at) from ses.interaction_logs").fetchone()[0]
            curve = demo_learning_curve(
                conn, loop.ledger.chemistry, until, sizes, args.train_threads
            )
            curve_seconds = time.perf_counter() - curve_started

    led = loop.ledger
    print_table("training_stats", [data["training_stats"]])
    print_table("outcome mix (ses.interaction_outcomes)", data["outcome_mix"])
    print_table("labels by signal source (ses.training_labels)", data["labels_by_source"], 3)
    print_table("A/B report (ses.ab_variant_report)", data["ab_variant_report"])
    with connect(dbname=database) as conn:
        print_interleaving(conn, led.chemistry)
    chemistry = chemistry_by_week(led.runs, config.world.start_date)
    print_table("hidden chemistry of the displayed top 10 (simulator truth)", chemistry, 3)
    retrains = retrain_rows(retrain)
    print_table(
        "retrains (R-43 triggers; learned vs hash on each held-out split; gate R-42)", retrains, 3
    )
    print(
        f"served embedder at the end: {os.environ.get('TWO_TOWER_EMBEDDER', 'hash')}"
        + (
            f", model {serve.first_version} deployed {serve.first_day} (later deploys hot-reloaded)"
            if serve.first_version
            else ""
        )
    )
    if curve:
        print(lc.format_curve(curve))
        lc.save(curve, args.report_dir, f"two-tower learning curve (demo market seed {args.seed})")
        print(f"  ({curve_seconds:.0f}s)")

    total = time.perf_counter() - started
    phases["setup builds and world load"] = setup_seconds
    if sizes:
        phases["learning curve"] = curve_seconds
    print_table(
        f"where the time went (total {total:.0f}s; load average {load_average()})",
        [
            {
                "phase": name.replace("nightly: ", "nightly hook "),
                "seconds": round(sec, 1),
                "share": f"{sec / total:.0%}",
            }
            for name, sec in phases.most_common()
        ],
    )
    meta = {
        "database": database,
        "seed": args.seed,
        "days": config.days,
        "start": args.start.isoformat(),
        "initial talents / projects": f"{args.talents} / {args.projects}",
        "talents / projects at the end": f"{len(loop.talents)} / {len(loop.projects)}",
        "match runs / displayed": f"{len(led.runs)} / {led.displayed}",
        "write-path calls": sum(led.calls.values()),
        "events still scheduled after the last day": loop.pending_events(),
        "two-tower settings": two_tower,
        "nightly build": "complete"
        if args.full_nightly
        else "light, complete on Sunday nights and the last night",
        "seconds: simulation incl. nightly builds": round(sim_seconds, 1),
        "seconds: nightly builds": round(build_seconds, 1),
        "seconds: total": round(total, 1),
        **{f"seconds: {name}": round(sec, 1) for name, sec in phases.most_common()},
    }
    index = write_report(
        args.report_dir, data, snapshots.rows, chemistry, meta, retrains=retrains, curve=curve
    )
    print(
        f"\n{len(led.runs)} match runs, {led.displayed} displayed pairs, "
        f"{sum(led.calls.values())} write-path calls; simulation {sim_seconds:.0f}s "
        f"(of which nightly builds {build_seconds:.0f}s); total {time.perf_counter() - started:.0f}s"
    )
    print(f"report: {index}")


if __name__ == "__main__":
    main()
