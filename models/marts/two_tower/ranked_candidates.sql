-- R-30..R-35: passed candidates per project, ranked by the blended total.
-- Knocked-out pairs never reach this table (they are in knocked_out_pairs);
-- the two-tower score only reorders what the business rules passed.
-- depends_on: {{ ref('talent_embeddings') }}
-- depends_on: {{ ref('project_embeddings') }}
-- depends_on: {{ ref('two_tower_weight_schedule') }} (read by ses.two_tower_weight())
{{ config(materialized='table') }}
{%- set s = two_tower_settings() %}

with settings as (
    select
        ses.two_tower_weight() as two_tower_weight,
        {{ function('embedder_version') }}('{{ s.embedder }}', {{ s.dimension }}) as two_tower_version
),

two_tower as (
    select
        project_id,
        talent_id,
        two_tower_score
    from {{ function('two_tower_score_matrix') }}('{{ s.embedder }}', {{ s.dimension }}, null, null)
),

scored as (
    select
        c.project_id,
        c.talent_id,
        c.business_score,
        ses.base_score(c.business_score) as base_score,
        tt.two_tower_score,
        ses.ab_variant(c.project_id) as variant,
        st.two_tower_weight,
        st.two_tower_version
    from {{ ref('int_candidate_pairs') }} as c
    cross join settings as st
    left join two_tower as tt on c.project_id = tt.project_id and c.talent_id = tt.talent_id
    where cardinality(c.ko_reasons) = 0
),

blended as (
    select
        *,
        ses.blend_total(base_score, two_tower_score, two_tower_weight, ses.variant_serves_two_tower(variant)) as total_score
    from scored
)

select
    project_id,
    talent_id,
    business_score,
    base_score,
    two_tower_score,
    two_tower_weight,
    total_score,
    row_number() over (partition by project_id order by {{ candidate_rank_order() }}) as rank,
    '{{ s.embedder }}' as two_tower_embedder,
    two_tower_version,
    variant
from blended
