"""World generator: talents, projects and daily project/talent arrivals.

Rows are plain dicts whose keys are exactly the R-01 columns of `ses.talents` /
`ses.projects` (TALENT_COLUMNS / PROJECT_COLUMNS), ready for `copyfmt.write_copy`.
Everything is drawn from numpy Generators seeded by (config.seed, stream id[, day]),
never from Python's global `random`, so the same config gives the same world.
Sampling is vectorised (one numpy call per attribute), so 20k talents + 5k projects
take well under a second.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np

from simulator import catalog as cat
from simulator.copyfmt import copy_statement, write_copy

JST = timezone(timedelta(hours=9), "JST")

TALENT_COLUMNS: tuple[str, ...] = (
    "id",
    "possessed_skills_keywords",
    "residential_todofuken",
    "residential_area",
    "nearest_station",
    "desired_remote_onsite",
    "min_experience_years",
    "primary_contract_type",
    "desired_price_min",
    "japanese_skill",
    "english_skill",
    "updated_at",
)
PROJECT_COLUMNS: tuple[str, ...] = (
    "id",
    "required_skills_keywords",
    "preferred_skills_keywords",
    "work_todofuken",
    "work_area",
    "work_station",
    "remote_onsite",
    "min_experience_years",
    "contract_type",
    "monthly_tanka_max",
    "japanese_skill",
    "english_skill",
    "updated_at",
)

# Independent random streams derived from the seed.
_STREAM_TALENTS = 1
_STREAM_PROJECTS = 2
_STREAM_ARRIVALS = 3


@dataclass(frozen=True)
class WorldConfig:
    """Parameters of the simulated market (defaults documented in docs/simulator.md)."""

    seed: int = 20250401
    n_talents: int = 20_000
    n_projects: int = 5_000
    start_date: date = date(2025, 4, 1)  # first simulated day (JST)
    talent_update_window_days: int = 180  # initial talents were updated in this window
    project_open_window_days: int = 30  # initial projects were posted in this window
    null_rate: float = 0.03  # share of NULL station / english_skill (not stated)
    foreign_talent_share: float = 0.10  # non-native Japanese speakers
    global_project_share: float = 0.08  # 外資系 / global teams (English, relaxed Japanese)
    second_role_share: float = 0.35  # talents with a secondary role family
    # skill sampling weights relative to a role's core skills (1.0)
    optional_skill_weight: float = 0.16
    generic_skill_weight: float = 0.12
    stray_skill_weight: float = 0.004  # any other skill of the catalogue
    # talent desired_price_min = (role base + per_year * min(years, cap)) * lognormal(sigma)
    talent_price_per_year: int = 25_000
    talent_price_years_cap: int = 14
    talent_price_sigma: float = 0.10
    # project monthly_tanka_max = (role base + per_year * min_exp + premium) * lognormal(sigma)
    project_price_per_year: int = 35_000
    project_price_premium: int = 60_000
    project_price_sigma: float = 0.13
    regional_price_factor: float = 0.90  # outside the big-3 metropolitan areas
    # arrivals (Poisson per day; weekends and Japanese holidays use weekend_factor)
    projects_per_business_day: float = 30.0
    talents_per_business_day: float = 8.0
    weekend_factor: float = 0.05


@dataclass
class World:
    config: WorldConfig
    talents: list[dict[str, Any]]
    projects: list[dict[str, Any]]

    @property
    def next_talent_id(self) -> int:
        return max((t["id"] for t in self.talents), default=0) + 1

    @property
    def next_project_id(self) -> int:
        return max((p["id"] for p in self.projects), default=0) + 1


@dataclass(frozen=True)
class DailyArrivals:
    day: date
    business_day: bool
    projects: list[dict[str, Any]] = field(default_factory=list)
    talents: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Precomputed catalogue arrays

_SKILLS = np.array(cat.SKILLS, dtype=object)
_SKILL_IDX = {s: i for i, s in enumerate(cat.SKILLS)}
_K = len(cat.ARCHETYPES)
_S = len(cat.SKILLS)

_SUPPLY = np.array([a.supply for a in cat.ARCHETYPES], float)
_SUPPLY /= _SUPPLY.sum()
_DEMAND = np.array([a.demand for a in cat.ARCHETYPES], float)
_DEMAND /= _DEMAND.sum()

_PREF_T = np.array([p[1] for p in cat.PREFECTURES], float)
_PREF_T /= _PREF_T.sum()
_PREF_P = np.array([p[2] for p in cat.PREFECTURES], float)
_PREF_P /= _PREF_P.sum()
_PREF_NAMES = np.array(cat.PREFECTURE_NAMES, dtype=object)
_BIG3 = {"東京都", "神奈川県", "埼玉県", "千葉県", "大阪府", "京都府", "兵庫県", "愛知県"}
_PREF_BIG3 = np.array([p in _BIG3 for p in cat.PREFECTURE_NAMES])

_CORE = np.zeros((_K, _S), bool)
_OPTIONAL = np.zeros((_K, _S), bool)
for _k, _a in enumerate(cat.ARCHETYPES):
    _CORE[_k, [_SKILL_IDX[s] for s in _a.core]] = True
    _OPTIONAL[_k, [_SKILL_IDX[s] for s in _a.optional]] = True
_OPTIONAL &= ~_CORE
_GENERIC = np.zeros(_S)
for _s, _w in cat.GENERIC_SKILLS.items():
    _GENERIC[_SKILL_IDX[_s]] = _w
_UPSTREAM = np.zeros(_S, bool)
_UPSTREAM[[_SKILL_IDX[s] for s in cat.UPSTREAM_SKILLS]] = True
# Project role -> talent roles with a positive synergy (their core skills show up
# among the project's preferred skills now and then).
_PARTNER = np.zeros((_K, _S), bool)
for _t, _p, _v in cat.SYNERGY:
    if _v > 0:
        _PARTNER[cat.ARCHETYPE_INDEX[_p]] |= _CORE[cat.ARCHETYPE_INDEX[_t]]

_EXP_SHIFT = np.array([a.exp_shift for a in cat.ARCHETYPES])
_T_PRICE = np.array([a.talent_price_base for a in cat.ARCHETYPES], float)
_P_PRICE = np.array([a.project_price_base for a in cat.ARCHETYPES], float)
_T_REMOTE = np.array([a.talent_remote for a in cat.ARCHETYPES], float)
_P_REMOTE = np.array([a.project_remote for a in cat.ARCHETYPES], float)
_T_CONTRACT = np.array(
    [cat.CONTRACT_SHARES.get(a.name, cat.DEFAULT_CONTRACT_SHARES)[0] for a in cat.ARCHETYPES]
)
_P_CONTRACT = np.array(
    [cat.CONTRACT_SHARES.get(a.name, cat.DEFAULT_CONTRACT_SHARES)[1] for a in cat.ARCHETYPES]
)
_SENIOR_ROLE = np.array([a.exp_shift >= 3 for a in cat.ARCHETYPES])
_ENTRY_ROLE = np.array([a.name == "helpdesk" for a in cat.ARCHETYPES])

_REMOTE = np.array(cat.REMOTE_TYPES, dtype=object)
_CONTRACT = np.array(cat.CONTRACT_TYPES, dtype=object)
_JA = np.array(cat.JAPANESE_LEVELS, dtype=object)  # none, conversational, business, native
_EN = np.array(cat.ENGLISH_LEVELS, dtype=object)  # none, reading, conversational, business, native

# Language shares, in the order of JAPANESE_LEVELS / ENGLISH_LEVELS.
_JA_FOREIGN = np.array([0.05, 0.28, 0.62, 0.05])
_EN_DOMESTIC = np.array([0.40, 0.37, 0.13, 0.09, 0.01])
_EN_FOREIGN = np.array([0.00, 0.05, 0.20, 0.50, 0.25])
_JA_REQ = np.array([0.01, 0.04, 0.53, 0.42])
_JA_REQ_GLOBAL = np.array([0.10, 0.40, 0.45, 0.05])
_EN_REQ = np.array([0.66, 0.20, 0.07, 0.06, 0.01])
_EN_REQ_GLOBAL = np.array([0.00, 0.05, 0.15, 0.60, 0.20])

_PROJECT_MIN_EXP = np.array([0, 1, 2, 3, 5, 7, 10])
_PROJECT_MIN_EXP_P = np.array([0.04, 0.12, 0.16, 0.33, 0.25, 0.06, 0.04])
_N_REQUIRED = np.array([2, 3, 4, 5])
_N_REQUIRED_P = np.array([0.25, 0.35, 0.25, 0.15])
_N_PREFERRED = np.array([0, 1, 2, 3, 4])
_N_PREFERRED_P = np.array([0.15, 0.20, 0.30, 0.20, 0.15])

# Fixed-date Japanese public holidays plus the usual year-end/new-year closure.
# (Happy-Monday and equinox holidays are not modelled; see docs/simulator.md.)
_HOLIDAYS_MD = frozenset(
    {
        (1, 1), (1, 2), (1, 3), (2, 11), (2, 23), (4, 29), (5, 3), (5, 4), (5, 5),
        (8, 11), (11, 3), (11, 23), (12, 29), (12, 30), (12, 31),
    }
)  # fmt: skip


# ---------------------------------------------------------------------------
# Sampling helpers


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix."""
    cdf = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(probs.shape[0])[:, None]
    return np.minimum((u >= cdf).sum(axis=1), probs.shape[1] - 1)


def _weighted_subset(
    rng: np.random.Generator, weights: np.ndarray, max_k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sampling without replacement, per row (Efraimidis-Spirakis keys).

    Returns the column indices of the `max_k` best keys per row, best first, and the
    keys themselves (-inf where the weight is 0, i.e. never drawn).  Taking the first
    n columns of a row is a weighted sample of size n.
    """
    u = rng.random(weights.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        keys = np.where(weights > 0, np.log(u) / weights, -np.inf)
    top = np.argpartition(-keys, max_k - 1, axis=1)[:, :max_k]
    top_keys = np.take_along_axis(keys, top, axis=1)
    order = np.argsort(-top_keys, axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1), np.take_along_axis(top_keys, order, axis=1)


def _places(rng: np.random.Generator, pref: np.ndarray, concentration: float):
    """Area and station per row, consistent with its prefecture (busiest first)."""
    area = np.empty(pref.shape[0], dtype=object)
    station = np.empty(pref.shape[0], dtype=object)
    u = rng.random(pref.shape[0])
    for i, (_name, _wt, _wp, _region, places) in enumerate(cat.PREFECTURES):
        rows = np.flatnonzero(pref == i)
        if rows.size == 0:
            continue
        w = 1.0 / np.arange(1, len(places) + 1) ** concentration
        j = np.minimum(np.searchsorted(np.cumsum(w / w.sum()), u[rows]), len(places) - 1)
        area[rows] = [places[k][0] for k in j]
        station[rows] = [places[k][1] for k in j]
    return area, station


def _round_price(x: np.ndarray, step: np.ndarray | int) -> np.ndarray:
    return np.clip(np.round(x / step) * step, cat.PRICE_MIN, cat.PRICE_MAX).astype(np.int64)


def _timestamps(rng: np.random.Generator, n: int, lo: float, hi: float) -> list[datetime]:
    secs = np.floor(lo + rng.random(n) * (hi - lo)).astype(np.int64)
    return [datetime.fromtimestamp(s, JST) for s in secs.tolist()]


def _with_nulls(rng: np.random.Generator, values: np.ndarray, rate: float) -> list[Any]:
    out = values.tolist()
    for i in np.flatnonzero(rng.random(len(out)) < rate).tolist():
        out[i] = None
    return out


def _skill_lists(idx: np.ndarray, counts: np.ndarray) -> list[list[str]]:
    names = _SKILLS[idx]
    return [row[:c] for row, c in zip(names.tolist(), counts.tolist(), strict=True)]


# ---------------------------------------------------------------------------
# Generators


def generate_talents(
    rng: np.random.Generator,
    n: int,
    *,
    first_id: int = 1,
    updated_between: tuple[datetime, datetime],
    config: WorldConfig = WorldConfig(),
) -> list[dict[str, Any]]:
    """`n` talents with ids first_id.. and updated_at uniform in `updated_between`."""
    c = config
    if n <= 0:
        return []
    arch = rng.choice(_K, size=n, p=_SUPPLY)
    second = rng.choice(_K, size=n, p=_SUPPLY)
    second = np.where((rng.random(n) < c.second_role_share) & (second != arch), second, -1)

    years = rng.gamma(2.0, 4.3, size=n) + _EXP_SHIFT[arch] + rng.normal(0.0, 1.0, size=n)
    years = np.clip(np.round(years), 0, 30).astype(np.int64)

    pref = rng.choice(len(cat.PREFECTURES), size=n, p=_PREF_T)
    area, station = _places(rng, pref, concentration=0.6)

    foreign = rng.random(n) < c.foreign_talent_share
    ja = np.where(foreign, rng.choice(4, size=n, p=_JA_FOREIGN), 3)
    en = np.where(
        foreign, rng.choice(5, size=n, p=_EN_FOREIGN), rng.choice(5, size=n, p=_EN_DOMESTIC)
    )

    remote_p = _T_REMOTE[arch].copy()
    remote_p[~_PREF_BIG3[pref], 0] += 0.15  # outside the metropolises: want full remote
    remote = _choice_rows(rng, remote_p)
    contract = _choice_rows(rng, _T_CONTRACT[arch])

    price = _T_PRICE[arch] + c.talent_price_per_year * np.minimum(years, c.talent_price_years_cap)
    price = price + 20_000 * (second >= 0)
    price = price * np.where(_PREF_BIG3[pref], 1.0, c.regional_price_factor)
    price = price * np.where(ja < 2, 0.92, 1.0)
    price = _round_price(price * np.exp(rng.normal(0.0, c.talent_price_sigma, size=n)), 10_000)

    n_skills = 3 + np.round(0.25 * years) + rng.poisson(1.5, size=n)
    n_skills = np.clip(n_skills, 3, 12).astype(np.int64)
    w = np.full((n, _S), c.stray_skill_weight)
    w += c.generic_skill_weight * _GENERIC
    w += np.where(_CORE[arch], 1.0, 0.0) + np.where(_OPTIONAL[arch], c.optional_skill_weight, 0.0)
    has2 = second >= 0
    w[has2] += 0.5 * (
        np.where(_CORE[second[has2]], 1.0, 0.0)
        + np.where(_OPTIONAL[second[has2]], c.optional_skill_weight, 0.0)
    )
    w[:, _UPSTREAM] *= (0.2 + years / 8.0)[:, None]
    skills_idx, _ = _weighted_subset(rng, w, 12)

    lo, hi = (t.timestamp() for t in updated_between)
    updated = _timestamps(rng, n, lo, hi)
    stations = _with_nulls(rng, station, c.null_rate)
    english = _with_nulls(rng, _EN[en], c.null_rate)

    skills = _skill_lists(skills_idx, n_skills)
    cols = zip(
        range(first_id, first_id + n),
        skills,
        _PREF_NAMES[pref].tolist(),
        area.tolist(),
        stations,
        _REMOTE[remote].tolist(),
        years.tolist(),
        _CONTRACT[contract].tolist(),
        price.tolist(),
        _JA[ja].tolist(),
        english,
        updated,
        strict=True,
    )
    return [dict(zip(TALENT_COLUMNS, row, strict=True)) for row in cols]


def generate_projects(
    rng: np.random.Generator,
    n: int,
    *,
    first_id: int = 1,
    updated_between: tuple[datetime, datetime],
    config: WorldConfig = WorldConfig(),
) -> list[dict[str, Any]]:
    """`n` projects with ids first_id.. and updated_at uniform in `updated_between`."""
    c = config
    if n <= 0:
        return []
    arch = rng.choice(_K, size=n, p=_DEMAND)
    min_exp = rng.choice(_PROJECT_MIN_EXP, size=n, p=_PROJECT_MIN_EXP_P)
    bump = rng.choice(np.array([0, 2]), size=n)
    min_exp = np.where(_SENIOR_ROLE[arch], np.minimum(min_exp + bump, 10), min_exp)
    min_exp = np.where(_ENTRY_ROLE[arch], np.maximum(min_exp - 2, 0), min_exp)
    is_global = rng.random(n) < c.global_project_share

    pref = rng.choice(len(cat.PREFECTURES), size=n, p=_PREF_P)
    area, station = _places(rng, pref, concentration=0.9)

    remote_p = _P_REMOTE[arch].copy()
    remote_p[is_global] = 0.5 * remote_p[is_global] + 0.5 * np.array([0.35, 0.55, 0.10])
    remote = _choice_rows(rng, remote_p)
    contract = _choice_rows(rng, _P_CONTRACT[arch])
    ja = np.where(
        is_global, rng.choice(4, size=n, p=_JA_REQ_GLOBAL), rng.choice(4, size=n, p=_JA_REQ)
    )
    en = np.where(
        is_global, rng.choice(5, size=n, p=_EN_REQ_GLOBAL), rng.choice(5, size=n, p=_EN_REQ)
    )

    tanka = _P_PRICE[arch] + c.project_price_per_year * min_exp + c.project_price_premium
    tanka = tanka + 80_000 * is_global
    tanka = tanka * np.where(_PREF_BIG3[pref], 1.0, c.regional_price_factor)
    tanka = tanka * np.exp(rng.normal(0.0, c.project_price_sigma, size=n))
    step = np.where(rng.random(n) < 0.6, 50_000, 10_000)
    tanka = _round_price(tanka, step)

    n_req = rng.choice(_N_REQUIRED, size=n, p=_N_REQUIRED_P)
    n_pref = rng.choice(_N_PREFERRED, size=n, p=_N_PREFERRED_P)
    w = np.full((n, _S), c.stray_skill_weight / 10)
    w += 0.5 * c.generic_skill_weight * _GENERIC
    w += np.where(_CORE[arch], 1.0, 0.0) + np.where(_OPTIONAL[arch], 0.12, 0.0)
    w[:, _UPSTREAM] *= (0.2 + min_exp / 5.0)[:, None]
    req_idx, _ = _weighted_subset(rng, w, 5)
    req_idx = np.where(np.arange(5)[None, :] < n_req[:, None], req_idx, -1)

    wp = np.full((n, _S), c.stray_skill_weight / 10)
    wp += c.generic_skill_weight * _GENERIC
    wp += np.where(_OPTIONAL[arch], 1.0, 0.0) + np.where(_CORE[arch], 0.4, 0.0)
    wp += np.where(_PARTNER[arch], 0.15, 0.0)
    rows = np.repeat(np.arange(n), 5)
    picked = req_idx.ravel()
    wp[rows[picked >= 0], picked[picked >= 0]] = 0.0
    pref_idx, _ = _weighted_subset(rng, wp, 4)

    lo, hi = (t.timestamp() for t in updated_between)
    updated = _timestamps(rng, n, lo, hi)
    stations = _with_nulls(rng, station, c.null_rate)
    english = _with_nulls(rng, _EN[en], c.null_rate)

    required = _skill_lists(np.maximum(req_idx, 0), n_req)
    preferred = _skill_lists(pref_idx, n_pref)
    cols = zip(
        range(first_id, first_id + n),
        required,
        preferred,
        _PREF_NAMES[pref].tolist(),
        area.tolist(),
        stations,
        _REMOTE[remote].tolist(),
        min_exp.tolist(),
        _CONTRACT[contract].tolist(),
        tanka.tolist(),
        _JA[ja].tolist(),
        english,
        updated,
        strict=True,
    )
    return [dict(zip(PROJECT_COLUMNS, row, strict=True)) for row in cols]


def _day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=JST)


def generate_world(config: WorldConfig = WorldConfig()) -> World:
    """The initial pool: config.n_talents talents and config.n_projects open projects."""
    start = _day_start(config.start_date)
    t_rng = np.random.default_rng([config.seed, _STREAM_TALENTS])
    p_rng = np.random.default_rng([config.seed, _STREAM_PROJECTS])
    talents = generate_talents(
        t_rng,
        config.n_talents,
        updated_between=(start - timedelta(days=config.talent_update_window_days), start),
        config=config,
    )
    projects = generate_projects(
        p_rng,
        config.n_projects,
        updated_between=(start - timedelta(days=config.project_open_window_days), start),
        config=config,
    )
    return World(config, talents, projects)


# ---------------------------------------------------------------------------
# Arrivals


def is_business_day(d: date) -> bool:
    """Weekday and not a (fixed-date) Japanese public holiday / year-end closure."""
    return d.weekday() < 5 and (d.month, d.day) not in _HOLIDAYS_MD


def arrivals_for_day(
    config: WorldConfig, day: date, *, first_project_id: int, first_talent_id: int
) -> DailyArrivals:
    """New projects and talents registered on `day` (posted 09:00-19:00 JST).

    Deterministic in (config.seed, day): the counts and attributes do not depend on
    which other days were generated; only the ids depend on the arguments.
    """
    rng = np.random.default_rng([config.seed, _STREAM_ARRIVALS, day.toordinal()])
    business = is_business_day(day)
    factor = 1.0 if business else config.weekend_factor
    n_p = int(rng.poisson(config.projects_per_business_day * factor))
    n_t = int(rng.poisson(config.talents_per_business_day * factor))
    open_, close = _day_start(day) + timedelta(hours=9), _day_start(day) + timedelta(hours=19)
    projects = generate_projects(
        rng, n_p, first_id=first_project_id, updated_between=(open_, close), config=config
    )
    talents = generate_talents(
        rng, n_t, first_id=first_talent_id, updated_between=(open_, close), config=config
    )
    return DailyArrivals(day, business, projects, talents)


def iter_arrivals(
    config: WorldConfig,
    n_days: int,
    *,
    start: date | None = None,
    first_project_id: int | None = None,
    first_talent_id: int | None = None,
) -> Iterator[DailyArrivals]:
    """Arrivals for n_days consecutive days from `start` (default config.start_date).

    Ids continue after the initial world (n_projects + 1, n_talents + 1) unless given.
    """
    day = start or config.start_date
    next_p = config.n_projects + 1 if first_project_id is None else first_project_id
    next_t = config.n_talents + 1 if first_talent_id is None else first_talent_id
    for _ in range(n_days):
        arr = arrivals_for_day(config, day, first_project_id=next_p, first_talent_id=next_t)
        next_p += len(arr.projects)
        next_t += len(arr.talents)
        yield arr
        day += timedelta(days=1)


# ---------------------------------------------------------------------------
# COPY output


def write_world_copy(world: World, directory: str | os.PathLike[str]) -> dict[str, str]:
    """Write talents.copy / projects.copy (COPY text format) and return
    {path: COPY statement} to load them (`COPY ... FROM STDIN` fed with the file)."""
    os.makedirs(directory, exist_ok=True)
    out: dict[str, str] = {}
    for name, table, rows, cols in (
        ("talents.copy", "ses.talents", world.talents, TALENT_COLUMNS),
        ("projects.copy", "ses.projects", world.projects, PROJECT_COLUMNS),
    ):
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8", newline="") as fp:
            write_copy(rows, cols, fp)
        out[path] = copy_statement(table, cols)
    return out


def price_knockout_share(
    talents: Sequence[dict[str, Any]],
    projects: Sequence[dict[str, Any]],
    n_pairs: int = 200_000,
    seed: int = 0,
) -> float:
    """Share of random (talent, project) pairs removed by the reference price KO
    (talent.desired_price_min > project.monthly_tanka_max)."""
    rng = np.random.default_rng(seed)
    tp = np.array([t["desired_price_min"] for t in talents], float)
    pp = np.array([p["monthly_tanka_max"] for p in projects], float)
    ti = rng.integers(0, len(tp), n_pairs)
    pi = rng.integers(0, len(pp), n_pairs)
    return float(np.mean(tp[ti] > pp[pi]))


# ---------------------------------------------------------------------------
# Profile edits (point in time): profiles change after pairs were shown.

_SKILL_GROUP_OF = {s: g for g, skills in cat.SKILL_GROUPS.items() for s in skills}


def _related_skill(rng: np.random.Generator, skills: list[str] | None) -> str | None:
    """A catalogue skill of the same group as one of ``skills`` that is not held yet."""
    held = [s for s in skills or [] if s in _SKILL_GROUP_OF]
    if not held:
        return None
    group = cat.SKILL_GROUPS[_SKILL_GROUP_OF[held[int(rng.integers(len(held)))]]]
    new = [s for s in group if s not in (skills or [])]
    return new[int(rng.integers(len(new)))] if new else None


def edit_talent(t: dict[str, Any], rng: np.random.Generator, at: datetime) -> dict[str, Any]:
    """A talent updating their profile: a skill learnt (of a group they know) or a
    higher desired price (5-15 %, after a raise elsewhere), stamped ``at``."""
    new = dict(t, updated_at=at)
    skill = _related_skill(rng, t["possessed_skills_keywords"]) if rng.random() < 0.6 else None
    if skill is not None:
        new["possessed_skills_keywords"] = [*(t["possessed_skills_keywords"] or []), skill]
    elif t["desired_price_min"] is not None:
        raised = t["desired_price_min"] * (1.05 + 0.10 * rng.random())
        new["desired_price_min"] = int(round(raised / 10_000) * 10_000)
    return new


def edit_project(p: dict[str, Any], rng: np.random.Generator, at: datetime) -> dict[str, Any]:
    """A client changing an open project: a higher price ceiling (5-10 %) or one more
    preferred skill, stamped ``at``."""
    new = dict(p, updated_at=at)
    if rng.random() < 0.5 and p["monthly_tanka_max"] is not None:
        raised = p["monthly_tanka_max"] * (1.05 + 0.05 * rng.random())
        new["monthly_tanka_max"] = int(round(raised / 10_000) * 10_000)
        return new
    wanted = [*(p["required_skills_keywords"] or []), *(p["preferred_skills_keywords"] or [])]
    skill = _related_skill(rng, wanted)
    if skill is not None:
        new["preferred_skills_keywords"] = [*(p["preferred_skills_keywords"] or []), skill]
    return new
