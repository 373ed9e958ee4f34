{#- R-42 / R-44: switching the active model is one transaction, so a serving
    backend sees the old or the new model, never none. Used by the training
    pipeline and by hand for a rollback. -#}
{% macro migration_r_model_registry() %}
create or replace function ses.activate_model(p_version text, p_reason text default null)
returns text
language plpgsql
volatile
as $fn$
declare
    v_status text;
    v_previous text;
begin
    select status into v_status from ses.model_registry where version = p_version for update;
    if not found then
        raise exception 'unknown model version %', coalesce(p_version, 'NULL') using errcode = '23503';
    end if;
    if v_status = 'active' then
        return p_version;
    end if;
    if v_status not in ('candidate', 'retired') then
        raise exception 'model % is %, only a candidate or retired model can be activated', p_version, v_status
            using errcode = '22023';
    end if;
    update ses.model_registry
       set status = 'retired', retired_at = now()
     where status = 'active'
    returning version into v_previous;
    update ses.model_registry
       set status = 'active', activated_at = now(), retired_at = null,
           reason = coalesce(p_reason, reason)
     where version = p_version;
    return v_previous;
end;
$fn$;

-- The version serving now (NULL: none), one indexed row.
create or replace function ses.active_model_version()
returns text
language sql
stable
as $fn$
    select version from ses.model_registry where status = 'active'
$fn$;
{% endmacro %}
