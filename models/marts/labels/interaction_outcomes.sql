-- Every exposed pair with the outcome the rule gives it and what is stored.
-- The rule is int_interaction_outcomes, recomputed on the spot for the
-- interactions whose feedback changed since that table's last build, so this
-- view is exact at any time and costs what changed, not the history.
with rule as (
    {{ live_change_model('int_interaction_outcomes', outcome_layer, ref('stg_ses__feedback_events')) | indent(4) }}
)

select
    il.interaction_id,
    il.talent_id,
    il.project_id,
    il.match_run_id,
    r.outcome,
    r.feedback_at,
    r.winning_feedback_id,
    r.outcome_priority,
    r.feedback_label,
    il.stored_outcome,
    il.stored_feedback_at,
    (
        il.stored_outcome is distinct from r.outcome
        or il.stored_feedback_at is distinct from r.feedback_at
    ) as is_drifted
from {{ ref('stg_ses__interaction_logs') }} as il
left join rule as r on il.interaction_id = r.interaction_id
