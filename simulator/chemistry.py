"""Hidden ground truth: the latent "chemistry" of a (talent, project) pair.

Seed §1: 「スペック的にはOKだけど相性が…」 — a pair can pass every business rule and
still be a poor match (or a great one).  Chemistry is what the simulated sales staff
and clients react to; no component of the product ever reads it.

    chemistry = sqrt(structured_share) * S(t, p)      # function of R-01 fields only
              + sqrt(talent_share)     * eta_t         # per-talent idiosyncrasy
              + sqrt(project_share)    * eta_p         # per-project idiosyncrasy
              + sqrt(pair_share)       * eps_tp        # per-pair noise

S is a weighted sum of standardised components (skill fit, role-family synergy,
seniority vs level, price margin, remote style, contract type, language, location),
rescaled to unit variance; eta/eps are N(0, 1) draws that are *hashes* of
(seed, id[, id]) so they do not depend on evaluation order.  The shares sum to 1,
so chemistry is ~N(0, 1) over random pairs of the default market (z-scale:
> +1 a great match, < -1 a poor one).  See docs/simulator.md.

Everything is computed from the R-01 row dicts alone, so rows read back from the
database score the same as the generated ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from simulator import catalog as cat

COMPONENTS: tuple[str, ...] = (
    "fit",
    "synergy",
    "seniority",
    "margin",
    "remote",
    "contract",
    "language",
    "location",
)


@dataclass(frozen=True)
class ChemistryParams:
    """Relative weights of the structured components and the variance shares."""

    # Share of each component in the structured part's variance (normalised to sum 1).
    # Calibration v2 (docs/simulator.md §2): most of a pair's chemistry shows in its
    # profiles (the seed design's premise that feedback can teach it), and experience
    # and price margin weigh little because the business score already ranks them.
    component_weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "fit": 0.10,
            "synergy": 0.40,
            "seniority": 0.05,
            "margin": 0.03,
            "remote": 0.20,
            "contract": 0.08,
            "language": 0.08,
            "location": 0.06,
        }
    )
    # Variance shares of the four parts of chemistry (must sum to 1).
    structured_share: float = 0.90
    talent_share: float = 0.03
    project_share: float = 0.03
    pair_share: float = 0.04
    # Role-family synergy matrix: diagonal, hand-written table, seeded random part.
    synergy_diag: float = 0.3
    synergy_random_sd: float = 0.25
    # Calibration sample (the scale is fixed on random pairs of this market).
    calibration_seed: int = 0
    calibration_talents: int = 3000
    calibration_projects: int = 800
    calibration_pairs: int = 40_000

    def __post_init__(self) -> None:
        total = self.structured_share + self.talent_share + self.project_share + self.pair_share
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"chemistry variance shares must sum to 1, got {total}")
        unknown = set(self.component_weights) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown chemistry components: {sorted(unknown)}")


# The first calibration: 30 % of the variance idiosyncratic or per pair, experience
# and margin weighted heavily. Even the hidden chemistry itself only reaches AUC ~0.71
# on the labels it produces, so no model can meet the seed's targets there; kept as
# the "hard" world (python -m training.learning_curve --world hard).
HARD_CHEMISTRY = ChemistryParams(
    component_weights={
        "fit": 0.10,
        "synergy": 0.28,
        "seniority": 0.18,
        "margin": 0.12,
        "remote": 0.14,
        "contract": 0.05,
        "language": 0.07,
        "location": 0.06,
    },
    structured_share=0.70,
    talent_share=0.08,
    project_share=0.07,
    pair_share=0.15,
)

# ---------------------------------------------------------------------------
# Catalogue-derived tables

_S = len(cat.SKILLS)
_K = len(cat.ARCHETYPES)
_WORDS = (_S + 63) // 64 + 1  # the last word holds hashed unknown skills
_SKILL_LOWER = {s.lower(): i for i, s in enumerate(cat.SKILLS)}

# Skill -> role-family membership: core 2, optional 1; generic skills count 0.3x;
# each skill's row sums to 1 (skills outside every family have an all-zero row).
_MEMBERSHIP = np.zeros((_S, _K))
for _k, _a in enumerate(cat.ARCHETYPES):
    for _s in _a.optional:
        _MEMBERSHIP[_SKILL_LOWER[_s.lower()], _k] = 1.0
    for _s in _a.core:
        _MEMBERSHIP[_SKILL_LOWER[_s.lower()], _k] = 2.0
_row = _MEMBERSHIP.sum(axis=1, keepdims=True)
_MEMBERSHIP = np.divide(_MEMBERSHIP, _row, out=np.zeros_like(_MEMBERSHIP), where=_row > 0)
for _s in cat.GENERIC_SKILLS:
    _MEMBERSHIP[_SKILL_LOWER[_s.lower()]] *= 0.3

_REMOTE_CODE = {r: i for i, r in enumerate(cat.REMOTE_TYPES)}  # 3 = unknown
_CONTRACT_CODE = {c: i for i, c in enumerate(cat.CONTRACT_TYPES)}  # 3 = unknown
_JA_CODE = {v: i for i, v in enumerate(cat.JAPANESE_LEVELS)}
_EN_CODE = {v: i for i, v in enumerate(cat.ENGLISH_LEVELS)}
_PREF_CODE = {p: i for i, p in enumerate(cat.PREFECTURE_NAMES)}
_REGION_CODE = {r: i for i, r in enumerate(cat.REGIONS)}
_PREF_REGION = np.array([_REGION_CODE[cat.PREFECTURE_REGION[p]] for p in cat.PREFECTURE_NAMES])

# talent wish (row) x project offer (column): full_remote, hybrid, onsite, unknown
_REMOTE_FIT = np.array(
    [
        [0.6, -0.1, -1.0, 0.0],
        [0.3, 0.4, -0.3, 0.0],
        [0.0, 0.2, 0.4, 0.0],
        [0.0, 0.0, 0.0, 0.0],
    ]
)
# talent's primary contract (row) x project's contract (column): 準委任, 請負, 派遣, unknown
_CONTRACT_FIT = np.array(
    [
        [0.3, -0.4, -0.2, 0.0],
        [0.1, 0.5, -0.5, 0.0],
        [0.0, -0.6, 0.4, 0.0],
        [0.0, 0.0, 0.0, 0.0],
    ]
)
# How much commuting matters, by the project's remote_onsite.
_COMMUTE_WEIGHT = np.array([0.0, 0.5, 1.0, 0.5])


def _stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


# ---------------------------------------------------------------------------
# Deterministic hash noise (splitmix64 on uint64 arrays)

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_TAG_TALENT = _U64(0x7A1E_0000_0000_0001)
_TAG_PROJECT = _U64(0x7A1E_0000_0000_0002)
_TAG_PAIR = _U64(0x7A1E_0000_0000_0003)
_TAG_PHASE = _U64(0x5EED_0000_0000_0004)


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = x + _GOLDEN
    x = (x ^ (x >> _U64(30))) * _M1
    x = (x ^ (x >> _U64(27))) * _M2
    return x ^ (x >> _U64(31))


def hash_normal(seed: int, tag: int, *keys: np.ndarray) -> np.ndarray:
    """N(0, 1) draws that are a pure function of (seed, tag, keys...) (Box-Muller on
    two splitmix64 hashes).  Keys are integer arrays broadcast together."""
    arrays = [np.asarray(k, dtype=np.int64).astype(np.uint64) for k in keys]
    shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
    h = np.full(shape, _U64(seed % 2**64), dtype=np.uint64)
    h = _splitmix(h ^ _U64(tag))
    for a in arrays:
        h = _splitmix(h ^ np.broadcast_to(a, shape))
    g = _splitmix(h ^ _TAG_PHASE)
    u1 = ((h >> _U64(11)).astype(np.float64) + 1.0) * 2.0**-53  # (0, 1]
    u2 = (g >> _U64(11)).astype(np.float64) * 2.0**-53
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


# ---------------------------------------------------------------------------
# Encoded rows


@dataclass(frozen=True)
class TalentFeatures:
    ids: np.ndarray  # int64
    skills: np.ndarray  # (n, WORDS) uint64 bitset of possessed skills
    profile: np.ndarray  # (n, K) role-family profile (rows sum to 1 or 0)
    years: np.ndarray  # float
    price: np.ndarray  # desired_price_min, float (nan if unknown)
    remote: np.ndarray  # code 0..3
    contract: np.ndarray  # code 0..3
    ja: np.ndarray  # 0..3 (native when unknown)
    en: np.ndarray  # 0..4 (reading when unknown)
    pref: np.ndarray  # prefecture code, -1 unknown
    area: np.ndarray  # stable hash of (prefecture, area), 0 unknown

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True)
class ProjectFeatures:
    ids: np.ndarray
    required: np.ndarray  # (n, WORDS) bitset
    preferred: np.ndarray  # (n, WORDS) bitset
    n_required: np.ndarray
    n_preferred: np.ndarray
    profile: np.ndarray  # (n, K) role-family profile, required x2 + preferred x1
    min_years: np.ndarray
    tanka: np.ndarray
    remote: np.ndarray
    contract: np.ndarray
    ja: np.ndarray  # required level, 0 when unknown
    en: np.ndarray  # required level, 0 when unknown
    pref: np.ndarray
    area: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def _skill_sets(
    lists: Sequence[Sequence[str] | None],
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Bitsets (n, WORDS), counts of distinct skills, and (row, skill index) of the
    catalogue skills, sorted by row then skill (a canonical accumulation order)."""
    n = len(lists)
    bits = np.zeros((n, _WORDS), dtype=np.uint64)
    counts = np.zeros(n)
    rows: list[int] = []
    pos: list[int] = []
    for i, skills in enumerate(lists):
        seen = sorted({s.lower() for s in (skills or ()) if s is not None})
        counts[i] = len(seen)
        for s in seen:
            j = _SKILL_LOWER.get(s)
            rows.append(i)
            pos.append(j if j is not None else 64 * (_WORDS - 1) + _stable_hash(s) % 64)
    r = np.array(rows, dtype=np.int64)
    p = np.array(pos, dtype=np.int64)
    if r.size:
        np.bitwise_or.at(bits, (r, p // 64), np.left_shift(_U64(1), (p % 64).astype(np.uint64)))
    known = p < _S
    r, p = r[known], p[known]
    order = np.lexsort((p, r))
    return bits, counts, (r[order], p[order])


def _profile(n: int, *parts: tuple[tuple[np.ndarray, np.ndarray], float]) -> np.ndarray:
    """Role-family profile: weighted sum of the skills' membership rows, L1-normalised.
    np.add.at accumulates in the given (canonical) order, so a row's value does not
    depend on which other rows are encoded with it."""
    prof = np.zeros((n, _K))
    for (rows, idx), weight in parts:
        np.add.at(prof, rows, weight * _MEMBERSHIP[idx])
    total = np.zeros(n)
    for k in range(_K):
        total = total + prof[:, k]
    return np.divide(prof, total[:, None], out=np.zeros_like(prof), where=total[:, None] > 0)


def _codes(values: Sequence[Any], table: Mapping[str, int], unknown: int) -> np.ndarray:
    return np.array(
        [table.get(v, unknown) if v is not None else unknown for v in values], dtype=np.int64
    )


def _num(values: Sequence[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values])


def _areas(prefs: Sequence[Any], areas: Sequence[Any]) -> np.ndarray:
    return np.array(
        [
            0 if a is None else _stable_hash(f"{p}/{a}") % 2**62 + 1
            for p, a in zip(prefs, areas, strict=True)
        ],
        dtype=np.int64,
    )


def encode_talents(talents: Sequence[Mapping[str, Any]]) -> TalentFeatures:
    """R-01 talent rows -> arrays used by the chemistry."""
    bits, _, known = _skill_sets([t["possessed_skills_keywords"] for t in talents])
    prefs = [t["residential_todofuken"] for t in talents]
    return TalentFeatures(
        ids=np.array([t["id"] for t in talents], dtype=np.int64),
        skills=bits,
        profile=_profile(len(talents), (known, 1.0)),
        years=np.nan_to_num(_num([t["min_experience_years"] for t in talents]), nan=5.0),
        price=_num([t["desired_price_min"] for t in talents]),
        remote=_codes([t["desired_remote_onsite"] for t in talents], _REMOTE_CODE, 3),
        contract=_codes([t["primary_contract_type"] for t in talents], _CONTRACT_CODE, 3),
        ja=_codes([t["japanese_skill"] for t in talents], _JA_CODE, 3),
        en=_codes([t["english_skill"] for t in talents], _EN_CODE, 1),
        pref=_codes(prefs, _PREF_CODE, -1),
        area=_areas(prefs, [t["residential_area"] for t in talents]),
    )


def encode_projects(projects: Sequence[Mapping[str, Any]]) -> ProjectFeatures:
    """R-01 project rows -> arrays used by the chemistry."""
    req, n_req, known_r = _skill_sets([p["required_skills_keywords"] for p in projects])
    prf, n_prf, known_p = _skill_sets([p["preferred_skills_keywords"] for p in projects])
    prefs = [p["work_todofuken"] for p in projects]
    return ProjectFeatures(
        ids=np.array([p["id"] for p in projects], dtype=np.int64),
        required=req,
        preferred=prf,
        n_required=n_req,
        n_preferred=n_prf,
        profile=_profile(len(projects), (known_r, 2.0), (known_p, 1.0)),
        min_years=np.nan_to_num(_num([p["min_experience_years"] for p in projects]), nan=0.0),
        tanka=_num([p["monthly_tanka_max"] for p in projects]),
        remote=_codes([p["remote_onsite"] for p in projects], _REMOTE_CODE, 3),
        contract=_codes([p["contract_type"] for p in projects], _CONTRACT_CODE, 3),
        ja=_codes([p["japanese_skill"] for p in projects], _JA_CODE, 0),
        en=_codes([p["english_skill"] for p in projects], _EN_CODE, 0),
        pref=_codes(prefs, _PREF_CODE, -1),
        area=_areas(prefs, [p["work_area"] for p in projects]),
    )


# ---------------------------------------------------------------------------
# Raw components (vectorised over aligned index arrays)


def _popcount_rows(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x).sum(axis=1).astype(np.float64)


def _raw_components(
    t: TalentFeatures, p: ProjectFeatures, ti: np.ndarray, pi: np.ndarray, synergy: np.ndarray
) -> dict[str, np.ndarray]:
    tbits = t.skills[ti]
    n_req = p.n_required[pi]
    n_pref = p.n_preferred[pi]
    hit_req = _popcount_rows(tbits & p.required[pi])
    hit_pref = _popcount_rows(tbits & p.preferred[pi])
    cov_req = np.divide(hit_req, n_req, out=np.full_like(hit_req, 0.5), where=n_req > 0)
    cov_pref = np.divide(hit_pref, n_pref, out=np.zeros_like(hit_pref), where=n_pref > 0)
    fit = cov_req + 0.3 * cov_pref

    # Elementwise sums in a fixed order (no BLAS / SIMD reductions), so a pair's value is
    # bit-identical whatever batch it is evaluated in.
    av = np.zeros((len(p), _K))
    for j in range(_K):
        av = av + p.profile[:, j : j + 1] * synergy[:, j][None, :]
    tprof, av = t.profile[ti], av[pi]
    syn = np.zeros(ti.shape[0])
    for k in range(_K):
        syn = syn + tprof[:, k] * av[:, k]

    years = np.maximum(t.years[ti], 0.0)
    ideal = 2.0 + 1.4 * np.maximum(p.min_years[pi], 0.0)
    d = np.log1p(years) - np.log1p(ideal)
    seniority = np.maximum(np.where(d < 0, -((d / 0.45) ** 2), -((d / 0.8) ** 2)), -4.0)

    tanka = p.tanka[pi]
    price = t.price[ti]
    mg = np.divide(tanka - price, tanka, out=np.zeros_like(tanka), where=tanka > 0)
    margin = np.tanh(np.nan_to_num(mg, nan=0.0) / 0.15)

    remote = _REMOTE_FIT[t.remote[ti], p.remote[pi]]
    contract = _CONTRACT_FIT[t.contract[ti], p.contract[pi]]

    ja_gap = np.maximum(p.ja[pi] - t.ja[ti], 0)
    t_en, p_en = t.en[ti], p.en[pi]
    en_gap = np.maximum(p_en - t_en, 0)
    language = -0.9 * ja_gap - 0.5 * en_gap + 0.4 * ((p_en >= 3) & (t_en >= 3))

    tp, pp = t.pref[ti], p.pref[pi]
    known = (tp >= 0) & (pp >= 0)
    same_region = known & (_PREF_REGION[np.maximum(tp, 0)] == _PREF_REGION[np.maximum(pp, 0)])
    commute = np.where(
        ~known,
        0.0,
        np.where(
            (tp == pp) & (t.area[ti] == p.area[pi]) & (t.area[ti] != 0),
            1.0,
            np.where(tp == pp, 0.7, np.where(same_region, 0.3, -1.0)),
        ),
    )
    location = _COMMUTE_WEIGHT[p.remote[pi]] * commute

    return {
        "fit": fit,
        "synergy": syn,
        "seniority": seniority,
        "margin": margin,
        "remote": remote,
        "contract": contract,
        "language": language,
        "location": location,
    }


# ---------------------------------------------------------------------------


def _as_talents(x: TalentFeatures | Sequence[Mapping[str, Any]]) -> TalentFeatures:
    return x if isinstance(x, TalentFeatures) else encode_talents(x)


def _as_projects(x: ProjectFeatures | Sequence[Mapping[str, Any]]) -> ProjectFeatures:
    return x if isinstance(x, ProjectFeatures) else encode_projects(x)


class Chemistry:
    """The hidden chemistry of one simulated world (deterministic in `seed`).

    `talents` / `projects` arguments accept R-01 row dicts or pre-encoded features
    (`encode_talents` / `encode_projects`; encode once when scoring repeatedly).
    Pairs are given by aligned index arrays `t_idx`, `p_idx` into them; without
    indices the two sequences are zipped (same length).
    """

    def __init__(self, seed: int, params: ChemistryParams | None = None) -> None:
        self.seed = int(seed)
        self.params = params or ChemistryParams()
        self.synergy = self._synergy_matrix()
        w = np.array([self.params.component_weights.get(c, 0.0) for c in COMPONENTS])
        self._weights = np.sqrt(w / w.sum())
        self._mean = np.zeros(len(COMPONENTS))
        self._sd = np.ones(len(COMPONENTS))
        self._struct_sd = 1.0
        self._calibrate()

    # -- construction --------------------------------------------------------

    def _synergy_matrix(self) -> np.ndarray:
        p = self.params
        rng = np.random.default_rng([self.seed, 101])
        a = p.synergy_random_sd * rng.standard_normal((_K, _K))
        a[np.diag_indices(_K)] += p.synergy_diag
        for t_name, p_name, v in cat.SYNERGY:
            a[cat.ARCHETYPE_INDEX[t_name], cat.ARCHETYPE_INDEX[p_name]] += v
        return a

    def _calibrate(self) -> None:
        """Fix component means/sds (and the structured part's sd) on random pairs of a
        reference market, so chemistry is ~N(0, 1) there whatever the weights."""
        from simulator.world import WorldConfig, generate_world  # avoid an import cycle

        p = self.params
        world = generate_world(
            WorldConfig(
                seed=p.calibration_seed,
                n_talents=p.calibration_talents,
                n_projects=p.calibration_projects,
            )
        )
        t = encode_talents(world.talents)
        q = encode_projects(world.projects)
        rng = np.random.default_rng([p.calibration_seed, 202])
        ti = rng.integers(0, len(t), p.calibration_pairs)
        pi = rng.integers(0, len(q), p.calibration_pairs)
        raw = np.stack(list(_raw_components(t, q, ti, pi, self.synergy).values()), axis=1)
        self._mean = raw.mean(axis=0)
        self._sd = np.where(raw.std(axis=0) > 0, raw.std(axis=0), 1.0)
        self._struct_sd = float(np.std(((raw - self._mean) / self._sd) @ self._weights)) or 1.0

    # -- scoring ---------------------------------------------------------------

    def encode_talents(self, talents: Sequence[Mapping[str, Any]]) -> TalentFeatures:
        return encode_talents(talents)

    def encode_projects(self, projects: Sequence[Mapping[str, Any]]) -> ProjectFeatures:
        return encode_projects(projects)

    def components(
        self,
        talents: TalentFeatures | Sequence[Mapping[str, Any]],
        projects: ProjectFeatures | Sequence[Mapping[str, Any]],
        t_idx: np.ndarray | Sequence[int] | None = None,
        p_idx: np.ndarray | Sequence[int] | None = None,
    ) -> dict[str, np.ndarray]:
        """Every part of the chemistry per pair, on the chemistry scale:
        the 8 weighted standardised components (summing to `structured`), `talent`,
        `project`, `pair` (the noise terms) and `chemistry` (the total)."""
        t, q = _as_talents(talents), _as_projects(projects)
        ti, pi = self._indices(t, q, t_idx, p_idx)
        raw = np.stack(list(_raw_components(t, q, ti, pi, self.synergy).values()), axis=1)
        prm = self.params
        scale = np.sqrt(prm.structured_share) / self._struct_sd
        parts = (raw - self._mean) / self._sd * self._weights * scale
        out = {c: parts[:, k] for k, c in enumerate(COMPONENTS)}
        structured = np.zeros(parts.shape[0])
        for k in range(len(COMPONENTS)):  # fixed order: identical sums in any batch
            structured = structured + parts[:, k]
        out["structured"] = structured
        tid, pid = t.ids[ti], q.ids[pi]
        out["talent"] = np.sqrt(prm.talent_share) * hash_normal(self.seed, _TAG_TALENT, tid)
        out["project"] = np.sqrt(prm.project_share) * hash_normal(self.seed, _TAG_PROJECT, pid)
        out["pair"] = np.sqrt(prm.pair_share) * hash_normal(self.seed, _TAG_PAIR, tid, pid)
        out["chemistry"] = out["structured"] + out["talent"] + out["project"] + out["pair"]
        return out

    def score_pairs(
        self,
        talents: TalentFeatures | Sequence[Mapping[str, Any]],
        projects: ProjectFeatures | Sequence[Mapping[str, Any]],
        t_idx: np.ndarray | Sequence[int] | None = None,
        p_idx: np.ndarray | Sequence[int] | None = None,
    ) -> np.ndarray:
        """Chemistry of the pairs (talents[t_idx[i]], projects[p_idx[i]]) as float64."""
        return self.components(talents, projects, t_idx, p_idx)["chemistry"]

    def score_matrix(
        self,
        talents: TalentFeatures | Sequence[Mapping[str, Any]],
        projects: ProjectFeatures | Sequence[Mapping[str, Any]],
    ) -> np.ndarray:
        """(n_talents, n_projects) chemistry of every combination."""
        t, q = _as_talents(talents), _as_projects(projects)
        ti, pi = np.meshgrid(np.arange(len(t)), np.arange(len(q)), indexing="ij")
        return self.score_pairs(t, q, ti.ravel(), pi.ravel()).reshape(len(t), len(q))

    def score(self, talent: Mapping[str, Any], project: Mapping[str, Any]) -> float:
        """Chemistry of one pair (same value as in any batch containing the pair)."""
        return float(self.score_pairs([talent], [project])[0])

    __call__ = score

    @staticmethod
    def _indices(t, q, t_idx, p_idx) -> tuple[np.ndarray, np.ndarray]:
        if t_idx is None and p_idx is None:
            if len(t) != len(q):
                raise ValueError("without indices talents and projects must have equal length")
            return np.arange(len(t)), np.arange(len(q))
        if t_idx is None or p_idx is None:
            raise ValueError("give both t_idx and p_idx, or neither")
        ti = np.asarray(t_idx, dtype=np.int64)
        pi = np.asarray(p_idx, dtype=np.int64)
        if ti.shape != pi.shape:
            raise ValueError("t_idx and p_idx must have the same shape")
        return ti.ravel(), pi.ravel()


@lru_cache(maxsize=8)
def chemistry_model(seed: int) -> Chemistry:
    """Cached default-parameter Chemistry for `seed`."""
    return Chemistry(seed)


def chemistry(talent: Mapping[str, Any], project: Mapping[str, Any], seed: int) -> float:
    """Chemistry of one (talent, project) pair in the world of `seed` (z-scale)."""
    return chemistry_model(seed).score(talent, project)
