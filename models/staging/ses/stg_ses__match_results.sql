select
    id as match_result_id,
    match_run_id,
    talent_id,
    project_id,
    rank as shown_rank,
    business_score,
    two_tower_score,
    total_score,
    historical_score,
    hash_score,
    team,
    control_version,
    treatment_version,
    created_at
from {{ source('ses', 'match_results') }}
