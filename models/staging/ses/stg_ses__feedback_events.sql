select
    id,
    interaction_id,
    feedback_type,
    actor,
    source,
    meta,
    created_at,
    is_revoked,
    revoked_at,
    revoked_by
from {{ source('ses', 'feedback_events') }}
