-- R-03 as a set: the outcome every interaction should have. Source of truth
-- for labels; the stored interaction_logs.outcome is checked against it.
with winners as (
    {{ feedback_outcome_winners(ref('stg_ses__feedback_events'), ref('feedback_types')) | indent(4) }}
)

select
    il.interaction_id,
    il.talent_id,
    il.project_id,
    il.match_run_id,
    w.event_type as outcome,
    w.event_created_at as feedback_at,
    w.event_id as winning_feedback_id,
    w.event_rank as outcome_priority,
    w.event_label as feedback_label,
    il.stored_outcome,
    il.stored_feedback_at
from {{ ref('stg_ses__interaction_logs') }} as il
left join winners as w on il.interaction_id = w.interaction_id
