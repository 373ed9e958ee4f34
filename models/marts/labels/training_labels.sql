-- R-11: the seed's 3-layer merge, label = coalesce(CV, FB, behaviour). The FB
-- layer is the stored interaction_logs.outcome, as in the seed; the CV and
-- behaviour layers are incremental tables, recomputed on the spot for the
-- interactions changed since their last build.
with conversions as (
    {{ live_change_model('int_conversion_best_stages', conversion_layer, ref('stg_ses__conversion_events')) | indent(4) }}
),

behaviors as (
    {{ live_change_model('int_behavior_best_events', behavior_layer, ref('stg_ses__interaction_events')) | indent(4) }}
),

layers as (
    select
        il.interaction_id,
        il.talent_id,
        il.project_id,
        il.two_tower_score,
        il.business_score,
        il.variant,
        il.run_date,
        il.created_at,
        cv.event_type as cv_stage,
        cv.event_label as cv_label,
        il.stored_outcome::text as fb_outcome,
        ft.label as fb_label,
        bb.event_type as behavior_type,
        bb.event_label as behavior_label
    from {{ ref('stg_ses__interaction_logs') }} as il
    left join conversions as cv on il.interaction_id = cv.interaction_id
    left join {{ ref('feedback_types') }} as ft on il.stored_outcome = ft.feedback_type
    left join behaviors as bb on il.interaction_id = bb.interaction_id
)

select
    interaction_id,
    talent_id,
    project_id,
    two_tower_score,
    business_score,
    variant,
    run_date,
    created_at,
    cv_stage,
    fb_outcome,
    behavior_type,
    {{ label_signal_source('cv_label', 'fb_label', 'behavior_label') }} as signal_source,
    {{ merged_label('cv_label', 'fb_label', 'behavior_label') }} as label
from layers
where {{ merged_label('cv_label', 'fb_label', 'behavior_label') }} is not null
