{#- Body of the incremental embedding caches (R-24): embeds, in one batch call,
    only the entities with no cached vector for the configured (embedder,
    version, dimension) or whose profile changed after theirs. A version bump
    adds a new (embedder, version) generation; nothing else is recomputed.
    The batch goes packed (ses.embed_tower_packed_rows): same vectors, bit for
    bit, as ses.embed_tower_batch, without per-element array conversion. -#}
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

-- Packed arguments of embed_tower_packed_rows (formats in ses_udf.packed): PL/Python
-- takes a bytea as one object, where it converts arrays element by element.
packed_entities as (
    select
        string_agg(int8send(st.{{ id }}), ''::bytea order by st.{{ id }}) as entity_ids,
        string_agg(int4send(coalesce(c.token_count, 0)), ''::bytea order by st.{{ id }}) as token_counts
    from stale as st
    left join (
        select
            tk.entity_id,
            count(*)::int as token_count
        from stale_tokens as tk
        group by tk.entity_id
    ) as c on st.{{ id }} = c.entity_id
),

packed_tokens as (
    select
        string_agg(convert_to(tk.token, 'UTF8'), '\x00'::bytea order by tk.entity_id, tk.token_position) as tokens,
        string_agg(float8send(tk.weight), ''::bytea order by tk.entity_id, tk.token_position) as weights
    from stale_tokens as tk
),

embedded as (
    select
        b.entity_id,
        b.embedding
    from settings as s
    cross join packed_entities as pe
    cross join packed_tokens as pt
    cross join lateral {{ function('embed_tower_packed_rows') }}(
        s.embedder,
        s.dimension,
        '{{ side }}',
        pe.entity_ids,
        pe.token_counts,
        pt.tokens,
        pt.weights
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
