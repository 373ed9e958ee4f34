"""The learning loop's retrain job (SPEC R-40..R-45): labels -> model -> gate -> deploy.

    python -m training.retrain [--if-due] [--as-of 2025-05-15] [--weak-negatives] ...

1. Reads the exposures of ses.interaction_logs (shown up to the as-of time minus
   ``label_maturity_days``, 3: younger ones still wait for their funnel) with their
   ses.training_labels label and ses.interaction_outcomes outcome, and the tokens of
   the talents / projects involved from ses_intermediate.int_talent_tokens /
   int_project_tokens (psycopg 3, the PG* environment).
2. Splits without leakage (time by default; training.dataset) into the training window
   and the held-out split. Inside the window it chooses the settings (training.tuning:
   a small grid, a time-ordered validation slice, a work budget; the last choice is
   reused until the labels doubled), then trains the candidate on the whole window with
   them (fixed seeds, training.train), exports it to ONNX + safetensors in memory and
   verifies both against PyTorch (training.export).
3. Evaluates on the held-out split, per project over its exposed candidates: the
   candidate (through the exported ONNX, i.e. what would be served), the baselines (the
   seed's hash tower and the popularity of talent / project / both, training.baselines,
   learnt from the window only) and the active model (on the held-out pairs shown after
   its own training data), side by side, also for warm and cold pairs, stored in
   ses.model_registry.metrics.
4. Gate (R-42): deploy only if the candidate's held-out AUC > ``min_auc`` (0.7), beats
   every baseline's and is not below the active model's (minus ``max_auc_drop``, 0).
   Then the model to deploy is refit with the chosen settings on every mature label
   (window + held-out: the newest labels matter most), exported and verified;
   deploying writes models/two_tower_<version>.onnx / .safetensors / .json and, in one
   transaction, records the registry row (the refit's bytes, the candidate's held-out
   metrics, which labels each saw) and activates it (ses.register_model);
   ``--no-activate`` stores it as ``candidate`` instead. A refused candidate is recorded
   as ``rejected`` with its metrics, reason and bytes (no files), so it can be inspected
   or deployed on purpose (ses-match models activate). Any failure keeps the active
   model; the command then exits non-zero with the reason (1: error, 2: gate refused).

Versions are YYYYMMDD of the as-of date in JST (the data's newest label by default),
with -2, -3 ... when taken. Triggers (R-43, ``--if-due``): no model trained yet and at
least ``min_labels`` labels, or 7 days since the last training, or 500 labels more than
at the last training ("training" = any registry row, rejected ones included).
A refused training resets the clock on purpose: it was trained on the same labels, so
training again the next night would be refused on the same evidence; it waits for a
week or 500 more labels like a deployed one. A failed run (no candidate) records no
row, so it is retried at the next trigger.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from psycopg.types.json import Jsonb
from ses_udf import learned_tower as lt
from ses_udf import model_store

from training.dataset import (
    Exposure,
    LabelledData,
    evaluate_baselines,
    evaluate_embedder,
    format_table,
    served_embed,
    split_data,
    warm_mask,
)
from training.export import ExportVerificationError, ModelArtifacts, build_artifacts
from training.train import TrainConfig, TrainResult, train
from training.tuning import DEFAULT_GRID, TuningConfig, TuningResult, tune

JST = ZoneInfo("Asia/Tokyo")
REPO = Path(__file__).resolve().parents[1]
LOCK_KEY = "ses_match.retrain"

Log = Callable[[str], None]


class RetrainError(RuntimeError):
    """The retrain could not produce a candidate (the active model stays)."""


def default_train_config(seed: int = 0, threads: int = 2) -> TrainConfig:
    """The base training settings every tuning grid point starts from (training.tuning
    varies identity tokens, identity dropout, step size, the list-wise weight and
    regularisation on top). Mirror initialisation starts the towers from the weighted
    bag-of-tokens cosine (the hash baseline's signal); early stopping on the validation
    loss, with the initial model as epoch 0. Chosen for robustness across
    the simulated worlds and a ratings-like data set (docs/learning.md), not for one of
    them."""
    return TrainConfig(
        seed=seed,
        sparse_lr=1e-3,
        lr=1e-3,
        # A small starting logit scale (learnt from there): at 10 the first epochs
        # saturate the sigmoid on a few tokens and generalise worse in every world tried.
        init_scale=3.0,
        mirror_init=True,
        early_stopping_metric="loss",
        contrastive=None,
        # Ranking what the staff picked within each shown list lifts Recall@10 / MRR
        # over the displayed candidates; the position term keeps the towers from
        # learning the old ranking's presentation (what was on top got picked) instead
        # of the staff's judgement (docs/learning.md).
        listwise_weight=0.05,
        position_bias=True,
        num_threads=threads,
    )


@dataclass
class RetrainConfig:
    seed: int = 0
    split: str = "time"
    valid_fraction: float = 0.2
    weak_negatives: bool = False  # R-45 switch
    min_labels: int = 500
    min_auc: float = 0.7
    max_auc_drop: float = 0.0  # allowed AUC loss against the active model
    # The candidate must beat every baseline's held-out AUC (hash, popularity); off
    # only for an operator who deploys knowingly (or a test of the pipeline).
    baseline_gate: bool = True
    min_holdout_labels: int = 200  # R-42 gate: the held-out AUC must rest on this many
    retrain_every_days: int = 7
    retrain_new_labels: int = 500
    # Exposures shown in the last N days are left out: their funnel is still open (an
    # entry comes 0.5-3 days after the contact, no_response 2-7 days), so a contacted
    # candidate would count as a 0.4 negative that is a positive a few days later.
    label_maturity_days: float = 3.0
    model_dir: Path = REPO / "models"
    dry_run: bool = False  # evaluate and report; write nothing
    activate: bool = True  # False: a candidate that passes the gate is stored, not deployed
    train: TrainConfig = field(default_factory=default_train_config)
    tuning: TuningConfig = field(default_factory=TuningConfig)
    retune: bool = False  # choose the settings again even when the last choice is reusable

    def validate(self) -> None:
        if self.split not in ("time", "project"):
            raise ValueError(f"split must be 'time' or 'project', got {self.split!r}")
        if not 0.0 <= self.min_auc < 1.0:
            raise ValueError(f"min_auc must lie in [0, 1), got {self.min_auc}")
        if self.min_labels < 10:
            raise ValueError(f"min_labels must be >= 10, got {self.min_labels}")
        if self.min_holdout_labels < 1:
            raise ValueError(f"min_holdout_labels must be >= 1, got {self.min_holdout_labels}")
        if not 0.0 <= self.label_maturity_days <= 60.0:
            raise ValueError(
                f"label_maturity_days must lie in [0, 60], got {self.label_maturity_days}"
            )
        self.train.validate()
        self.tuning.validate()

    def shown_until(self, now: datetime) -> datetime:
        """The newest display time whose labels count (label_maturity_days earlier)."""
        return now - timedelta(days=self.label_maturity_days)


@dataclass
class RetrainReport:
    status: str  # deployed | candidate | rejected | failed | not_due | evaluated (dry run)
    reason: str
    version: str | None = None
    previous_version: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    snapshot: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return {"deployed": 0, "candidate": 0, "not_due": 0, "evaluated": 0, "rejected": 2}.get(
            self.status, 1
        )

    def table(self) -> str:
        rows = [(name, m) for name, m in self.metrics.get("holdout", {}).items() if m]
        return format_table(rows) if rows else "(no held-out metrics)"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- data


EXPOSURES_SQL = """
select interaction_id, talent_id, project_id, extract(epoch from shown_at)::float8,
       label::float8, signal_source, is_no_response, shown_rank,
       extract(epoch from talent_version)::float8, extract(epoch from project_version)::float8
from ses.training_exposures
where shown_at <= %s
order by interaction_id
"""

VERSION_TOKENS_SQL = """
select entity_id, extract(epoch from version_from)::float8,
       array_agg(token order by token_position), array_agg(weight order by token_position)
from ses_intermediate.int_{side}_version_tokens
where entity_id = any(%s)
group by entity_id, version_from
"""


def _version_bags(
    conn: psycopg.Connection, side: str, keys: set[tuple[int, float]]
) -> dict[tuple[int, float], tuple[list, list]]:
    """Token bags of the (entity id, version) keys (a version without tokens: empty)."""
    bags: dict[tuple[int, float], tuple[list, list]] = {k: ([], []) for k in keys}
    ids = sorted({k[0] for k in keys})
    for entity_id, version, tokens, weights in conn.execute(
        VERSION_TOKENS_SQL.format(side=side), (ids,)
    ):
        key = (int(entity_id), float(version))
        if key in bags:
            bags[key] = (list(tokens), [float(w) for w in weights])
    return bags


def load_labelled_data(conn: psycopg.Connection, as_of: datetime) -> LabelledData:
    """Exposures shown up to ``as_of`` (ses.training_exposures) with labels, ranks and
    the point-in-time token bags they involve (keyed (id, version epoch))."""
    exposures = [
        Exposure(int(i), int(t), int(p), float(ts), lab, src, bool(nr), rank, float(tv), float(pv))
        for i, t, p, ts, lab, src, nr, rank, tv, pv in conn.execute(EXPOSURES_SQL, (as_of,))
    ]
    labelled = [e for e in exposures if e.label is not None]
    talents = _version_bags(conn, "talent", {e.talent_key for e in exposures})
    projects = _version_bags(conn, "project", {e.project_key for e in exposures})
    last = max((e.created_at for e in labelled), default=None)
    snapshot = {
        "source": "database",
        "database": conn.info.dbname,
        "as_of": as_of.isoformat(),
        "label_count": len(labelled),
        "exposures": len(exposures),
        "positive_labels": sum(e.label >= 0.5 for e in labelled),
        "max_label_at": None
        if last is None
        else datetime.fromtimestamp(last, JST).isoformat(timespec="seconds"),
        "talents": len({e.talent_id for e in exposures}),
        "projects": len({e.project_id for e in exposures}),
        "profile_versions": {"talent": len(talents), "project": len(projects)},
    }
    return LabelledData(exposures, talents, projects, snapshot)


def label_count(conn: psycopg.Connection, as_of: datetime) -> int:
    return conn.execute(
        "select count(*) from ses.training_labels where created_at <= %s", (as_of,)
    ).fetchone()[0]


# ------------------------------------------------------------------------ triggers


def last_training(conn: psycopg.Connection) -> dict[str, Any] | None:
    row = conn.execute(
        "select version, status, trained_at, labeled_count from ses.model_registry "
        "order by trained_at desc, created_at desc limit 1"
    ).fetchone()
    if row is None:
        return None
    return {"version": row[0], "status": row[1], "trained_at": row[2], "labeled_count": row[3]}


def due(conn: psycopg.Connection, now: datetime, config: RetrainConfig) -> tuple[bool, str]:
    """R-43: (due?, why). Labels are counted as the training would use them: on
    exposures shown up to ``label_maturity_days`` before ``now``."""
    labels = label_count(conn, config.shown_until(now))
    last = last_training(conn)
    if last is None:
        if labels >= config.min_labels:
            return True, f"first training: {labels} labels >= {config.min_labels}"
        return False, f"{labels} labels, the first training needs {config.min_labels}"
    age = now - last["trained_at"]
    grown = labels - last["labeled_count"]
    if age >= timedelta(days=config.retrain_every_days):
        return True, f"weekly: last training {last['version']} is {age.days} days old"
    if grown >= config.retrain_new_labels:
        return True, f"{grown} new labels since {last['version']} (>= {config.retrain_new_labels})"
    return False, (
        f"last training {last['version']} is {age.days} days old and "
        f"{grown} labels behind (weekly / +{config.retrain_new_labels} labels)"
    )


# ------------------------------------------------------------------------ pipeline


def _jst_date(moment: datetime) -> date:
    return moment.astimezone(JST).date()


def unique_version(conn: psycopg.Connection, day: date, model_dir: Path) -> str:
    """YYYYMMDD, or YYYYMMDD-n when the registry (or the model folder) has it already."""
    base = day.strftime("%Y%m%d")
    taken = {
        r[0]
        for r in conn.execute(
            "select version from ses.model_registry where version = %s or version like %s",
            (base, base + "-%"),
        )
    }
    version, n = base, 1
    while version in taken or (model_dir / f"two_tower_{version}.onnx").exists():
        n += 1
        version = f"{base}-{n}"
    return version


def _finite(x: Any) -> bool:
    return isinstance(x, float) and math.isfinite(x)


def gate(
    learned: dict[str, Any],
    active: dict[str, Any] | None,
    config: RetrainConfig,
    baselines: dict[str, dict[str, Any]] | None = None,
) -> tuple[bool, str]:
    """R-42: (deploy?, why). The candidate must also beat every baseline's held-out AUC
    (the hash tower and each popularity baseline): a model that loses to ranking by
    historical positive rates adds nothing the served ranking lacks."""
    a = learned.get("auc")
    if not _finite(a):
        return False, "held-out AUC is undefined (one label class only)"
    n = learned.get("labelled_pairs", 0)
    if n < config.min_holdout_labels:
        # ~100 held-out labels give AUC a standard error near 0.05: a weak model
        # can pass 0.7 by luck (the demo's first retrain at 525 labels did)
        return False, (
            f"only {n} labelled held-out pairs (min_holdout_labels "
            f"{config.min_holdout_labels}): AUC {a:.4f} is too uncertain to deploy on"
        )
    if not a > config.min_auc:
        return False, f"held-out AUC {a:.4f} is not above the gate {config.min_auc}"
    for name, m in (baselines or {}).items():
        b = m.get("auc")
        if _finite(b) and not a > b:
            return False, f"held-out AUC {a:.4f} does not beat the {name} baseline's {b:.4f}"
    if active is not None:
        # on the held-out pairs the active model has not trained on
        b, mine = active.get("auc"), active.get("candidate_auc", a)
        if _finite(b) and _finite(mine) and mine < b - config.max_auc_drop:
            return False, (
                f"held-out AUC {mine:.4f} is worse than the active model's {b:.4f} on the same "
                "held-out pairs"
            )
    best = max(
        (m["auc"] for m in (baselines or {}).values() if _finite(m.get("auc"))), default=None
    )
    return True, f"held-out AUC {a:.4f} > {config.min_auc}" + (
        f", beats every baseline (best {best:.4f})" if best is not None else ""
    ) + (f" and >= active {active['auc']:.4f}" if active and _finite(active.get("auc")) else "")


@dataclass
class ActiveModel:
    version: str | None
    model: Any = None  # loaded onnx model, None when it cannot be served
    problem: str | None = None
    seen_until: float | None = None  # epoch seconds: its training data's newest display


def _active_for_eval(conn: psycopg.Connection, log: Log) -> ActiveModel:
    """The active model and how far its training data reached: a model refit on every
    mature label has seen part of a later held-out split, so it is compared only on
    what it has not seen."""
    key = model_store.active_key(model_store.PsycopgDb(conn))
    if key is None:
        return ActiveModel(None)
    seen = conn.execute(
        "select extract(epoch from coalesce("
        "(metadata -> 'training_data' -> 'refit' ->> 'shown_until')::timestamptz, "
        "(metadata -> 'training_data' ->> 'shown_until')::timestamptz, max_label_at))::float8 "
        "from ses.model_registry where version = %s",
        (key[0],),
    ).fetchone()[0]
    try:
        loaded = model_store.active_model(model_store.PsycopgDb(conn), "onnx")
    except model_store.ModelUnavailableError as exc:
        log(f"warning: the active model cannot be evaluated: {exc}")
        return ActiveModel(key[0], None, str(exc), seen)
    return ActiveModel(loaded.version, loaded.model, None, seen)


def _compare_with_active(
    active: ActiveModel,
    holdout,
    served,
    data: LabelledData,
    config: RetrainConfig,
) -> tuple[dict[str, Any] | None, str | None]:
    """(the active model's held-out metrics with the candidate's AUC on the same pairs,
    or None; why not) on the held-out candidates shown after the active model's data."""
    if active.model is None:
        return None, active.problem
    newer = holdout.shown_at > (active.seen_until if active.seen_until is not None else -math.inf)
    subset = holdout.subset(newer)
    n = int(subset.labelled.sum())
    if n < config.min_holdout_labels:
        return None, (
            f"active model {active.version} not compared: only {n} labelled held-out pairs "
            f"were shown after its training data (min_holdout_labels {config.min_holdout_labels})"
        )
    theirs = evaluate_embedder(served_embed(active.model), subset, data.talents, data.projects)
    ours = evaluate_embedder(served_embed(served), subset, data.talents, data.projects)
    return {**theirs, "version": active.version, "candidate_auc": ours["auc"]}, None


def retrain(
    conn: psycopg.Connection,
    config: RetrainConfig | None = None,
    *,
    as_of: datetime | None = None,
    log: Log = print,
) -> RetrainReport:
    """Train, evaluate, gate and (maybe) deploy one candidate. Raises RetrainError when no
    candidate could be produced; a refused candidate is a report with status rejected."""
    config = config or RetrainConfig()
    config.validate()
    if not conn.execute("select pg_try_advisory_lock(hashtext(%s))", (LOCK_KEY,)).fetchone()[0]:
        raise RetrainError("another retrain holds the lock on this database; try again later")
    try:
        return _retrain(conn, config, as_of, log)
    finally:
        conn.execute("select pg_advisory_unlock(hashtext(%s))", (LOCK_KEY,))


def _retrain(
    conn: psycopg.Connection, config: RetrainConfig, as_of: datetime | None, log: Log
) -> RetrainReport:
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    explicit_as_of = as_of is not None
    as_of = as_of or conn.execute("select now()").fetchone()[0]
    shown_until = config.shown_until(as_of)
    data = load_labelled_data(conn, shown_until)
    snap = data.snapshot
    snap.update(
        as_of=as_of.isoformat(),
        shown_until=shown_until.isoformat(),
        label_maturity_days=config.label_maturity_days,
    )
    seconds["load"] = time.perf_counter() - t0
    if snap["label_count"] < config.min_labels:
        raise RetrainError(
            f"only {snap['label_count']} labels on exposures shown up to "
            f"{shown_until.isoformat()} ({config.label_maturity_days} days before "
            f"{as_of.isoformat()}) "
            f"(min_labels {config.min_labels}): nothing trained"
        )
    try:
        split = split_data(
            data, config.split, config.valid_fraction, weak_negatives=config.weak_negatives
        )
    except ValueError as exc:
        raise RetrainError(f"cannot split the labels: {exc}") from exc
    if split.info["holdout_labelled_pairs"] == 0:
        raise RetrainError(f"the split left no held-out labels: {split.info}")
    log(
        f"labels {snap['label_count']} (as of {as_of:%Y-%m-%d %H:%M %Z}), training window "
        f"{split.info['train_pairs']} pairs, held out {split.info['holdout_labelled_pairs']} "
        f"labelled of {split.info['holdout_candidates']} candidates in "
        f"{split.info['holdout_projects']} projects"
    )

    t1 = time.perf_counter()
    tuning = _reusable_tuning(conn, config, snap["label_count"], as_of)
    if tuning is None:
        try:
            tuning = tune(
                split.train, data.talents, data.projects, config.train, config.tuning, log=log
            )
        except ValueError as exc:
            raise RetrainError(f"cannot tune on the training window: {exc}") from exc
        tuning.info.update(tuned_at_labels=snap["label_count"], tuned_at=as_of.isoformat())
    seconds["tune"] = time.perf_counter() - t1
    log(tuning.table())
    t1 = time.perf_counter()
    candidate = train(split.train, [], data.talents, data.projects, tuning.config)
    seconds["train"] = time.perf_counter() - t1
    day = _jst_date(as_of if explicit_as_of else datetime.fromisoformat(snap["max_label_at"]))
    version = unique_version(conn, day, Path(config.model_dir))
    log(
        f"candidate {version}: settings {tuning.chosen!r}, {tuning.config.epochs} epochs on "
        f"the training window in {seconds['train']:.1f}s"
    )

    report = RetrainReport(
        status="failed", reason="", version=version, snapshot=snap, split=split.info
    )
    t2 = time.perf_counter()
    try:
        artifacts = build_artifacts(
            candidate.model,
            version,
            training=_training_summary(candidate, tuning, "training window", split.info),
            seed=config.seed,
        )
    except (ExportVerificationError, lt.ModelFileError) as exc:
        report.reason = f"export verification failed: {exc}"
        report.metrics = {"tuning": tuning.report()}
        _record(conn, config, report, None, as_of, "rejected", log)
        return report
    seconds["export"] = time.perf_counter() - t2
    report.sha256 = {k: v["sha256"] for k, v in artifacts.metadata["files"].items()}

    t3 = time.perf_counter()
    holdout = split.holdout
    warm = warm_mask(holdout, split.train)
    served = lt.load_model("onnx", artifacts.onnx, artifacts.metadata)
    learned = evaluate_embedder(
        served_embed(served), holdout, data.talents, data.projects, warm=warm
    )
    baselines = evaluate_baselines(holdout, split.train, data.talents, data.projects, warm=warm)
    current = _active_for_eval(conn, log)
    active, active_problem = _compare_with_active(current, holdout, served, data, config)
    if active_problem:
        log(active_problem)
    seconds["evaluate"] = time.perf_counter() - t3
    report.previous_version = current.version
    report.metrics = {
        "holdout": {
            f"learned {version}": learned,
            **baselines,
            **({f"active {current.version} (newer pairs)": active} if active else {}),
        },
        "learned": learned,
        "hash": baselines["hash"],
        "baselines": baselines,
        "active": active,
        "active_problem": active_problem,
        "tuning": tuning.report(),
    }
    log(report.table())

    ok, why = gate(learned, active, config, baselines if config.baseline_gate else None)
    report.metrics["gate"] = {
        "passed": ok,
        "reason": why,
        "min_auc": config.min_auc,
        "max_auc_drop": config.max_auc_drop,
        "baselines": sorted(baselines),
    }
    training_data = {
        **snap,
        "split": split.info,
        "weak_negatives": config.weak_negatives,
        "seed": config.seed,
    }
    seconds["total"] = time.perf_counter() - t0
    report.seconds = seconds
    if config.dry_run:
        report.status, report.reason = "evaluated", f"dry run, gate would say: {why}"
        return report
    if not ok:
        report.reason = f"gate refused: {why}"
        _record(conn, config, report, artifacts, as_of, "rejected", log)
        return report

    # The gate judged the settings on labels the candidate never saw; the model served
    # from now on learns from every mature label with those settings.
    t4 = time.perf_counter()
    everything = split.refit
    final = train(everything, [], data.talents, data.projects, tuning.config)
    refit_info = {
        **split.info,
        "refit_pairs": sum(not p.shown_only for p in everything),
        "refit_shown_only_pairs": sum(p.shown_only for p in everything),
    }
    try:
        deployed = build_artifacts(
            final.model,
            version,
            training=_training_summary(final, tuning, "every mature label", refit_info),
            seed=config.seed,
        )
    except (ExportVerificationError, lt.ModelFileError) as exc:
        report.reason = f"export verification of the refit failed: {exc}"
        _record(conn, config, report, None, as_of, "rejected", log)
        return report
    seconds["refit"] = time.perf_counter() - t4
    seconds["total"] = time.perf_counter() - t0
    report.sha256 = {k: v["sha256"] for k, v in deployed.metadata["files"].items()}
    deployed.metadata["metrics"] = {k: report.metrics[k] for k in ("learned", "hash", "active")}
    deployed.metadata["metrics"]["baselines"] = baselines
    deployed.metadata["training_data"] = {
        **training_data,
        "refit": {
            "pairs": refit_info["refit_pairs"],
            "shown_only_pairs": refit_info["refit_shown_only_pairs"],
            "labels": snap["label_count"],
            "max_label_at": snap["max_label_at"],
            "shown_until": snap["shown_until"],
        },
        "evaluated_candidate": {
            "pairs": split.info["train_pairs"],
            "window_cutoff": split.info.get("cutoff"),
            "sha256": {k: v["sha256"] for k, v in artifacts.metadata["files"].items()},
        },
    }
    log(
        f"refit {version} on {refit_info['refit_pairs']} labelled pairs (every mature label) "
        f"in {seconds['refit']:.1f}s"
    )
    report.reason = why if config.activate else f"{why}; not activated (--no-activate)"
    _record(
        conn, config, report, deployed, as_of, "active" if config.activate else "candidate", log
    )
    return report


def _reusable_tuning(
    conn: psycopg.Connection, config: RetrainConfig, labels: int, as_of: datetime
) -> TuningResult | None:
    """The settings the latest retrain chose, when they may be reused (training.tuning:
    labels grown by less than ``retune_growth``, younger than ``retune_days``, and still
    a point of the grid); None: tune again."""
    if config.retune:
        return None
    row = conn.execute(
        "select version, metrics -> 'tuning' from ses.model_registry "
        "where metrics -> 'tuning' ? 'settings' "
        "order by trained_at desc, created_at desc limit 1"
    ).fetchone()
    if row is None:
        return None
    version, previous = row
    t = config.tuning
    try:
        grid = dict(t.grid)
        if grid.get(previous["chosen"]) != previous["settings"]:
            return None
        grown = labels >= previous["tuned_at_labels"] * t.retune_growth
        age = as_of - datetime.fromisoformat(previous["tuned_at"])
        if grown or age >= timedelta(days=t.retune_days):
            return None
        return TuningResult.reused(previous, config.train, version)
    except (KeyError, TypeError, ValueError):
        return None  # a record from another version of the job: tune again


def _training_summary(
    result: TrainResult, tuning: TuningResult, trained_on: str, split_info: dict[str, Any]
) -> dict[str, Any]:
    return {
        **result.summary(),
        "trained_on": trained_on,
        "tuning": tuning.report(),
        "split": split_info,
    }


def _record(
    conn: psycopg.Connection,
    config: RetrainConfig,
    report: RetrainReport,
    artifacts: ModelArtifacts | None,
    as_of: datetime,
    status: str,
    log: Log,
) -> None:
    """Write the registry row with the bytes when there are any (a refused candidate
    keeps them too; an export that failed verification has none) and, for a model that
    passed the gate, the files first; on any error the files are removed and the active
    model is untouched. ``status``: active | candidate | rejected."""
    if config.dry_run:
        return
    snap = report.snapshot
    paths: dict[str, Path] = {}
    try:
        if artifacts is not None and status != "rejected":
            paths = artifacts.write(config.model_dir)
        with conn.transaction():
            # through the registry's function: the trainer role cannot write the table
            conn.execute(
                "select ses.register_model(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, p_activate => %s)",
                (
                    report.version,
                    "rejected" if status == "rejected" else "candidate",
                    as_of,
                    snap["label_count"],
                    snap["max_label_at"],
                    Jsonb(_jsonable(report.metrics)),
                    Jsonb(_jsonable(artifacts.metadata if artifacts else {"snapshot": snap})),
                    None if artifacts is None else artifacts.onnx,
                    None if artifacts is None else artifacts.safetensors,
                    report.reason,
                    status == "active",
                ),
            )
    except BaseException as exc:
        for p in paths.values():
            p.unlink(missing_ok=True)
        if not isinstance(exc, Exception):
            raise
        report.status = "failed"
        report.reason = f"could not record model {report.version}: {exc}"
        raise RetrainError(report.reason) from exc
    report.status = {"active": "deployed"}.get(status, status)
    report.files = {k: str(v) for k, v in paths.items()}
    log(
        f"model {report.version}: {report.status} ({report.reason})"
        + (f"; files {', '.join(sorted(report.files.values()))}" if report.files else "")
    )


def _jsonable(x: Any) -> Any:
    """NaN / inf -> None (jsonb has no NaN), numpy scalars -> Python."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (Path, datetime, date)):
        return str(x)
    return x


def retrain_if_due(
    conn: psycopg.Connection,
    now: datetime,
    config: RetrainConfig | None = None,
    *,
    log: Log = print,
) -> RetrainReport:
    """R-43 hook entry point: retrain as of ``now`` when due. Never raises for a refused
    or impossible retrain (status rejected / failed, the reason says why): a scheduler
    or the simulated loop carries on with the active model."""
    config = config or RetrainConfig()
    is_due, why = due(conn, now, config)
    if not is_due:
        return RetrainReport(status="not_due", reason=why)
    log(f"retrain due: {why}")
    try:
        report = retrain(conn, config, as_of=now, log=log)
    except RetrainError as exc:
        return RetrainReport(status="failed", reason=str(exc))
    report.reason = f"{why}; {report.reason}"
    return report


class RetrainHook:
    """Nightly hook for simulator.loop.ClosedLoop: retrain_if_due at the end of the
    simulated day (JST); the report lands in ``reports`` and the day's notes."""

    def __init__(self, config: RetrainConfig | None = None, log: Log = print) -> None:
        self.config = config or RetrainConfig()
        self.log = log
        self.reports: list[tuple[date, RetrainReport]] = []

    def __call__(self, ctx: Any) -> None:
        now = datetime.combine(ctx.day, dtime(23, 59, 59), tzinfo=JST)
        report = retrain_if_due(ctx.loop.conn, now, self.config, log=self.log)
        self.reports.append((ctx.day, report))
        ctx.summary.notes["retrain"] = report.status
        if report.version:
            ctx.summary.notes["retrain_version"] = report.version
        learned = report.metrics.get("learned")
        if learned:
            ctx.summary.notes["retrain_auc"] = round(learned["auc"], 4)


# ----------------------------------------------------------------------------- CLI


def _as_of(text: str) -> datetime:
    """A date (end of that JST day) or an ISO timestamp (JST when naive)."""
    try:
        d = date.fromisoformat(text)
        return datetime.combine(d, dtime(23, 59, 59), tzinfo=JST)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--as-of {text!r} is not a date or timestamp") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=JST)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m training.retrain", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--if-due", action="store_true", help="only when R-43 says so")
    ap.add_argument("--as-of", type=_as_of, help="labels shown up to this date/time (JST)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", choices=("time", "project"), default="time")
    ap.add_argument("--weak-negatives", action="store_true", help="R-45: no_response as 0.0 x 0.3")
    ap.add_argument("--min-labels", type=int, default=500)
    ap.add_argument(
        "--label-maturity-days",
        type=float,
        default=3.0,
        help="leave out exposures shown in the last N days: their funnel is still open",
    )
    ap.add_argument("--min-auc", type=float, default=0.7, help="R-42 gate (default 0.7)")
    ap.add_argument("--max-auc-drop", type=float, default=0.0)
    ap.add_argument(
        "--no-baseline-gate",
        action="store_true",
        help="deploy even when a baseline (hash, popularity) beats the candidate",
    )
    ap.add_argument(
        "--min-holdout-labels",
        type=int,
        default=200,
        help="gate: labelled held-out pairs the AUC must rest on (default 200)",
    )
    ap.add_argument("--model-dir", type=Path, default=REPO / "models")
    ap.add_argument("--epochs", type=int, default=100, help="most epochs per tuning trial")
    ap.add_argument("--patience", type=int, default=5, help="early-stopping patience of a trial")
    ap.add_argument(
        "--tune-budget",
        type=int,
        default=TuningConfig.budget_pair_epochs,
        help="work budget of the tuning grid in pair-epochs (deterministic)",
    )
    ap.add_argument(
        "--retune",
        action="store_true",
        help="choose the training settings again (default: reuse the last choice until the "
        "labels doubled or it is 28 days old)",
    )
    ap.add_argument(
        "--grid",
        help="comma-separated tuning grid points to try (default: all of "
        + ", ".join(name for name, _ in DEFAULT_GRID)
        + ")",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dry-run", action="store_true", help="train and evaluate, record nothing")
    ap.add_argument(
        "--no-activate",
        action="store_true",
        help="store a model that passes the gate as a candidate, do not deploy it",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a training setting (TrainConfig field, repeatable), e.g. --set epochs=20",
    )
    ap.add_argument("--dbname", help="database (default: PGDATABASE)")
    ap.add_argument("--json", action="store_true", help="print the report as JSON at the end")
    args = ap.parse_args(argv)

    tc = dataclasses.replace(default_train_config(args.seed, args.threads), epochs=args.epochs)
    if args.set:
        from training.learning_curve import with_overrides

        tc = with_overrides(tc, args.set)
    grid = DEFAULT_GRID
    if args.grid:
        names = [g.strip() for g in args.grid.split(",") if g.strip()]
        known = dict(DEFAULT_GRID)
        unknown = [n for n in names if n not in known]
        if unknown:
            ap.error(f"--grid: unknown point(s) {unknown}; known: {', '.join(known)}")
        grid = tuple((n, known[n]) for n in names)
    tuning = TuningConfig(grid=grid, patience=args.patience, budget_pair_epochs=args.tune_budget)
    config = RetrainConfig(
        seed=args.seed,
        split=args.split,
        weak_negatives=args.weak_negatives,
        label_maturity_days=args.label_maturity_days,
        min_holdout_labels=args.min_holdout_labels,
        min_labels=args.min_labels,
        min_auc=args.min_auc,
        max_auc_drop=args.max_auc_drop,
        baseline_gate=not args.no_baseline_gate,
        model_dir=args.model_dir,
        dry_run=args.dry_run,
        activate=not args.no_activate,
        train=tc,
        tuning=tuning,
        retune=args.retune,
    )
    from ses_ops.db import connect

    try:
        with connect(dbname=args.dbname) as conn:
            active = conn.execute("select ses.active_model_version()").fetchone()[0]
            if args.if_due:
                now = args.as_of or conn.execute("select now()").fetchone()[0]
                report = retrain_if_due(conn, now, config)
            else:
                report = retrain(conn, config, as_of=args.as_of)
    except (RetrainError, ValueError, psycopg.Error) as exc:
        print(f"retrain failed: {exc}", file=sys.stderr)
        print("the active model is unchanged", file=sys.stderr)
        return 1
    if report.status in ("rejected", "failed"):
        print(f"retrain {report.status}: {report.reason}", file=sys.stderr)
        print(f"the active model stays {active or '(none)'}", file=sys.stderr)
    else:
        print(f"retrain {report.status}: {report.reason}")
    if args.json:
        print(json.dumps(_jsonable(report.to_dict()), ensure_ascii=False, indent=2))
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
