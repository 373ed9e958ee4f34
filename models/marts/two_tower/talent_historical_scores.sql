-- R-30's historical factor per talent as of this (nightly) build: the smoothed
-- share of the talent's labelled pairs that were positive, mapped into
-- [1 - historical_weight, 1] (macros/historical_score.sql). ses.run_match reads
-- it for the ranking and logs the value it used; talents without a row (no
-- label as of the build) get 1.0 there, so new talents still get exposure.
{{ config(materialized='table') }}
{%- set h = historical_settings() %}

with pairs as (
    select
        talent_id,
        project_id,
        max(label) >= {{ h.positive_threshold }} as is_positive
    from {{ ref('training_labels') }}
    group by 1, 2
),

overall as (
    select avg(is_positive::int)::float8 as global_rate
    from pairs
),

per_talent as (
    select
        talent_id,
        count(*) as labelled_pairs,
        count(*) filter (where is_positive) as positive_pairs
    from pairs
    group by 1
)

select
    t.talent_id,
    t.labelled_pairs,
    t.positive_pairs,
    g.global_rate,
    {{ smoothed_rate('t.positive_pairs', 't.labelled_pairs', 'g.global_rate') }} as smoothed_rate,
    {{ historical_factor(smoothed_rate('t.positive_pairs', 't.labelled_pairs', 'g.global_rate')) }} as historical_score,
    {{ historical_factor('g.global_rate') }} as prior_score,
    now() as computed_at
from per_talent as t
cross join overall as g
