"""ses.two_tower_similarity(a bytea, b bytea) -> float8: (cosine + 1) / 2, seed B.2."""

from ses_udf.hash_tower import sql_two_tower_similarity


def two_tower_similarity(a, b):
    return sql_two_tower_similarity(a, b)
