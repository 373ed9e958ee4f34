-- R-03 drift: interaction_logs.outcome / feedback_at must equal the rule.
-- Repair with: dbt run-operation repair_outcome_drift
select
    interaction_id,
    stored_outcome,
    outcome as rule_outcome,
    stored_feedback_at,
    feedback_at as rule_feedback_at
from {{ ref('interaction_outcomes') }}
where is_drifted
