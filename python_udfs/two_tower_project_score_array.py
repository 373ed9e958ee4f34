"""ses.two_tower_project_score_array: ses.two_tower_project_scores as one float8[]
aligned with talent_ids (ses.run_match's path; R-36)."""

from ses_udf.online import project_score_vector


def two_tower_project_score_array(embedder, dimension, project_id, talent_ids, talent_updated_at):
    scores = project_score_vector(
        plpy,
        embedder,
        dimension,
        project_id,
        talent_ids,
        talent_updated_at,
        project_tokens='{{ ref("int_project_tokens") }}',
        talent_tokens='{{ ref("int_talent_tokens") }}',
    )
    return scores.astype(float).tolist()
