"""ses.embed_tower_packed: embed_tower_batch with packed bytea arguments and chunked
results, the fast path of the embedding caches (R-24; formats in ses_udf.packed).
ses.embed_tower_packed_rows slices the chunks into (entity_id, embedding) rows."""

from ses_udf.packed import sql_embed_tower_packed


def embed_tower_packed(embedder, dimension, side, entity_ids, token_counts, tokens, weights):
    return sql_embed_tower_packed(
        embedder, dimension, side, entity_ids, token_counts, tokens, weights, plpy
    )
