-- R-10: the seed's training_pairs, columns as the seed. Like the seed it reads
-- the stored interaction_logs.outcome, which the trigger keeps equal to the
-- rule (the drift test checks it); labels from the feedback_types seed, whose
-- NULL label excludes no_response.
select
    il.talent_id,
    il.project_id,
    il.two_tower_score,
    il.two_tower_embedder,
    il.two_tower_version,
    il.business_score,
    il.stored_outcome::text as outcome,
    il.variant,
    ft.label,
    il.run_date,
    il.created_at
from {{ ref('stg_ses__interaction_logs') }} as il
inner join {{ ref('feedback_types') }} as ft on il.stored_outcome = ft.feedback_type
where ft.label is not null
