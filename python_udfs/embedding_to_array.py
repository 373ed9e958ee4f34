"""ses.embedding_to_array(embedding bytea) -> float8[]: a stored embedding, readable."""

from ses_udf.hash_tower import sql_embedding_to_array


def embedding_to_array(embedding):
    return sql_embedding_to_array(embedding)
