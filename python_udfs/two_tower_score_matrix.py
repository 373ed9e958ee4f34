"""ses.two_tower_score_matrix: cached projects x cached talents, batch scoring."""

from ses_udf.online import score_matrix


def two_tower_score_matrix(embedder, dimension, project_ids, top_k):
    return score_matrix(plpy, embedder, dimension, project_ids, top_k)
