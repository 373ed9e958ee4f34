-- R-30..R-35: the top N passed candidates of every open project, ranked by
-- ses.rank_candidates, the ranking ses.run_match uses (one definition): the
-- business rules, the base score, the blended total, ties to the smaller talent
-- id. Knocked-out pairs never reach it (ask knocked_out_pairs for a project).
-- The cost follows the open projects, not talents x projects.
-- depends_on: {{ ref('talent_embeddings') }}
-- depends_on: {{ ref('talent_historical_scores') }} (read by ses.rank_candidates)
-- depends_on: {{ ref('two_tower_weight_schedule') }} (read by ses.two_tower_weight())
-- depends_on: {{ function('candidate_shortlist') }} (called by ses.rank_candidates)
{{ config(materialized='table') }}
{%- set s = two_tower_settings() %}

with settings as (
    select
        ses.two_tower_weight() as two_tower_weight,
        {{ function('embedder_version') }}('{{ s.embedder }}', {{ s.dimension }}) as two_tower_version
),

open_projects as (
    select
        p.project_id,
        ses.ab_variant(p.project_id) as variant
    from {{ ref('stg_ses__projects') }} as p
    where {{ is_open_project('p') }}
)

select
    op.project_id,
    r.talent_id,
    r.business_score,
    r.historical_score,
    r.base_score,
    r.two_tower_score,
    st.two_tower_weight,
    r.total_score,
    r.rank,
    r.base_rank,
    '{{ s.embedder }}' as two_tower_embedder,
    st.two_tower_version,
    op.variant
from open_projects as op
cross join settings as st
cross join lateral ses.rank_candidates(
    op.project_id,
    {{ var('ranked_candidates_top_n', 100) }},
    '{{ s.embedder }}',
    {{ s.dimension }},
    st.two_tower_weight,
    ses.variant_serves_two_tower(op.variant)
) as r
