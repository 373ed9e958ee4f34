{#- dbt functions (python_udfs/) on PostgreSQL, built like dbt's default
    materialization with two differences:
    * the function belongs to the owner role and only the roles of
      macros/access.sql may execute it (PostgreSQL grants EXECUTE to PUBLIC);
    * an unchanged function is left alone. Its DDL (with the access
      statements) is recorded in ses.schema_migrations as F__<name> with its
      checksum, and a build whose DDL has that checksum skips it. PL/Python is
      an untrusted language that only a superuser may (re)create, so the
      transformer's nightly build passes here without needing that right; a
      changed function needs the deployer. -#}
{% materialization function, adapter='postgres', supported_languages=['sql', 'python'] %}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type=this.Function) -%}
    {{ run_hooks(pre_hooks) }}

    {%- set function_config = this.get_function_config(model) -%}
    {%- set macro_name = this.get_function_macro_name(function_config) -%}
    {#- the alias hides adapter.dispatch from dbt's static analysis, as dbt's own materialization does -#}
    {%- set _dispatch = adapter.dispatch -%}
    {%- set build_sql = _dispatch(macro_name, 'dbt')(target_relation) -%}
    {%- set signature = target_relation.render() ~ '(' ~ (model.arguments | map(attribute='data_type') | join(', ')) ~ ')' -%}
    {%- set access_sql = ses_function_access_sql(signature, model.alias or model.name) -%}
    {%- set migration_id = 'F__' ~ (model.alias or model.name) -%}
    {%- set checksum = local_md5(build_sql ~ access_sql) -%}
    {%- set current = run_query(
        "select exists (select 1 from ses.schema_migrations where migration_id = '" ~ migration_id
        ~ "' and checksum = '" ~ checksum ~ "') and to_regprocedure('" ~ signature | replace("'", "''")
        ~ "') is not null").columns[0].values()[0] -%}

    {% call statement('main') -%}
        {%- if current -%}
            select 1 /* unchanged: {{ migration_id }} {{ checksum }} */
        {%- else -%}
            {{ build_sql }}
            {{ access_sql }}
            insert into ses.schema_migrations (migration_id, kind, checksum)
            values ('{{ migration_id }}', 'function', '{{ checksum }}')
            on conflict (migration_id) do update set checksum = excluded.checksum, applied_at = now();
        {%- endif -%}
    {%- endcall %}
    {{ adapter.commit() }}

    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{#- Owner and EXECUTE privileges of one function (the access step of the
    migrations applies the same lists to every function of schema ses). -#}
{% macro ses_function_access_sql(signature, name) -%}
    {%- set roles = ses_roles() -%}
    {%- set grantees = [roles.transformer] -%}
    {%- for key, names in ses_function_execute().items() if name in names and roles[key] not in grantees -%}
        {%- do grantees.append(roles[key]) -%}
    {%- endfor %}
    alter function {{ signature }} owner to {{ roles.owner }};
    revoke all on function {{ signature }} from public;
    grant execute on function {{ signature }} to {{ grantees | join(', ') }};
{%- endmacro %}
