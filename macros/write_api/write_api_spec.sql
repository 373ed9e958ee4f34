{#- The write path (R-02) as data: one column spec per kind of write. The
    migration R__write_api generates from it, for each kind, the single-row
    function the app calls and its batch twin (JSON rows), so the parameters,
    the validation (macros/write_api/write_api_rules.sql), the locking and the
    write are stated once.

    A column: name, type (bigint | integer | text | jsonb | timestamptz |
    float8 | boolean), default (SQL of the single-row parameter default; a
    batch row without the key takes the same default, a JSON null is NULL),
    rule (what a valid value is, see wp_value_problem), and the rule's
    arguments (max length, seed, table ...). -#}
{% macro write_api_limits() %}
    {{ return({
        'name_max': 200,
        'source_max': 50,
        'json_max_bytes': 65536,
        'event_time_min': var('event_time_min', '2000-01-01 00:00:00+00'),
        'event_time_max': var('event_time_max', '2100-01-01 00:00:00+00'),
        'max_candidates': 1000,
    }) }}
{% endmacro %}

{% macro write_api_spec() %}
    {%- set lim = write_api_limits() -%}
    {{ return([
        {
            'kind': 'feedback',
            'single': 'record_feedback',
            'batch': 'record_feedback_batch',
            'rows_name': 'events',
            'columns': [
                {'name': 'interaction_id', 'type': 'bigint', 'rule': 'reference',
                 'table': 'ses.interaction_logs', 'unknown': 'unknown interaction_id'},
                {'name': 'feedback_type', 'type': 'text', 'rule': 'known', 'seed': 'feedback_types'},
                {'name': 'actor', 'type': 'text', 'rule': 'name', 'max': lim.name_max},
                {'name': 'source', 'type': 'text', 'default': "'gui'", 'rule': 'name', 'max': lim.source_max},
                {'name': 'meta', 'type': 'jsonb', 'default': 'null', 'rule': 'object'},
                {'name': 'created_at', 'type': 'timestamptz', 'default': 'null', 'rule': 'event_time'},
            ],
            'lock': 'interactions',
            'write': 'insert',
            'table': 'ses.feedback_events',
            'core_returns': 'bigint[]',
            'single_returns': 'bigint',
            'batch_returns': 'bigint[]',
            'batch_result': 'v_result',
        },
        {
            'kind': 'revocation',
            'single': 'revoke_feedback',
            'batch': 'revoke_feedback_batch',
            'rows_name': 'revocations',
            'columns': [
                {'name': 'feedback_id', 'type': 'bigint', 'rule': 'revocable'},
                {'name': 'revoked_by', 'type': 'text', 'rule': 'name', 'max': lim.name_max},
                {'name': 'revoked_at', 'type': 'timestamptz', 'default': 'null', 'rule': 'event_time'},
            ],
            'lock': 'revoked_feedback',
            'write': 'revoke',
            'table': 'ses.feedback_events',
            'core_returns': 'jsonb',
            'single_returns': 'jsonb',
            'batch_returns': 'integer',
            'batch_result': 'jsonb_array_length(v_result)',
        },
        {
            'kind': 'interaction_event',
            'single': 'record_interaction_event',
            'batch': 'record_interaction_events_batch',
            'rows_name': 'events',
            'columns': [
                {'name': 'interaction_id', 'type': 'bigint', 'rule': 'reference',
                 'table': 'ses.interaction_logs', 'unknown': 'unknown interaction_id'},
                {'name': 'event_type', 'type': 'text', 'rule': 'known', 'seed': 'behavior_event_types'},
                {'name': 'actor', 'type': 'text', 'rule': 'name', 'max': lim.name_max},
                {'name': 'idempotency_key', 'type': 'text', 'rule': 'name', 'max': lim.name_max},
                {'name': 'meta', 'type': 'jsonb', 'default': 'null', 'rule': 'object'},
                {'name': 'source', 'type': 'text', 'default': "'gui'", 'rule': 'name', 'max': lim.source_max},
                {'name': 'created_at', 'type': 'timestamptz', 'default': 'null', 'rule': 'event_time'},
            ],
            'lock': 'interactions',
            'write': 'insert_idempotent',
            'table': 'ses.interaction_events',
            'core_returns': 'jsonb',
            'single_returns': 'jsonb',
            'batch_returns': 'jsonb',
            'batch_result': 'v_result',
        },
        {
            'kind': 'conversion',
            'single': 'record_conversion',
            'batch': 'record_conversions_batch',
            'rows_name': 'events',
            'columns': [
                {'name': 'talent_id', 'type': 'bigint', 'rule': 'conversion_pair', 'table': 'ses.talents'},
                {'name': 'project_id', 'type': 'bigint', 'rule': 'conversion_pair', 'table': 'ses.projects'},
                {'name': 'stage', 'type': 'text', 'rule': 'known', 'seed': 'conversion_stages'},
                {'name': 'actor', 'type': 'text', 'rule': 'name', 'max': lim.name_max},
                {'name': 'interaction_id', 'type': 'bigint', 'default': 'null', 'rule': 'conversion_interaction'},
                {'name': 'source', 'type': 'text', 'default': "'gui'", 'rule': 'one_of',
                 'values': ['crm', 'gui', 'import']},
                {'name': 'meta', 'type': 'jsonb', 'default': 'null', 'rule': 'object'},
                {'name': 'created_at', 'type': 'timestamptz', 'default': 'null', 'rule': 'event_time'},
            ],
            'lock': none,
            'write': 'insert',
            'table': 'ses.conversion_events',
            'core_returns': 'bigint[]',
            'single_returns': 'bigint',
            'batch_returns': 'bigint[]',
            'batch_result': 'v_result',
        },
    ]) }}
{% endmacro %}

{#- The rows of ses.log_match_run's p_candidates (historical_score, hash_score: the
    baselines of the displayed pair, V041), checked by the same rules
    (they are written through that function only, so no batch twin). team:
    in an interleaved run, the team that picked the talent (docs/interleaving.md). -#}
{% macro match_candidate_spec() %}
    {{ return({
        'kind': 'candidate',
        'rows_name': 'candidates',
        'columns': [
            {'name': 'talent_id', 'type': 'bigint', 'rule': 'reference', 'table': 'ses.talents',
             'unknown': 'unknown talent_id', 'unique': true},
            {'name': 'rank', 'type': 'integer', 'rule': 'rank', 'unique': true},
            {'name': 'business_score', 'type': 'float8', 'default': 'null', 'rule': 'score'},
            {'name': 'two_tower_score', 'type': 'float8', 'default': 'null', 'rule': 'score'},
            {'name': 'total_score', 'type': 'float8', 'default': 'null', 'rule': 'score'},
            {'name': 'historical_score', 'type': 'float8', 'default': 'null', 'rule': 'score'},
            {'name': 'hash_score', 'type': 'float8', 'default': 'null', 'rule': 'score'},
            {'name': 'team', 'type': 'text', 'default': 'null', 'rule': 'one_of', 'optional': true,
             'values': ['control', 'treatment']},
        ],
    }) }}
{% endmacro %}

{#- ses.log_match_run's run-level parameters (one row), same rules.
    control_version / treatment_version: the two rankers of an interleaved run. -#}
{% macro match_run_spec() %}
    {%- set lim = write_api_limits() -%}
    {{ return({
        'kind': 'match_run',
        'rows_name': none,
        'columns': [
            {'name': 'project_id', 'type': 'bigint', 'rule': 'reference', 'table': 'ses.projects',
             'unknown': 'unknown project_id'},
            {'name': 'candidates', 'type': 'jsonb', 'rule': 'candidate_list', 'max': lim.max_candidates},
            {'name': 'engine_version', 'type': 'text', 'default': 'null', 'rule': 'optional_name', 'max': 20},
            {'name': 'config_version', 'type': 'text', 'default': 'null', 'rule': 'optional_name', 'max': 20},
            {'name': 'two_tower_embedder', 'type': 'text', 'default': 'null', 'rule': 'optional_name', 'max': 50},
            {'name': 'two_tower_version', 'type': 'text', 'default': 'null', 'rule': 'optional_name', 'max': 20},
            {'name': 'two_tower_weight', 'type': 'float8', 'default': 'null', 'rule': 'weight'},
            {'name': 'two_tower_enabled', 'type': 'boolean', 'default': 'null', 'rule': 'any'},
            {'name': 'variant', 'type': 'text', 'default': 'null', 'rule': 'optional_name', 'max': 50},
            {'name': 'config', 'type': 'jsonb', 'default': "'{}'::jsonb", 'rule': 'object'},
            {'name': 'match_run_id', 'type': 'text', 'default': 'null', 'rule': 'run_id'},
            {'name': 'created_at', 'type': 'timestamptz', 'default': 'null', 'rule': 'event_time'},
            {'name': 'control_version', 'type': 'text', 'default': 'null', 'rule': 'optional_name', 'max': 64},
            {'name': 'treatment_version', 'type': 'text', 'default': 'null', 'rule': 'optional_name', 'max': 64},
        ],
    }) }}
{% endmacro %}
