"""The vectorised shortlist behind ses.rank_candidates (ses.run_match and the
ranked_candidates mart).

The business rules live in SQL (macros/business_rules.sql). Each rule reads one
talent feature, so ses.business_rule_tables evaluates every rule once per
distinct value of its feature for the project at hand; this module keeps the
talents' feature codes in memory (per database backend) and only looks those
results up and adds them, in the SQL's order, so the knock-outs and business
scores are the SQL's to the last bit. From them it picks a shortlist that
provably holds the top `depth` candidates, and ses.rank_candidates ranks the
shortlist with the per-pair SQL (the HardKO guarantee, the base score factors,
the blend, the tie order) and checks the proof:

* `cutoff_total` is an upper bound on the total score of every passed talent
  left out (its base score cannot exceed its business score, R-30 factors being
  in [0, 1], and the blend grows with both inputs), `cutoff_base` the same for
  the base score; the SQL accepts the shortlist when its depth-th total (and
  base) is above them, else it asks again, deeper.

The store follows ses.change_log (entity `talent`): each call applies the talents
written since the snapshot it last read (inserted, edited, deleted), so a profile
edited a second ago is ranked as it is now; a TRUNCATE, or log rows pruned past
that snapshot, reload everything.

`db` is plpython's `plpy` module (anything with prepare/execute).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ses_udf import embedding_store
from ses_udf.embedders import create_embedder
from ses_udf.online import embed_from_tokens
from ses_udf.scoring import blend_total, similarity_scores

# A full reload once the edited talents outgrow this share of the loaded ones.
OVERLAY_MAX_SHARE = 0.02
OVERLAY_MIN_ROWS = 2_000


@dataclass
class Segment:
    """Talents loaded by one query: ids, update times, one code per value
    feature (an index into TalentStore.domains) and their skills."""

    ids: np.ndarray  # int64, sorted
    updated_at: np.ndarray  # float64 epoch seconds
    codes: dict[str, np.ndarray]  # feature -> int32 code per talent
    skill_starts: np.ndarray  # int64 (n + 1,): talent i has skill_codes[starts[i]:starts[i+1]]
    skill_codes: np.ndarray  # int32 global skill codes
    alive: np.ndarray  # bool: not superseded by a later edit, not deleted
    _postings: dict[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def postings(self, code: int) -> np.ndarray:
        """Rows that have the skill `code`."""
        if self._postings is None:
            owner = np.repeat(np.arange(len(self.ids)), np.diff(self.skill_starts))
            order = np.argsort(self.skill_codes, kind="stable")
            sorted_codes = self.skill_codes[order]
            bounds = np.flatnonzero(np.diff(sorted_codes)) + 1
            starts = np.concatenate(([0], bounds))
            ends = np.concatenate((bounds, [len(sorted_codes)]))
            self._postings = {
                int(sorted_codes[s]): owner[order[s:e]] for s, e in zip(starts, ends, strict=True)
            }
        return self._postings.get(code, np.zeros(0, dtype=np.int64))


@dataclass
class TalentStore:
    spec: dict
    snapshot: str
    domains: dict[str, list]  # value feature -> distinct values (index = code)
    vocabulary: list[str]  # skill code -> skill
    base: Segment
    overlay: Segment | None = None
    _domain_index: dict[str, dict] = field(default_factory=dict)
    _vocabulary_index: dict[str, int] = field(default_factory=dict)

    @property
    def segments(self) -> list[Segment]:
        return [self.base] if self.overlay is None else [self.base, self.overlay]

    def code_of(self, feature: str, value) -> int:
        index = self._domain_index.setdefault(
            feature, {v: i for i, v in enumerate(self.domains[feature])}
        )
        if value not in index:
            index[value] = len(self.domains[feature])
            self.domains[feature].append(value)
        return index[value]

    def skill_code(self, skill: str) -> int:
        if not self._vocabulary_index and self.vocabulary:
            self._vocabulary_index.update({s: i for i, s in enumerate(self.vocabulary)})
        if skill not in self._vocabulary_index:
            self._vocabulary_index[skill] = len(self.vocabulary)
            self.vocabulary.append(skill)
        return self._vocabulary_index[skill]


_PLANS: dict[str, object] = {}
_STORE: TalentStore | None = None


def _plan(db, key: str, sql: str, types: list[str]):
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = db.prepare(sql, types)
    return plan


def _value_features(spec: dict) -> list[dict]:
    return [f for f in spec["features"] if f.get("column")]


def _load_segment(db, store_spec: dict, ids: list[int] | None) -> tuple[dict, str]:
    """One row of ses.talent_rule_features: packed columns, local codes."""
    row = db.execute(
        _plan(db, "features", "select * from ses.talent_rule_features($1)", ["int8[]"]), [ids]
    )[0]
    return row, row["snapshot"]


def _segment_from_row(store: TalentStore, row: dict) -> Segment:
    ids = np.frombuffer(row["ids"] or b"", dtype=">i8").astype(np.int64)
    n = len(ids)
    codes = {}
    for f in _value_features(store.spec):
        local_values = json.loads(row[f"{f['name']}_values"] or "[]")
        remap = np.asarray([store.code_of(f["name"], v) for v in local_values] or [0], np.int32)
        local = np.frombuffer(row[f"{f['name']}_codes"] or b"", dtype=">i4").astype(np.int32)
        codes[f["name"]] = remap[local] if n else np.zeros(0, np.int32)
    counts = np.frombuffer(row["skill_counts"] or b"", dtype=">i4").astype(np.int64)
    skill_codes = _skill_codes(store, row["skills"], counts)
    updated = np.frombuffer(row["updated_at"] or b"", dtype=">f8").astype(np.float64)
    if n > 1 and not (np.diff(ids) > 0).all():
        # the rows came in another order than asked: sort every column by id
        order = np.argsort(ids, kind="stable")
        old_starts = np.concatenate(([0], np.cumsum(counts)))[:-1]
        counts = counts[order]
        new_starts = np.concatenate(([0], np.cumsum(counts)))[:-1]
        gather = np.repeat(old_starts[order] - new_starts, counts) + np.arange(int(counts.sum()))
        skill_codes = skill_codes[gather]
        ids, updated = ids[order], updated[order]
        codes = {name: c[order] for name, c in codes.items()}
    return Segment(
        ids=ids,
        updated_at=updated,
        codes=codes,
        skill_starts=np.concatenate(([0], np.cumsum(counts))),
        skill_codes=skill_codes,
        alive=np.ones(n, dtype=bool),
    )


def _skill_codes(store: TalentStore, packed: str | None, counts: np.ndarray) -> np.ndarray:
    """Global skill codes of every talent's skills, in talent order."""
    if not packed or not counts.sum():
        return np.zeros(0, dtype=np.int32)
    talents = packed.split("\x1e")
    flat = [
        s
        for chunk, n in zip(talents, counts.tolist(), strict=False)
        if n
        for s in chunk.split("\x1f")
    ]
    if len(talents) != len(counts) or len(flat) != int(counts.sum()):
        raise ValueError(
            "a talent skill contains a control character (chr(30) or chr(31)); "
            f"{len(flat)} skills split vs {int(counts.sum())} expected"
        )
    code = store.skill_code
    return np.fromiter((code(s) for s in flat), dtype=np.int32, count=len(flat))


def _full_load(db) -> TalentStore:
    spec = json.loads(
        db.execute(_plan(db, "spec", "select ses.business_rule_spec() as s", []))[0]["s"]
    )
    store = TalentStore(
        spec=spec,
        snapshot="",
        domains={f["name"]: [] for f in _value_features(spec)},
        vocabulary=[],
        base=None,  # type: ignore[arg-type]
    )
    row, snapshot = _load_segment(db, spec, None)
    store.base = _segment_from_row(store, row)
    store.snapshot = snapshot
    return store


def _changes(db, snapshot: str) -> dict:
    return db.execute(
        _plan(
            db,
            "changes",
            "select coalesce(array_agg(distinct c.entity_id) filter (where c.entity_id is not null), '{}') as ids,"
            " coalesce(bool_or(c.entity_id is null), false)"
            "   or coalesce((select h.pruned_below >= pg_snapshot_xmin($1::pg_snapshot)"
            "                from ses.change_log_horizon as h where h.entity = 'talent'), false) as reload,"
            " pg_current_snapshot()::text as snapshot"
            " from ses.change_log as c"
            " where c.entity = 'talent' and c.txid >= pg_snapshot_xmin($1::pg_snapshot)"
            " and not pg_visible_in_snapshot(c.txid, $1::pg_snapshot)",
            ["text"],
        ),
        [snapshot],
    )[0]


def _apply_changes(db, store: TalentStore, changed: list[int]) -> None:
    """Mark the changed talents' old rows dead and load their current rows into
    the overlay (deleted talents simply have no current row)."""
    wanted = np.asarray(sorted(set(changed)), dtype=np.int64)
    old_overlay = store.overlay
    keep: list[int] = []
    if old_overlay is not None:
        keep = old_overlay.ids[old_overlay.alive & ~np.isin(old_overlay.ids, wanted)].tolist()
    pos = np.searchsorted(store.base.ids, wanted)
    pos = np.clip(pos, 0, max(len(store.base.ids) - 1, 0))
    if len(store.base.ids):
        hit = store.base.ids[pos] == wanted
        store.base.alive[pos[hit]] = False
    row, _ = _load_segment(db, store.spec, sorted(set(keep) | set(wanted.tolist())))
    store.overlay = _segment_from_row(store, row)


def current_store(db) -> TalentStore:
    """The backend's talent store, brought up to date with ses.change_log."""
    global _STORE
    if _STORE is None:
        _STORE = _full_load(db)
        return _STORE
    changes = _changes(db, _STORE.snapshot)
    if changes["reload"]:
        _STORE = _full_load(db)
        return _STORE
    if changes["ids"]:
        _apply_changes(db, _STORE, changes["ids"])
        overlay = len(_STORE.overlay) if _STORE.overlay is not None else 0
        if overlay > max(OVERLAY_MIN_ROWS, OVERLAY_MAX_SHARE * len(_STORE.base)):
            _STORE = _full_load(db)
            return _STORE
    _STORE.snapshot = changes["snapshot"]
    return _STORE


def clear() -> None:
    global _STORE
    _STORE = None
    _HISTORICAL.clear()


# R-30's historical factor per talent: (relation file of the table it was read
# from, talent ids ascending, factors). The nightly build replaces
# ses.talent_historical_scores (a new relation file), which is the only way it
# changes, so the file number tells a backend when to read it again.
_HISTORICAL: dict[str, tuple[int, np.ndarray, np.ndarray]] = {}


def historical_factors(db, ids: np.ndarray) -> np.ndarray:
    """The historical factor of each talent in `ids`, as ses.rank_shortlist
    joins it: ses.historical_factor_without_history() for a talent without a
    row, and for every talent before the first build made the table."""
    row = db.execute(
        _plan(
            db,
            "historical-key",
            "select pg_relation_filenode(to_regclass('ses.talent_historical_scores')) as f,"
            " ses.historical_factor_without_history() as missing",
            [],
        )
    )[0]
    key, missing = row["f"], float(row["missing"])
    if key is None:
        return np.full(len(ids), missing)
    cached = _HISTORICAL.get("factors")
    if cached is None or cached[0] != key:
        row = db.execute(
            _plan(
                db,
                "historical-load",
                "select coalesce(string_agg(int8send(talent_id), ''::bytea order by talent_id), ''::bytea) as ids, "
                "coalesce(string_agg(float8send(historical_score), ''::bytea order by talent_id), ''::bytea) "
                "as factors from ses.talent_historical_scores",
                [],
            )
        )[0]
        cached = (
            key,
            np.frombuffer(row["ids"], dtype=">i8").astype(np.int64),
            np.frombuffer(row["factors"], dtype=">f8").astype(np.float64),
        )
        _HISTORICAL["factors"] = cached
    _, known, factors = cached
    out = np.full(len(ids), missing)
    if len(known):
        pos = np.minimum(np.searchsorted(known, ids), len(known) - 1)
        hit = known[pos] == ids
        out[hit] = factors[pos[hit]]
    return out


# ---------------------------------------------------------------- evaluation


@dataclass
class Evaluated:
    """Every passed talent of the store for one project."""

    ids: np.ndarray
    business: np.ndarray
    updated_at: np.ndarray


def rule_tables(db, project_id: int, store: TalentStore) -> dict:
    raw = db.execute(
        _plan(
            db,
            "tables",
            "select ses.business_rule_tables($1, $2::jsonb) as t",
            ["int8", "text"],
        ),
        [project_id, json.dumps(store.domains)],
    )[0]["t"]
    if raw is None:
        raise ValueError(f"unknown project_id {project_id}")
    return json.loads(raw)


def evaluate(store: TalentStore, tables: dict) -> Evaluated:
    """Knock-outs and business scores of every talent, looked up from the
    rule tables and summed in the SQL's term order (bit-identical)."""
    spec = store.spec
    skill_codes = {
        list_name: [store._vocabulary_index.get(s) for s in tables[list_name]]
        for list_name in ("required_skills", "preferred_skills")
    }
    ids, business, updated = [], [], []
    for seg in store.segments:
        n = len(seg)
        if n == 0:
            continue
        feature_codes: dict[str, np.ndarray] = dict(seg.codes)
        for f in spec["features"]:
            if f.get("skills_of"):
                matched = np.zeros(n, dtype=np.int32)
                for code in skill_codes[f["skills_of"]]:
                    if code is not None:
                        matched[seg.postings(code)] += 1
                feature_codes[f["name"]] = matched
        knocked = ~seg.alive
        for feature, table in zip(spec["knock_out_features"], tables["knock_outs"], strict=True):
            lookup = np.asarray(table, dtype=bool)
            knocked |= lookup[feature_codes[feature]]
        total = None
        for feature, table in zip(spec["scores"], tables["scores"], strict=True):
            values = np.asarray(table, dtype=np.float64)[feature_codes[feature]]
            total = values if total is None else total + values
        passed = ~knocked
        ids.append(seg.ids[passed])
        business.append(total[passed] if total is not None else np.zeros(int(passed.sum())))
        updated.append(seg.updated_at[passed])
    if not ids:
        empty = np.zeros(0)
        return Evaluated(empty.astype(np.int64), empty, empty)
    return Evaluated(np.concatenate(ids), np.concatenate(business), np.concatenate(updated))


class TwoTower:
    """Two-tower scores of one project against chosen talents: the talent
    vectors from the cache, embedded on the spot when the talent changed after
    its cached vector (or has none)."""

    def __init__(self, db, embedder_name: str, dimension: int, project_id: int) -> None:
        self.db = db
        self.embedder = create_embedder(embedder_name, dimension, db)
        self.project = embed_from_tokens(
            db, self.embedder, _token_relation("project"), [project_id], "project"
        )[0]
        self.cache = embedding_store.load(
            db, "talent", self.embedder.name, self.embedder.version, dimension
        )

    def scores(self, ids: np.ndarray, updated_at: np.ndarray) -> np.ndarray:
        out = np.zeros(len(ids), dtype=np.float32)
        if not len(ids):
            return out
        pos, found = self.cache.rows_for(ids)
        stale = ~found
        if found.any():
            stale |= found & (self.cache.source_updated_at[pos] < updated_at)
        fresh = found & ~stale
        if fresh.any():
            rows = pos[fresh]
            out[fresh] = similarity_scores(
                self.project, self.cache.matrix[rows], self.cache.nonzero[rows]
            )
        if stale.any():
            vectors = embed_from_tokens(
                self.db, self.embedder, _token_relation("talent"), ids[stale].tolist(), "talent"
            )
            out[stale] = similarity_scores(self.project, vectors)
        return out


_TOKEN_RELATIONS: dict[str, str] = {}


def _token_relation(side: str) -> str:
    return _TOKEN_RELATIONS[side]


def configure_token_relations(talent_tokens: str, project_tokens: str) -> None:
    """The dbt relations of int_talent_tokens / int_project_tokens (the wrapper
    function knows them from ref())."""
    _TOKEN_RELATIONS.update({"talent": talent_tokens, "project": project_tokens})


@dataclass
class Shortlist:
    talent_ids: list[int]
    business: list[float]
    two_tower: list[float]
    passed: int
    cutoff_total: float | None  # None: nothing left out
    cutoff_base: float | None
    cutoff_total_talent: int | None
    cutoff_base_talent: int | None


@dataclass
class Choice:
    """Positions of the chosen talents, their two-tower scores, and for the
    total and the base score the bound every talent left out stays behind in
    the ranking order: (score, talent id), the left-out talent that would come
    first if each scored its upper bound (None: none left out)."""

    chosen: np.ndarray
    two_tower: np.ndarray
    cutoff_total: float | None
    cutoff_base: float | None
    cutoff_total_talent: int | None = None
    cutoff_base_talent: int | None = None


def choose(
    ids: np.ndarray,
    business: np.ndarray,
    depth: int,
    weight: float,
    blended: bool,
    two_tower: Callable[[np.ndarray], np.ndarray],
) -> Choice:
    """The talents (positions) that can reach the top `depth` by total score or
    by base score, given an upper bound of each one's base score in `business`
    (the business score times the R-30 factors known here; shortlist() passes
    business x historical), the blend weight and `two_tower(positions)`, which
    is asked for as few talents as possible.

    Ties are broken as the ranking breaks them (the smaller talent id first),
    so the shortlist holds about `depth` talents per order however many share
    a score: rule-based scores tie in large groups. A left-out talent's base
    score is at most its bound (the other R-30 factors lie in [0, 1]) and the
    blend grows with both of its inputs, so the bounds hold whatever factors
    the SQL joins later."""
    n = len(ids)
    if n == 0:
        return Choice(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), None, None)
    by_base = _top(business, ids, depth)
    cutoff_base, base_talent = _first_outside(business, ids, by_base)
    if not blended:
        # total = base: the base shortlist is the total one too
        return Choice(
            by_base, two_tower(by_base), cutoff_base, cutoff_base, base_talent, base_talent
        )
    tt_base = two_tower(by_base)
    totals_base = blend_total(business[by_base], tt_base, weight)
    # The depth-th total among the best by base is reached by the true top
    # `depth`; a talent whose best case (two-tower = 1) falls short cannot make it.
    floor = np.sort(totals_base)[::-1][min(depth, len(by_base)) - 1]
    ceiling = blend_total(business, np.ones(n), weight)
    contenders = np.flatnonzero(ceiling >= floor)
    tt = two_tower(contenders)
    totals = blend_total(business[contenders], tt, weight)
    chosen = np.union1d(contenders[_top(totals, ids[contenders], depth)], by_base)
    score_of = np.zeros(n, dtype=np.float32)
    score_of[contenders] = tt
    score_of[by_base] = tt_base
    bound = ceiling.copy()  # left out without a two-tower score: its best case
    bound[contenders] = totals
    cutoff_total, total_talent = _first_outside(bound, ids, chosen)
    return Choice(chosen, score_of[chosen], cutoff_total, cutoff_base, total_talent, base_talent)


def shortlist(
    db,
    project_id: int,
    depth: int,
    embedder_name: str,
    dimension: int,
    weight: float | None,
    serving: bool,
) -> Shortlist:
    if depth is None or depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    store = current_store(db)
    ev = evaluate(store, rule_tables(db, project_id, store))
    tower = TwoTower(db, embedder_name, dimension, project_id)
    w = float(weight or 0.0)
    # the base score's bound: business x historical (the semantic factor, when
    # there is one, is <= 1 and only lowers it); the SQL ranking computes the same
    # product, so the shortlist's ties and cut-offs are the final ones
    base = ev.business * historical_factors(db, ev.ids)
    pick = choose(
        ev.ids,
        base,
        depth,
        w,
        bool(serving) and w != 0.0,
        lambda positions: tower.scores(ev.ids[positions], ev.updated_at[positions]),
    )
    return Shortlist(
        talent_ids=ev.ids[pick.chosen].tolist(),
        business=ev.business[pick.chosen].tolist(),
        two_tower=pick.two_tower.astype(float).tolist(),
        passed=len(ev.ids),
        cutoff_total=pick.cutoff_total,
        cutoff_base=pick.cutoff_base,
        cutoff_total_talent=pick.cutoff_total_talent,
        cutoff_base_talent=pick.cutoff_base_talent,
    )


def _top(keys: np.ndarray, ids: np.ndarray, depth: int) -> np.ndarray:
    """Positions of the first `depth` talents in the ranking order (key desc,
    talent id asc), ascending."""
    n = len(keys)
    if depth >= n:
        return np.arange(n)
    threshold = keys[np.argpartition(-keys, depth - 1)[depth - 1]]
    above = np.flatnonzero(keys > threshold)
    tied = np.flatnonzero(keys == threshold)
    need = depth - len(above)
    if need < len(tied):
        tied = tied[np.argpartition(ids[tied], need - 1)[:need]]
    return np.sort(np.concatenate((above, tied)))


def _first_outside(
    values: np.ndarray, ids: np.ndarray, chosen: np.ndarray
) -> tuple[float | None, int | None]:
    """The (value, talent id) of the talent outside `chosen` that comes first in
    the ranking order (highest value, then smallest id); (None, None) when
    every talent is chosen."""
    if len(chosen) >= len(values):
        return None, None
    outside = np.ones(len(values), dtype=bool)
    outside[chosen] = False
    rest, rest_ids = values[outside], ids[outside]
    best = rest.max()
    return float(best), int(rest_ids[rest == best].min())
