"""ses.embed_tower_batch: many talents or projects through the configured embedder's
tower of that side, in one call (R-23, R-24; seed 10.4)."""

from ses_udf.embedders import create_embedder
from ses_udf.hash_tower import embedding_rows


def embed_tower_batch(embedder, dimension, side, entity_ids, token_entity_ids, tokens, weights):
    model = create_embedder(embedder, dimension, plpy)
    ids, matrix = model.embed_batch(
        entity_ids or [], token_entity_ids or [], tokens or [], weights or [], side=side
    )
    return embedding_rows(ids, matrix)
