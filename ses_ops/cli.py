"""ses-match: one command to run and operate ses_match.

    ses-match doctor                      is this server ready? (one fix per problem)
    ses-match demo [...]                  the main job: a simulated market driving the system
    ses-match nightly [--alert]           the nightly dbt build (selectors.yml: nightly)
    ses-match build nightly|weekly|bi     any scheduled selection
    ses-match retrain [--if-due] [--set k=v ...] [--no-activate] [--alert] [...]
    ses-match models list | show VERSION [--export DIR] | activate VERSION [--reason ...]
                     | rollback [--reason ...] | history
    ses-match alerts [--all] | alerts ack ID
    ses-match load [...]                  benchmark volumes (simulator.load)
    ses-match bench                       every benchmark
    ses-match orchestrate [--port N]      the Dagster scheduler with its web UI

Without PGHOST it talks to the project-local cluster (like make); export the PG*
variables to point it at another server. `--database NAME` picks the database.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ses_ops.build import SELECTORS
from ses_ops.db import PROJECT_DIR, apply_defaults, connect, with_actor

PASSTHROUGH = {
    "demo": "ses_ops.demo",
    "retrain": "training.retrain",
    "load": "simulator.load",
    "bench": "benchmarks.run_all",
}
DEFAULT_DAGSTER_PORT = 3300  # SES_DAGSTER_PORT overrides it


def actor() -> str:
    """Who runs this command, for the registry history (ses.actor)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _console():
    from rich.console import Console

    return Console()


def _table(rows: list[dict[str, Any]], columns: Sequence[str], title: str) -> None:
    from ses_ops.tables import print_table

    print_table(title, rows, columns=columns)


# ----------------------------------------------------------------------- commands


def cmd_passthrough(args: argparse.Namespace, rest: list[str]) -> int:
    import importlib

    module = importlib.import_module(PASSTHROUGH[args.command])

    def run() -> int:
        result = _spinner(args.command, module.main, rest)
        return result if isinstance(result, int) else 0

    if args.command == "retrain":
        return _with_alert(args, "retrain", run)
    return run()


def _spinner(label: str, fn: Callable[[list[str]], int], argv: list[str]) -> int:
    """Run fn(argv) under a spinner with the elapsed time (its own output scrolls above)."""
    console = _console()
    if not console.is_terminal or "-h" in argv or "--help" in argv:
        return fn(argv)
    with console.status(f"{label} running ...", spinner="dots"):
        return fn(argv)


def _with_alert(args: argparse.Namespace, job: str, fn: Callable[[], int]) -> int:
    """Run fn; on failure with --alert, raise an alert (ses.alerts + webhook)."""
    try:
        code = fn()
        error = None if code in (0, 2) else f"{job} exited with status {code}"
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
        error = None if code in (0, 2) else f"{job} failed: {exc.code}"
    except Exception as exc:
        code, error = 1, f"{job} failed: {exc}"
        print(error, file=sys.stderr)
    if error and getattr(args, "alert", False):
        from ses_ops.alerts import raise_alert

        alert = raise_alert(
            source="ses-match",
            job_name=job,
            message=error[:2000],
            details={"argv": sys.argv[1:], "host": socket.gethostname()},
        )
        where = f"alert {alert.id}" if alert.id else f"alert not recorded ({alert.database_error})"
        print(
            f"{where}" + (f"; webhook {alert.webhook_status}" if alert.webhook_status else ""),
            file=sys.stderr,
        )
    return code


def cmd_build(args: argparse.Namespace) -> int:
    from ses_ops.build import run_build

    def build() -> int:
        report = run_build(args.selector, keep_settings=not args.no_keep_settings)
        print(report.summary())
        return 0

    return _with_alert(args, f"build {args.selector}", build)


def cmd_models(args: argparse.Namespace) -> int:
    from ses_ops import registry

    with connect() as conn:
        try:
            if args.models_command == "list":
                rows = registry.list_models(conn)
                if not rows:
                    print("no models yet: ses-match retrain trains the first one")
                    return 0
                for r in rows:
                    r["reason"] = (r["reason"] or "")[:60]
                _table(
                    rows,
                    [
                        "version",
                        "status",
                        "trained_at",
                        "labeled_count",
                        "learned_auc",
                        "hash_auc",
                        "holdout_labels",
                        "has_bytes",
                        "activated_at",
                        "reason",
                    ],
                    title=f"ses.model_registry ({conn.info.dbname})",
                )
            elif args.models_command == "show":
                _show_model(registry.show_model(conn, args.version))
                if args.export:
                    for path in registry.export(conn, args.version, args.export):
                        print(f"wrote {path}")
            elif args.models_command == "activate":
                before = conn.execute(
                    "select status, metrics -> 'gate' ->> 'reason' from ses.model_registry "
                    "where version = %s",
                    (args.version,),
                ).fetchone()
                if before and before[0] == "rejected":
                    print(
                        f"note: the gate refused {args.version} ({before[1] or 'no reason'}); "
                        "deploying it on purpose",
                        file=sys.stderr,
                    )
                previous, now = registry.activate(
                    conn, args.version, reason=args.reason, actor=actor()
                )
                print(f"active model: {previous or '(none)'} -> {now}")
            elif args.models_command == "rollback":
                previous, now = registry.rollback(conn, reason=args.reason, actor=actor())
                print(f"rolled back: {previous} -> {now}")
            elif args.models_command == "history":
                rows = registry.history(conn, limit=args.limit)
                if not rows:
                    print("no activations yet")
                    return 0
                _table(
                    rows,
                    [
                        "activated_at",
                        "action",
                        "version",
                        "previous_version",
                        "activated_by",
                        "db_user",
                        "reason",
                    ],
                    title="ses.model_activations",
                )
        except registry.RegistryError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


def _show_model(m: dict[str, Any]) -> None:
    metrics = m.get("metrics") or {}
    gate = metrics.get("gate") or {}
    print(f"model {m['version']}: {m['status']}")
    for key in ("trained_at", "labeled_count", "max_label_at", "activated_at", "retired_at"):
        value = m[key]
        text = value.isoformat(" ", "seconds") if hasattr(value, "isoformat") else value
        print(f"  {key:<14} {'-' if value is None else text}")
    print(f"  {'reason':<14} {m['reason'] or ''}")
    if gate:
        print(
            f"  {'gate':<14} {'passed' if gate.get('passed') else 'refused'}: {gate.get('reason')}"
        )
    stored = (
        f"onnx {m['onnx_bytes']} B (sha256 {m['onnx_sha256'][:12]}), "
        f"safetensors {m['candle_bytes']} B"
        if m["onnx_bytes"]
        else "no bytes (the export failed)"
    )
    print(f"  {'stored':<14} {stored}")
    holdout = metrics.get("holdout") or {}
    if holdout:
        names = ("auc", "recall_at_10", "mrr", "labelled_pairs")
        rows = [{"model": k, **{n: v.get(n) for n in names}} for k, v in holdout.items() if v]
        _table(rows, ["model", *names], title="held-out split")
    if m["history"]:
        _table(
            m["history"],
            ["activated_at", "action", "version", "previous_version", "activated_by", "reason"],
            title="activations",
        )


def cmd_alerts(args: argparse.Namespace) -> int:
    from ses_ops.alerts import acknowledge, list_alerts

    with connect() as conn:
        if args.alerts_command == "ack":
            try:
                acknowledge(conn, args.id, actor())
            except LookupError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print(f"alert {args.id} acknowledged")
            return 0
        rows = list_alerts(conn, include_acknowledged=args.all)
        if not rows:
            print("no open alerts" if not args.all else "no alerts")
            return 0
        for r in rows:
            r["message"] = r["message"][:80]
        columns = ["id", "created_at", "severity", "source", "job_name", "message"]
        columns += ["webhook_status"] + (["acknowledged_by"] if args.all else [])
        _table(rows, columns, title="ses.alerts")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from ses_ops import doctor

    return doctor.main()


def cmd_orchestrate(args: argparse.Namespace) -> int:
    """dagster dev: the web UI and the daemon (schedules, sensors) on this machine; its
    code server parses the dbt project at every (re)load."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_DIR / ".local" / "dagster")))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(
            (PROJECT_DIR / "orchestration" / "dagster.yaml").read_text()
        )
    port = str(args.port or os.environ.get("SES_DAGSTER_PORT") or DEFAULT_DAGSTER_PORT)
    exe = str(Path(sys.executable).with_name("dagster"))
    cmd = [exe, "dev", "-m", "orchestration.definitions", "--host", args.host, "--port", port]
    print(f"Dagster UI on http://{args.host}:{port} (DAGSTER_HOME={home}); Ctrl-C stops it")
    os.chdir(PROJECT_DIR)
    os.execv(exe, cmd)


# ------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ses-match",
        description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--database", help="database name (default: PGDATABASE, else ses_match)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("doctor", help="check the server: one line per check, a fix per problem")
    for name, target in PASSTHROUGH.items():
        sp = sub.add_parser(
            name, add_help=False, help=f"python -m {target} (its own options; --help lists them)"
        )
        if name == "retrain":
            sp.add_argument("--alert", action="store_true", help="raise an alert if it fails")

    for name, helptext in (
        ("nightly", "the nightly dbt build (selector nightly)"),
        ("build", "a scheduled dbt build: nightly | weekly | bi"),
    ):
        sp = sub.add_parser(name, help=helptext)
        if name == "build":
            sp.add_argument("selector", choices=SELECTORS)
        sp.add_argument("--alert", action="store_true", help="raise an alert if it fails")
        sp.add_argument(
            "--no-keep-settings",
            action="store_true",
            help="render TWO_TOWER_* from this environment's defaults instead of keeping "
            "the settings in force",
        )

    models = sub.add_parser("models", help="the model registry")
    msub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    msub.add_parser("list", help="every trained model, newest first")
    show = msub.add_parser("show", help="one model: metrics, gate, bytes, activations")
    show.add_argument("version")
    show.add_argument(
        "--export", type=Path, metavar="DIR", help="write its .onnx/.safetensors/.json"
    )
    act = msub.add_parser("activate", help="deploy a version (candidate, rejected or retired)")
    act.add_argument("version")
    act.add_argument("--reason", help="why (recorded in ses.model_activations)")
    rb = msub.add_parser("rollback", help="return to the model active before the current one")
    rb.add_argument("--reason", help="why (recorded in ses.model_activations)")
    hist = msub.add_parser("history", help="who activated what, when and why")
    hist.add_argument("--limit", type=int, default=20)

    alerts = sub.add_parser("alerts", help="alerts of failed scheduled runs")
    alerts.add_argument("--all", action="store_true", help="acknowledged ones too")
    asub = alerts.add_subparsers(dest="alerts_command", metavar="ACTION")
    ack = asub.add_parser("ack", help="acknowledge an alert")
    ack.add_argument("id", type=int)

    orch = sub.add_parser("orchestrate", help="start Dagster (web UI + schedules) locally")
    orch.add_argument(
        "--port", type=int, help=f"UI port (SES_DAGSTER_PORT, default {DEFAULT_DAGSTER_PORT})"
    )
    orch.add_argument("--host", default="127.0.0.1")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in PASSTHROUGH:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.database:
        os.environ["PGDATABASE"] = args.database
    apply_defaults()
    # every connection (retrain's deploy included) records who ran it
    os.environ["PGOPTIONS"] = with_actor(
        os.environ.get("PGOPTIONS"), f"{actor()}:ses-match {args.command}"
    )
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "doctor": cmd_doctor,
        "nightly": cmd_build,
        "build": cmd_build,
        "models": cmd_models,
        "alerts": cmd_alerts,
        "orchestrate": cmd_orchestrate,
    }
    if args.command == "nightly":
        args.selector = "nightly"
    if args.command in PASSTHROUGH:
        return cmd_passthrough(args, rest)
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
