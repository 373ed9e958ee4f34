"""ses.hash_embed_batch(entity_ids, token_entity_ids, tokens, weights, dimension).

Returns table (entity_id bigint, embedding bytea): one row per entity id, from
flattened token lists (token i belongs to token_entity_ids[i]), in one call.
"""

from ses_udf.hash_tower import sql_hash_embed_batch


def hash_embed_batch(entity_ids, token_entity_ids, tokens, weights, dimension):
    return sql_hash_embed_batch(entity_ids, token_entity_ids, tokens, weights, dimension)
