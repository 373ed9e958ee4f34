select
    match_run_id,
    project_id,
    engine_version,
    config_version,
    two_tower_embedder,
    two_tower_version,
    two_tower_weight,
    two_tower_enabled,
    variant,
    top_k,
    config,
    created_at
from {{ source('ses', 'match_runs') }}
