-- R-03 as a set: the rule's outcome for every interaction with feedback (the
-- stored interaction_logs.outcome is checked against it). Incremental: a build
-- recomputes only the interactions whose feedback changed since the last one.
{{ config(
    materialized='incremental',
    incremental_strategy='replace_changed',
    full_refresh=false,
    unique_key='interaction_id',
    meta={'change_log': {'entity': 'interaction', 'sources': ['feedback_events']}},
    pre_hook="{{ change_window_begin() }}",
    post_hook="{{ change_window_end() }}",
    indexes=[{'columns': ['interaction_id'], 'unique': true}],
    on_schema_change='fail'
) }}
{{ outcome_layer(changed_rows(ref('stg_ses__feedback_events'), 'interaction_id')) }}
