"""ses.two_tower_project_scores: one project against the given talents, now (R-36)."""

from ses_udf.online import project_scores


def two_tower_project_scores(embedder, dimension, project_id, talent_ids, talent_updated_at):
    return project_scores(
        plpy,
        embedder,
        dimension,
        project_id,
        talent_ids,
        talent_updated_at,
        project_tokens='{{ ref("int_project_tokens") }}',
        talent_tokens='{{ ref("int_talent_tokens") }}',
    )
