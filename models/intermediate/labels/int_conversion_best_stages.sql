-- R-11 CV layer: per interaction the best stage reached. Incremental: a build
-- recomputes only the interactions with new or changed conversions.
{{ config(
    materialized='incremental',
    incremental_strategy='replace_changed',
    full_refresh=false,
    unique_key='interaction_id',
    meta={'change_log': {'entity': 'interaction', 'sources': ['conversion_events']}},
    pre_hook="{{ change_window_begin() }}",
    post_hook="{{ change_window_end() }}",
    indexes=[{'columns': ['interaction_id'], 'unique': true}],
    on_schema_change='fail'
) }}
{{ conversion_layer(changed_rows(ref('stg_ses__conversion_events'), 'interaction_id')) }}
