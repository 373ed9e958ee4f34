{#- Body of the incremental embedding caches (R-24): embeds, in one batch call,
    only the entities with no cached vector for the configured (embedder,
    version, dimension) or whose profile changed after theirs. A version bump
    adds a new (embedder, version) generation; nothing else is recomputed. -#}
{% macro embedding_cache_model(side) %}
    {%- set s = two_tower_settings() -%}
    {%- set id = side ~ '_id' -%}
    {%- set entities = ref('stg_ses__' ~ side ~ 's') -%}
    {%- set tokens = ref('int_' ~ side ~ '_tokens') -%}
with settings as (
    select
        cast('{{ s.embedder }}' as varchar(50)) as embedder,
        cast({{ function('embedder_version') }}('{{ s.embedder }}', {{ s.dimension }}) as varchar(20)) as version,
        {{ s.dimension }} as dimension
),

stale as (
    select
        e.{{ id }},
        e.updated_at
    from {{ entities }} as e
    cross join settings as s
    where not exists (
        select 1
        from {{ this }} as c
        where
            c.{{ id }} = e.{{ id }}
            and c.embedder = s.embedder
            and c.version = s.version
            and c.dimension = s.dimension
            and c.source_updated_at >= e.updated_at
    )
),

stale_tokens as (
    select
        t.entity_id,
        t.token_position,
        t.token,
        t.weight
    from {{ tokens }} as t
    inner join stale on t.entity_id = stale.{{ id }}
),

embedded as (
    select
        b.entity_id,
        b.embedding
    from settings as s
    cross join lateral {{ function('embed_tower_batch') }}(
        s.embedder,
        s.dimension,
        '{{ side }}',
        (select array_agg(st.{{ id }} order by st.{{ id }}) from stale as st),
        (select array_agg(tk.entity_id order by tk.entity_id, tk.token_position) from stale_tokens as tk),
        (select array_agg(tk.token order by tk.entity_id, tk.token_position) from stale_tokens as tk),
        (select array_agg(tk.weight order by tk.entity_id, tk.token_position) from stale_tokens as tk)
    ) as b
)

select
    stale.{{ id }},
    s.embedder,
    s.version,
    s.dimension,
    embedded.embedding,
    stale.updated_at as source_updated_at,
    now() as created_at
from embedded
inner join stale on embedded.entity_id = stale.{{ id }}
cross join settings as s
{% endmacro %}
