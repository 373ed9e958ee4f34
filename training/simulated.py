"""Simulated labelled exposures without a database (learning curve, tuning, tests).

Plays the simulator's market (simulator.world), its hidden chemistry and its sales
staff (simulator.staff) forward in time, standing in for the database parts:

* ranking: each project, when posted, is matched once against the talent pool of
  that moment with the product's business rules (knock-outs and business_score of
  macros/business_rules.sql, ported to numpy); the top ``top_k`` by business score
  (ties: smaller talent id) are displayed, i.e. the ``control`` variant;
* reactions: ``sample_reaction`` with the loop's random streams and actors;
* labels: R-11 on each reaction (best linked conversion stage, else the R-03 feedback
  outcome, else the best behaviour event) with the mappings of seeds/*.csv;
* tokens: the v2 tokenizer of macros/two_tower_tokenizer.sql, ported to Python
  (``tokenize_talent`` / ``tokenize_project``; a database test checks they agree).

No re-runs of open projects (the closed loop re-matches them weekly), so per project
exactly one list is shown. Everything is deterministic in ``seed``.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from simulator.chemistry import Chemistry, ChemistryParams
from simulator.staff import DEFAULT_STAFF, StaffParams, sample_reaction
from simulator.world import WorldConfig, generate_world, iter_arrivals
from training.dataset import Exposure, LabelledData

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
STREAM_RUN = 4  # the closed loop's stream for a run's reactions: [seed, 4, day, project]


# ------------------------------------------------------------------------ tokenizer


def exp_bucket(years: int) -> str:
    if 0 <= years <= 2:
        return "0-2"
    if 3 <= years <= 5:
        return "3-5"
    if 6 <= years <= 10:
        return "6-10"
    return "11+"


def tanka_bucket(yen: int) -> str:
    if yen < 300_000:
        return "under30"
    if yen < 500_000:
        return "30-50"
    if yen < 700_000:
        return "50-70"
    if yen < 1_000_000:
        return "70-100"
    return "100+"


def _tokens(
    skills: list[tuple[list[str] | None, float]],
    fields: list[tuple[str, Any, float]],
) -> tuple[list[str], list[float]]:
    tokens: list[str] = []
    weights: list[float] = []
    for values, weight in skills:
        for s in values or []:
            if s is not None:
                tokens.append(f"skill:{s.lower()}")
                weights.append(weight)
    for prefix, value, weight in fields:
        if value is not None:
            tokens.append(f"{prefix}{value}")
            weights.append(weight)
    return tokens, weights


def _bucket(fn, value: Any) -> str | None:
    return None if value is None else fn(int(value))


def tokenize_talent(t: Mapping[str, Any]) -> tuple[list[str], list[float]]:
    """R-20 talent tokens in int_talent_tokens order (skills 1.0, then the fields)."""
    return _tokens(
        [(t["possessed_skills_keywords"], 1.0)],
        [
            ("loc:", t["residential_todofuken"], 1.5),
            ("loc:area:", t["residential_area"], 1.0),
            ("loc:station:", t["nearest_station"], 0.5),
            ("remote:", t["desired_remote_onsite"], 1.5),
            ("exp:", _bucket(exp_bucket, t["min_experience_years"]), 1.0),
            ("contract:", t["primary_contract_type"], 1.0),
            ("tanka:", _bucket(tanka_bucket, t["desired_price_min"]), 1.0),
            ("lang:ja:", t["japanese_skill"], 1.0),
            ("lang:en:", t["english_skill"], 1.0),
        ],
    )


def tokenize_project(p: Mapping[str, Any]) -> tuple[list[str], list[float]]:
    """R-20 project tokens in int_project_tokens order (required 2.0, preferred 1.0, fields)."""
    return _tokens(
        [(p["required_skills_keywords"], 2.0), (p["preferred_skills_keywords"], 1.0)],
        [
            ("loc:", p["work_todofuken"], 1.5),
            ("loc:area:", p["work_area"], 1.0),
            ("loc:station:", p["work_station"], 0.5),
            ("remote:", p["remote_onsite"], 1.5),
            ("exp:", _bucket(exp_bucket, p["min_experience_years"]), 1.0),
            ("contract:", p["contract_type"], 1.0),
            ("tanka:", _bucket(tanka_bucket, p["monthly_tanka_max"]), 1.0),
            ("lang:ja:", p["japanese_skill"], 1.0),
            ("lang:en:", p["english_skill"], 1.0),
        ],
    )


# --------------------------------------------------------------------------- labels


def _seed_table(name: str, key: str, rank: str) -> dict[str, tuple[int, float | None]]:
    with open(SEEDS / name, encoding="utf-8") as fh:
        return {
            row[key]: (int(row[rank]), float(row["label"]) if row["label"] else None)
            for row in csv.DictReader(fh)
        }


class LabelRules:
    """R-11 for one simulated reaction, mappings read from the dbt seeds (R-13)."""

    def __init__(self) -> None:
        self.stages = _seed_table("conversion_stages.csv", "stage", "stage_rank")
        self.feedback = _seed_table("feedback_types.csv", "feedback_type", "priority")
        self.behavior = _seed_table("behavior_event_types.csv", "event_type", "event_rank")

    def outcome(self, events) -> str | None:
        """R-03: the non-revoked feedback with the best priority, ties to the latest."""
        revoked = {e.feedback_no for e in events if e.kind == "revoke"}
        live = [e for e in events if e.kind == "feedback" and e.feedback_no not in revoked]
        if not live:
            return None
        return min(live, key=lambda e: (self.feedback[e.type][0], -e.offset_s)).type

    def label(self, events) -> tuple[float | None, str | None, bool]:
        """(label, signal_source, outcome is no_response)."""
        stages = [e.type for e in events if e.kind == "conversion" and e.linked]
        behaviour = [e.type for e in events if e.kind == "behavior"]
        outcome = self.outcome(events)
        if stages:
            best = min(stages, key=lambda s: self.stages[s][0])
            return self.stages[best][1], "conversion", outcome == "no_response"
        if outcome is not None and self.feedback[outcome][1] is not None:
            return self.feedback[outcome][1], "feedback", False
        if behaviour:
            best = min(behaviour, key=lambda s: self.behavior[s][0])
            return self.behavior[best][1], "behavior", outcome == "no_response"
        return None, None, outcome == "no_response"


# ----------------------------------------------------------------- business rules


class TalentPool:
    """The talents registered so far, as arrays for the vectorised rules."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.skill_index: dict[str, int] = {}
        self._skills = np.zeros((0, 64), dtype=bool)
        self._cols: dict[str, list[Any]] = {
            k: [] for k in ("id", "price", "pref", "remote", "years")
        }
        self._arrays: dict[str, np.ndarray] | None = None

    def _skill(self, s: str) -> int:
        i = self.skill_index.get(s)
        if i is None:
            i = self.skill_index[s] = len(self.skill_index)
        return i

    def add(self, talents: list[dict[str, Any]]) -> None:
        if not talents:
            return
        n0 = len(self.rows)
        self.rows.extend(talents)
        idx = [
            [self._skill(s.lower()) for s in (t["possessed_skills_keywords"] or []) if s]
            for t in talents
        ]
        width = max(self._skills.shape[1], len(self.skill_index))
        grown = np.zeros((len(self.rows), width), dtype=bool)
        grown[:n0, : self._skills.shape[1]] = self._skills
        for k, cols in enumerate(idx):
            grown[n0 + k, cols] = True
        self._skills = grown
        for t in talents:
            self._cols["id"].append(t["id"])
            self._cols["price"].append(t["desired_price_min"])
            self._cols["pref"].append(t["residential_todofuken"])
            self._cols["remote"].append(t["desired_remote_onsite"])
            self._cols["years"].append(t["min_experience_years"])
        self._arrays = None

    def arrays(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            c = self._cols
            price = np.array([np.nan if v is None else v for v in c["price"]], dtype=float)
            years = np.array([0 if v is None else v for v in c["years"]], dtype=float)
            self._arrays = {
                "id": np.array(c["id"], dtype=np.int64),
                "price": price,
                "pref": np.array([v or "" for v in c["pref"]], dtype=object),
                "pref_null": np.array([v is None for v in c["pref"]]),
                "remote": np.array([v or "" for v in c["remote"]], dtype=object),
                "years": years,
            }
        return self._arrays

    def skills(self, names: list[str] | None) -> np.ndarray:
        """Columns of the distinct normalised skills ``names`` (unknown ones: -1)."""
        distinct = sorted({s.lower() for s in names or [] if s is not None})
        return np.array([self.skill_index.get(s, -1) for s in distinct], dtype=np.int64)

    def coverage(self, cols: np.ndarray) -> np.ndarray:
        """Share of the wanted skills each talent holds (1.0 when nothing is wanted)."""
        n = len(self.rows)
        if cols.size == 0:
            return np.ones(n)
        known = cols[cols >= 0]
        held = self._skills[:, known].sum(axis=1) if known.size else np.zeros(n)
        return held / cols.size


def rank_candidates(
    pool: TalentPool, project: Mapping[str, Any], top_k: int
) -> tuple[np.ndarray, np.ndarray]:
    """(talent row indices, business scores) of the displayed top ``top_k``: knock-outs
    removed, ordered by business_score desc then talent id (macros/business_rules.sql)."""
    a = pool.arrays()
    req = pool.coverage(pool.skills(project["required_skills_keywords"]))
    prf = pool.coverage(pool.skills(project["preferred_skills_keywords"]))
    n_req = pool.skills(project["required_skills_keywords"]).size
    tanka = project["monthly_tanka_max"]
    remote = project["remote_onsite"]
    p_pref = project["work_todofuken"]
    ko = np.zeros(len(pool.rows), dtype=bool)
    if tanka is not None:
        ko |= a["price"] > tanka  # NaN (no price) compares False: no knock-out, like SQL
    if n_req:
        ko |= req == 0
    if remote == "onsite":
        distinct = ~a["pref_null"] if p_pref is None else (a["pref_null"] | (a["pref"] != p_pref))
        ko |= distinct | (a["remote"] == "full_remote")
    min_years = project["min_experience_years"]
    exp = (
        np.ones(len(pool.rows))
        if min_years is None or min_years <= 0
        else np.clip(a["years"] / min_years, 0.0, 1.0)
    )
    if tanka is None:
        margin = np.ones(len(pool.rows))
    else:
        with np.errstate(invalid="ignore"):
            margin = np.where(
                np.isnan(a["price"]) | (a["price"] <= 0.9 * tanka),
                1.0,
                np.clip((tanka - a["price"]) / (0.1 * tanka), 0.0, 1.0),
            )
    if remote == "full_remote":
        location = np.ones(len(pool.rows))
    else:
        same = (
            ~a["pref_null"] & (a["pref"] == p_pref)
            if p_pref is not None
            else np.zeros(len(pool.rows), bool)
        )
        location = np.where(same, 1.0, 0.5)
    score = 0.50 * req + 0.15 * prf + 0.15 * exp + 0.10 * margin + 0.10 * location
    passed = np.flatnonzero(~ko)
    order = np.lexsort((a["id"][passed], -score[passed]))[:top_k]
    chosen = passed[order]
    return chosen, score[chosen]


# ------------------------------------------------------------------------ simulation


def simulate(
    n_labels: int,
    *,
    seed: int = 20250401,
    n_talents: int = 4000,
    n_initial_projects: int = 40,
    top_k: int = 20,
    max_days: int = 1000,
    staff: StaffParams = DEFAULT_STAFF,
    chemistry: ChemistryParams | None = None,
    n_actors: int = 8,
    chemistry_out: dict[int, float] | None = None,
) -> LabelledData:
    """Exposures until at least ``n_labels`` are labelled (whole days), with token bags.

    ``chemistry_out``, when given, receives the hidden chemistry of every exposure
    (interaction id -> value): an oracle to put the models' metrics in perspective,
    never an input of the product."""
    cfg = WorldConfig(seed=seed, n_talents=n_talents, n_projects=n_initial_projects)
    world = generate_world(cfg)
    chem = Chemistry(seed, chemistry)
    rules = LabelRules()
    pool = TalentPool()
    pool.add(world.talents)
    exposures: list[Exposure] = []
    projects: dict[int, dict[str, Any]] = {}
    labels = 0
    next_interaction = 1

    def show(day_projects: list[dict[str, Any]], day) -> None:
        nonlocal labels, next_interaction
        shown = []
        for p in sorted(day_projects, key=lambda r: (r["updated_at"], r["id"])):
            projects[p["id"]] = p
            rows, scores = rank_candidates(pool, p, top_k)
            shown.append((p, rows, scores))
        pairs_t = [pool.rows[i] for _, rows, _ in shown for i in rows]
        pairs_p = [p for p, rows, _ in shown for _ in rows]
        chemistry = chem.score_pairs(pairs_t, pairs_p) if pairs_t else np.zeros(0)
        k = 0
        for p, rows, scores in shown:
            rng = np.random.default_rng([seed, STREAM_RUN, day.toordinal(), p["id"]])
            actor = f"sales-{(p['id'] * 7919) % n_actors + 1:02d}"
            at = p["updated_at"].timestamp()
            for rank, (row, business) in enumerate(zip(rows, scores, strict=True), start=1):
                reaction = sample_reaction(
                    rank, float(chemistry[k]), float(business), rng, actor=actor, params=staff
                )
                if chemistry_out is not None:
                    chemistry_out[next_interaction] = float(chemistry[k])
                k += 1
                label, source, no_response = rules.label(reaction.events)
                exposures.append(
                    Exposure(
                        next_interaction,
                        int(pool.rows[row]["id"]),
                        int(p["id"]),
                        at,
                        label,
                        source,
                        no_response,
                    )
                )
                next_interaction += 1
                labels += label is not None

    show(world.projects, cfg.start_date)
    for arrivals in iter_arrivals(cfg, max_days):
        if labels >= n_labels:
            break
        pool.add(arrivals.talents)
        show(arrivals.projects, arrivals.day)
    if labels < n_labels:
        raise ValueError(
            f"only {labels} labels after {max_days} simulated days (wanted {n_labels})"
        )
    talent_ids = {e.talent_id for e in exposures}
    talents = {t["id"]: tokenize_talent(t) for t in pool.rows if t["id"] in talent_ids}
    bags = {pid: tokenize_project(p) for pid, p in projects.items()}
    last = max(e.created_at for e in exposures)
    snapshot = {
        "source": "simulated",
        "seed": seed,
        "label_count": labels,
        "exposures": len(exposures),
        "max_label_at": datetime.fromtimestamp(last).astimezone().isoformat(),
    }
    return LabelledData(exposures, talents, bags, snapshot)
