-- Exposures per JST day, A/B variant, stored outcome and label source (R-11,
-- R-12), for dashboards and training_stats: a few rows per day instead of one
-- per exposure. Incremental: a build recomputes the days of the interactions
-- changed since the last one (new exposures, feedback, behaviour, conversions,
-- late and out-of-order events alike). As of the last build.
{{ config(
    materialized='incremental',
    incremental_strategy='replace_changed',
    full_refresh=false,
    unique_key='run_date',
    meta={'change_log': {
        'entity': 'interaction',
        'sources': ['interaction_logs', 'feedback_events', 'interaction_events', 'conversion_events'],
        'key_sql': 'select il.run_date from ses.interaction_logs as il where il.id = changed_ids.entity_id',
    }},
    pre_hook="{{ change_window_begin(upstream=[ref('int_conversion_best_stages'), ref('int_behavior_best_events')]) }}",
    post_hook="{{ change_window_end() }}",
    indexes=[{'columns': ['run_date']}],
    on_schema_change='fail'
) }}

with exposures as (
    select il.* from {{ changed_rows(ref('stg_ses__interaction_logs'), 'run_date') }} as il
),

layers as (
    select
        e.run_date,
        e.variant,
        e.stored_outcome::text as outcome,
        e.created_at,
        cv.event_label as cv_label,
        ft.label as fb_label,
        bb.event_label as behavior_label
    from exposures as e
    left join {{ ref('int_conversion_best_stages') }} as cv on e.interaction_id = cv.interaction_id
    left join {{ ref('feedback_types') }} as ft on e.stored_outcome = ft.feedback_type
    left join {{ ref('int_behavior_best_events') }} as bb on e.interaction_id = bb.interaction_id
)

select
    run_date,
    variant,
    outcome,
    {{ label_signal_source('cv_label', 'fb_label', 'behavior_label') }} as signal_source,
    count(*) as interactions,
    count(*) filter (where fb_label is not null) as feedback_labels,
    min(created_at) as first_log_at,
    max(created_at) as last_log_at
from layers
group by 1, 2, 3, 4
