-- R-12: the seed's training_stats; labeled_count (rows of training_pairs)
-- drives the cold-start weight (R-34). Summed from label_daily_summary, so it
-- reads a few rows per day whatever the history, as of the last build.
select
    coalesce(sum(interactions) filter (where outcome = 'accepted'), 0)::bigint as accepted_count,
    coalesce(sum(interactions) filter (where outcome = 'rejected'), 0)::bigint as rejected_count,
    coalesce(sum(interactions) filter (where outcome is null), 0)::bigint as pending_count,
    coalesce(sum(feedback_labels), 0)::bigint as labeled_count,
    min(first_log_at) as first_log_at,
    max(last_log_at) as last_log_at,
    count(distinct run_date) as active_days
from {{ ref('label_daily_summary') }}
