select
    id,
    interaction_id,
    event_type,
    actor,
    source,
    idempotency_key,
    meta,
    created_at
from {{ source('ses', 'interaction_events') }}
