{#- Who may do what (docs/access.md). Five NOLOGIN group roles, named by dbt
    vars; logins are granted membership:
      owner        owns schema ses, its tables, sequences and functions; the
                   write path runs as it (SECURITY DEFINER); nobody logs in as it
      app          EXECUTE on the write path and ses.run_match, nothing else
      bi           SELECT on the marts and report views (dbt `grants`), nothing raw
      trainer      reads the label marts (training_exposures) and the token
                   views, writes the model registry through ses.register_model /
                   ses.activate_model
      transformer  what `dbt build` needs: reads the operational tables, owns
                   the relations dbt builds (models run under SET ROLE to it),
                   fills the embedding caches
    Roles are cluster-wide and several databases of one cluster may use the
    same names: they are created only when missing (never dropped or altered),
    and everything else here is per database. -#}
{% macro ses_roles() %}
    {%- set roles = {
        'owner': var('ses_owner_role'),
        'app': var('ses_app_role'),
        'bi': var('ses_bi_role'),
        'trainer': var('ses_trainer_role'),
        'transformer': var('ses_transformer_role'),
    } -%}
    {%- for key, name in roles.items() -%}
        {%- if not modules.re.match('^[a-z_][a-z0-9_]{0,62}$', name | string) -%}
            {%- do exceptions.raise_compiler_error('ses_' ~ key ~ '_role must be a lower-case SQL identifier, got "' ~ name ~ '"') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if roles.values() | unique | list | length != roles | length -%}
        {%- do exceptions.raise_compiler_error('the ses_*_role vars must name five different roles, got ' ~ roles) -%}
    {%- endif -%}
    {{ return(roles) }}
{% endmacro %}

{#- How every function that runs as the owner role is declared: the caller's
    search_path cannot reach into it (pg_temp last; names inside are qualified). -#}
{% macro security_definer() -%}
security definer
set search_path = pg_catalog, ses, pg_temp
{%- endmacro %}

{#- EXECUTE on functions of schema ses beyond their owner, by role key. Every
    dbt function (python_udfs/) is also executable by the transformer, which
    builds the models that call them; it also runs the ranking
    (ses.rank_candidates and its parts) for ranked_candidates. -#}
{% macro ses_function_execute() %}
    {{ return({
        'app': [
            'record_feedback', 'record_feedback_batch', 'revoke_feedback', 'revoke_feedback_batch',
            'record_interaction_event', 'record_interaction_events_batch',
            'record_conversion', 'record_conversions_batch', 'log_match_run', 'run_match',
        ],
        'trainer': ['register_model', 'activate_model', 'rollback_model', 'active_model_version'],
        'transformer': [
            'two_tower_config', 'cold_start_weight', 'two_tower_weight', 'variant_serves_two_tower',
            'ab_bucket', 'ab_variant', 'blend_total', 'base_score',
            'rank_candidates', 'rank_shortlist', 'business_rule_spec', 'talent_rule_features',
            'business_rule_tables', 'historical_factor_without_history',
        ],
    }) }}
{% endmacro %}

{#- Table privileges in schema ses (owned by the owner) beyond their owner. The
    transformer's incremental models consume the change log (macros/change_log.sql). -#}
{% macro ses_table_privileges() %}
    {{ return({
        'transformer': {
            '*': ['select'],
            'talent_embeddings': ['select', 'insert', 'update', 'delete'],
            'project_embeddings': ['select', 'insert', 'update', 'delete'],
            'change_log': ['select', 'delete'],
            'incremental_watermarks': ['select', 'insert', 'update', 'delete'],
            'change_log_horizon': ['select', 'insert', 'update'],
        },
        'trainer': {'model_registry': ['select']},
    }) }}
{% endmacro %}

{#- Schemas the dbt project builds into other than ses (seeds, staging,
    intermediate): owned by the transformer. -#}
{% macro ses_dbt_schemas() %}
    {%- set schemas = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() if node.resource_type in ('model', 'seed') and node.package_name == project_name -%}
            {%- if node.schema != 'ses' and node.schema not in schemas -%}
                {%- do schemas.append(node.schema) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(schemas | sort) }}
{% endmacro %}

{#- Relations dbt (re)builds in schema ses: owned by the transformer. The
    embedding caches are tables of the migrations that dbt only fills; the
    incremental models driven by the change log (macros/change_log.sql) are
    dbt's own tables. -#}
{% macro ses_dbt_relations_in_ses() %}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.package_name == project_name -%}
            {%- if node.schema == 'ses' and (node.config.materialized in ('view', 'table')
                    or (node.config.materialized == 'incremental' and node.config.meta.get('change_log'))) -%}
                {%- do names.append(node.alias or node.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names | sort) }}
{% endmacro %}

{#- dbt functions of schema ses (python_udfs/). -#}
{% macro ses_dbt_function_names() %}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- for node in graph.get('functions', {}).values() if node.package_name == project_name -%}
            {%- do names.append(node.alias or node.name) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names | sort) }}
{% endmacro %}

{% macro sql_text_array(values) -%}
    array[{%- for v in values -%}'{{ v }}'{{ ',' if not loop.last }}{%- endfor -%}]::text[]
{%- endmacro %}

{#- The access step, run by the migration hook on every build after the
    migrations. It compares the catalog with the wanted state and changes only
    what differs, so on an up-to-date database it changes nothing and needs no
    privilege beyond reading the catalog (a transformer's nightly build passes
    through it); after a release it needs the deployer (a superuser). -#}
{% macro migration_access() %}
{%- set roles = ses_roles() -%}
{%- set fx = ses_function_execute() -%}
{%- set tp = ses_table_privileges() -%}
do $access$
declare
    v_owner constant text := '{{ roles.owner }}';
    v_transformer constant text := '{{ roles.transformer }}';
    v_group_roles constant text[] := {{ sql_text_array(roles.values() | list) }};
    v_login_roles constant text[] := {{ sql_text_array([roles.app, roles.bi, roles.trainer, roles.transformer]) }};
    v_dbt_schemas constant text[] := {{ sql_text_array(ses_dbt_schemas()) }};
    v_dbt_relations constant text[] := {{ sql_text_array(ses_dbt_relations_in_ses()) }};
    v_dbt_functions constant text[] := {{ sql_text_array(ses_dbt_function_names()) }};
    v_ses oid;
    v_role text;
    v_schema text;
    r record;
begin
    -- Group roles: created when missing. Another database of this cluster may
    -- create the same role at the same moment: that is fine.
    foreach v_role in array v_group_roles loop
        if not exists (select 1 from pg_catalog.pg_roles where rolname = v_role) then
            begin
                execute format('create role %I nologin', v_role);
            exception when duplicate_object or unique_violation then
                null;
            end;
        end if;
        if exists (select 1 from pg_catalog.pg_roles where rolname = v_role and (rolsuper or rolbypassrls)) then
            raise exception 'role % is a superuser or bypasses row security: it cannot serve as a ses_match group role', v_role
                using errcode = '42501';
        end if;
    end loop;

    -- The database: only the four roles connect (PostgreSQL lets PUBLIC by default).
    if has_database_privilege('public', current_database(), 'CONNECT') then
        execute format('revoke connect, temporary on database %I from public', current_database());
    end if;
    foreach v_role in array v_login_roles loop
        if not has_database_privilege(v_role, current_database(), 'CONNECT') then
            execute format('grant connect on database %I to %I', current_database(), v_role);
        end if;
    end loop;
    -- incremental models build through temporary tables
    if not has_database_privilege(v_transformer, current_database(), 'TEMPORARY') then
        execute format('grant temporary on database %I to %I', current_database(), v_transformer);
    end if;
    if has_schema_privilege('public', 'public', 'CREATE') then
        revoke create on schema public from public;
    end if;

    -- Schema ses: owned by the owner; every role may look up its objects; the
    -- transformer creates the marts there.
    select oid into v_ses from pg_catalog.pg_namespace where nspname = 'ses';
    if pg_catalog.pg_get_userbyid((select nspowner from pg_catalog.pg_namespace where oid = v_ses)) <> v_owner then
        execute format('alter schema ses owner to %I', v_owner);
    end if;
    foreach v_role in array v_login_roles loop
        if not has_schema_privilege(v_role, 'ses', 'USAGE') then
            execute format('grant usage on schema ses to %I', v_role);
        end if;
    end loop;
    if not has_schema_privilege(v_transformer, 'ses', 'CREATE') then
        execute format('grant create on schema ses to %I', v_transformer);
    end if;

    -- dbt's other schemas and what dbt built in them: the transformer's. The
    -- owner reads seeds and tokens there (the write path, run_match), the
    -- trainer reads tokens; dbt `grants` say which relations.
    foreach v_schema in array v_dbt_schemas loop
        if not exists (select 1 from pg_catalog.pg_namespace where nspname = v_schema) then
            execute format('create schema %I authorization %I', v_schema, v_transformer);
        elsif (select pg_catalog.pg_get_userbyid(nspowner) from pg_catalog.pg_namespace where nspname = v_schema)
              <> v_transformer then
            execute format('alter schema %I owner to %I', v_schema, v_transformer);
        end if;
        foreach v_role in array array['{{ roles.owner }}', '{{ roles.trainer }}'] loop
            if not has_schema_privilege(v_role, v_schema, 'USAGE') then
                execute format('grant usage on schema %I to %I', v_schema, v_role);
            end if;
        end loop;
        for r in
            select c.oid::regclass as rel, c.relkind
            from pg_catalog.pg_class as c
            inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
            where n.nspname = v_schema and c.relkind in ('r', 'v', 'm', 'p')
              and pg_catalog.pg_get_userbyid(c.relowner) <> v_transformer
        loop
            execute format('alter %s %s owner to %I',
                case r.relkind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end,
                r.rel, v_transformer);
        end loop;
    end loop;

    -- Relations in ses: dbt's marts are the transformer's, the rest the owner's.
    for r in
        select c.oid::regclass as rel, c.relkind, c.relname = any(v_dbt_relations) as is_dbt
        from pg_catalog.pg_class as c
        where c.relnamespace = v_ses and c.relkind in ('r', 'v', 'm', 'p', 'f')
          and pg_catalog.pg_get_userbyid(c.relowner)
              <> case when c.relname = any(v_dbt_relations) then v_transformer else v_owner end
    loop
        execute format('alter %s %s owner to %I',
            case r.relkind when 'v' then 'view' when 'm' then 'materialized view'
                           when 'f' then 'foreign table' else 'table' end,
            r.rel, case when r.is_dbt then v_transformer else v_owner end);
    end loop;
    -- sequences not owned by a table column (those follow their table)
    for r in
        select c.oid::regclass as rel
        from pg_catalog.pg_class as c
        where c.relnamespace = v_ses and c.relkind = 'S'
          and pg_catalog.pg_get_userbyid(c.relowner) <> v_owner
          and not exists (
              select 1 from pg_catalog.pg_depend as d
              where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i'))
    loop
        execute format('alter sequence %s owner to %I', r.rel, v_owner);
    end loop;

    -- Table privileges of the owner's tables: exactly the wanted ones for our
    -- roles (PUBLIC has none unless someone granted it: revoked too).
    for r in
        select c.oid::regclass as rel, c.relname, x.grantee, x.privilege_type
        from pg_catalog.pg_class as c
        cross join lateral aclexplode(c.relacl) as x
        where c.relnamespace = v_ses and c.relkind in ('r', 'v', 'm', 'p', 'S')
          and pg_catalog.pg_get_userbyid(c.relowner) = v_owner
          and x.grantee <> c.relowner
    loop
        if r.grantee = 0 then
            execute format('revoke all on %s from public', r.rel);
        elsif not ({{ ses_table_privilege_wanted('r.relname', 'pg_catalog.pg_get_userbyid(r.grantee)', 'lower(r.privilege_type)', roles, tp) }}) then
            execute format('revoke %s on %s from %I', r.privilege_type, r.rel, pg_catalog.pg_get_userbyid(r.grantee));
        end if;
    end loop;
    {%- for key, tables in tp.items() %}
    for r in
        select c.oid::regclass as rel, c.relname, p.privilege
        from pg_catalog.pg_class as c
        cross join unnest(array['select', 'insert', 'update', 'delete']) as p (privilege)
        where c.relnamespace = v_ses and c.relkind in ('r', 'p')
          and pg_catalog.pg_get_userbyid(c.relowner) = v_owner
          and ({{ ses_table_privilege_wanted('c.relname', "'" ~ roles[key] ~ "'", 'p.privilege', roles, {key: tables}) }})
          and not has_table_privilege('{{ roles[key] }}', c.oid, p.privilege)
    loop
        execute format('grant %s on %s to %I', r.privilege, r.rel, '{{ roles[key] }}');
    end loop;
    {%- endfor %}

    -- Functions: the owner's; EXECUTE for nobody else but the wanted roles.
    for r in
        select p.oid::regprocedure as fn, p.prokind
        from pg_catalog.pg_proc as p
        where p.pronamespace = v_ses and pg_catalog.pg_get_userbyid(p.proowner) <> v_owner
    loop
        execute format('alter %s %s owner to %I',
            case r.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end, r.fn, v_owner);
    end loop;
    for r in
        select p.oid::regprocedure as fn, p.proname, x.grantee
        from pg_catalog.pg_proc as p
        cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) as x
        where p.pronamespace = v_ses and x.grantee <> p.proowner
    loop
        if r.grantee = 0 then
            execute format('revoke all on function %s from public', r.fn);
        elsif not ({{ ses_function_wanted('r.proname', 'pg_catalog.pg_get_userbyid(r.grantee)', roles, fx) }}) then
            execute format('revoke all on function %s from %I', r.fn, pg_catalog.pg_get_userbyid(r.grantee));
        end if;
    end loop;
    for r in
        select p.oid::regprocedure as fn, g.role_name
        from pg_catalog.pg_proc as p
        cross join unnest(v_login_roles) as g (role_name)
        where p.pronamespace = v_ses
          and ({{ ses_function_wanted('p.proname', 'g.role_name', roles, fx) }})
          and not has_function_privilege(g.role_name, p.oid, 'EXECUTE')
    loop
        execute format('grant execute on function %s to %I', r.fn, r.role_name);
    end loop;

    -- Functions created later (by a deploying superuser or the transformer)
    -- start without PUBLIC EXECUTE.
    foreach v_role in array array_remove(array[
        case when (select rolsuper from pg_catalog.pg_roles where rolname = current_user) then current_user::text end,
        v_transformer], null) loop
        if not exists (
            select 1 from pg_catalog.pg_default_acl
            where defaclrole = (select oid from pg_catalog.pg_roles where rolname = v_role)
              and defaclnamespace = v_ses and defaclobjtype = 'f'
        ) then
            execute format('alter default privileges for role %I in schema ses revoke execute on functions from public', v_role);
        end if;
    end loop;
end
$access$;
{% endmacro %}

{#- SQL boolean: does role `role_sql` get privilege `privilege_sql` on owner
    table `table_sql` (from `privileges`: role key -> {table or *: [privs]}). -#}
{% macro ses_table_privilege_wanted(table_sql, role_sql, privilege_sql, roles, privileges) -%}
(false
{%- for key, tables in privileges.items() %}
{%- for table, privs in tables.items() %}
    or ({{ role_sql }} = '{{ roles[key] }}'
        {%- if table != '*' %} and {{ table_sql }} = '{{ table }}'{% endif %}
        and {{ privilege_sql }} in ('{{ privs | join("', '") }}'))
{%- endfor %}
{%- endfor %})
{%- endmacro %}

{#- SQL boolean: may role `role_sql` execute function named `name_sql`. -#}
{% macro ses_function_wanted(name_sql, role_sql, roles, execute_lists) -%}
(false
{%- for key, names in execute_lists.items() %}
    or ({{ role_sql }} = '{{ roles[key] }}' and {{ name_sql }} = any({{ sql_text_array(names) }}))
{%- endfor %}
    or ({{ role_sql }} = '{{ roles.transformer }}' and {{ name_sql }} = any({{ sql_text_array(ses_dbt_function_names()) }})))
{%- endmacro %}
