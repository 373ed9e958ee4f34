{#- Idempotent migrations of the operational schema, run by on-run-start.
    versioned  : applied once; editing one after it ran is an error.
    repeatable : (functions, triggers) re-applied whenever their text changes.
    Each applied migration is recorded with its checksum in
    ses.schema_migrations, so re-running `dbt build` changes nothing. -#}
{% macro ses_migrations() %}
    {{ return([
        {'id': 'V001__operational_tables', 'kind': 'versioned', 'sql': migration_v001_operational_tables()},
        {'id': 'V002__skill_index', 'kind': 'versioned', 'sql': migration_v002_skill_index()},
        {'id': 'V003__embedding_epochs', 'kind': 'versioned', 'sql': migration_v003_embedding_epochs()},
        {'id': 'V004__model_registry', 'kind': 'versioned', 'sql': migration_v004_model_registry()},
        {'id': 'R__ulid', 'kind': 'repeatable', 'sql': migration_r_ulid()},
        {'id': 'R__outcome_rule', 'kind': 'repeatable', 'sql': migration_r_outcome_rule()},
        {'id': 'R__write_api', 'kind': 'repeatable', 'sql': migration_r_write_api()},
        {'id': 'R__embedding_epochs', 'kind': 'repeatable', 'sql': migration_r_embedding_epochs()},
        {'id': 'R__two_tower_config', 'kind': 'repeatable', 'sql': migration_r_two_tower_config()},
        {'id': 'R__match_run', 'kind': 'repeatable', 'sql': migration_r_match_run()},
        {'id': 'R__model_registry', 'kind': 'repeatable', 'sql': migration_r_model_registry()},
        {'id': 'V010__model_activations', 'kind': 'versioned', 'sql': migration_v010_model_activations()},
        {'id': 'V011__alerts', 'kind': 'versioned', 'sql': migration_v011_alerts()},
        {'id': 'R__model_activations', 'kind': 'repeatable', 'sql': migration_r_model_activations()},
        {'id': 'V040__profile_versions', 'kind': 'versioned', 'sql': migration_v040_profile_versions()},
        {'id': 'R__profile_versions', 'kind': 'repeatable', 'sql': migration_r_profile_versions()},
        {'id': 'V030__change_log', 'kind': 'versioned', 'sql': migration_v030_change_log()},
        {'id': 'R__change_log', 'kind': 'repeatable', 'sql': migration_r_change_log()},
        {'id': 'V031__project_closed_at', 'kind': 'versioned', 'sql': migration_v031_project_closed_at()},
        {'id': 'V041__match_result_baselines', 'kind': 'versioned', 'sql': migration_v041_match_result_baselines()},
        {'id': 'V050__interleaving', 'kind': 'versioned', 'sql': migration_v050_interleaving()},
        {'id': 'R__interleaving', 'kind': 'repeatable', 'sql': migration_r_interleaving()},
    ]) }}
{% endmacro %}

{% macro ses_run_migrations() %}
    {% if execute %}
        {#- Bootstrap only what is missing: a transformer's nightly build may
            not create extensions or schemas, and needs not. -#}
        {% set ready = run_query("
            select exists (select 1 from pg_extension where extname = 'plpython3u')
               and to_regclass('ses.schema_migrations') is not null
        ").columns[0].values()[0] %}
        {% if not ready %}
            {% do run_query("
                create extension if not exists plpython3u;
                create schema if not exists ses;
                create table if not exists ses.schema_migrations (
                    migration_id text primary key,
                    kind text not null,
                    checksum text not null,
                    applied_at timestamptz not null default now()
                );
            ") %}
        {% endif %}
        {% do run_query("select pg_advisory_lock(hashtext('ses_match.migrations'))") %}
        {% set applied = {} %}
        {% for row in run_query("select migration_id, checksum from ses.schema_migrations") %}
            {% do applied.update({row[0]: row[1]}) %}
        {% endfor %}
        {% for migration in ses_migrations() %}
            {% set checksum = local_md5(migration.sql) %}
            {% set previous = applied.get(migration.id) %}
            {% if previous == checksum %}
                {# already applied: nothing to do #}
            {% elif previous is not none and migration.kind == 'versioned' %}
                {% do run_query("select pg_advisory_unlock(hashtext('ses_match.migrations'))") %}
                {% do exceptions.raise_compiler_error(
                    "migration " ~ migration.id ~ " changed after it was applied (checksum "
                    ~ previous ~ " -> " ~ checksum ~ "); add a new versioned migration instead") %}
            {% else %}
                {% do log("applying migration " ~ migration.id, info=True) %}
                {% do run_query(migration.sql) %}
                {% do run_query(
                    "insert into ses.schema_migrations (migration_id, kind, checksum) values ('"
                    ~ migration.id ~ "', '" ~ migration.kind ~ "', '" ~ checksum ~ "')
                    on conflict (migration_id) do update
                    set checksum = excluded.checksum, applied_at = now()") %}
            {% endif %}
        {% endfor %}
        {#- Roles, ownership and grants (macros/access.sql): every run, after
            the migrations, changing only what differs from the wanted state. -#}
        {% do run_query(migration_access()) %}
        {% do run_query("select pg_advisory_unlock(hashtext('ses_match.migrations'))") %}
        {#- dbt listed the relations before this hook ran: tell it about the
            tables just created, or the incremental models that adopt them
            (the embedding caches) would try to create them again. -#}
        {% for row in run_query("select table_name from information_schema.tables where table_schema = 'ses' and table_type = 'BASE TABLE'") %}
            {% do adapter.cache_added(api.Relation.create(
                database=target.database, schema='ses', identifier=row[0], type='table')) %}
        {% endfor %}
    {% endif %}
    select 1
{% endmacro %}
