select
    id,
    interaction_id,
    talent_id,
    project_id,
    stage,
    actor,
    source,
    meta,
    created_at
from {{ source('ses', 'conversion_events') }}
