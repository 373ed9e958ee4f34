"""Self-tuning: choose the training settings per retrain on the customer's own labels.

Every retrain picks its settings again instead of trusting defaults chosen on someone
else's data. Inside the training window (never the held-out split the gate judges on):

1. the window's labelled pairs are split by time: the earlier ``1 - validation_fraction``
   fit the model, the latest ``validation_fraction`` validate it (early stopping and
   choice), pairs also seen in the fit part dropped (no leakage);
2. each point of a small, fixed grid (``DEFAULT_GRID``, below) is trained on the fit part
   with early stopping (patience ``patience``) on the validation slice;
3. the point with the best validation AUC + MRR wins (ties: the earlier, simpler point):
   AUC over the labelled pairs is what the gate judges, MRR over each project's shown
   list is what the staff see first, and a setting that buys one with the other is not
   better; its best epoch count is kept for the refits (training.retrain).

Budget: a deterministic work budget in pair-epochs (``budget_pair_epochs``; each trial
may run at most what is left of it, divided by the fit pairs) keeps the search's cost
bounded as labels grow and leaves the result a function of the data and the seed only.
``max_seconds`` is a wall-clock safety net on top: when a slow machine hits it, the
remaining points are skipped (and reported), which is the only case where the choice
depends on the machine.

The grid spans what mattered across the worlds and data sets we tried (default and hard
simulated markets, an entity-bias-heavy market, a ratings-like data set): with or without
identity tokens (hybrid towers), how much the towers may lean on identity (dropout), the
step size, the weight of the list-wise term, and regularisation. docs/learning.md lists
the measurements (and what was left out: the in-batch contrastive term cost AUC in every
world).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from training.data import is_shown_only
from training.split import split_by_time
from training.train import TrainConfig, TrainResult, train

Log = Callable[[str], None]

# name -> TrainConfig overrides of the base settings (training.retrain.default_train_config).
DEFAULT_GRID: tuple[tuple[str, Mapping[str, Any]], ...] = (
    ("content", {}),
    ("hybrid", {"identity_tokens": True, "identity_dropout": 0.3}),
    ("hybrid-identity-heavy", {"identity_tokens": True, "identity_dropout": 0.1}),
    ("content-slow", {"lr": 3e-4, "sparse_lr": 3e-4}),
    ("content-pointwise", {"listwise_weight": 0.0}),
    ("content-regularised", {"weight_decay": 1e-2, "token_dropout": 0.2}),
)


@dataclass
class TuningConfig:
    grid: tuple[tuple[str, Mapping[str, Any]], ...] = DEFAULT_GRID
    validation_fraction: float = 0.15
    patience: int = 3
    budget_pair_epochs: int = 4_000_000
    max_seconds: float = 600.0
    # Between retrains the chosen settings are reused until the labels have grown by
    # this factor since they were chosen, or they are this many days old (the best
    # settings move slowly with the data; the search costs several trainings).
    retune_growth: float = 2.0
    retune_days: float = 28.0

    def validate(self) -> None:
        if not self.grid:
            raise ValueError("the tuning grid is empty")
        names = [name for name, _ in self.grid]
        if len(set(names)) != len(names):
            raise ValueError(f"tuning grid names must be unique, got {names}")
        fields = {f.name for f in dataclasses.fields(TrainConfig)}
        for name, overrides in self.grid:
            unknown = set(overrides) - fields
            if unknown:
                raise ValueError(f"grid point {name!r} sets unknown settings {sorted(unknown)}")
        if not 0.0 < self.validation_fraction < 0.5:
            raise ValueError(
                f"validation_fraction must lie in (0, 0.5), got {self.validation_fraction}"
            )
        if self.patience < 1 or self.budget_pair_epochs < 1 or not self.max_seconds > 0:
            raise ValueError("patience, budget_pair_epochs and max_seconds must be positive")
        if not self.retune_growth >= 1.0 or not self.retune_days >= 0:
            raise ValueError("retune_growth must be >= 1 and retune_days >= 0")


@dataclass
class Trial:
    name: str
    overrides: dict[str, Any]
    status: str  # trained | skipped
    valid: dict[str, float] = field(default_factory=dict)
    best_epoch: int = 0
    epochs_run: int = 0
    seconds: float = 0.0
    reason: str = ""

    @property
    def score(self) -> float:
        """What the choice maximises: validation AUC + MRR (-inf when undefined)."""
        a, m = self.valid.get("auc", math.nan), self.valid.get("mrr", math.nan)
        ok = all(isinstance(x, float) and math.isfinite(x) for x in (a, m))
        return a + m if ok else -math.inf

    def row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "valid_auc": self.valid.get("auc"),
            "valid_recall_at_10": self.valid.get("recall_at_10"),
            "valid_mrr": self.valid.get("mrr"),
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "seconds": round(self.seconds, 2),
            "reason": self.reason,
            "settings": self.overrides,
        }


@dataclass
class TuningResult:
    chosen: str
    config: TrainConfig  # the winning settings, epochs = its best epoch (for refits)
    trials: list[Trial]
    info: dict[str, Any]
    result: TrainResult | None = None  # the winner's model (trained on the fit part)

    def report(self) -> dict[str, Any]:
        """What the registry keeps (and a later retrain may reuse, ``reusable``)."""
        return {
            "chosen": self.chosen,
            "epochs": self.config.epochs,
            "settings": dict(self._grid_overrides()),
            "trials": [t.row() for t in self.trials],
            **self.info,
        }

    def _grid_overrides(self) -> Mapping[str, Any]:
        trial = next((t for t in self.trials if t.name == self.chosen), None)
        return trial.overrides if trial else self.info.get("settings", {})

    @classmethod
    def reused(cls, previous: Mapping[str, Any], base: TrainConfig, version: str) -> TuningResult:
        """The settings a previous retrain chose (its registry ``metrics.tuning``)."""
        config = dataclasses.replace(base, **previous["settings"], epochs=int(previous["epochs"]))
        info = {
            "reused_from": version,
            "settings": dict(previous["settings"]),
            "tuned_at_labels": previous["tuned_at_labels"],
            "tuned_at": previous["tuned_at"],
        }
        return cls(previous["chosen"], config, [], info)

    def table(self) -> str:
        if not self.trials:
            return (
                f"settings {self.chosen!r} ({self.config.epochs} epochs) reused from "
                f"{self.info.get('reused_from')}, chosen at {self.info.get('tuned_at_labels')} labels"
            )
        head = f"{'setting':<24}{'valid AUC':>10}{'R@10':>8}{'MRR':>8}{'epochs':>8}{'secs':>7}"
        lines = [head, "-" * len(head)]
        for t in self.trials:
            if t.status != "trained":
                lines.append(f"{t.name:<24}  skipped: {t.reason}")
                continue
            mark = " *" if t.name == self.chosen else ""
            lines.append(
                f"{t.name:<24}{t.valid.get('auc', math.nan):>10.4f}"
                f"{t.valid.get('recall_at_10', math.nan):>8.4f}{t.valid.get('mrr', math.nan):>8.4f}"
                f"{t.best_epoch:>5}/{t.epochs_run:<2}{t.seconds:>7.1f}{mark}"
            )
        return "\n".join(lines)


def tune(
    pairs: Sequence[Any],
    talents: Mapping[Any, Any],
    projects: Mapping[Any, Any],
    base: TrainConfig,
    tuning: TuningConfig | None = None,
    *,
    log: Log = print,
) -> TuningResult:
    """Choose the settings for ``pairs`` (a training window, time-stamped) by the grid."""
    tuning = tuning or TuningConfig()
    tuning.validate()
    split = split_by_time(pairs, tuning.validation_fraction)
    fit, valid = split.train, split.valid
    if not valid:
        raise ValueError("the tuning validation slice is empty (every pair also in the fit part)")
    started = time.perf_counter()
    budget = tuning.budget_pair_epochs
    # an epoch fits the labelled pairs (shown-only ones are list members, not epochs)
    fit_labelled = max(sum(not is_shown_only(p) for p in fit), 1)
    trials: list[Trial] = []
    results: dict[str, TrainResult] = {}
    for name, overrides in tuning.grid:
        elapsed = time.perf_counter() - started
        cap = min(base.epochs, budget // fit_labelled)
        if cap < 1:
            trials.append(Trial(name, dict(overrides), "skipped", reason="work budget spent"))
            continue
        if elapsed > tuning.max_seconds:
            trials.append(
                Trial(name, dict(overrides), "skipped", reason=f"time budget ({elapsed:.0f}s)")
            )
            continue
        cfg = dataclasses.replace(base, **overrides, epochs=cap, patience=tuning.patience)
        t0 = time.perf_counter()
        res = train(fit, valid, talents, projects, cfg)
        budget -= res.epochs_run * fit_labelled
        trial = Trial(
            name,
            dict(overrides),
            "trained",
            valid={k: v for k, v in res.best_metrics.items() if isinstance(v, float)},
            best_epoch=res.best_epoch,
            epochs_run=res.epochs_run,
            seconds=time.perf_counter() - t0,
        )
        trials.append(trial)
        results[name] = res
        log(
            f"  tuning {name:<24} valid AUC {trial.valid.get('auc', math.nan):.4f} "
            f"(epoch {trial.best_epoch}/{trial.epochs_run}, {trial.seconds:.1f}s)"
        )
    trained = [t for t in trials if t.status == "trained"]
    if not trained:
        raise ValueError("no grid point could be trained within the budget")
    best = max(trained, key=lambda t: t.score)  # max keeps the first of equal scores
    winner = results[best.name]
    config = dataclasses.replace(winner.config, epochs=best.best_epoch)
    info = {
        "fit_pairs": fit_labelled,
        "fit_shown_only_pairs": len(fit) - fit_labelled,
        "validation_pairs": len(valid),
        "validation_fraction": tuning.validation_fraction,
        "validation_cutoff": split.info["cutoff"],
        "budget_pair_epochs": tuning.budget_pair_epochs,
        "budget_left": max(budget, 0),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return TuningResult(best.name, config, trials, info, winner)
