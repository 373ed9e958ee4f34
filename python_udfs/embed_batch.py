"""ses.embed_batch: many entities through the configured embedder in one call (R-23, R-24).

Side-less, so only for embedders whose towers are shared (hash); the learned
embedders need ses.embed_tower_batch, which says talent or project."""

from ses_udf.embedders import create_embedder
from ses_udf.hash_tower import embedding_rows


def embed_batch(embedder, dimension, entity_ids, token_entity_ids, tokens, weights):
    model = create_embedder(embedder, dimension, plpy)
    ids, matrix = model.embed_batch(
        entity_ids or [], token_entity_ids or [], tokens or [], weights or []
    )
    return embedding_rows(ids, matrix)
