"""ses.embed_batch: many entities through the configured embedder in one call (R-23, R-24)."""

from ses_udf.embedders import create_embedder
from ses_udf.hash_tower import vector_to_bytes


def embed_batch(embedder, dimension, entity_ids, token_entity_ids, tokens, weights):
    model = create_embedder(embedder, dimension)
    ids, matrix = model.embed_batch(
        entity_ids or [], token_entity_ids or [], tokens or [], weights or []
    )
    return [(int(i), vector_to_bytes(v)) for i, v in zip(ids, matrix, strict=True)]
