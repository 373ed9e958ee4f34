{#- Views are replaced in place (CREATE OR REPLACE VIEW). dbt's default swap
    (create __dbt_tmp, rename, drop the old view CASCADE) drops every view built
    on the old one: a partial build (`--select x`) loses the un-selected views
    downstream, and two threads whose cascades reach one shared dependant deadlock
    on its rewrite rule (seen in the nightly build). PostgreSQL replaces a view in
    place when the old columns stay (same names and types, new ones at the end);
    when a column is dropped, renamed or retyped it refuses, and only then is the
    old view dropped with its dependants (a full build recreates them next). A
    table or nothing in the way: dbt's default materialization. -#}
{%- materialization view, adapter='postgres' -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- if existing_relation is none or not existing_relation.is_view -%}
        {{ return(dbt.materialization_view_default()) }}
    {%- endif -%}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set grant_config = config.get('grants') -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {#- an enforced contract is checked before the view is touched, as dbt's
        own materialization does for a new view -#}
    {%- if config.get('contract').enforced -%}
        {{ get_assert_columns_equivalent(sql) }}
    {%- endif %}

    {% call statement('main') -%}
        do $ses_view$
        begin
            create or replace view {{ target_relation }} as (
                {{ sql }}
            );
        exception when invalid_table_definition or datatype_mismatch then
            drop view {{ target_relation }} cascade;
            create view {{ target_relation }} as (
                {{ sql }}
            );
        end
        $ses_view$
    {%- endcall %}

    {%- set should_revoke = should_revoke(existing_relation, full_refresh_mode=True) -%}
    {%- do apply_grants(target_relation, grant_config, should_revoke=should_revoke) -%}
    {%- do persist_docs(target_relation, model) -%}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization -%}
