-- One (entity_id, embedding) row per entity of ses.embed_tower_packed's chunks,
-- sliced here in SQL: PL/Python returns ~n/1024 values instead of n rows. The
-- packed call sits in a select list (no materialised function scan) and this
-- STABLE single-select function is inlined into the calling query. OFFSET 0 keeps
-- the slicing inside the subquery: without it the planner may evaluate substring()
-- only after a caller's join or sort, which then copies the whole 1 MB chunk into
-- every row it stores.
select
    sliced.entity_id,
    sliced.embedding
from (
    select
        (p.chunk).entity_ids[k.i] as entity_id,
        substring(
            (p.chunk).embeddings
            from (k.i - 1) * (length((p.chunk).embeddings) / cardinality((p.chunk).entity_ids)) + 1
            for length((p.chunk).embeddings) / cardinality((p.chunk).entity_ids)
        ) as embedding
    from (
        select {{ function('embed_tower_packed') }}(
            embedder, dimension, side, entity_ids, token_counts, tokens, weights
        ) as chunk
    ) as p
    cross join lateral generate_subscripts((p.chunk).entity_ids, 1) as k (i)
    offset 0
) as sliced
