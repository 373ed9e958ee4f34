select
    id as interaction_id,
    match_result_id,
    talent_id,
    project_id,
    match_run_id,
    engine_version,
    config_version,
    two_tower_score,
    two_tower_embedder,
    two_tower_version,
    business_score,
    outcome as stored_outcome,
    feedback_at as stored_feedback_at,
    variant,
    created_at,
    run_date
from {{ source('ses', 'interaction_logs') }}
