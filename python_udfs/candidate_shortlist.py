"""ses.candidate_shortlist: the vectorised shortlist of ses.rank_candidates
(R-30..R-33, R-36; ses_udf.candidates)."""

from ses_udf import candidates


def candidate_shortlist(project_id, depth, embedder, dimension, two_tower_weight, serving):
    candidates.configure_token_relations(
        talent_tokens='{{ ref("int_talent_tokens") }}',
        project_tokens='{{ ref("int_project_tokens") }}',
    )
    s = candidates.shortlist(
        plpy, project_id, depth, embedder, dimension, two_tower_weight, serving
    )
    return [
        (
            s.talent_ids,
            s.business,
            s.two_tower,
            s.passed,
            s.cutoff_total,
            s.cutoff_total_talent,
            s.cutoff_base,
            s.cutoff_base_talent,
        )
    ]
