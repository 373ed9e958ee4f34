{#- dbt-postgres ships no Python-function macro. A .py file under
    python_udfs/ defines `entry_point`; plpython3u passes arguments as
    locals, so the body ends by calling the entry point with them. The
    search_path is pinned: the queries the UDFs run resolve the same whoever
    calls them (run_match calls them as the owner role). -#}
{% macro postgres__scalar_function_python(target_relation) %}
    {%- set entry_point = model.config.get('entry_point') or model.name -%}
    {%- set arg_names = model.arguments | map(attribute='name') | list -%}
    {#- dropped first: CREATE OR REPLACE cannot change a result type, and the
        materialization only gets here for a changed function (nothing stored
        depends on these functions; the access statements follow) #}
    DROP FUNCTION IF EXISTS {{ target_relation.render() }} ({{ formatted_scalar_function_args_sql() }});
    CREATE FUNCTION {{ target_relation.render() }} ({{ formatted_scalar_function_args_sql() }})
    RETURNS {{ model.returns.data_type }}
    {{ scalar_function_volatility_sql() }}
    LANGUAGE plpython3u
    SET search_path = pg_catalog, ses, pg_temp
    AS $udf$
{{ model.compiled_code }}

return {{ entry_point }}({{ arg_names | join(', ') }})
$udf$;
{% endmacro %}
