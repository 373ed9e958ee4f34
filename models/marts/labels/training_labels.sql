-- R-11: the seed's 3-layer merge, label = coalesce(CV, FB, behaviour).
with layers as (
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
        io.outcome as fb_outcome,
        io.feedback_label as fb_label,
        bb.event_type as behavior_type,
        bb.event_label as behavior_label
    from {{ ref('stg_ses__interaction_logs') }} as il
    left join {{ ref('int_conversion_best_stages') }} as cv on il.interaction_id = cv.interaction_id
    left join {{ ref('int_interaction_outcomes') }} as io on il.interaction_id = io.interaction_id
    left join {{ ref('int_behavior_best_events') }} as bb on il.interaction_id = bb.interaction_id
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
    case
        when cv_label is not null then 'conversion'
        when fb_label is not null then 'feedback'
        when behavior_label is not null then 'behavior'
    end as signal_source,
    coalesce(cv_label, fb_label, behavior_label) as label
from layers
where coalesce(cv_label, fb_label, behavior_label) is not null
