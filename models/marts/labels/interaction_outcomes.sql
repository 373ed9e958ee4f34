-- Every exposed pair with the outcome the rule gives it and what is stored.
select
    interaction_id,
    talent_id,
    project_id,
    match_run_id,
    outcome,
    feedback_at,
    winning_feedback_id,
    outcome_priority,
    feedback_label,
    stored_outcome,
    stored_feedback_at,
    (
        stored_outcome is distinct from outcome
        or stored_feedback_at is distinct from feedback_at
    ) as is_drifted
from {{ ref('int_interaction_outcomes') }}
