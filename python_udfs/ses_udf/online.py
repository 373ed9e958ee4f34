"""Two-tower scores for the online match path (R-36) and the batch marts.

Talent vectors come from the per-backend cache of ses.talent_embeddings;
talents created or changed since their cached vector are embedded on the spot
from their tokens, so a profile edited a second ago is scored as it is now.
The project is embedded from its tokens on every call (a project created a
second ago works).
"""

from __future__ import annotations

import numpy as np

from ses_udf import embedding_store
from ses_udf.embedders import create_embedder
from ses_udf.scoring import similarity_score_matrix, similarity_scores, top_k_per_row

_TOKEN_PLANS: dict[str, object] = {}


def _tokens(db, relation: str, ids: list[int]) -> tuple[list, list, list]:
    plan = _TOKEN_PLANS.get(relation)
    if plan is None:
        plan = _TOKEN_PLANS[relation] = db.prepare(
            "select coalesce(array_agg(entity_id order by entity_id, token_position), '{}') as owners, "
            "coalesce(array_agg(token order by entity_id, token_position), '{}') as tokens, "
            "coalesce(array_agg(weight order by entity_id, token_position), '{}') as weights "
            f"from {relation} where entity_id = any($1)",
            ["int8[]"],
        )
    rows = db.execute(plan, [ids])[0]
    return rows["owners"], rows["tokens"], rows["weights"]


def embed_from_tokens(db, embedder, relation: str, ids: list[int], side: str) -> np.ndarray:
    owners, tokens, weights = _tokens(db, relation, ids)
    _, matrix = embedder.embed_batch(ids, owners, tokens, weights, side=side)
    return matrix


def project_scores(
    db,
    embedder_name: str,
    dimension: int,
    project_id: int,
    talent_ids: list[int] | None,
    talent_updated_at: list[float] | None,
    project_tokens: str,
    talent_tokens: str,
) -> list[tuple[int, float]]:
    """(talent_id, two_tower_score) for each given talent against one project."""
    scores = project_score_vector(
        db,
        embedder_name,
        dimension,
        project_id,
        talent_ids,
        talent_updated_at,
        project_tokens,
        talent_tokens,
    )
    return list(zip(talent_ids or [], scores.astype(float).tolist(), strict=True))


def project_score_vector(
    db,
    embedder_name: str,
    dimension: int,
    project_id: int,
    talent_ids: list[int] | None,
    talent_updated_at: list[float] | None,
    project_tokens: str,
    talent_tokens: str,
) -> np.ndarray:
    """float32 two-tower scores of the given talents against one project, in
    talent_ids order (the core of both SQL shapes: rows, or one array)."""
    if project_id is None:
        raise ValueError("project_id is required (got None)")
    talent_ids = talent_ids or []
    talent_updated_at = talent_updated_at or []
    if len(talent_ids) != len(talent_updated_at):
        raise ValueError(
            f"talent_ids and talent_updated_at differ in length: {len(talent_ids)} vs {len(talent_updated_at)}"
        )
    if not talent_ids:
        return np.zeros(0, dtype=np.float32)
    embedder = create_embedder(embedder_name, dimension, db)
    project_vector = embed_from_tokens(db, embedder, project_tokens, [project_id], "project")[0]

    wanted = np.asarray(talent_ids, dtype=np.int64)
    cache = embedding_store.load(db, "talent", embedder.name, embedder.version, dimension)
    scores = np.zeros(len(wanted), dtype=np.float32)
    stale = np.ones(len(wanted), dtype=bool)
    if len(cache.ids):
        # Score every cached talent (one matrix-vector product) and pick the
        # wanted ones: cheaper than gathering their rows first.
        pos, found = cache.rows_for(wanted)
        all_scores = similarity_scores(project_vector, cache.matrix, cache.nonzero)
        scores = np.where(found, all_scores[pos], np.float32(0.0))
        stale = ~found | (
            cache.source_updated_at[pos] < np.asarray(talent_updated_at, dtype=np.float64)
        )
    if stale.any():
        fresh = embed_from_tokens(db, embedder, talent_tokens, wanted[stale].tolist(), "talent")
        scores[stale] = similarity_scores(project_vector, fresh)
    return scores


def score_matrix(
    db, embedder_name: str, dimension: int, project_ids: list[int] | None, top_k: int | None
) -> list[tuple[int, int, float]]:
    """(project_id, talent_id, score) from both caches: every cached talent
    against each project (all pairs, or each project's top_k)."""
    embedder = create_embedder(embedder_name, dimension, db)
    projects = embedding_store.load(db, "project", embedder.name, embedder.version, dimension)
    talents = embedding_store.load(db, "talent", embedder.name, embedder.version, dimension)
    wanted = projects.ids if project_ids is None else np.asarray(project_ids, dtype=np.int64)
    pos, found = projects.rows_for(wanted)
    if not found.all():
        missing = wanted[~found][:5].tolist()
        raise ValueError(
            f"no cached {embedder.name}/{embedder.version} embedding for project(s) {missing}"
        )
    out: list[tuple[int, int, float]] = []
    # Chunks bound the memory of the score matrix (chunk x n_talents float32).
    chunk = max(1, 4_000_000 // max(len(talents.ids), 1))
    for start in range(0, len(wanted), chunk):
        block = similarity_score_matrix(projects.matrix[pos[start : start + chunk]], talents.matrix)
        block_ids = wanted[start : start + chunk]
        if top_k is None:
            talent_list = talents.ids.tolist()
            for row, project_id in enumerate(block_ids.tolist()):
                out.extend(
                    zip(
                        [project_id] * len(talent_list),
                        talent_list,
                        block[row].tolist(),
                        strict=True,
                    )
                )
        else:
            for row, ids, scores in top_k_per_row(block, talents.ids, top_k):
                project_id = int(block_ids[row])
                out.extend((project_id, int(t), float(s)) for t, s in zip(ids, scores, strict=True))
    return out
