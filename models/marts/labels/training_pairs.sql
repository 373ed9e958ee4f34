-- R-10: the seed's training_pairs, columns as the seed. Outcomes come from the
-- rule (int_interaction_outcomes); labels from the feedback_types seed, whose
-- NULL label excludes no_response.
select
    il.talent_id,
    il.project_id,
    il.two_tower_score,
    il.two_tower_embedder,
    il.two_tower_version,
    il.business_score,
    io.outcome,
    il.variant,
    io.feedback_label as label,
    il.run_date,
    il.created_at
from {{ ref('stg_ses__interaction_logs') }} as il
inner join {{ ref('int_interaction_outcomes') }} as io on il.interaction_id = io.interaction_id
where io.feedback_label is not null
