"""Training data containers: labelled pairs and the encoded bags of talents/projects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from ses_udf.learned_tower import encode, identity_token, is_identity_id

# no_response is excluded at first; when enabled it enters as a weak negative
# (label 0.0) with this sample weight.
WEAK_NEGATIVE_WEIGHT = 0.3


class Pair(NamedTuple):
    """One labelled (talent, project) interaction.

    ``label`` is graded in [0, 1]; ``sample_weight`` scales its loss (e.g. 0.3 for weak
    negatives); ``timestamp`` (datetime or epoch seconds) is needed by the time split;
    ``rank`` is the position the pair was shown at (1 = top; None when unknown), which
    only the training-only position term reads. ``shown_only``: the pair was displayed
    and never labelled; it has no label to fit, but it belongs to its project's list
    (the list-wise term and the validation ranking metrics rank whole lists).
    Keys are entity ids, or ``(entity id, profile version)`` tuples for point-in-time
    bags (``entity_id``). Plain tuples ``(talent_key, project_key, label[,
    sample_weight[, timestamp]])`` work too.
    """

    talent_key: Any
    project_key: Any
    label: float
    sample_weight: float = 1.0
    timestamp: Any = None
    rank: int | None = None
    shown_only: bool = False


def is_shown_only(pair: Sequence[Any]) -> bool:
    return bool(getattr(pair, "shown_only", False))


def entity_id(key: Any) -> Any:
    """The entity of a bag key: the key itself, or the id of an (id, version) key."""
    return key[0] if isinstance(key, tuple) else key


def pair_rank(pair: Sequence[Any]) -> int | None:
    return getattr(pair, "rank", None)


def pair_fields(pair: Sequence[Any]) -> tuple[Any, Any, float, float]:
    """(talent_key, project_key, label, sample_weight) of a Pair or plain tuple."""
    n = len(pair)
    if n < 3:
        raise ValueError(f"a pair needs (talent_key, project_key, label), got {pair!r}")
    weight = float(pair[3]) if n > 3 and pair[3] is not None else 1.0
    return pair[0], pair[1], float(pair[2]), weight


def pair_timestamp(pair: Sequence[Any]) -> float:
    ts = getattr(pair, "timestamp", None)
    if ts is None and not isinstance(pair, Pair) and len(pair) > 4:
        ts = pair[4]
    if ts is None:
        raise ValueError(f"pair has no timestamp (needed by the time split): {pair!r}")
    if isinstance(ts, dt.datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=dt.UTC)
        return ts.timestamp()
    if isinstance(ts, dt.date):
        return dt.datetime(ts.year, ts.month, ts.day, tzinfo=dt.UTC).timestamp()
    return float(ts)


@dataclass
class BagTable:
    """Bags of one side encoded once, CSR-style; row i is the bag of ``keys[i]``.

    ``ids`` are scheme ids (ses_udf.learned_tower); with ``identity`` each bag also
    holds its entity's identity token (last, ``identity_weight``), flagged in
    ``identity`` so training can drop it."""

    keys: list[Any]
    index: dict[Any, int]
    ids: np.ndarray  # int64 [N]
    starts: np.ndarray  # int64 [R] start of row i in ids
    lengths: np.ndarray  # int64 [R]
    weights: np.ndarray  # float32 [N]
    identity: np.ndarray  # bool [N]

    @classmethod
    def build(
        cls,
        bags: Mapping[Any, tuple[Sequence[str], Sequence[float]]],
        *,
        identity_side: str | None = None,
        identity_weight: float = 1.0,
    ) -> BagTable:
        keys = list(bags)
        if identity_side is None:
            source = (bags[k] for k in keys)
        else:
            source = (
                (
                    [*bags[k][0], identity_token(identity_side, entity_id(k))],
                    [*bags[k][1], identity_weight],
                )
                for k in keys
            )
        ids, offsets, weights = encode(source)
        lengths = np.diff(np.append(offsets, ids.size)).astype(np.int64)
        return cls(
            keys,
            {k: i for i, k in enumerate(keys)},
            ids,
            offsets,
            lengths,
            weights,
            is_identity_id(ids),
        )

    def rows(self, keys: Sequence[Any], what: str) -> np.ndarray:
        try:
            return np.fromiter((self.index[k] for k in keys), dtype=np.int64, count=len(keys))
        except KeyError as exc:
            raise KeyError(f"{what} {exc.args[0]!r} has no tokens in the {what} table") from exc

    def positions(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in the flat arrays of the bags of ``rows``, in order; offsets)."""
        lengths = self.lengths[rows]
        offsets = np.zeros(rows.size, dtype=np.int64)
        if rows.size > 1:
            np.cumsum(lengths[:-1], out=offsets[1:])
        total = int(lengths.sum())
        src = np.repeat(self.starts[rows] - offsets, lengths) + np.arange(total, dtype=np.int64)
        return src, offsets

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flat (ids, offsets, weights) for the bags of ``rows`` (in that order)."""
        src, offsets = self.positions(rows)
        return self.ids[src], offsets, self.weights[src]

    def vocabulary(self) -> np.ndarray:
        """Sorted unique scheme ids of every bag: a tower's vocabulary."""
        return np.unique(self.ids)

    def used_ids(self, rows: np.ndarray) -> np.ndarray:
        """Sorted unique scheme ids of the bags of ``rows``."""
        ids, _, _ = self.gather(np.unique(rows))
        return np.unique(ids)
