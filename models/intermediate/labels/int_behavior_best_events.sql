-- R-11 behaviour layer: per interaction the strongest behaviour signal.
-- Incremental: a build recomputes only the interactions with new events.
{{ config(
    materialized='incremental',
    incremental_strategy='replace_changed',
    full_refresh=false,
    unique_key='interaction_id',
    meta={'change_log': {'entity': 'interaction', 'sources': ['interaction_events']}},
    pre_hook="{{ change_window_begin() }}",
    post_hook="{{ change_window_end() }}",
    indexes=[{'columns': ['interaction_id'], 'unique': true}],
    on_schema_change='fail'
) }}
{{ behavior_layer(changed_rows(ref('stg_ses__interaction_events'), 'interaction_id')) }}
