-- R-12: the seed's training_stats; labeled_count drives the cold-start weight (R-34).
select
    count(*) filter (where io.outcome = 'accepted') as accepted_count,
    count(*) filter (where io.outcome = 'rejected') as rejected_count,
    count(*) filter (where io.outcome is null) as pending_count,
    count(*) filter (where io.feedback_label is not null) as labeled_count,
    min(il.created_at) as first_log_at,
    max(il.created_at) as last_log_at,
    count(distinct il.run_date) as active_days
from {{ ref('stg_ses__interaction_logs') }} as il
inner join {{ ref('int_interaction_outcomes') }} as io on il.interaction_id = io.interaction_id
