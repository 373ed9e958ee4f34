"""Train/validation splits without leakage (SPEC R-40).

* ``split_by_time``: every validation pair is strictly later than every training pair.
  The cutoff is the (1 - valid_fraction) quantile of the pairs' timestamps (``basis="pairs"``,
  i.e. ~20% of the labelled pairs, the 80/20 of R-40) or that point of the time span
  (``basis="span"``: the last 20% of the time range). Pairs at the cutoff instant all go to
  validation. By default validation pairs whose (talent, project) also occurs in training
  (a pair shown again in a later run) are dropped: their label would leak.
* ``split_by_project``: a project's pairs all land on one side, chosen by a stable hash
  (ses_udf.hashing.token_hash of ``"<salt>:<project_key>"``) so the split is the same on
  every machine and run, and a project keeps its side as data grows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from ses_udf.hashing import token_hash

from training.data import pair_fields, pair_timestamp

PROJECT_SPLIT_SALT = "ses-split-v1"
_BUCKETS = 10_000


class SplitResult(NamedTuple):
    train: list[Any]
    valid: list[Any]
    info: dict[str, Any]


def _check_fraction(valid_fraction: float) -> None:
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must lie in (0, 1), got {valid_fraction}")


def split_by_time(
    pairs: Sequence[Any],
    valid_fraction: float = 0.2,
    *,
    basis: str = "pairs",
    drop_overlapping: bool = True,
) -> SplitResult:
    _check_fraction(valid_fraction)
    pairs = list(pairs)
    if not pairs:
        raise ValueError("cannot split an empty list of pairs")
    ts = np.array([pair_timestamp(p) for p in pairs], dtype=np.float64)
    if basis == "pairs":
        sorted_ts = np.sort(ts)
        cut_pos = min(len(pairs) - 1, math.floor(len(pairs) * (1.0 - valid_fraction)))
        cutoff = sorted_ts[cut_pos]
    elif basis == "span":
        cutoff = ts.min() + (1.0 - valid_fraction) * (ts.max() - ts.min())
    else:
        raise ValueError(f"basis must be 'pairs' or 'span', got {basis!r}")
    is_valid = ts >= cutoff
    train = [p for p, v in zip(pairs, is_valid, strict=True) if not v]
    valid = [p for p, v in zip(pairs, is_valid, strict=True) if v]
    if not train or not valid:
        raise ValueError(
            "time split left one side empty (all timestamps at or after the cutoff); "
            "use the project split"
        )
    dropped = 0
    if drop_overlapping:
        seen = {pair_fields(p)[:2] for p in train}
        kept = [p for p in valid if pair_fields(p)[:2] not in seen]
        dropped = len(valid) - len(kept)
        valid = kept
    info = {
        "method": "time",
        "basis": basis,
        "cutoff": float(cutoff),
        "train": len(train),
        "valid": len(valid),
        "valid_dropped_overlap": dropped,
    }
    return SplitResult(train, valid, info)


def project_bucket(project_key: Any, salt: str = PROJECT_SPLIT_SALT) -> float:
    """Stable position of a project in [0, 1) for the project split."""
    return (token_hash(f"{salt}:{project_key}") % _BUCKETS) / _BUCKETS


def split_by_project(
    pairs: Sequence[Any], valid_fraction: float = 0.2, *, salt: str = PROJECT_SPLIT_SALT
) -> SplitResult:
    _check_fraction(valid_fraction)
    pairs = list(pairs)
    if not pairs:
        raise ValueError("cannot split an empty list of pairs")
    bucket: dict[Any, bool] = {}
    train: list[Any] = []
    valid: list[Any] = []
    for p in pairs:
        key = pair_fields(p)[1]
        v = bucket.get(key)
        if v is None:
            v = bucket[key] = project_bucket(key, salt) < valid_fraction
        (valid if v else train).append(p)
    if not train or not valid:
        raise ValueError(
            f"project split left one side empty ({len(bucket)} projects); need more projects"
        )
    info = {
        "method": "project",
        "salt": salt,
        "train": len(train),
        "valid": len(valid),
        "valid_projects": sum(bucket.values()),
        "projects": len(bucket),
    }
    return SplitResult(train, valid, info)


def split_pairs(
    pairs: Sequence[Any], method: str = "time", valid_fraction: float = 0.2, **kwargs: Any
) -> SplitResult:
    """Dispatch to ``split_by_time`` or ``split_by_project``."""
    if method == "time":
        return split_by_time(pairs, valid_fraction, **kwargs)
    if method == "project":
        return split_by_project(pairs, valid_fraction, **kwargs)
    raise ValueError(f"split method must be 'time' or 'project', got {method!r}")
