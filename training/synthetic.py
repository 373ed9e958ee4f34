"""Synthetic labelled pairs for tests and benchmarks (no database).

Skills come in clusters (e.g. a "JVM" cluster java/kotlin/spring/...). A talent holds a few
skills of its cluster, a project requires/prefers a few skills of its cluster, usually not
the same ones, so a bag-of-tokens cosine sees little overlap. The label is an interaction:
positive iff the clusters agree AND (same prefecture OR the project is remote), flipped with
probability ``noise``. Tokens and weights follow the v2 tokenizer's shapes (R-20).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from training.data import Pair

PREFECTURES = ["東京都", "神奈川県", "大阪府", "愛知県", "福岡県", "北海道"]
EXP_BUCKETS = ["0-2", "3-5", "6-10", "11+"]
CONTRACTS = ["準委任", "派遣", "請負"]


def make_synthetic(
    n_talents: int = 1000,
    n_projects: int = 200,
    candidates_per_project: int = 30,
    *,
    n_clusters: int = 8,
    skills_per_cluster: int = 8,
    same_cluster_share: float = 0.4,
    noise: float = 0.05,
    seed: int = 0,
) -> tuple[
    list[Pair], dict[Any, tuple[list[str], list[float]]], dict[Any, tuple[list[str], list[float]]]
]:
    """Return (pairs, talents, projects); pair timestamps increase with the project id."""
    rng = np.random.Generator(np.random.PCG64(seed))
    skills = [[f"skill:c{c}s{s}" for s in range(skills_per_cluster)] for c in range(n_clusters)]
    all_skills = [s for cl in skills for s in cl]

    t_cluster = rng.integers(0, n_clusters, n_talents)
    t_pref = rng.integers(0, len(PREFECTURES), n_talents)
    talents: dict[Any, tuple[list[str], list[float]]] = {}
    for i in range(n_talents):
        own = list(rng.choice(skills[t_cluster[i]], size=3, replace=False))
        other = [all_skills[rng.integers(len(all_skills))]]
        tokens = [
            *own,
            *other,
            f"loc:{PREFECTURES[t_pref[i]]}",
            f"exp:{EXP_BUCKETS[rng.integers(4)]}",
            f"contract:{CONTRACTS[rng.integers(3)]}",
            f"remote:{'リモート' if rng.random() < 0.5 else '常駐'}",
        ]
        weights = [1.0] * 4 + [1.5, 1.0, 1.0, 1.5]
        talents[f"t{i}"] = (tokens, weights)

    p_cluster = rng.integers(0, n_clusters, n_projects)
    p_pref = rng.integers(0, len(PREFECTURES), n_projects)
    p_remote = rng.random(n_projects) < 0.3
    projects: dict[Any, tuple[list[str], list[float]]] = {}
    for j in range(n_projects):
        req = list(rng.choice(skills[p_cluster[j]], size=2, replace=False))
        pref = [skills[p_cluster[j]][rng.integers(skills_per_cluster)]]
        tokens = [
            *req,
            *pref,
            f"loc:{PREFECTURES[p_pref[j]]}",
            f"exp:{EXP_BUCKETS[rng.integers(4)]}",
            f"contract:{CONTRACTS[rng.integers(3)]}",
            f"remote:{'リモート' if p_remote[j] else '常駐'}",
        ]
        weights = [2.0, 2.0, 1.0, 1.5, 1.0, 1.0, 1.5]
        projects[f"p{j}"] = (tokens, weights)

    by_cluster = [np.flatnonzero(t_cluster == c) for c in range(n_clusters)]
    pairs: list[Pair] = []
    for j in range(n_projects):
        n_same = round(candidates_per_project * same_cluster_share)
        pool = by_cluster[p_cluster[j]]
        same = rng.choice(pool, size=min(n_same, pool.size), replace=False) if pool.size else []
        rest = rng.choice(n_talents, size=candidates_per_project - len(same), replace=False)
        cands = list(dict.fromkeys([*map(int, same), *map(int, rest)]))
        for k, i in enumerate(cands):
            match = t_cluster[i] == p_cluster[j] and (t_pref[i] == p_pref[j] or p_remote[j])
            if rng.random() < noise:
                match = not match
            label = (
                float(rng.choice([0.7, 0.8, 1.0])) if match else float(rng.choice([0.0, 0.0, 0.3]))
            )
            pairs.append(Pair(f"t{i}", f"p{j}", label, 1.0, float(j * 1000 + k)))
    return pairs, talents, projects


def make_ratings_like(
    n_talents: int = 900,
    n_projects: int = 1600,
    n_exposures: int = 100_000,
    *,
    factors: int = 8,
    talent_bias_sd: float = 0.7,
    project_bias_sd: float = 1.0,
    taste_weight: float = 0.6,
    noise_sd: float = 0.8,
    seed: int = 0,
) -> tuple[
    list[Pair], dict[int, tuple[list[str], list[float]]], dict[int, tuple[list[str], list[float]]]
]:
    """A ratings-like data set (a recommender's public ratings, mapped to talents and
    projects): strong per-entity effects (some talents are liked everywhere, some
    projects by everyone), a low-rank taste part, and content tokens that only weakly
    reflect the tastes. Popular projects and active talents are shown more. Labels are
    1 / 0 (liked or not); timestamps are the exposure order (shuffled), so a time split
    holds out later ratings of the same entities: what ranking by historical positive
    rates is good at, and what a content-only model cannot see."""
    rng = np.random.Generator(np.random.PCG64(seed))
    u = rng.standard_normal((n_talents, factors))
    v = rng.standard_normal((n_projects, factors))
    bt = talent_bias_sd * rng.standard_normal(n_talents)
    bp = project_bias_sd * rng.standard_normal(n_projects)
    shown_p = np.exp(0.8 * bp + 0.5 * rng.standard_normal(n_projects))
    shown_p /= shown_p.sum()
    active_t = rng.gamma(0.6, 1.0, n_talents)
    active_t /= active_t.sum()
    mix = rng.standard_normal((factors, 40))

    def bag(vec: np.ndarray) -> tuple[list[str], list[float]]:
        top = np.argsort(-(vec @ mix + 2.0 * rng.standard_normal(40)))[:4]
        return [f"skill:g{j}" for j in sorted(top)], [1.0] * 4

    talents = {i + 1: bag(u[i]) for i in range(n_talents)}
    projects = {j + 1: bag(v[j]) for j in range(n_projects)}
    ti = rng.choice(n_talents, n_exposures, p=active_t)
    pj = rng.choice(n_projects, n_exposures, p=shown_p)
    keys = list(dict.fromkeys(zip(ti.tolist(), pj.tolist(), strict=True)))
    order = rng.permutation(len(keys))
    pairs = []
    for pos, k in enumerate(order.tolist()):
        a, b = keys[k]
        z = bt[a] + bp[b] + taste_weight * (u[a] @ v[b]) / np.sqrt(factors)
        liked = z + noise_sd * rng.standard_normal() > 0.3
        pairs.append(Pair(a + 1, b + 1, float(liked), 1.0, float(pos)))
    return pairs, talents, projects
